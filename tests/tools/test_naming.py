from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from membrane_mcp.tools.naming import (
    MAX_TOOL_NAME_LENGTH,
    TOOL_NAME_PATTERN,
    NameRequest,
    assign_tool_names,
    connection_discriminator,
    slug,
)


def test_slug() -> None:
    assert slug("  Query Records!! ") == "query_records"
    assert slug("list-contacts") == slug("list_contacts") == "list_contacts"
    assert slug("Ünïcode--Name") == "n_code_name"
    assert slug("---") == ""


def test_base_name_single_connection() -> None:
    request = NameRequest("vtiger", "conn-1", "query-records")
    assert assign_tool_names([request]) == {request: "vtiger_query_records"}


def test_second_connection_of_same_app_discriminates_every_name_of_that_app() -> None:
    a = NameRequest("vtiger", "conn-1", "query-records")
    b = NameRequest("vtiger", "conn-2", "query-records")
    c = NameRequest("vtiger", "conn-1", "list-contacts")
    other = NameRequest("1crm", "conn-3", "query-records")
    names = assign_tool_names([a, b, c, other])
    assert names[a] == f"vtiger_{connection_discriminator('conn-1')}_query_records"
    assert names[b] == f"vtiger_{connection_discriminator('conn-2')}_query_records"
    assert names[c] == f"vtiger_{connection_discriminator('conn-1')}_list_contacts"
    assert names[other] == "1crm_query_records"
    assert len(connection_discriminator("conn-1")) == 4


def test_slug_collision_suffixes_both_with_identity_hash() -> None:
    dash = NameRequest("vtiger", "c", "list-contacts")
    under = NameRequest("vtiger", "c", "list_contacts")
    names = assign_tool_names([dash, under])
    assert names[dash] != names[under]
    for name in names.values():
        assert name.startswith("vtiger_list_contacts_")
        assert len(name) == len("vtiger_list_contacts_") + 6


def test_overflow_is_cut_and_hashed_but_readable() -> None:
    request = NameRequest("bigtincan", "c", "retrieve-all-hub-story-attachments-with-extended-metadata")
    name = assign_tool_names([request])[request]
    assert len(name) <= MAX_TOOL_NAME_LENGTH
    assert name.startswith("bigtincan_retrieve_all_hub_story")
    assert TOOL_NAME_PATTERN.match(name)


def test_suffixed_name_colliding_with_a_literal_name_is_resolved() -> None:
    dash = NameRequest("app", "c", "x-y")
    under = NameRequest("app", "c", "x_y")
    first = assign_tool_names([dash, under])
    literal = NameRequest("app", "c", first[dash].removeprefix("app_"))
    names = assign_tool_names([dash, under, literal])
    assert len(set(names.values())) == 3


def test_empty_slugs_still_give_valid_names() -> None:
    request = NameRequest("!!!", "c", "???")
    name = assign_tool_names([request])[request]
    assert name == "app_action"


def test_names_are_stable_across_calls_and_duplicates_collapse() -> None:
    request = NameRequest("vtiger", "c", "get-record")
    assert assign_tool_names([request, request]) == assign_tool_names([request])


_apps = st.sampled_from(["vtiger", "Vtiger", "1crm", "one-crm", "bigtincan", "x" * 40, "a.b"])
_connections = st.sampled_from(["c1", "c2", "c3", "0f6c1c9e-7c1e-4b5a-9b6e-2f8a1c7d9e10"])
_actions = st.one_of(
    st.sampled_from(["list-contacts", "list_contacts", "List Contacts", "query-records", "get", "-"]),
    st.text(alphabet="abc-_. XYZ", max_size=70),
)
_requests = st.lists(st.builds(NameRequest, _apps, _connections, _actions), max_size=30)


@settings(max_examples=150, deadline=None)
@given(_requests, st.randoms(use_true_random=False))
def test_names_unique_valid_short_and_order_independent(
    requests: list[NameRequest], rng: random.Random
) -> None:
    names = assign_tool_names(requests)
    assert set(names) == set(requests)
    assert len(set(names.values())) == len(names)
    for name in names.values():
        assert TOOL_NAME_PATTERN.match(name), name
        assert 0 < len(name) <= MAX_TOOL_NAME_LENGTH
    shuffled = list(requests)
    rng.shuffle(shuffled)
    assert assign_tool_names(shuffled) == names
