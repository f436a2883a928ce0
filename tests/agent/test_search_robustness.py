"""Query words that join into an app's name still name that app (the index, then the MCP surface)."""

from __future__ import annotations

from membrane_mcp.tools.search import parse_query


def test_words_that_join_into_an_app_key_name_the_app():
    tokens = {"hubspot": "hubspot", "app42": "app42", "vtiger": "vtiger"}
    _, apps = parse_query("list contacts in hub spot", tokens)
    assert apps == {"hubspot"}
    _, apps = parse_query("find deals in app 42", tokens)
    assert apps == {"app42"}
    concepts, apps = parse_query("list hub records", tokens)
    assert apps == set() and any(term == "hub" for c in concepts for term, _ in c.variants)


def test_one_crm_split_names_1crm():
    _, apps = parse_query("list cases in 1 crm", {"1crm": "1crm"})
    assert apps == {"1crm"}
