"""The sandbox fixtures of the server tests, shared here."""

from tests.server.conftest import faulty_sandbox, fresh_sandbox, sandbox

__all__ = ["faulty_sandbox", "fresh_sandbox", "sandbox"]
