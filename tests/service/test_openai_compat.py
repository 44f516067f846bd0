"""The OpenAI-compatible endpoints, driven by the official ``openai`` client over the project's SAMPLE
corpus (fictional reports: 青禾县 2024, 云溪区 2024, 白鹭市 2023): through ``TestClient`` as its HTTP
client, and against a live server on 127.0.0.1 for the streams."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from fastapi.testclient import TestClient
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

MODEL = "policy-rag"


@pytest.fixture(scope="module")
def url(make_server: Callable[..., str], sample_index_dir: Path) -> str:
    return make_server(index_dir=sample_index_dir)


@pytest.fixture(scope="module")
def live_client(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key="x", max_retries=0, timeout=30)


@pytest.fixture(scope="module")
def client(sample_client: TestClient) -> openai.OpenAI:
    """The official client with the app behind TestClient as its HTTP client."""
    base = f"{sample_client.base_url}/v1"
    return openai.OpenAI(base_url=base, api_key="x", max_retries=0, timeout=30, http_client=sample_client)


def user(text: str) -> ChatCompletionMessageParam:
    return {"role": "user", "content": text}


def complete(client: openai.OpenAI, messages: list[ChatCompletionMessageParam]) -> ChatCompletion:
    return client.chat.completions.create(model=MODEL, messages=messages)


def stream(client: openai.OpenAI, messages: list[ChatCompletionMessageParam]) -> list[ChatCompletionChunk]:
    return list(client.chat.completions.create(model=MODEL, messages=messages, stream=True))


def citations_of(obj: ChatCompletion | ChatCompletionChunk) -> list[dict[str, Any]]:
    extra = obj.model_extra or {}
    assert "citations" in extra, f"no citations field on {type(obj).__name__}"
    cites: list[dict[str, Any]] = extra["citations"]
    assert cites == obj.to_dict()["citations"]
    return cites


def test_models_lists_policy_rag(client: openai.OpenAI) -> None:
    ids = [m.id for m in client.models.list()]
    assert ids == [MODEL]


def test_completion_has_answer_references_and_citations(client: openai.OpenAI, sample_client: TestClient) -> None:
    question = "青禾县行政复议和解率是多少？"
    resp = complete(client, [user(question)])
    assert resp.object == "chat.completion" and resp.model == MODEL and resp.id.startswith("chatcmpl-")
    choice = resp.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    content = choice.message.content or ""
    answer = sample_client.post("/ask", json={"question": question}).json()
    assert content.startswith(answer["answer"])
    assert "36.23%" in content and "41.7%" not in content
    body, refs = content.split("\n\n参考来源：\n", 1)
    assert body == answer["answer"]
    cites = citations_of(resp)
    assert cites and all(c["region"] == "青禾县" for c in cites)
    assert "36.23%" in cites[0]["quote"]
    # one numbered reference line per citation: [n] 《title》section第k段：“quote”
    lines = refs.split("\n")
    assert len(lines) == len(cites)
    for line, c in zip(lines, cites, strict=True):
        m = re.fullmatch(r"\[(\d+)\] (《[^》]+》.+第\d+段)：“(.+)”", line)
        assert m, line
        assert int(m.group(1)) == c["n"] and m.group(2) == c["reference"] and m.group(3) == c["quote"]
        assert f"《{c['title']}》" in line
    extra = resp.model_extra or {}
    assert extra["answerable"] is True and extra["mode"] == "extractive"


def test_multi_turn_follow_up(client: openai.OpenAI) -> None:
    messages: list[ChatCompletionMessageParam] = [
        {"role": "system", "content": "你是法治政府建设报告问答助手。"},
        user("青禾县接收了多少件行政复议申请？"),
        {"role": "assistant", "content": "青禾县接收行政复议申请181件。[1]"},
        user("那云溪区呢？"),
    ]
    resp = complete(client, messages)
    content = resp.choices[0].message.content or ""
    assert "96件" in content and "181件" not in content
    cites = citations_of(resp)
    assert cites and {c["region"] for c in cites} == {"云溪区"}

    messages += [{"role": "assistant", "content": content}, user("它的和解率是多少？")]
    content = complete(client, messages).choices[0].message.content or ""
    assert "41.7%" in content and "36.23%" not in content


@pytest.mark.parametrize("question", ["白鹭市行政机关负责人出庭应诉率是多少？", "火星上有多少人？"])
def test_stream_equals_non_stream(live_client: openai.OpenAI, question: str) -> None:
    whole = complete(live_client, [user(question)])
    chunks = stream(live_client, [user(question)])
    assert len(chunks) >= 3
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert streamed == whole.choices[0].message.content
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    assert citations_of(last) == citations_of(whole)
    assert not any("citations" in (c.model_extra or {}) for c in chunks[:-1])


def test_stream_carries_citations_on_the_last_chunk(live_client: openai.OpenAI) -> None:
    chunks = stream(live_client, [user("云溪区接收了多少件行政复议申请？")])
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "96件" in streamed and "参考来源" in streamed
    cites = citations_of(chunks[-1])
    assert cites and cites[0]["region"] == "云溪区" and "96件" in cites[0]["quote"]
    assert (chunks[-1].model_extra or {})["answerable"] is True


def test_stream_ends_with_done(url: str) -> None:
    messages = [{"role": "user", "content": "青禾县接收了多少件行政复议申请？"}]
    body = {"model": MODEL, "messages": messages, "stream": True}
    r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.text.rstrip().endswith("data: [DONE]")


def test_unanswerable_completion(client: openai.OpenAI) -> None:
    resp = complete(client, [user("火星上有多少人？")])
    content = resp.choices[0].message.content or ""
    assert "没有" in content and "参考来源" not in content
    assert citations_of(resp) == []
    assert (resp.model_extra or {})["answerable"] is False


def test_bad_requests_are_clear_errors(client: openai.OpenAI, sample_client: TestClient) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as e:
        client.chat.completions.create(model=MODEL, messages=[])
    assert e.value.status_code == 422
    assert "messages" in str(e.value.body)
    r = sample_client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x" * 20001}]})
    assert r.status_code == 422 and r.json()["error"]["type"] == "ValidationError"
