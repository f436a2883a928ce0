from __future__ import annotations

import jwt
import pytest

from membrane_mcp.membrane import StaticToken, TokenProvider, WorkspaceCredentials

SECRET = "s3cr3t-workspace-secret-long-enough-for-hs256"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.anyio
async def test_static_token() -> None:
    creds = StaticToken("  pat-abc  ")
    assert isinstance(creds, TokenProvider)
    assert await creds.token() == "pat-abc"
    creds.invalidate()
    assert await creds.token() == "pat-abc"
    assert "pat-abc" not in repr(creds) and "pat-abc" not in str(creds)
    with pytest.raises(ValueError):
        StaticToken(" ")


@pytest.mark.anyio
async def test_jwt_has_both_claim_shapes_and_decodes_with_the_secret() -> None:
    clock = Clock(1_800_000_000.0)
    creds = WorkspaceCredentials("ws-key", SECRET, "tenant-1", clock=clock)
    assert isinstance(creds, TokenProvider)
    token = await creds.token()
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert claims == {
        "iss": "ws-key",
        "id": "tenant-1",
        "workspaceKey": "ws-key",
        "tenantKey": "tenant-1",
        "exp": 1_800_000_000 + 3600,
    }
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "wrong-secret-wrong-secret-wrong-secret", algorithms=["HS256"])


@pytest.mark.anyio
async def test_jwt_without_tenant_is_workspace_level() -> None:
    creds = WorkspaceCredentials("ws-key", SECRET, None, clock=Clock(1_800_000_000.0))
    claims = jwt.decode(await creds.token(), SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert "id" not in claims and "tenantKey" not in claims


@pytest.mark.anyio
async def test_cached_until_under_60s_of_life_remain() -> None:
    clock = Clock(1_800_000_000.0)
    creds = WorkspaceCredentials("ws-key", SECRET, "t", ttl=600, clock=clock)
    first = await creds.token()
    clock.now += 600 - 61
    assert await creds.token() == first
    clock.now += 2  # 59 s left
    second = await creds.token()
    assert second != first
    exp = jwt.decode(second, SECRET, algorithms=["HS256"], options={"verify_exp": False})["exp"]
    assert exp == int(clock.now) + 600


@pytest.mark.anyio
async def test_invalidate_forces_a_new_mint() -> None:
    clock = Clock(1_800_000_000.0)
    creds = WorkspaceCredentials("ws-key", SECRET, "t", clock=clock)
    first = await creds.token()
    clock.now += 5
    assert await creds.token() == first
    creds.invalidate()
    assert await creds.token() != first


def test_secret_never_in_repr_or_str() -> None:
    creds = WorkspaceCredentials("ws-key", SECRET, "tenant-1")
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text
        assert "ws-key" in text
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(creds)


def test_rejects_missing_parts_and_tiny_ttl() -> None:
    with pytest.raises(ValueError):
        WorkspaceCredentials("", SECRET, "t")
    with pytest.raises(ValueError):
        WorkspaceCredentials("k", "", "t")
    with pytest.raises(ValueError):
        WorkspaceCredentials("k", SECRET, "t", ttl=30)
