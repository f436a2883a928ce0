from __future__ import annotations

from typing import get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membrane_mcp.tools.annotations import (
    ActionKind,
    classify_action,
    is_destructive,
    is_read_only,
    tool_annotations,
)


@pytest.mark.parametrize(
    ("action_type", "kind"),
    [
        ("list-data-records", "read"),
        ("find-data-record-by-id", "read"),
        ("match-data-record", "read"),
        ("search-data-record", "read"),
        ("create-data-record", "create"),
        ("find-or-create-data-record", "create"),
        ("update-data-record", "update"),
        ("delete-data-record", "delete"),
    ],
)
def test_action_type_wins_over_key(action_type: str, kind: ActionKind) -> None:
    assert classify_action("delete-everything", action_type) == kind


@pytest.mark.parametrize(
    ("key", "kind"),
    [
        ("list-contacts", "read"),
        ("get_record", "read"),
        ("queryRecords", "read"),
        ("global-search", "read"),
        ("global-search-records", "read"),
        ("describe-module", "read"),
        ("download-file", "read"),
        ("create-lead", "create"),
        ("send-email", "create"),
        ("import-contacts", "create"),
        ("update-deal", "update"),
        ("mass-update-records", "update"),
        ("upsert-contact", "update"),
        ("link-records", "update"),
        ("delete-note", "delete"),
        ("unlink-records", "delete"),
        ("cancel-meeting", "delete"),
        ("convert-lead", "write"),
        ("run-report-job", "write"),
        ("global", "write"),
        ("mass", "write"),
        ("", "write"),
    ],
)
def test_leading_verb_of_key(key: str, kind: ActionKind) -> None:
    assert classify_action(key, None) == kind


def test_unknown_action_type_falls_back_to_verb_then_name() -> None:
    assert classify_action("get-user", "api-request-to-external-app") == "read"
    assert classify_action("6523f1c0a8b2", None, "List open tickets") == "read"
    assert classify_action("6523f1c0a8b2", None, "Do something") == "write"


def test_annotations_per_kind() -> None:
    read = tool_annotations("read", "List contacts")
    assert read == {
        "title": "List contacts",
        "readOnlyHint": True,
        "destructiveHint": False,
        "idempotentHint": True,
        "openWorldHint": True,
    }
    create = tool_annotations("create", "t")
    assert (create["readOnlyHint"], create["destructiveHint"], create["idempotentHint"]) == (
        False,
        False,
        False,
    )
    for kind in ("update", "delete"):
        hints = tool_annotations(kind, "t")
        assert (hints["readOnlyHint"], hints["destructiveHint"], hints["idempotentHint"]) == (
            False,
            True,
            True,
        )
    write = tool_annotations("write", "t")
    assert (write["readOnlyHint"], write["destructiveHint"], write["idempotentHint"]) == (False, True, False)


def test_predicates() -> None:
    assert [k for k in get_args(ActionKind) if is_read_only(k)] == ["read"]
    assert [k for k in get_args(ActionKind) if is_destructive(k)] == ["update", "delete", "write"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40), st.one_of(st.none(), st.text(max_size=30)), st.text(max_size=40))
def test_classification_is_total(key: str, action_type: str | None, name: str) -> None:
    kind = classify_action(key, action_type, name)
    assert kind in get_args(ActionKind)
    hints = tool_annotations(kind, name)
    assert not (hints["readOnlyHint"] and hints["destructiveHint"])
    assert hints["openWorldHint"] is True
