from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membrane_mcp.tools.output import TRUNCATION_KEY, EncodedParts, encoded, shape_output


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def test_small_dict_passes_through() -> None:
    value = {"name": "Zoë", "n": 1}
    shaped = shape_output(value)
    assert shaped.structured is value
    assert shaped.text == '{"name":"Zoë","n":1}'
    assert (shaped.truncated, shaped.note) == (False, None)


@pytest.mark.parametrize("value", [[1, 2], "text", 3, None])
def test_non_dict_wrapped_as_result(value: Any) -> None:
    shaped = shape_output(value)
    assert shaped.structured == {"result": value}
    assert json.loads(shaped.text) == {"result": value}


def test_non_json_values_are_coerced() -> None:
    shaped = shape_output({"x": float("nan"), "t": (1, 2), 3: {1, 2} and "set"})
    assert json.loads(shaped.text) == shaped.structured == {"x": None, "t": [1, 2], "3": "set"}


def test_records_cut_at_a_boundary_one_level_down() -> None:
    records = [{"id": i, "name": f"Contact {i}"} for i in range(500)]
    value = {"data": {"records": records, "cursor": "abc"}, "meta": {"count": 500}}
    shaped = shape_output(value, max_bytes=4096, how_to_continue="Call again with cursor 'abc'.")
    assert shaped.truncated
    assert _size(shaped.text) <= 4096
    info = shaped.structured[TRUNCATION_KEY]
    shown = info["shown"]
    assert info["total"] == 500 and info["path"] == "data.records"
    assert shaped.structured["data"]["records"] == records[:shown]
    assert shaped.structured["data"]["cursor"] == "abc"
    assert shaped.note == info["note"]
    assert (
        shaped.note
        == f"Output truncated: showing {shown} of 500 records (4 KiB limit). Call again with cursor 'abc'."
    )
    assert shaped.text.startswith('{"_truncated":')
    assert json.loads(shaped.text) == shaped.structured
    # The prefix is the longest that fits.
    assert _size(shaped.text) + len(json.dumps(records[shown], separators=(",", ":"))) + 1 > 4096


def test_top_level_list_is_cut() -> None:
    shaped = shape_output(list(range(10_000)), max_bytes=1024)
    assert shaped.structured["result"] == list(range(shaped.structured[TRUNCATION_KEY]["shown"]))
    assert "Ask for fewer records or fields" in (shaped.note or "")
    assert _size(shaped.text) <= 1024


def test_long_strings_cut_when_there_is_no_list() -> None:
    shaped = shape_output({"body": "é" * 50_000, "subject": "hi"}, max_bytes=2048)
    assert shaped.truncated and _size(shaped.text) <= 2048
    info = shaped.structured[TRUNCATION_KEY]
    assert info["strings_shortened"] == 1
    assert shaped.structured["subject"] == "hi"
    assert shaped.structured["body"] == "é" * info["max_chars"] + "…"


def test_records_with_huge_text_cut_both_ways() -> None:
    shaped = shape_output({"items": [{"body": "y" * 10_000, "id": i} for i in range(50)]}, max_bytes=2048)
    info = shaped.structured[TRUNCATION_KEY]
    assert info["shown"] >= 1
    assert [r["id"] for r in shaped.structured["items"]] == list(range(info["shown"]))
    assert "cut to 200 characters" in info["note"]


def test_last_resort_summary() -> None:
    shaped = shape_output({str(i): i for i in range(5000)}, max_bytes=600)
    assert shaped.truncated and _size(shaped.text) <= 600
    assert "summary" in shaped.structured
    assert json.loads(shaped.text) == shaped.structured


def test_tiny_budgets_still_bounded() -> None:
    assert shape_output({"a": "b" * 100}, max_bytes=2).text == "{}"
    with pytest.raises(ValueError):
        shape_output({}, max_bytes=1)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=8) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=40,
)
_record = st.dictionaries(
    st.sampled_from(["id", "name", "email", "notes"]), st.text(max_size=60) | st.integers()
)


@settings(max_examples=150, deadline=None)
@given(_json, st.integers(2, 3000))
def test_always_valid_json_within_budget(value: Any, max_bytes: int) -> None:
    shaped = shape_output(value, max_bytes=max_bytes)
    assert _size(shaped.text) <= max_bytes
    assert json.loads(shaped.text) == shaped.structured
    assert isinstance(shaped.structured, dict)
    assert shaped.truncated == (shaped.note is not None)


@settings(max_examples=100, deadline=None)
@given(st.lists(_record, max_size=80), st.sampled_from(["records", "items", None]), st.integers(300, 4000))
def test_truncation_keeps_a_prefix_of_records(
    records: list[dict[str, Any]], key: str | None, max_bytes: int
) -> None:
    value: Any = records if key is None else {key: records, "next": "cursor-1"}
    shaped = shape_output(value, max_bytes=max_bytes)
    assert _size(shaped.text) <= max_bytes
    if not shaped.truncated:
        return
    info = shaped.structured[TRUNCATION_KEY]
    if "shown" in info:
        kept = shaped.structured[key or "result"]
        assert info["total"] == len(records)
        assert kept == records[: info["shown"]] or "cut to 200" in info["note"]


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=8), _json, max_size=6), st.integers(30, 3000))
def test_values_encoded_already_give_the_same_result(value: dict[str, Any], max_bytes: int) -> None:
    """A run's output, encoded once to measure it, is written as is: the same text and content as before."""
    texts = {key: text for key, member in value.items() if (text := encoded(member)) is not None}
    plain = shape_output(value, max_bytes)
    parts = shape_output(EncodedParts(value, texts), max_bytes)
    assert (parts.text, parts.structured, parts.truncated, parts.note) == (
        plain.text,
        plain.structured,
        plain.truncated,
        plain.note,
    )


def test_encoded_is_none_for_what_is_not_plain_json() -> None:
    assert encoded({"a": [1, "é"]}) == '{"a":[1,"é"]}'
    assert encoded(float("nan")) is None and encoded({"a": object()}) is None
