"""Errors the server's set-up raises and the CLI reports (kept apart from backend.py, which imports the
tools layer: `serve` needs to catch them before it has imported that)."""

from __future__ import annotations


class ConfigurationError(Exception):
    """A setting is missing or contradictory; the message says which and how to fix it."""
