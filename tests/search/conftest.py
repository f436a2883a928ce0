"""The sandbox fixture of the server tests, shared here."""

from tests.server.conftest import sandbox

__all__ = ["sandbox"]
