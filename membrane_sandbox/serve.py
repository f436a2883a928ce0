"""The ``sandbox`` command (uvicorn), and ``start_in_thread`` for tests and ``serve --sandbox``.

Imports of Starlette, uvicorn and the apps happen inside the functions, so the CLI stays quick.
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import PROFILES, SandboxConfig, default_db_path

if TYPE_CHECKING:
    from collections.abc import Mapping

    import uvicorn

    from .apps.base import App

log = logging.getLogger(__name__)


# Idle keep-alive like a cloud load balancer in front of Membrane (60 s), not uvicorn's 5 s: a client
# whose pooled connection the server closed just as it sent a request cannot tell whether a write ran.
KEEP_ALIVE_SECONDS = 65


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SandboxConfig()
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8090, help="port to listen on (default 8090)")
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="SQLite file (default: sandbox.sqlite3 in the user data dir; ':memory:' for none)",
    )
    parser.add_argument("--token", default=defaults.token, help="static bearer token (default %(default)s)")
    parser.add_argument("--workspace-key", default=defaults.workspace_key)
    parser.add_argument("--workspace-secret", default=defaults.workspace_secret)
    parser.add_argument("--seed", type=int, default=defaults.seed, help="seed for records, ids and faults")
    parser.add_argument("--latency-ms", type=float, default=defaults.latency_ms)
    parser.add_argument(
        "--fault-rate", type=float, default=defaults.fault_rate, help="share of requests answered 500"
    )
    parser.add_argument(
        "--rate-limit-rate",
        type=float,
        default=defaults.rate_limit_rate,
        help="share of requests that start a burst of 429s",
    )
    parser.add_argument("--rate-limit-burst", type=int, default=defaults.rate_limit_burst)
    parser.add_argument(
        "--retry-after",
        type=float,
        default=defaults.retry_after_s,
        dest="retry_after_s",
        help="Retry-After seconds on 429s",
    )
    parser.add_argument(
        "--drop-rate",
        type=float,
        default=defaults.drop_rate,
        help="share of requests handled and then cut off before the response completes",
    )
    parser.add_argument("--build-seconds", type=float, default=defaults.build_seconds)
    parser.add_argument("--synthetic-connections", type=int, default=defaults.synthetic_connections)
    parser.add_argument("--synthetic-actions", type=int, default=defaults.synthetic_actions)
    parser.add_argument(
        "--public-url", default=None, help="base URL in connect links (default: the request's)"
    )
    parser.add_argument(
        "--profile",
        default=defaults.profile,
        choices=list(PROFILES),
        help="which shapes of a real Membrane workspace to reproduce: 'strict' for all of them "
        "(default %(default)s)",
    )


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        db_path=args.db or default_db_path(),
        token=args.token,
        workspace_key=args.workspace_key,
        workspace_secret=args.workspace_secret,
        seed=args.seed,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        rate_limit_rate=args.rate_limit_rate,
        rate_limit_burst=args.rate_limit_burst,
        retry_after_s=args.retry_after_s,
        drop_rate=args.drop_rate,
        build_seconds=args.build_seconds,
        synthetic_connections=args.synthetic_connections,
        synthetic_actions=args.synthetic_actions,
        public_url=args.public_url,
        profile=args.profile,
    )


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from .api import create_app

    config = config_from_args(args)
    app = create_app(config)
    url = f"http://{args.host}:{args.port}"
    sys.stderr.write(
        f"Membrane sandbox on {url}\n"
        f"  token:    {config.token}\n"
        f"  database: {config.db_path}\n"
        f"  try:      curl -H 'Authorization: Bearer {config.token}' {url}/connections\n"
    )
    sys.stderr.flush()
    try:
        uvicorn.run(
            app, host=args.host, port=args.port, log_level="warning", timeout_keep_alive=KEEP_ALIVE_SECONDS
        )
    except KeyboardInterrupt:
        pass
    return 0


@dataclass
class RunningSandbox:
    url: str
    token: str
    config: SandboxConfig
    _server: uvicorn.Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    app: Any = field(default=None, repr=False)

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_in_thread(
    config: SandboxConfig | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    apps: Mapping[str, App] | None = None,
    timeout: float = 15.0,
) -> RunningSandbox:
    """Serve the sandbox from a daemon thread; returns once it accepts connections."""
    import uvicorn

    from .api import create_app

    config = config or SandboxConfig()
    app = create_app(config, apps=apps)
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on accepted sockets whose proto says TCP. Without it,
    # Nagle + delayed ACK add ~40 ms to every response on a kept-alive connection.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="membrane-sandbox", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped during start-up")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError("the sandbox server did not start in time")
        time.sleep(0.005)
    url = f"http://{host}:{bound_port}"
    log.info("sandbox serving on %s", url)
    return RunningSandbox(url=url, token=config.token, config=config, _server=server, _thread=thread, app=app)
