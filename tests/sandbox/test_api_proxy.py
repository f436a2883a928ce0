from __future__ import annotations

import httpx

from .conftest import connection_ids


def test_proxy_passes_status_headers_and_body_through(tenant_api: httpx.Client) -> None:
    ids = connection_ids(tenant_api)
    response = tenant_api.post(
        f"/connections/{ids['vtiger']}/proxy/echo/items",
        params=[("q", "a"), ("q", "b")],
        content=b'{"x": 1}',
        headers={
            "Content-Type": "application/json",
            "X-Custom": "kept",
            "X-Forwarded-For": "10.0.0.1",
            "X-Real-IP": "10.0.0.1",
            "CF-Ray": "abc",
        },
    )
    assert response.status_code == 201
    assert response.headers["x-fake-app"] == "vtiger"
    echoed = response.json()
    assert echoed["method"] == "POST" and echoed["path"] == "/echo/items"
    assert echoed["query"] == [["q", "a"], ["q", "b"]]
    assert echoed["body"] == '{"x": 1}' and echoed["account"] == ids["vtiger"]
    headers = echoed["headers"]
    assert headers["x-custom"] == "kept" and headers["content-type"] == "application/json"
    for dropped in ("authorization", "host", "x-forwarded-for", "x-real-ip", "cf-ray", "content-length"):
        assert dropped not in headers


def test_proxy_returns_app_errors_verbatim(tenant_api: httpx.Client) -> None:
    response = tenant_api.get("/connections/vtiger/proxy/nowhere")
    assert response.status_code == 404 and response.text == "not here"
    assert response.headers["content-type"].startswith("text/plain")


def test_full_urls(tenant_api: httpx.Client) -> None:
    ok = tenant_api.get("/connections/1crm/proxy/https://1crm.example.test/api/v1/contacts")
    assert ok.status_code == 200 and len(ok.json()["data"]) == 5
    elsewhere = tenant_api.get("/connections/1crm/proxy/https://evil.example.test/contacts")
    assert elsewhere.status_code == 400 and elsewhere.json()["type"] == "bad_request"


def test_proxy_counts_and_selectors(tenant_api: httpx.Client) -> None:
    before = tenant_api.get("/_sandbox/stats").json()["proxyRequests"]
    assert tenant_api.delete("/connections/bigtincan/proxy/echo").status_code == 201
    after = tenant_api.get("/_sandbox/stats").json()["proxyRequests"]
    assert after.get("DELETE", 0) == before.get("DELETE", 0) + 1
    assert tenant_api.get("/connections/" + "0" * 24 + "/proxy/contacts").status_code == 404
    assert tenant_api.get("/connections/salesforce/proxy/contacts").status_code == 404
