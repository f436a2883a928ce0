"""Assertions on what a third-party MCP client printed, for scripts/check-clients.sh.

    python3 expect.py CHECK STDOUT_FILE [STDERR_FILE] [ARG]

Prints one line: the evidence on success (exit 0) or the reason on failure (exit 1).
Standard library only: it runs with whatever python3 the machine has.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

META_TOOLS = [
    "list_connections",
    "search_actions",
    "describe_action",
    "run_action",
    "run_write_action",
    "raw_request",
    "raw_write_request",
    "create_action",
    "connect_app",
    "get_run_log",
]


class Failed(Exception):
    pass


def json_documents(text: str) -> list[Any]:
    """Every JSON value in the text, in order (the Inspector may print a result and then an error object)."""
    decoder = json.JSONDecoder()
    docs, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        try:
            value, i = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            # Skip a stray non-JSON line.
            nl = text.find("\n", i)
            i = len(text) if nl < 0 else nl + 1
            continue
        docs.append(value)
    return docs


def first_json(path: str) -> Any:
    text = Path(path).read_text(errors="replace")
    docs = json_documents(text)
    if not docs:
        raise Failed(f"no JSON in the client's output ({len(text)} bytes): {text[:200]!r}")
    return docs[0]


def tool_payload(result: Any) -> Any:
    """The tool's data: structuredContent, else the first text block parsed as JSON."""
    if not isinstance(result, dict) or "content" not in result:
        raise Failed(f"not a tools/call result: {json.dumps(result)[:300]}")
    if result.get("structuredContent") is not None:
        return result["structuredContent"]
    for block in result.get("content", []):
        if block.get("type") == "text":
            try:
                return json.loads(block["text"])
            except json.JSONDecodeError as exc:
                raise Failed(f"text content is not JSON: {block['text'][:200]!r}") from exc
    raise Failed("result has neither structuredContent nor a text block")


def ok_call(path: str) -> Any:
    result = first_json(path)
    if result.get("isError"):
        raise Failed(f"tool returned isError:true: {json.dumps(result.get('content'))[:300]}")
    return result


def check_tools_list(out: str, err: str | None = None, arg: str | None = None) -> str:
    listing = first_json(out)
    tools = listing.get("tools") if isinstance(listing, dict) else None
    if not isinstance(tools, list) or not tools:
        raise Failed(f"no tools in the listing: {json.dumps(listing)[:200]}")
    names = [t.get("name") for t in tools]
    missing = [n for n in META_TOOLS if n not in names]
    if missing:
        raise Failed(f"meta tools missing: {missing}; listed: {names}")
    for tool in tools:
        schema = tool.get("inputSchema")
        if not isinstance(schema, dict) or schema.get("type") != "object":
            raise Failed(f"tool {tool.get('name')} has no object inputSchema: {schema}")
        if not tool.get("description"):
            raise Failed(f"tool {tool.get('name')} has no description")
    return f"{len(tools)} tools: {', '.join(names)}"


def check_search(out: str, err: str | None = None, arg: str | None = None) -> str:
    payload = tool_payload(ok_call(out))
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list) or not results:
        raise Failed(f"no search results: {json.dumps(payload)[:300]}")
    top = [(r.get("app"), r.get("key")) for r in results[:3]]
    hits = [k for app, k in top if app == "vtiger" and re.search(r"query|retrieve", k or "")]
    if not hits:
        raise Failed(f"no vtiger query/retrieve action in the top three: {top}")
    return f"top three {top}; vtiger hit {hits[0]}"


def check_run_action(out: str, err: str | None = None, arg: str | None = None) -> str:
    want = int(arg or 3)
    payload = tool_payload(ok_call(out))
    output = payload.get("output") if isinstance(payload, dict) else None
    records = output.get("records") if isinstance(output, dict) else None
    if not isinstance(records, list):
        raise Failed(f"no output.records in the result: {json.dumps(payload)[:300]}")
    if len(records) != want:
        raise Failed(f"expected {want} contacts, got {len(records)}")
    bad = [r for r in records if not (r.get("id") and r.get("lastname"))]
    if bad:
        raise Failed(f"records without id/lastname: {json.dumps(bad)[:300]}")
    return f"{len(records)} contacts: " + ", ".join(
        f"{r['id']} {r.get('firstname', '')} {r['lastname']}" for r in records
    )


def check_raw_request(out: str, err: str | None = None, arg: str | None = None) -> str:
    payload = tool_payload(ok_call(out))
    if not isinstance(payload, dict) or payload.get("status") != 200:
        raise Failed(f"expected HTTP 200 from the app: {json.dumps(payload)[:300]}")
    body = payload.get("body")
    user = body.get("result") if isinstance(body, dict) else None
    if not (
        isinstance(body, dict)
        and body.get("success") is True
        and isinstance(user, dict)
        and user.get("user_name")
    ):
        raise Failed(f"body is not Vtiger's /me JSON: {json.dumps(body)[:300]}")
    return f"status 200, /me user_name={user['user_name']} id={user.get('id')}"


def check_modern_call(out: str, err: str | None = None, arg: str | None = None) -> str:
    """A raw_request over the 2026-07-28 era: the result carries the server's identity in _meta."""
    evidence = check_raw_request(out)
    meta = first_json(out).get("_meta") or {}
    info = meta.get("io.modelcontextprotocol/serverInfo") or {}
    if info.get("name") != "membrane-mcp":
        raise Failed(f"no modern-era serverInfo in the result's _meta: {json.dumps(meta)[:200]}")
    return f"{evidence}; _meta serverInfo {info.get('name')} {info.get('version')}"


def check_tool_error(out: str, err: str | None = None, arg: str | None = None) -> str:
    text = (
        Path(out).read_text(errors="replace") + "\n" + (Path(err).read_text(errors="replace") if err else "")
    )
    docs = json_documents(text)
    result = next((d for d in docs if isinstance(d, dict) and "content" in d), None)
    if result is None:
        raise Failed(f"no tools/call result printed: {text[-300:]!r}")
    if result.get("isError") is not True:
        raise Failed(f"expected isError:true, got {json.dumps(result)[:300]}")
    message = " ".join(b.get("text", "") for b in result.get("content", []))
    if "missing required field" not in message:
        raise Failed(f"the error does not name the missing field: {message[:200]!r}")
    codes = [d["error"].get("code") for d in docs if isinstance(d, dict) and isinstance(d.get("error"), dict)]
    if "tool_is_error" not in codes:
        raise Failed(f"the Inspector did not report tool_is_error (saw {codes})")
    return f"isError:true, inspector code tool_is_error, message {message.splitlines()[0]!r}"


def check_strict(out: str, err: str | None = None, arg: str | None = None) -> str:
    app = arg or ""
    listing = first_json(out)
    names = [t.get("name") for t in listing.get("tools", [])]
    app_tools = [n for n in names if n.startswith(f"{app}_")]
    if len(app_tools) < 3:
        raise Failed(f"direct mode lists too few {app}_* tools: {names}")
    others = [n for n in names if n not in META_TOOLS and not n.startswith(f"{app}_")]
    if others:
        raise Failed(f"--apps {app} still lists other apps' tools: {others[:5]}")
    stderr = Path(err).read_text(errors="replace") if err else ""
    summary = re.search(r"(\d+) errors?, (\d+) warnings?", stderr)
    if not summary:
        # The Inspector prints nothing under --strict when it finds no problem at all (and exits 6 on errors,
        # which the caller checks), so silence means a clean listing.
        return (
            f"{len(app_tools)} {app} tools + {len(names) - len(app_tools)} meta; strict: no problems reported"
        )
    if int(summary.group(1)) != 0:
        problems = [line for line in stderr.splitlines() if line.startswith(("Error", "  Path", "  Issue"))]
        raise Failed(f"{summary.group(0)}: " + " | ".join(problems[:6]))
    return f"{len(app_tools)} {app} tools + {len(names) - len(app_tools)} meta; strict: {summary.group(0)}"


CHECKS = {
    "tools-list": check_tools_list,
    "search": check_search,
    "run-action": check_run_action,
    "raw-request": check_raw_request,
    "modern-call": check_modern_call,
    "tool-error": check_tool_error,
    "strict": check_strict,
}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in CHECKS:
        print(f"usage: expect.py {{{','.join(CHECKS)}}} STDOUT [STDERR] [ARG]", file=sys.stderr)
        return 2
    check, out = argv[0], argv[1]
    err = argv[2] if len(argv) > 2 and argv[2] else None
    arg = argv[3] if len(argv) > 3 else None
    try:
        print(CHECKS[check](out, err, arg))
    except Failed as exc:
        print(exc)
        return 1
    except Exception as exc:  # an unexpected shape is a failure, not a crash of the runner
        print(f"{type(exc).__name__}: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
