"""Requests whose id has an invalid type (object, float, bool, null, array) are answered with -32600 and a
null id over stdio (the SDK alone reads them as notifications and answers nothing); the server keeps serving
and nothing reaches the app. HTTP is covered in test_http_limits.py."""

from __future__ import annotations

import json

from tests.reliability.test_bad_input import HANDSHAKE, RawStdio, call
from tests.server.conftest import sandbox_stats

BAD_IDS = [{"a": 1}, 1.5, True, False, None, [1], 2.0]
EXPECTED = {
    "jsonrpc": "2.0",
    "id": None,
    "error": {"code": -32600, "message": "Invalid request: 'id' must be a string or an integer"},
}


def test_stdio_answers_requests_with_invalid_ids(fresh_sandbox):
    server = RawStdio(fresh_sandbox)
    try:
        server.send(json.dumps(HANDSHAKE))
        server.answers(0)
        server.send('{"jsonrpc": "2.0", "method": "notifications/initialized"}')
        for index, bad_id in enumerate(BAD_IDS):
            line = json.loads(
                call(0, "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
            )
            server.send(json.dumps({**line, "id": bad_id}))
            server.send(json.dumps({"jsonrpc": "2.0", "id": 100 + index, "method": "ping"}))
            found = server.answers(None, 100 + index)
            assert found[None] == EXPECTED, bad_id
            assert found[100 + index]["result"] == {}
        # A notification (no id at all) is still not answered, and a valid request still works.
        server.send('{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 5}}')
        server.send(call(200, "list_connections", {}))
        assert server.answers(200)[200]["result"]["structuredContent"]["connections"]
        assert server.lines.empty()
    finally:
        server.close()
    assert sandbox_stats(fresh_sandbox)["proxyRequests"] == {}
