"""Fixtures for agent2 tests: the server tests' sandboxes."""

from tests.server.conftest import fresh_sandbox, sandbox  # noqa: F401
