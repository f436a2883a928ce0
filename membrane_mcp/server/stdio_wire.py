"""Stdin and stdout as lines of bytes, for the stdio transport.

The SDK's stdio server reads each line in a worker thread and writes, then flushes, each answer in two
more: three thread hand-offs per call, each a wake-up of the event loop from another thread. When stdin
and stdout are pipes or sockets (as every MCP host starts a server) they are served by asyncio's pipe
transports on the event loop instead; anything else (a terminal, a file, another event loop) falls back
to one worker thread per line read and per line written.

Either way the transport owns private duplicates of fds 0 and 1 while serving, as the SDK's does: fd 0
reads the null device and fd 1 writes to stderr, so a child process or a stray write cannot touch the wire.
Both are restored on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import sys
from collections.abc import AsyncIterator, Callable
from typing import BinaryIO, Protocol, cast

import anyio
import anyio.to_thread

# A line longer than this is read in pieces; reading stops (back-pressure) at twice this much unread.
READ_CHUNK = 1 << 20
# How long closing waits for answers still buffered to reach a client that has stopped reading.
DRAIN_SECONDS = 5.0


class LineReader(Protocol):
    async def readline(self) -> bytes:
        """The next line with its newline (the last one may lack it); b"" at the end of the input."""
        ...


class LineWriter(Protocol):
    async def write(self, data: bytes) -> None:
        """Write these bytes whole, before any other write; BrokenResourceError once the reader is gone."""
        ...


@contextlib.asynccontextmanager
async def stdio_lines() -> AsyncIterator[tuple[LineReader, LineWriter]]:
    """This process's stdin and stdout, claimed for the protocol until exit."""
    async with _claimed(0, _null_device) as stdin, _claimed(1, _stderr_copy) as stdout:
        reader_on = _pipe_reader if _on_the_loop(stdin, stdout, 2) else _thread_reader
        writer_on = _pipe_writer if _on_the_loop(stdout, stdin, 2) else _thread_writer
        async with reader_on(stdin) as reader, writer_on(stdout) as writer:
            yield reader, writer


@contextlib.asynccontextmanager
async def _claimed(fd: int, diversion: Callable[[], int]) -> AsyncIterator[int]:
    """A private duplicate of `fd`, with `fd` itself pointed at `diversion()` until exit.

    When `fd` cannot be duplicated above the standard range, it is served in place (unclaimed).
    """
    try:
        private = os.dup(fd)
    except OSError:
        yield fd
        return
    if private <= 2:  # a standard fd was closed: the duplicate took its place
        os.close(private)
        yield fd
        return
    diverted = False
    try:
        replacement = diversion()
        try:
            os.dup2(replacement, fd)
            diverted = True
        finally:
            os.close(replacement)
    except OSError:
        pass  # fd keeps carrying the wire: serving works, only strays are not kept off it
    try:
        yield private
    finally:
        if diverted:
            with contextlib.suppress(OSError):
                os.dup2(private, fd)
        os.close(private)


def _null_device() -> int:
    return os.open(os.devnull, os.O_RDONLY)


def _stderr_copy() -> int:
    return os.dup(2)


def _on_the_loop(fd: int, *others: int) -> bool:
    """Whether `fd` can be served by an asyncio pipe transport: a pipe or a socket (what the event loop
    can watch and nobody else reads, unlike a shared terminal), on asyncio, and none of the `others`.

    The transport makes the pipe non-blocking: shared with stderr (``2>&1``), logging could fail. And a
    socket that is stdin and stdout at once would look closed to the writer at every request read.
    """
    if sys.platform == "win32":  # pragma: no cover - the default Windows loop has no pipe transports
        return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another event loop (trio)
        return False
    try:
        ours = os.fstat(fd)
        theirs = [os.fstat(other) for other in others]
    except OSError:
        return False
    if not (stat.S_ISFIFO(ours.st_mode) or stat.S_ISSOCK(ours.st_mode)):
        return False
    return all((ours.st_dev, ours.st_ino) != (other.st_dev, other.st_ino) for other in theirs)


def _kept_open(fd: int, mode: str) -> BinaryIO:
    """A duplicate of `fd` as a file that never closes it (see ThreadLineReader)."""
    return cast(BinaryIO, os.fdopen(os.dup(fd), mode, closefd=False))


@contextlib.asynccontextmanager
async def _thread_reader(fd: int) -> AsyncIterator[LineReader]:
    yield ThreadLineReader(_kept_open(fd, "rb"))


@contextlib.asynccontextmanager
async def _thread_writer(fd: int) -> AsyncIterator[LineWriter]:
    yield ThreadLineWriter(_kept_open(fd, "wb"))


@contextlib.asynccontextmanager
async def _pipe_reader(fd: int) -> AsyncIterator[LineReader]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(os.dup(fd), "rb", buffering=0)
    )
    try:
        yield PipeLineReader(reader)
    finally:
        transport.close()
        _restore_blocking(fd)


@contextlib.asynccontextmanager
async def _pipe_writer(fd: int) -> AsyncIterator[LineWriter]:
    loop = asyncio.get_running_loop()
    transport, flow = await loop.connect_write_pipe(_WriteFlow, os.fdopen(os.dup(fd), "wb", buffering=0))
    try:
        yield PipeLineWriter(transport, flow)
    finally:
        transport.close()  # writes what is still buffered first, then closes
        with anyio.move_on_after(DRAIN_SECONDS, shield=True):
            await flow.closed.wait()
        _restore_blocking(fd)


def _restore_blocking(fd: int) -> None:
    """asyncio made the pipe non-blocking for every descriptor sharing it (fd 0 or 1 once restored)."""
    with contextlib.suppress(OSError):
        os.set_blocking(fd, True)


class PipeLineReader:
    """Lines from a pipe watched by the event loop."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    async def readline(self) -> bytes:
        parts: list[bytes] = []
        while True:
            try:
                parts.append(await self._reader.readuntil(b"\n"))
            except asyncio.LimitOverrunError as long:  # a long line: take what is there, read on
                parts.append(await self._reader.readexactly(long.consumed))
                continue
            except asyncio.IncompleteReadError as end:
                parts.append(end.partial)
            return parts[0] if len(parts) == 1 else b"".join(parts)


class _WriteFlow(asyncio.BaseProtocol):
    """Back-pressure and end of a write pipe."""

    def __init__(self) -> None:
        self.writable = asyncio.Event()
        self.writable.set()
        self.closed = asyncio.Event()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        self.closed.set()


class PipeLineWriter:
    """Lines to a pipe: written at once when the pipe has room, else buffered by the event loop."""

    def __init__(self, transport: asyncio.WriteTransport, flow: _WriteFlow) -> None:
        self._transport = transport
        self._flow = flow

    async def write(self, data: bytes) -> None:
        if self._transport.is_closing():
            raise anyio.BrokenResourceError("stdout is closed")
        self._transport.write(data)  # whole: asyncio buffers what the pipe does not take
        if not self._flow.writable.is_set():  # the client is not reading: wait until it does
            await self._flow.writable.wait()


class ThreadLineReader:
    """Lines read in a worker thread (a terminal or a file).

    A cancelled read leaves its thread blocked on the descriptor: that descriptor is never closed, so
    it cannot be reused under the thread.
    """

    def __init__(self, file: BinaryIO) -> None:
        self._file = file

    async def readline(self) -> bytes:
        return await anyio.to_thread.run_sync(self._file.readline, abandon_on_cancel=True)


class ThreadLineWriter:
    """Lines written and flushed in one worker thread each, one at a time."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self._lock = anyio.Lock()

    async def write(self, data: bytes) -> None:
        async with self._lock:
            try:
                await anyio.to_thread.run_sync(self._write_whole, data)
            except (BrokenPipeError, ConnectionResetError, ValueError) as exc:
                raise anyio.BrokenResourceError("stdout is closed") from exc

    def _write_whole(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()
