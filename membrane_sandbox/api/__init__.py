"""The sandbox's Membrane REST layer (see ``create_app``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    # Lazy, so importing the package (e.g. for the CLI's --help) doesn't pull in Starlette.
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
