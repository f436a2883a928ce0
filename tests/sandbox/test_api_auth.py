from __future__ import annotations

import httpx
import jwt
import pytest

from membrane_sandbox.serve import RunningSandbox

from .conftest import client_for, mint


def _assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "bad_request"
    assert body["key"] == "not_authenticated"
    assert body["message"]


def test_missing_token(sandbox: RunningSandbox) -> None:
    _assert_401(httpx.get(f"{sandbox.url}/connections"))


@pytest.mark.parametrize("header", ["Bearer nope", "Basic cGF0LXNhbmRib3g=", "Bearer", "pat-sandbox"])
def test_wrong_token(sandbox: RunningSandbox, header: str) -> None:
    _assert_401(httpx.get(f"{sandbox.url}/connections", headers={"Authorization": header}))


def test_expired_jwt(sandbox: RunningSandbox) -> None:
    with client_for(sandbox, mint(sandbox, "expired", ttl=-10)) as client:
        _assert_401(client.get("/connections"))


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")
def test_bad_signature_and_wrong_workspace(sandbox: RunningSandbox) -> None:
    forged = jwt.encode({"iss": sandbox.config.workspace_key, "id": "x", "exp": 2**31}, "not-the-secret")
    with client_for(sandbox, forged) as client:
        _assert_401(client.get("/connections"))
    other = jwt.encode({"iss": "other-workspace", "id": "x", "exp": 2**31}, sandbox.config.workspace_secret)
    with client_for(sandbox, other) as client:
        _assert_401(client.get("/connections"))


@pytest.mark.filterwarnings("ignore::jwt.InsecureKeyLengthWarning")
def test_jwt_without_exp_is_refused(sandbox: RunningSandbox) -> None:
    token = jwt.encode({"iss": sandbox.config.workspace_key, "id": "x"}, sandbox.config.workspace_secret)
    with client_for(sandbox, token) as client:
        _assert_401(client.get("/connections"))


@pytest.mark.parametrize("shape", ["sdk", "docs"])
def test_both_jwt_shapes_give_a_tenant_with_its_own_connections(sandbox: RunningSandbox, shape: str) -> None:
    with client_for(sandbox, mint(sandbox, f"shape-{shape}", shape=shape)) as client:
        items = client.get("/connections").json()["items"]
    with client_for(sandbox) as default:
        default_ids = {c["id"] for c in default.get("/connections").json()["items"]}
    assert sorted(c["integrationKey"] for c in items) == ["1crm", "bigtincan", "vtiger"]
    assert all(c["state"] == "READY" for c in items)
    assert not default_ids & {c["id"] for c in items}


def test_same_tenant_through_either_shape(sandbox: RunningSandbox) -> None:
    with (
        client_for(sandbox, mint(sandbox, "same", shape="sdk")) as a,
        client_for(sandbox, mint(sandbox, "same", shape="docs")) as b,
    ):
        assert a.get("/connections").json() == b.get("/connections").json()


def test_tenant_cannot_see_another_tenants_connection(sandbox: RunningSandbox, api: httpx.Client) -> None:
    connection_id = api.get("/connections").json()["items"][0]["id"]
    with client_for(sandbox, mint(sandbox, "intruder")) as other:
        response = other.get(f"/connections/{connection_id}")
    assert response.status_code == 404
    assert response.json()["key"] == "not_found"


def test_sandbox_endpoints_need_the_bearer_except_connect(sandbox: RunningSandbox) -> None:
    _assert_401(httpx.get(f"{sandbox.url}/_sandbox/stats"))
    _assert_401(httpx.post(f"{sandbox.url}/_sandbox/faults", json={"fault_rate": 1}))
    assert httpx.get(f"{sandbox.url}/_sandbox/connect/nope?code=x").status_code == 404
