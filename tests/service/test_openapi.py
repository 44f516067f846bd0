"""/openapi.json describes every response, and a client generated from it (datamodel-code-generator's
pydantic models, as a client project would generate them) parses what the app really answers (the
streams from a live server)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from datamodel_code_generator import DataModelType, InputFileType, generate
from fastapi.testclient import TestClient

from service.schemas import ChatEvent

REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def url(sample_index_dir: Path, make_server: Callable[..., str]) -> str:
    return make_server(index_dir=sample_index_dir)


@pytest.fixture(scope="module")
def spec(sample_client: TestClient) -> dict[str, Any]:
    r = sample_client.get("/openapi.json")
    assert r.status_code == 200
    spec: dict[str, Any] = r.json()
    return spec


@pytest.fixture(scope="module")
def client_models(spec: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    """The models a client generates from the served /openapi.json, imported as a module."""
    out = tmp_path_factory.mktemp("client") / "policy_rag_client.py"
    generate(
        json.dumps(spec),
        input_file_type=InputFileType.OpenAPI,
        output=out,
        output_model_type=DataModelType.PydanticV2BaseModel,
    )
    loader = importlib.util.spec_from_file_location("policy_rag_client", out)
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    sys.modules["policy_rag_client"] = module  # pydantic resolves forward references through the module
    loader.loader.exec_module(module)
    return module


def test_every_response_has_a_schema(spec: dict[str, Any]) -> None:
    """Each status of each operation documents its body: a JSON schema, a stream event model, or a file."""
    missing = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for status, response in op["responses"].items():
                content = response.get("content")
                if not content or any(not media.get("schema") for media in content.values()):
                    missing.append(f"{method.upper()} {path} {status}")
                elif status.startswith("2") and content.get("application/json", {}).get("schema") == {}:
                    missing.append(f"{method.upper()} {path} {status} (empty JSON schema)")
    assert not missing, missing


def test_the_answer_citation_and_passage_schemas_are_documented(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert {"AnswerOut", "CitationOut", "PassageOut", "ChatAnswerOut", "ChatEvent", "ComparisonOut", "JobOut"} <= set(
        schemas
    )
    ask = spec["paths"]["/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ask == {"$ref": REF + "AnswerOut"}
    assert schemas["AnswerOut"]["properties"]["citations"]["items"] == {"$ref": REF + "CitationOut"}
    assert set(schemas["AnswerOut"]["properties"]["mode"]["enum"]) == {"extractive", "llm", "extractive-fallback"}
    search = spec["paths"]["/search"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert search["items"] == {"$ref": REF + "PassageOut"}
    stream = spec["paths"]["/chat"]["post"]["responses"]["200"]["content"]["text/event-stream"]["schema"]
    assert stream == {"$ref": REF + "ChatEvent"}
    assert spec["paths"]["/ask"]["post"]["responses"]["400"]["content"]["application/json"]["schema"] == {
        "$ref": REF + "ErrorOut"
    }


def test_a_generated_client_parses_real_ask_and_search_responses(
    sample_client: TestClient, client_models: ModuleType
) -> None:
    body = sample_client.post("/ask", json={"question": "云溪区接收了多少件行政复议申请？"}).json()
    answer = client_models.AnswerOut.model_validate(body)
    assert answer.answerable and "96件" in answer.answer
    assert answer.citations[0].quote in answer.answer and answer.citations[0].n == 1
    assert answer.passages and answer.scope.regions == ["云溪区"]
    assert answer.model_dump(mode="json", exclude_unset=True) == body  # nothing lost, nothing added

    hits = sample_client.post("/search", json={"query": "行政复议申请", "k": 3}).json()
    passages = [client_models.PassageOut.model_validate(h) for h in hits]
    assert len(passages) == 3 and [p.rank for p in passages] == [1, 2, 3]
    assert [p.model_dump(mode="json", exclude_unset=True) for p in passages] == hits

    refused = sample_client.post("/ask", json={"question": "   "})
    assert refused.status_code in (400, 422)
    error = client_models.ErrorOut.model_validate(refused.json())
    assert error.error.type and error.error.message


def test_chat_stream_events_match_their_model(url: str, client_models: ModuleType) -> None:
    body = {"messages": [{"role": "user", "content": "青禾县接收了多少件行政复议申请？"}], "stream": True}
    events: list[dict[str, Any]] = []
    with httpx.stream("POST", f"{url}/chat", json=body, timeout=60) as r:
        name = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                events.append({"event": name, "data": json.loads(line[6:])})
    assert events[0]["event"] == "question" and events[-1]["event"] == "done"
    for e in events:
        ChatEvent.model_validate(e)
        client_models.ChatEvent.model_validate(e)
    answer = next(e["data"] for e in events if e["event"] == "answer")
    assert client_models.ChatAnswerOut.model_validate(answer).standalone_question == "青禾县接收了多少件行政复议申请？"


def test_openai_stream_chunks_match_their_model(url: str, client_models: ModuleType) -> None:
    body = {"messages": [{"role": "user", "content": "云溪区接收了多少件行政复议申请？"}], "stream": True}
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=60) as r:
        data = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [client_models.ChatCompletionChunkOut.model_validate_json(d) for d in data[:-1]]
    last = chunks[-1].model_dump(mode="json", exclude_unset=True)
    assert last["choices"][0]["finish_reason"] == "stop" and last["citations"] and last["mode"] == "extractive"
    assert [c.model_dump(mode="json", exclude_unset=True) for c in chunks] == [json.loads(d) for d in data[:-1]]
    assert "96件" in "".join(c.choices[0].delta.content or "" for c in chunks)
