"""The agent's wording is written from the Membrane error's fields, in one place."""

from __future__ import annotations

from membrane_mcp.membrane.errors import (
    ActionRunError,
    DeadlineExceeded,
    RateLimited,
    UpstreamUnavailable,
    error_from_response,
)
from membrane_mcp.tools.errors import (
    CHECK_BEFORE_REPEATING,
    NOTHING_CHANGED,
    connection_not_ready,
    from_membrane_error,
)


def test_an_unknown_outcome_says_so_and_how_to_check_for_each_kind_of_write():
    dropped = UpstreamUnavailable("ReadError", request_line="POST /x", sent=True, outcome_unknown=True)
    for operation in ("run", "create", "proxy"):
        error = from_membrane_error(dropped, doing="Doing it", operation=operation)
        assert "may or may not have happened" in error.message
        assert CHECK_BEFORE_REPEATING[operation] in error.message
        assert error.details["outcomeUnknown"] is True and error.kind == "unavailable"


def test_a_failed_read_says_nothing_changed():
    failed = UpstreamUnavailable("boom", status=503, request_line="POST /actions/q/run", attempts=4)
    error = from_membrane_error(failed, doing="Running it", operation="read")
    assert NOTHING_CHANGED in error.message and "may or may not" not in error.message
    assert error.details["attempts"] == 4 and error.details["status"] == 503


def test_a_request_that_never_left_changed_nothing_even_for_a_write():
    error = from_membrane_error(
        DeadlineExceeded(request_line="POST /actions", sent=False), doing="Creating", operation="create"
    )
    assert NOTHING_CHANGED in error.message and "before POST /actions was sent" in error.message


def test_membranes_own_words_and_run_id_are_quoted():
    exc = error_from_response(
        400,
        b'{"type": "action_run", "message": "Vtiger said no", "actionRunId": "run-1",'
        b' "causedByError": {"message": "bad id"}}',
        {},
    )
    assert isinstance(exc, ActionRunError)
    error = from_membrane_error(exc, doing="Running it", operation="run")
    assert (
        "Vtiger said no (caused by: bad id)" in error.message
        and "run run-1" in error.message
        and "get_run_log" in error.message
    )
    assert error.details["actionRunId"] == "run-1" and error.kind == "action_failed"


def test_rate_limits_say_when_to_try_again():
    error = from_membrane_error(
        RateLimited("slow down", status=429, retry_after=7), doing="X", operation="read"
    )
    assert "try again after 7 s" in error.message and error.details["retryAfter"] == 7


def test_a_connection_not_ready_names_connect_app_only_where_it_is_listed():
    listed = connection_not_ready("Vtiger", "vtiger", "DISCONNECTED", None, None, can_connect=True)
    read_only = connection_not_ready("Vtiger", "vtiger", "DISCONNECTED", None, None, can_connect=False)
    with_url = connection_not_ready(
        "Vtiger", "vtiger", "DISCONNECTED", None, "https://x/y", can_connect=False
    )
    assert "connect_app {app: 'vtiger'} reconnects it" in listed.message
    assert "connect_app" not in read_only.message and "reconnect it in Membrane" in read_only.message
    assert "open https://x/y" in with_url.message
