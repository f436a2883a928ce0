"""The stdio transport's two layers: lines of bytes on fds 0 and 1 (asyncio pipe transports for pipes,
worker threads for anything else), and the JSON-RPC messages read from them. Each wire case runs in a
child process, since the transport claims its process's stdin and stdout, over pipes and over files."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import mcp_types
import pytest
from mcp.shared.message import SessionMessage

from membrane_mcp.server.stdio import INVALID_ID, read_line
from tests.processes import server_env

HEADER = """
import os, subprocess, sys
import anyio
from membrane_mcp.server.stdio_wire import stdio_lines
"""

STRAYS = (
    HEADER
    + """
async def main():
    async with stdio_lines() as (reader, writer):
        os.write(1, b"stray write to fd 1\\n")
        print("stray print", flush=True)
        subprocess.run([sys.executable, "-c", "import sys; print('child', repr(sys.stdin.read()))"])
        await writer.write(f"{type(reader).__name__} {type(writer).__name__}\\n".encode())
        await writer.write(await reader.readline())
    os.write(1, b"fd 1 is stdout again\\n")
    print("blocking", os.get_blocking(0), os.get_blocking(1), file=sys.stderr)

anyio.run(main)
"""
)

LENGTHS = (
    HEADER
    + """
async def main():
    async with stdio_lines() as (reader, writer):
        while line := await reader.readline():
            whole = line.endswith(bytes([10]))
            await writer.write(f"{len(line)} {whole}\\n".encode())

anyio.run(main)
"""
)

CONCURRENT_WRITERS = (
    HEADER
    + """
async def main():
    async def send(writer, n):
        for i in range(40):
            await writer.write(f"{n} {i} {str(n) * 100_000}\\n".encode())

    async with stdio_lines() as (reader, writer), anyio.create_task_group() as group:
        for n in range(4):
            group.start_soon(send, writer, n)

anyio.run(main)
"""
)


def run_child(script: str, data: bytes, over: str, tmp_path: Path) -> tuple[bytes, str]:
    """Run `script` with `data` on its stdin, over pipes, files or one socket; its stdout and stderr."""
    command = [sys.executable, "-c", script]
    if over == "pipes":
        done = subprocess.run(command, input=data, capture_output=True, timeout=120)
        return done.stdout, done.stderr.decode()
    if over == "one socket":  # stdin and stdout the same socket, as inetd gives
        ours, theirs = socket.socketpair()
        with ours, theirs:
            child = subprocess.Popen(command, stdin=theirs, stdout=theirs, stderr=subprocess.PIPE)
            theirs.close()
            ours.sendall(data)
            ours.shutdown(socket.SHUT_WR)
            received = b"".join(iter(lambda: ours.recv(1 << 16), b""))
            return received, child.communicate(timeout=120)[1].decode()
    (tmp_path / "in").write_bytes(data)
    with (tmp_path / "in").open("rb") as stdin, (tmp_path / "out").open("wb") as stdout:
        done = subprocess.run(command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=120)
    return (tmp_path / "out").read_bytes(), done.stderr.decode()


@pytest.mark.parametrize(
    ("over", "layer"),
    [
        ("pipes", "PipeLineReader PipeLineWriter"),
        ("files", "ThreadLineReader ThreadLineWriter"),
        ("one socket", "ThreadLineReader ThreadLineWriter"),
    ],
)
def test_only_protocol_lines_reach_stdout_and_both_fds_are_restored(over, layer, tmp_path):
    stdout, stderr = run_child(STRAYS, b'{"echo": 1}\n', over, tmp_path)
    assert stdout.decode().splitlines() == [layer, '{"echo": 1}', "fd 1 is stdout again"]
    assert "stray write to fd 1" in stderr and "stray print" in stderr
    assert "child ''" in stderr  # a child process reads the null device, not the protocol's input
    assert "blocking True True" in stderr


@pytest.mark.parametrize("over", ["pipes", "files"])
def test_lines_are_read_whole_whatever_their_length(over, tmp_path):
    data = b"x" * 3_000_000 + b"\n" + b"short\n" + b"\n" + b"last, without a newline"
    stdout, stderr = run_child(LENGTHS, data, over, tmp_path)
    assert stdout.decode().splitlines() == ["3000001 True", "6 True", "1 True", "23 False"], stderr


def test_concurrent_long_writes_reach_the_reader_whole_in_order_and_before_exit(tmp_path):
    """4 writers of 40 lines of 100 kB each: far more than a pipe holds, so writing waits for the reader."""
    stdout, stderr = run_child(CONCURRENT_WRITERS, b"", "pipes", tmp_path)
    lines = stdout.decode().splitlines()
    assert len(lines) == 160, stderr
    seen: dict[str, list[int]] = {}
    for line in lines:
        writer, index, payload = line.split(" ")
        assert payload == writer * 100_000
        seen.setdefault(writer, []).append(int(index))
    assert seen == {str(n): list(range(40)) for n in range(4)}


def test_serve_answers_over_files_too(sandbox, tmp_path):
    """Stdin and stdout as files (the threaded fallback): every request is answered (tools/list, still
    running when stdin ends, with the SDK's "Connection closed", as over pipes)."""
    requests = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}\n'
        '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
    )
    (tmp_path / "in").write_text(requests)
    with (tmp_path / "in").open("rb") as stdin, (tmp_path / "out").open("wb") as stdout:
        subprocess.run(
            [sys.executable, "-m", "membrane_mcp", "serve"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
            env=server_env(sandbox),
            timeout=60,
        )
    answers = [json.loads(line) for line in (tmp_path / "out").read_text().splitlines()]
    assert [answer["id"] for answer in answers] == [1, 2]
    assert answers[0]["result"]["serverInfo"]["name"] == "membrane-mcp"


def request(request_id: object, **extra: object) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "ping", **extra})


@pytest.mark.parametrize("request_id", [7, "seven", -1, ""])
def test_a_request_with_a_valid_id_is_passed_on(request_id):
    read = read_line(request(request_id))
    assert isinstance(read, SessionMessage) and isinstance(read.message, mcp_types.JSONRPCRequest)
    assert read.message.id == request_id


@pytest.mark.parametrize("request_id", [2.0, 1.5, True, False, None, [1], {"a": 1}])
def test_a_request_with_an_invalid_id_is_answered_with_invalid_request(request_id):
    read = read_line(request(request_id))
    assert isinstance(read, mcp_types.JSONRPCError)
    assert read.id is None and read.error == INVALID_ID


def test_a_notification_is_passed_on_even_with_an_id_among_its_params():
    line = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"id": 1.5}})
    read = read_line(line)
    assert isinstance(read, SessionMessage)
    assert isinstance(read.message, mcp_types.JSONRPCNotification)
    assert read.message.params == {"id": 1.5}


def test_an_answer_from_the_client_is_passed_on():
    read = read_line('{"jsonrpc": "2.0", "id": 3, "result": {"ok": true}}')
    assert isinstance(read, SessionMessage) and isinstance(read.message, mcp_types.JSONRPCResponse)


@pytest.mark.parametrize(
    ("line", "code", "answer_id"),
    [
        ('{"jsonrpc": "2.0", "id": 1, "method": ', mcp_types.PARSE_ERROR, None),
        ("", mcp_types.PARSE_ERROR, None),
        ('{"id": 3, "method": "ping"}', mcp_types.INVALID_REQUEST, 3),
        ('[{"jsonrpc": "2.0", "id": 2, "method": "ping"}]', mcp_types.INVALID_REQUEST, None),
    ],
)
def test_an_unreadable_line_is_answered_with_its_error(line, code, answer_id):
    read = read_line(line)
    assert isinstance(read, mcp_types.JSONRPCError)
    assert (read.error.code, read.id) == (code, answer_id)
