"""The sandbox fixtures of the server tests, shared here."""

from tests.server.conftest import fresh_sandbox, sandbox

__all__ = ["fresh_sandbox", "sandbox"]
