"""The result scrub looks at every part of a tool result, and leaves a clean result untouched."""

from __future__ import annotations

from mcp import types

from membrane_mcp.redaction import MASK, contains_secret, protect, redact, scrub_model

SECRET = "sk-redaction-scan-secret-0042"


def setup_module() -> None:
    protect([SECRET])


def _result(text: str, structured: dict[str, object] | None = None, meta: dict[str, object] | None = None):
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=structured, meta=meta
    )


def test_a_clean_result_is_returned_as_is() -> None:
    result = _result('{"rows":[1,2]}', {"rows": [1, 2]})
    assert scrub_model(result) is result


def test_a_secret_only_in_structured_content_or_meta_is_masked() -> None:
    for result in (
        _result("{}", {"note": f"token {SECRET}"}),
        _result("{}", None, {"trace": SECRET}),
        types.CallToolResult(
            content=[
                types.TextContent(type="text", text="ok"),
                types.ImageContent(type="image", data=SECRET, mime_type="image/png"),
            ]
        ),
    ):
        scrubbed = scrub_model(result)
        assert scrubbed is not result
        assert SECRET not in scrubbed.model_dump_json()


def test_bearer_credentials_and_jwts_are_masked_in_any_case() -> None:
    jwt = "eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl"
    text = f"BeArEr abcdefgh12345678 then {SECRET} and {jwt}"
    assert contains_secret(text)
    assert redact(text) == f"BeArEr {MASK} then {MASK} and {MASK}"
    assert not contains_secret("a bearer of good news")
    assert redact("nothing here") == "nothing here"
