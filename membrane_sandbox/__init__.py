"""A local, SQLite-backed stand-in for Membrane's REST API, with Vtiger, 1CRM and Bigtincan behind it.

This package is separate from the product (``membrane_mcp``) and imports nothing from it. The
product reaches it only through the names below: ``start_in_thread(SandboxConfig(...))`` for
``serve --sandbox``, and ``add_arguments``/``run`` for the ``membrane-mcp sandbox`` command.
Importing this module stays cheap: Starlette, uvicorn and the apps load when the sandbox starts.
"""

from __future__ import annotations

from .config import SandboxConfig, default_db_path
from .serve import RunningSandbox, add_arguments, run, start_in_thread

__all__ = ["RunningSandbox", "SandboxConfig", "add_arguments", "default_db_path", "run", "start_in_thread"]
