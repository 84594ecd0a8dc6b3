"""Concurrent updates over a real socket: nothing lost, nothing half-applied, no 500."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mockserver.providers.ibm_wml import token_for

N = 32


def test_32_concurrent_configuration_changes_end_in_one_of_them(
    mockserver: Any, mockserver_live: Any
) -> None:
    base = mockserver.url("sap_ai_core") + "/v2/lm"
    headers = mockserver.headers("sap_ai_core")
    with httpx.Client(base_url=base, headers=headers) as api:
        configs = {}
        for i in range(N):
            body = {"name": f"v{i}", "scenarioId": "scenario-a", "executableId": "executable-a"}
            configs[api.post("/configurations", json=body).json()["id"]] = f"v{i}"
        did = api.post("/deployments", json={"configurationId": next(iter(configs))}).json()["id"]
        mockserver.clock.advance(60)

        async def change(client: httpx.AsyncClient, cid: str) -> httpx.Response:
            return await client.patch(f"/deployments/{did}", json={"configurationId": cid})

        async def all_at_once() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=N)
            async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits) as client:
                return list(await asyncio.gather(*(change(client, c) for c in configs)))

        answers = asyncio.run(all_at_once())
        assert [r.status_code for r in answers] == [202] * N
        final = api.get(f"/deployments/{did}").json()
    assert final["configurationId"] in configs
    assert final["configurationName"] == configs[final["configurationId"]]  # one write, whole
    journal = mockserver.requests("sap_ai_core", operation_id="deployment.modify")
    assert len(journal) == N and {e.status for e in journal} == {202}
    assert mockserver.new_errors() == []


def test_32_concurrent_json_patches_lose_no_update(mockserver: Any, mockserver_live: Any) -> None:
    base = mockserver.url("ibm_wml") + "/ml/v4"
    params = {"version": "2026-10-14", "space_id": mockserver.tenant}
    headers = {"Authorization": f"Bearer {token_for('IBMid-concurrency')}"}
    with httpx.Client(base_url=base, headers=headers, params=params) as api:
        model = {
            "name": "m",
            "type": "scikit-learn_1.3",
            "software_spec": {"name": "runtime-24.1-py3.11"},
            "space_id": mockserver.tenant,
        }
        mid = api.post("/models", json=model).json()["metadata"]["id"]
        body = {
            "name": "d",
            "asset": {"id": mid},
            "online": {},
            "space_id": mockserver.tenant,
            "tags": [],
        }
        did = api.post("/deployments", json=body).json()["metadata"]["id"]

        async def tag(client: httpx.AsyncClient, i: int) -> httpx.Response:
            ops = [{"op": "add", "path": "/tags/-", "value": f"t{i}"}]
            return await client.patch(f"/deployments/{did}", json=ops)

        async def all_at_once() -> list[httpx.Response]:
            limits = httpx.Limits(max_connections=N)
            async with httpx.AsyncClient(
                base_url=base, headers=headers, params=params, limits=limits
            ) as client:
                return list(await asyncio.gather(*(tag(client, i) for i in range(N))))

        answers = asyncio.run(all_at_once())
        assert [r.status_code for r in answers] == [200] * N
        tags = api.get(f"/deployments/{did}").json()["metadata"]["tags"]
    assert sorted(tags) == sorted(f"t{i}" for i in range(N))
    assert len(mockserver.requests("ibm_wml", operation_id="deploymentsUpdate")) == N
    assert mockserver.new_errors() == []
