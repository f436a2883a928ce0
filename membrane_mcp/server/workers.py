"""`serve --transport http --workers N`: N processes behind one port, for stateless clients.

Each worker is a spawned process running the ordinary single-process server (`http.run_http`)
with its own catalog, on its own listening socket bound with SO_REUSEPORT to the same port:
the kernel spreads new connections over the workers. The parent holds the port (a bound,
non-listening socket in the same group, which also picks the port for ``--port 0``), starts
the embedded sandbox once when ``--sandbox`` is on and points every worker at it, and watches
the workers: Ctrl-C (or SIGTERM) stops them all, and a worker that exits is reported and the
others are stopped, so a supervisor restarts the whole server (exit status 1).

Only the stateless 2026-07-28 era can be spread this way: a session-based (2025-11-25,
``initialize``) client's later requests would reach workers that never saw its session. With
more than one worker such requests are refused with one line that names ``--workers 1``; that
is why 1 is the default.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import socket
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from typing import Any

import anyio
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import SecretStr
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from membrane_mcp.server.backend import sandbox_options, start_sandbox
from membrane_mcp.server.tenants import is_multi_user
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)

WORKER_HEADER = b"membrane-mcp-worker"
PROTOCOL_VERSION_HEADER = b"mcp-protocol-version"
INVALID_REQUEST = -32600
STOP_SECONDS = 10.0  # how long a stopping worker may finish its requests before it is killed


class WorkerExited(Exception):
    """A worker process ended on its own; the server stops (one line, with the worker and its exit code)."""


def worker_count(settings: Settings) -> int:
    """``--workers``; 0 means one per core."""
    return settings.workers or os.cpu_count() or 1


def legacy_refusal(workers: int) -> str:
    return (
        f"this server runs --workers {workers} and serves only the stateless MCP protocol (2026-07-28); "
        "a session-based client (2025-11-25 initialize handshake) needs the server started with --workers 1"
    )


def workers_problem(settings: Settings) -> str | None:
    """Why ``--workers`` cannot apply to these settings, in one line; None if it can."""
    if worker_count(settings) == 1:
        return None
    if settings.transport != "http":
        return "--workers applies to --transport http only (a stdio server serves one client); drop --workers"
    if is_multi_user(settings):
        return (
            "--workers serves one Membrane tenant; many-user mode (OAuth, or token=tenant) needs --workers 1"
        )
    return None


def is_modern_request(scope: Scope) -> bool:
    """The SDK routes by this header alone: a modern version is stateless, anything else is the handshake era."""
    for name, value in scope["headers"]:
        if name == PROTOCOL_VERSION_HEADER:
            return value.decode("latin-1") in MODERN_PROTOCOL_VERSIONS
    return False


class StatelessOnly:
    """Refuses handshake-era requests to /mcp (400, a JSON-RPC error naming --workers 1) and tags every
    response with the worker's number (1..N, not its PID) so load spreading can be observed."""

    def __init__(self, app: ASGIApp, *, worker: int, workers: int) -> None:
        self.app = app
        self.tag = str(worker).encode()
        self.refusal = legacy_refusal(workers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (WORKER_HEADER, self.tag)]
            await send(message)

        if scope["path"].rstrip("/") == "/mcp" and not is_modern_request(scope):
            body = {"jsonrpc": "2.0", "id": None, "error": {"code": INVALID_REQUEST, "message": self.refusal}}
            await JSONResponse(body, status_code=400)(scope, receive, tagged)
            return
        await self.app(scope, receive, tagged)


def reuseport_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to (host, port) in a SO_REUSEPORT group, not listening yet (families as uvicorn)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host.strip("[]"), port))
    return sock


def worker_main(settings: Settings, worker: int, workers: int) -> None:
    """One worker (in a spawned process): the single-process server on its own SO_REUSEPORT socket."""
    from membrane_mcp import observability
    from membrane_mcp.cli import configure_logging
    from membrane_mcp.server.http import run_http

    configure_logging(settings.log_level)
    stop_observability = observability.start(settings)
    sock = reuseport_socket(settings.host, settings.port)
    logger.info("worker %d of %d (pid %d) accepting on port %d", worker, workers, os.getpid(), settings.port)
    try:
        anyio.run(run_http, settings, [sock], worker)
    except KeyboardInterrupt:
        pass
    finally:
        stop_observability()
        sock.close()


def worker_settings(settings: Settings, port: int, sandbox: Any) -> Settings:
    update: dict[str, Any] = {"port": port}
    if sandbox is not None:  # the workers are the sandbox's clients, not its owners
        update |= {"sandbox": False, "api_url": sandbox.url, "token": SecretStr(sandbox.token)}
    return settings.model_copy(update=update)


async def supervise(processes: Sequence[BaseProcess]) -> BaseProcess | None:
    """Wait for the first worker to exit (returned) or for SIGINT/SIGTERM to the parent (None)."""
    exited: list[BaseProcess] = []
    async with anyio.create_task_group() as group:

        async def watch(process: BaseProcess) -> None:
            await anyio.wait_readable(process.sentinel)
            await anyio.to_thread.run_sync(
                process.join
            )  # the sentinel closes a moment before the exit code is known
            exited.append(process)
            group.cancel_scope.cancel()

        async def stop_on_signal() -> None:
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for received in signals:
                    logger.info("%s: stopping %d workers", signal.Signals(received).name, len(processes))
                    group.cancel_scope.cancel()
                    return

        group.start_soon(stop_on_signal)
        for process in processes:
            group.start_soon(watch, process)
    return exited[0] if exited else None


def stop_all(processes: Sequence[BaseProcess]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in flight, then exits
    for process in processes:
        process.join(STOP_SECONDS)
        if process.is_alive():
            logger.warning("worker pid %s did not stop within %.0f s; killing it", process.pid, STOP_SECONDS)
            process.kill()
            process.join()


async def serve_workers(settings: Settings) -> None:
    workers = worker_count(settings)
    placeholder = reuseport_socket(settings.host, settings.port)  # holds the port for the workers' group
    port = placeholder.getsockname()[1]
    sandbox = start_sandbox(sandbox_options(settings)) if settings.sandbox else None
    if sandbox is not None:
        logger.info("sandbox: Membrane stand-in at %s, shared by %d workers", sandbox.url, workers)
    shared = worker_settings(settings, port, sandbox)
    spawn = multiprocessing.get_context("spawn")  # no fork: the parent runs the sandbox's threads
    processes = [
        spawn.Process(target=worker_main, args=(shared, index, workers), name=f"membrane-mcp-worker-{index}")
        for index in range(1, workers + 1)
    ]
    try:
        for process in processes:
            process.start()
        logger.info(
            "starting %d workers (pids %s) on http://%s:%d/mcp; stateless 2026-07-28 clients only",
            workers,
            ", ".join(str(p.pid) for p in processes),
            settings.host,
            port,
        )
        dead = await supervise(processes)
        if dead is None:
            return
        number = next(index for index, process in enumerate(processes, 1) if process is dead)
        message = (
            f"worker {number} (pid {dead.pid}) exited with code {dead.exitcode}; the other workers were "
            "stopped (restart membrane-mcp, or run it under a supervisor that restarts it)"
        )
        logger.error("%s", message)
        raise WorkerExited(message)
    finally:
        stop_all(processes)
        placeholder.close()
        if sandbox is not None:
            sandbox.stop()
