"""A scripted HTTP/1.1 server on a real socket: what the transport sends, and answers it cannot get from
the sandbox (gzip, a connection dropped after a request was read, no answer at all)."""

from __future__ import annotations

import contextlib
import io
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Received:
    connection: int  # which accepted connection it came on, from 0
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


# What to do with a request: the bytes of a full answer, or None to close the connection unanswered,
# or "hang" to leave it unanswered and open.
Script = Callable[[Received], bytes | str | None]


def answer(body: bytes, *headers: tuple[str, str], status: str = "200 OK") -> bytes:
    lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class RawServer:
    url: str
    received: list[Received] = field(default_factory=list)
    connections: int = 0


def _read_request(stream: io.BufferedReader, connection: int) -> Received | None:
    line = stream.readline()
    if not line:
        return None
    method, target, _ = line.decode().split(" ", 2)
    headers: list[tuple[str, str]] = []
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, value = line.decode().split(":", 1)
        headers.append((name.strip(), value.strip()))
    length = sum(int(v) for k, v in headers if k.lower() == "content-length")
    body = stream.read(length) if length else b""
    return Received(connection, method, target, headers, body)


@contextmanager
def raw_server(script: Script, tls: ssl.SSLContext | None = None) -> Iterator[RawServer]:
    """The server; with `tls`, over TLS (https) with that server context."""
    listener = socket.create_server(("127.0.0.1", 0))
    scheme = "http" if tls is None else "https"
    server = RawServer(f"{scheme}://127.0.0.1:{listener.getsockname()[1]}")
    stop = threading.Event()

    def serve(sock: socket.socket, connection: int) -> None:
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_side=True)
            except OSError:  # the client refused the handshake (ssl.SSLError is an OSError)
                sock.close()
                return
        with contextlib.suppress(OSError), sock, sock.makefile("rb") as stream:  # OSError: the client left
            while (request := _read_request(stream, connection)) is not None:
                server.received.append(request)
                reply = script(request)
                if reply == "hang":
                    stop.wait()
                    return
                if reply is None:
                    return
                assert isinstance(reply, bytes)
                sock.sendall(reply)

    def accept() -> None:
        while True:
            try:
                sock, _ = listener.accept()
            except OSError:
                return
            # Counted before the thread starts: its answer may reach the client (and the test's
            # assertion) before this thread runs again.
            server.connections += 1
            threading.Thread(target=serve, args=(sock, server.connections - 1), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield server
    finally:
        stop.set()
        listener.close()
