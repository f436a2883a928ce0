"""The apps behind the sandbox: Vtiger, 1CRM and Bigtincan (plus generated apps for benchmarks).

``load_apps()`` reads each app's catalog JSON once per process; ``synthetic_app(i, n)`` builds a
generated CRUD app with exactly ``n`` actions. See ``base.py`` for the contract.
"""

from __future__ import annotations

from functools import cache

from membrane_sandbox.apps import synthetic
from membrane_sandbox.apps.base import ActionSpec, App, AppError, ProxyResponse

__all__ = ["ActionSpec", "App", "AppError", "ProxyResponse", "load_apps", "synthetic_app"]


@cache
def _apps() -> tuple[tuple[str, App], ...]:
    from membrane_sandbox.apps import bigtincan, onecrm, vtiger

    loaded: list[App] = [vtiger.load(), onecrm.load(), bigtincan.load()]
    return tuple((a.key, a) for a in loaded)


def load_apps() -> dict[str, App]:
    """``{"vtiger": ..., "1crm": ..., "bigtincan": ...}``; catalogs are parsed once and cached."""
    return dict(_apps())


def synthetic_app(index: int, n_actions: int) -> App:
    """A generated CRUD app ``synth-{index:03d}`` with exactly ``n_actions`` actions."""
    return synthetic.synthetic_app(index, n_actions)
