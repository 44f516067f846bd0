"""Request limits: body caps per route (413 before reading; a live server), the bounded answer queue with
its timeout (503 + Retry-After), and what the OpenAPI document says about them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from service.limits import AnswerGate, Busy

TIMEOUT = 30


@pytest.fixture(scope="module")
def url(make_server: Callable[..., str], sample_index_dir: Path) -> str:
    return make_server(index_dir=sample_index_dir, json_max_bytes=4096)


def test_a_json_body_over_the_cap_is_refused_by_its_length(url: str) -> None:
    body = '{"question": "' + "问" * 5000 + '"}'
    r = httpx.post(f"{url}/ask", content=body.encode(), headers={"content-type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 413 and "4,096 bytes" in r.json()["error"]["message"]


def test_a_chunked_body_is_counted_as_it_arrives(url: str) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": "'
        for _ in range(100):
            yield "问".encode() * 100
        yield b'"}'

    r = httpx.post(f"{url}/ask", content=chunks(), headers={"content-type": "application/json"}, timeout=TIMEOUT)
    assert r.status_code == 413, r.text


def test_a_body_under_the_cap_is_answered(url: str) -> None:
    r = httpx.post(f"{url}/ask", json={"question": "云溪区接收了多少件行政复议申请？"}, timeout=TIMEOUT)
    assert r.status_code == 200 and "96件" in r.json()["answer"]


def test_openapi_lists_error_statuses_and_content_types(sample_client: TestClient) -> None:
    spec = sample_client.get("/openapi.json").json()["paths"]
    assert {"400", "413", "422", "503"} <= set(spec["/ask"]["post"]["responses"])
    assert {"401", "403", "413", "415", "429"} <= set(spec["/reports"]["post"]["responses"])
    assert "multipart/form-data" in spec["/reports"]["post"]["requestBody"]["content"]
    assert "202" in spec["/reports"]["post"]["responses"] and "/jobs/{job_id}" in spec
    assert {"text/csv", "text/markdown"} <= set(spec["/compare"]["post"]["responses"]["200"]["content"])
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert docx in spec["/briefings"]["post"]["responses"]["200"]["content"]
    assert "text/event-stream" in spec["/chat"]["post"]["responses"]["200"]["content"]


def test_the_answer_queue_is_bounded() -> None:
    gate = AnswerGate(max_inflight=2, workers=1, timeout=30)
    release = threading.Event()

    async def scenario() -> None:
        first = asyncio.create_task(gate.run(release.wait, 30))  # running
        second = asyncio.create_task(gate.run(release.wait, 30))  # queued behind it
        while gate.inflight < 2:
            await asyncio.sleep(0.01)
        with pytest.raises(Busy) as e:
            await gate.run(lambda: True)
        assert e.value.status_code == 503 and e.value.headers == {"Retry-After": "1"}
        release.set()
        assert await first and await second
        assert await gate.run(lambda: "answered") == "answered"

    asyncio.run(scenario())
    assert gate.inflight == 0
    gate.shutdown()


def test_a_request_past_its_time_gets_503_and_keeps_its_slot_until_done() -> None:
    gate = AnswerGate(max_inflight=1, workers=1, timeout=0.05)
    release = threading.Event()

    async def scenario() -> None:
        with pytest.raises(Busy) as e:
            await gate.run(release.wait, 30)
        assert "RAG_REQUEST_TIMEOUT" in str(e.value.detail)
        assert gate.inflight == 1  # the thread still works: no new request is admitted meanwhile
        with pytest.raises(Busy):
            await gate.run(lambda: True)
        release.set()
        for _ in range(500):
            if gate.inflight == 0:
                break
            await asyncio.sleep(0.01)
        assert gate.inflight == 0

    asyncio.run(scenario())
    gate.shutdown()


def test_long_questions_have_a_lane_of_their_own() -> None:
    gate = AnswerGate(max_inflight=4, workers=2, timeout=30, long_inflight=1)
    release = threading.Event()

    async def scenario() -> None:
        long = asyncio.create_task(gate.run(release.wait, 30, lane="long"))
        while gate.admitted["long"] < 1:
            await asyncio.sleep(0.01)
        with pytest.raises(Busy) as e:  # the long lane is full ...
            await gate.run(lambda: True, lane="long")
        assert "long questions" in str(e.value.detail)
        assert await gate.run(lambda: "short") == "short"  # ... short questions are still answered
        release.set()
        assert await long

    asyncio.run(scenario())
    gate.shutdown()


def test_requests_are_routed_to_a_lane_by_question_length(url: str) -> None:
    long_question = "请问" + "云溪区接收了多少件行政复议申请，" * 100
    r = httpx.post(f"{url}/ask", json={"question": long_question[:1000]}, timeout=TIMEOUT)  # under the 4 KiB cap
    assert r.status_code == 200 and "96件" in r.json()["answer"]
