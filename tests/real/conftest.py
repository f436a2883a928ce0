"""Fixtures of the real-shapes tests (issue 13)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 2026-07-28 (auto, in-process) and the 2025-11-25 handshake (legacy)."""
    return str(request.param)
