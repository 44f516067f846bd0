"""The REST API of the real app factory over the project's SAMPLE corpus (fictional reports: 青禾县 2024,
云溪区 2024, 白鹭市 2023, same wording, other figures): through ``TestClient``, and over real HTTP (a live
uvicorn server on 127.0.0.1) for the SSE streams and for questions answered while an upload is ingested."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rag.answer.combine import part_heading
from rag.ingest.sample import SAMPLE_NOTE, SAMPLES, report_text
from tests.helpers import Client, Response, copy_index

TIMEOUT = 30
KEY = "test-key"
UPLOAD_LIMIT = 8192

# (region, question, the figure the answer must carry, figures of the other regions it must not carry)
ONE_WORDING = [
    ("青禾县", "青禾县接收了多少件行政复议申请？", "181件", ("96件", "57件")),
    ("云溪区", "云溪区行政机关负责人出庭应诉率是多少？", "98.5%", ()),
    ("白鹭市", "白鹭市行政复议和解率是多少？", "29.8%", ("36.23%", "41.7%")),
]

# A short FICTIONAL report written for these tests, in the sample style and marked as a sample.
NEW_REPORT = f"""示例县关于2024年法治政府建设情况的报告（示例）
发布机构：示例县司法局
发文日期：2025-03-25
{SAMPLE_NOTE}
2024年，示例县认真落实法治政府建设各项部署，推动依法行政水平持续提升。现将有关情况报告如下。
一、主要举措和成效
（一）深化政务服务改革。新政务服务中心进驻19个部门、733项政务服务事项。
（二）依法化解矛盾纠纷。行政机关负责人出庭应诉率97.3%，接收行政复议申请64件，和解率47.5%。
二、存在的不足和原因
一是基层执法力量仍然薄弱。二是法治宣传的针对性需要提高。
三、2025年工作打算
一是完善矛盾纠纷多元化解机制。二是加强行政执法人员业务培训。
特此报告。
"""
NEW_QUESTION = "示例县接收了多少件行政复议申请？"


def post(api: Client, path: str, **kw: Any) -> Response:
    return api.post(path, **kw)


def get(api: Client, path: str, **kw: Any) -> Response:
    return api.get(path, **kw)


def ask(api: Client, question: str, **body: Any) -> dict[str, Any]:
    r = post(api, "/ask", json={"question": question, **body})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def error_of(r: Response, status: int) -> dict[str, str]:
    """The one error shape: ``{"error": {"type", "message"}}`` with the status expected."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err: dict[str, str] = r.json()["error"]
    assert err["type"] and err["message"]
    return err


def parse_sse(text: str) -> list[tuple[str | None, Any]]:
    """(event name, decoded data) for each SSE event of a response body."""
    events: list[tuple[str | None, Any]] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        name: str | None = None
        data: list[str] = []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].removeprefix(" "))
        payload = "\n".join(data)
        events.append((name, payload if payload == "[DONE]" else json.loads(payload)))
    return events


@pytest.fixture(scope="module")
def url(make_server: Callable[..., str], sample_index_dir: Path) -> str:
    """A read-only live server over the sample index, for the SSE streams."""
    return make_server(index_dir=sample_index_dir)


@pytest.fixture
def live(url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def api(sample_client: TestClient) -> TestClient:
    """The app over the sample index behind TestClient (no test in this module writes to that index)."""
    return sample_client


@pytest.fixture(scope="module")
def report_ids(api: TestClient) -> dict[str, str]:
    return {r["region"]: r["report_id"] for r in get(api, "/reports").json()}


# --- probes and docs -------------------------------------------------------------------------------------


def test_health_and_ready_counts(api: Client) -> None:
    assert get(api, "/healthz").json() == {"status": "ok"}
    ready = get(api, "/readyz").json()
    assert ready["status"] == "ready"
    assert ready["reports"] == 3
    reports = get(api, "/reports").json()
    assert ready["chunks"] == sum(r["chunks"] for r in reports) > 3
    assert ready["generation"].startswith("gen-")
    assert ready["embedder"] and ready["llm"] is None


def test_docs_and_openapi(api: Client) -> None:
    docs = get(api, "/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = get(api, "/openapi.json").json()
    for path in ("/ask", "/chat", "/search", "/reports", "/reports/{report_id}/paragraphs/{paragraph_id}"):
        assert path in spec["paths"], path
    assert "/v1/chat/completions" in spec["paths"]


# --- /ask and /search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("region", "question", "figure", "others"), ONE_WORDING)
def test_ask_answers_from_the_region_asked(
    api: Client, region: str, question: str, figure: str, others: tuple[str, ...]
) -> None:
    body = ask(api, question)
    assert body["answerable"] is True
    assert figure in body["answer"]
    for other in others:
        assert other not in body["answer"]
    assert body["citations"]
    for c in body["citations"]:
        assert c["region"] == region
        assert c["quote"] and c["quote"] in body["answer"]  # extractive: the answer quotes verbatim
    assert figure in body["citations"][0]["quote"]
    assert body["citations"][0]["reference"].startswith(f"《{region}关于")
    assert body["scope"]["regions"] == [region]


def test_ask_schema(api: Client) -> None:
    body = ask(api, "青禾县行政复议和解率是多少？")
    assert {"question", "answer", "answerable", "citations", "passages", "mode", "prompt_version", "timings"} <= set(
        body
    )
    assert body["question"] == "青禾县行政复议和解率是多少？"
    assert body["mode"] == "extractive"
    assert body["prompt_version"] == "extractive-v2"
    assert body["timings"]["total_ms"] > 0
    c = body["citations"][0]
    assert c["n"] == 1 and f"[{c['n']}]" in body["answer"]
    for key in ("report_id", "title", "region", "year", "source", "section_path", "paragraph_id", "quote", "start"):
        assert key in c, key
    assert c["end"] - c["start"] == len(c["quote"])
    assert c["section_path"] == ["一、主要举措和成效", "（三）依法化解矛盾纠纷"]
    assert "36.23%" in c["quote"]
    assert 1 <= len(body["passages"]) <= 5
    assert [p["rank"] for p in body["passages"]] == list(range(1, len(body["passages"]) + 1))
    assert all(p["region"] == "青禾县" for p in body["passages"])


@pytest.mark.parametrize(
    ("filters", "region", "figure"),
    [
        ({"region": "云溪区"}, "云溪区", "96件"),
        ({"region": "云溪"}, "云溪区", "96件"),  # an alias
        ({"region": "白鹭市"}, "白鹭市", "57件"),
        ({"year": 2023}, "白鹭市", "57件"),
    ],
)
def test_ask_filters_narrow(api: Client, filters: dict[str, Any], region: str, figure: str) -> None:
    body = ask(api, "接收了多少件行政复议申请？", filters=filters)
    assert body["answerable"] is True
    assert figure in body["answer"]
    assert {c["region"] for c in body["citations"]} == {region}
    assert {p["region"] for p in body["passages"]} == {region}


def test_ask_filter_by_report_id(api: Client, report_ids: dict[str, str]) -> None:
    rid = report_ids["青禾县"]
    body = ask(api, "行政复议和解率是多少？", filters={"report_id": rid})
    assert "36.23%" in body["answer"]
    assert {c["report_id"] for c in body["citations"]} == {rid}


@pytest.mark.parametrize("question", ["青禾县的GDP增长率是多少？", "火星上有多少人？"])
def test_ask_unanswerable(api: Client, question: str) -> None:
    body = ask(api, question)
    assert body["answerable"] is False
    assert body["citations"] == []
    assert "没有" in body["answer"]
    assert not any(fig in body["answer"] for fig in ("181", "96", "57", "%"))


def test_a_refusal_carries_its_nearest_sentences(api: Client) -> None:
    body = ask(api, "青禾县行政复议纠错率是多少？")
    assert body["answerable"] is False and body["citations"] == []
    nearest = body["checks"]["candidates"]
    assert nearest[0]["check"] == "counted-thing" and "纠错率" in nearest[0]["reason"]
    assert nearest[0]["region"] == "青禾县" and "和解率36.23%" in nearest[0]["sentence"]
    para = get(api, f"/reports/{nearest[0]['report_id']}/paragraphs/{nearest[0]['paragraph_id']}").json()
    assert nearest[0]["sentence"] in para["text"]
    assert "candidates" not in ask(api, "青禾县接收了多少件行政复议申请？")["checks"]


def test_ask_a_year_without_a_report_is_refused_naming_what_the_index_has(api: Client) -> None:
    body = ask(api, "青禾县2021年接收行政复议申请多少件？")
    assert body["answerable"] is False and body["citations"] == []
    assert body["scope"]["gaps"] == ["索引中有青禾县2024年的报告，没有青禾县2021年的报告"]
    assert body["answer"].startswith(body["scope"]["gaps"][0])


def test_ask_a_compound_question_answers_each_part(api: Client) -> None:
    """Two questions in one: each part answered (the second inherits 云溪区), citations renumbered, ``parts``."""
    body = ask(api, "青禾县接收了多少件行政复议申请？云溪区的和解率是多少？")
    assert body["answerable"] is True
    first, second = body["answer"].split("\n（2）")
    assert first.startswith("（1）青禾县接收了多少件行政复议申请？") and "181件" in first
    assert "云溪区的和解率是多少？" in second and "41.7%" in second
    assert [c["n"] for c in body["citations"]] == [1, 2]
    assert [c["region"] for c in body["citations"]] == ["青禾县", "云溪区"]
    assert [(p["question"], p["answerable"], p["citations"]) for p in body["parts"]] == [
        ("青禾县接收了多少件行政复议申请？", True, [1]),
        ("云溪区的和解率是多少？", True, [2]),
    ]
    # each part's own lines (what the page shows under the part's heading), exactly as in the answer
    headed = [f"{part_heading(i, p['asked'])}\n{p['answer']}" for i, p in enumerate(body["parts"], 1)]
    assert "\n".join(headed) == body["answer"] and body["parts"][1]["answer"].endswith("41.7%。[2]")
    assert "parts" not in ask(api, "青禾县接收了多少件行政复议申请？")  # a single question: as before


def test_search_ranked_passages(api: Client) -> None:
    r = post(api, "/search", json={"query": "行政复议申请和解率", "k": 4})
    assert r.status_code == 200, r.text
    hits = r.json()
    assert len(hits) == 4
    assert [h["rank"] for h in hits] == [1, 2, 3, 4]
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0
    for h in hits:
        assert h["text"] and h["source"].endswith(".txt") and h["report_id"] and h["paragraph_id"]
    assert "和解率" in hits[0]["text"]


def test_search_with_region_filter(api: Client) -> None:
    hits = post(api, "/search", json={"query": "行政复议申请", "k": 3, "filters": {"region": "白鹭市"}}).json()
    assert 1 <= len(hits) <= 3
    assert {h["region"] for h in hits} == {"白鹭市"}
    assert "57件" in hits[0]["text"]


# --- /chat -----------------------------------------------------------------------------------------------


def test_chat_follow_up_switches_region(api: Client) -> None:
    messages = [
        {"role": "user", "content": "青禾县接收了多少件行政复议申请？"},
        {"role": "assistant", "content": "青禾县接收行政复议申请181件。[1]"},
        {"role": "user", "content": "那云溪区呢？"},
    ]
    r = post(api, "/chat", json={"messages": messages})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "云溪区" in body["standalone_question"] and "青禾县" not in body["standalone_question"]
    assert "96件" in body["answer"] and "181件" not in body["answer"]
    assert {c["region"] for c in body["citations"]} == {"云溪区"}


def test_chat_follow_up_pronoun(api: Client) -> None:
    messages = [
        {"role": "user", "content": "青禾县接收了多少件行政复议申请？"},
        {"role": "assistant", "content": "青禾县接收行政复议申请181件。[1]"},
        {"role": "user", "content": "它的和解率是多少？"},
    ]
    body = post(api, "/chat", json={"messages": messages}).json()
    assert "青禾县" in body["standalone_question"] and "和解率" in body["standalone_question"]
    assert "36.23%" in body["answer"]
    assert {c["region"] for c in body["citations"]} == {"青禾县"}


def test_chat_a_question_across_reports_stands_alone(api: Client) -> None:
    across = "哪些地方的行政机关负责人出庭应诉率达到100%？"
    messages = [
        {"role": "user", "content": "云溪区接收了多少件行政复议申请？"},
        {"role": "assistant", "content": "云溪区接收行政复议申请96件。[1]"},
        {"role": "user", "content": across},
    ]
    body = post(api, "/chat", json={"messages": messages}).json()
    assert body["standalone_question"] == across
    assert body["answerable"] and {c["region"] for c in body["citations"]} == {"青禾县", "白鹭市"}


def test_chat_a_refusal_carries_its_nearest_sentences(api: Client) -> None:
    messages = [
        {"role": "user", "content": "青禾县接收了多少件行政复议申请？"},
        {"role": "assistant", "content": "青禾县接收行政复议申请181件。[1]"},
        {"role": "user", "content": "它的行政复议纠错率是多少？"},
    ]
    body = post(api, "/chat", json={"messages": messages}).json()
    assert body["standalone_question"] == "青禾县的行政复议纠错率是多少？"
    assert body["answerable"] is False and body["checks"]["candidates"][0]["check"] == "counted-thing"


def test_chat_stream_events(live: httpx.Client) -> None:
    messages = [
        {"role": "user", "content": "云溪区行政机关负责人出庭应诉率是多少？"},
        {"role": "user", "content": "它的和解率是多少？"},
    ]
    with live.stream("POST", "/chat", json={"messages": messages, "stream": True}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode("utf-8")
    events = parse_sse(text)
    names = [n for n, _ in events]
    assert names[0] == "question" and names[-3:] == ["citations", "answer", "done"]
    assert set(names[1:-3]) == {"token"}
    question = events[0][1]["standalone_question"]
    assert "云溪区" in question and "和解率" in question
    tokens = "".join(d["text"] for n, d in events if n == "token")
    citations = events[-3][1]
    final = events[-2][1]
    assert tokens == final["answer"]
    assert "41.7%" in final["answer"]
    assert final["standalone_question"] == question
    assert citations and citations == final["citations"]
    assert citations[0]["region"] == "云溪区" and "41.7%" in citations[0]["quote"]


def test_chat_stream_a_compound_question(live: httpx.Client) -> None:
    """Each part streams as one token when it is answered; the tokens are the final answer, parts and all."""
    body = {"messages": [{"role": "user", "content": "云溪区接收了多少件行政复议申请？和解率是多少？"}], "stream": True}
    events = parse_sse(post(live, "/chat", json=body).text)
    tokens = [d["text"] for n, d in events if n == "token"]
    final = dict(events)["answer"]
    assert len(tokens) == 2 and "".join(tokens) == final["answer"]
    assert [p["question"] for p in final["parts"]] == ["云溪区接收了多少件行政复议申请？", "云溪区和解率是多少？"]
    assert "96件" in tokens[0] and "41.7%" in tokens[1]
    assert dict(events)["citations"] == final["citations"]


def test_chat_stream_unanswerable(live: httpx.Client) -> None:
    body = {"messages": [{"role": "user", "content": "火星上有多少人？"}], "stream": True}
    events = parse_sse(post(live, "/chat", json=body).text)
    final = dict(events)["answer"]
    assert final["answerable"] is False
    assert dict(events)["citations"] == []
    assert "".join(d["text"] for n, d in events if n == "token") == final["answer"]


# --- /reports --------------------------------------------------------------------------------------------


def test_list_reports(api: Client) -> None:
    reports = get(api, "/reports").json()
    assert sorted(r["region"] for r in reports) == ["云溪区", "白鹭市", "青禾县"]
    for r in reports:
        assert "text" not in r
        assert "（示例）" in r["title"] and r["chunks"] > 0 and r["report_id"]
    assert [r["region"] for r in get(api, "/reports", params={"region": "云溪"}).json()] == ["云溪区"]
    assert [r["region"] for r in get(api, "/reports", params={"region": "青禾县"}).json()] == ["青禾县"]
    assert [r["region"] for r in get(api, "/reports", params={"year": 2023}).json()] == ["白鹭市"]
    assert sorted(r["region"] for r in get(api, "/reports", params={"year": 2024}).json()) == ["云溪区", "青禾县"]
    assert get(api, "/reports", params={"region": "云溪区", "year": 2023}).json() == []
    err = error_of(get(api, "/reports", params={"region": "火星"}), 400)
    assert "火星" in err["message"]
    for r in reports:  # where each value was read, and how sure
        assert r["provenance"]["region"]["source"] == "title" and r["level"] in ("county", "city")
    assert get(api, "/reports", params={"department": "市场监管局"}).json() == []  # none of the samples is one


def test_get_report_sections(api: Client, report_ids: dict[str, str]) -> None:
    rid = report_ids["白鹭市"]
    body = get(api, f"/reports/{rid}").json()
    assert body["report_id"] == rid and body["region"] == "白鹭市" and body["year"] == 2023
    sections = body["sections"]
    assert len(sections) >= 4
    paragraphs = [p for s in sections for p in s["paragraphs"]]
    assert all(p["report_id"] == rid and p["text"] for p in paragraphs)
    starts = [p["start"] for p in paragraphs]
    assert starts == sorted(starts)
    third = next(s for s in sections if s["section_path"] == ["一、主要举措和成效", "（三）依法化解矛盾纠纷"])
    assert any("57件" in p["text"] for p in third["paragraphs"])
    assert len({p["paragraph_id"] for p in paragraphs}) == len(paragraphs)


def test_paragraph_permalink_of_a_citation(api: Client) -> None:
    citation = ask(api, "云溪区接收了多少件行政复议申请？")["citations"][0]
    rid, pid = citation["report_id"], citation["paragraph_id"]
    r = get(api, f"/reports/{rid}/paragraphs/{pid}")
    assert r.status_code == 200, r.text
    para = r.json()
    assert para["paragraph_id"] == pid and para["report"]["report_id"] == rid
    assert citation["quote"] in para["text"]
    assert para["start"] <= citation["start"] and citation["end"] <= para["end"]
    offset = citation["start"] - para["start"]
    assert para["text"][offset : offset + len(citation["quote"])] == citation["quote"]
    assert para["section_path"] == citation["section_path"]
    assert para["reference"].startswith("《云溪区关于2024年")
    prev, nxt = para["previous"], para["next"]
    assert prev is not None and nxt is not None
    assert prev["end"] <= para["start"] and para["end"] <= nxt["start"]
    # the neighbours point back
    assert get(api, f"/reports/{rid}/paragraphs/{prev['paragraph_id']}").json()["next"]["paragraph_id"] == pid
    assert get(api, f"/reports/{rid}/paragraphs/{nxt['paragraph_id']}").json()["previous"]["paragraph_id"] == pid
    # and the paragraph is the one /reports/{id} shows at that place
    listed = [p for s in get(api, f"/reports/{rid}").json()["sections"] for p in s["paragraphs"]]
    i = [p["paragraph_id"] for p in listed].index(pid)
    assert listed[i - 1]["paragraph_id"] == prev["paragraph_id"]
    assert listed[i + 1]["paragraph_id"] == nxt["paragraph_id"]
    assert listed[i]["text"] == para["text"]


def test_paragraph_ends_have_no_neighbour(api: Client, report_ids: dict[str, str]) -> None:
    rid = report_ids["青禾县"]
    paragraphs = [p for s in get(api, f"/reports/{rid}").json()["sections"] for p in s["paragraphs"]]
    first = get(api, f"/reports/{rid}/paragraphs/{paragraphs[0]['paragraph_id']}").json()
    last = get(api, f"/reports/{rid}/paragraphs/{paragraphs[-1]['paragraph_id']}").json()
    assert first["previous"] is None and first["next"]["paragraph_id"] == paragraphs[1]["paragraph_id"]
    assert last["next"] is None and last["previous"]["paragraph_id"] == paragraphs[-2]["paragraph_id"]


# --- bad requests ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"question": ""}, 422, "question"),
        ({"question": "行" * 10_000}, 422, "question"),
        ({"question": "   "}, 400, "empty"),
        ({"question": "和解率是多少？", "filters": {"region": "火星市"}}, 400, "火星市"),
        ({"question": "和解率是多少？", "filters": {"report_id": "no-such-report"}}, 400, "no-such-report"),
        ({"question": "和解率是多少？", "bogus": 1}, 422, "bogus"),
        ({"question": "和解率是多少？", "filters": {"regoin": "青禾县"}}, 422, "regoin"),
        ({"question": "和解率是多少？", "top_k": 0}, 422, "top_k"),
        ({}, 422, "question"),
    ],
)
def test_ask_bad_requests(api: Client, body: dict[str, Any], status: int, mentions: str) -> None:
    err = error_of(post(api, "/ask", json=body), status)
    assert mentions in err["message"]


def test_malformed_json(api: Client) -> None:
    r = post(api, "/ask", content='{"question": "青禾县'.encode(), headers={"content-type": "application/json"})
    err = error_of(r, 422)
    assert "json" in err["message"].lower()


def test_other_endpoints_reject_bad_bodies(api: Client) -> None:
    error_of(post(api, "/search", json={"query": ""}), 422)
    error_of(post(api, "/chat", json={"messages": []}), 422)
    error_of(post(api, "/chat", json={"messages": [{"role": "robot", "content": "hi"}]}), 422)


def test_unknown_report_and_paragraph(api: Client, report_ids: dict[str, str]) -> None:
    err = error_of(get(api, "/reports/no-such-report"), 404)
    assert "no-such-report" in err["message"]
    err = error_of(get(api, "/reports/no-such-report/paragraphs/s1.p1"), 404)
    assert "no-such-report" in err["message"]
    err = error_of(get(api, f"/reports/{report_ids['青禾县']}/paragraphs/s99.p9"), 404)
    assert "s99.p9" in err["message"]


# --- uploads and deletions -------------------------------------------------------------------------------


@pytest.fixture()
def writable(make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path) -> tuple[TestClient, Path]:
    """The app with an API key over a private copy of the sample index: (client, index dir)."""
    index = copy_index(sample_index_dir, tmp_path / "index")
    return make_client(index_dir=index, api_key=KEY, upload_max_bytes=UPLOAD_LIMIT), index


@pytest.fixture()
def live_writable(
    make_server: Callable[..., str], sample_index_dir: Path, tmp_path: Path
) -> Iterator[tuple[httpx.Client, Path]]:
    """Like ``writable``, served live on loopback: (client of that server, index dir)."""
    index = copy_index(sample_index_dir, tmp_path / "index")
    url = make_server(index_dir=index, api_key=KEY, upload_max_bytes=UPLOAD_LIMIT)
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        yield client, index


def upload(api: Client, name: str, data: bytes | str, *, headers: dict[str, str] | None = None) -> Response:
    content = data.encode("utf-8") if isinstance(data, str) else data
    h = {"X-API-Key": KEY} if headers is None else headers
    return post(api, "/reports", files={"file": (name, content, "application/octet-stream")}, headers=h)


def wait_job(api: Client, job_id: str) -> dict[str, Any]:
    """Poll ``GET /jobs/{id}`` until the upload job has finished (bounded)."""
    for _ in range(600):
        job: dict[str, Any] = get(api, f"/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


def upload_done(api: Client, name: str, data: bytes | str) -> dict[str, Any]:
    """Upload with the key and wait for the job: its result (the job must succeed)."""
    r = upload(api, name, data)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/jobs/{r.json()['job_id']}"
    job = wait_job(api, r.json()["job_id"])
    assert job["status"] == "succeeded", job
    result: dict[str, Any] = job["result"]
    return result


def upload_error(api: Client, name: str, data: bytes | str, status: int) -> dict[str, Any]:
    """An upload refused at once (that status) or a job that failed with an error of that status."""
    r = upload(api, name, data)
    if r.status_code != 202:
        return error_of(r, status)
    job = wait_job(api, r.json()["job_id"])
    assert job["status"] == "failed" and job["error"]["status"] == status, job
    err: dict[str, Any] = job["error"]
    return err


def stored(index: Path) -> list[str]:
    """Stored uploads as ``<content-hash folder>/<name>``."""
    uploads = index / "uploads"
    return sorted(f"{p.parent.name}/{p.name}" for p in uploads.glob("*/*")) if uploads.exists() else []


def snapshot(api: Client) -> tuple[int, int, str]:
    ready = get(api, "/readyz").json()
    return ready["reports"], ready["chunks"], ready["generation"]


def test_writes_need_the_key(writable: tuple[TestClient, Path]) -> None:
    api, index = writable
    before = snapshot(api)
    rid = get(api, "/reports", params={"region": "青禾县"}).json()[0]["report_id"]
    for headers in ({}, {"X-API-Key": "wrong"}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        err = error_of(upload(api, "示例县.txt", NEW_REPORT, headers=headers), 401)
        assert "API key" in err["message"]
        error_of(api.delete(f"/reports/{rid}", headers=headers), 401)
    assert snapshot(api) == before
    assert stored(index) == []
    assert "示例县" not in {r["region"] for r in get(api, "/reports").json()}
    assert "181件" in ask(api, "青禾县接收了多少件行政复议申请？")["answer"]


def test_upload_then_ask_then_delete(writable: tuple[TestClient, Path]) -> None:
    api, index = writable
    reports0, chunks0, gen0 = snapshot(api)
    assert ask(api, NEW_QUESTION)["answerable"] is False

    out = upload_done(api, "示例县_2024.txt", NEW_REPORT)
    assert out["status"] == "added" and out["chunks"] > 0
    assert out["message"].startswith("示例县_2024.txt: added as")
    rid = out["report_id"]
    [kept] = (index / "uploads").glob("*/示例县_2024.txt")
    assert kept.read_text(encoding="utf-8") == NEW_REPORT
    reports1, chunks1, gen1 = snapshot(api)
    assert (reports1, chunks1 - out["chunks"]) == (reports0 + 1, chunks0) and gen1 != gen0

    body = ask(api, NEW_QUESTION)
    assert body["answerable"] is True and "64件" in body["answer"]
    assert {c["report_id"] for c in body["citations"]} == {rid}
    assert body["citations"][0]["region"] == "示例县"
    listed = get(api, "/reports", params={"region": "示例县"}).json()
    assert [(r["report_id"], r["year"]) for r in listed] == [(rid, 2024)]
    assert rid in {r["report_id"] for r in get(api, "/reports").json()}
    assert get(api, f"/reports/{rid}").json()["title"] == "示例县关于2024年法治政府建设情况的报告（示例）"
    # the other regions still answer from their own reports
    assert "96件" in ask(api, "云溪区接收了多少件行政复议申请？")["answer"]

    r = api.delete(f"/reports/{rid}", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "removed" and r.json()["reports"] == reports0
    assert snapshot(api)[:2] == (reports0, chunks0)
    assert rid not in {r["report_id"] for r in get(api, "/reports").json()}
    error_of(get(api, f"/reports/{rid}"), 404)
    after = ask(api, NEW_QUESTION)
    assert after["answerable"] is False and "64件" not in after["answer"]
    assert stored(index) == []

    err = error_of(api.delete(f"/reports/{rid}", headers={"X-API-Key": KEY}), 404)
    assert rid in err["message"]
    error_of(api.delete("/reports/no-such-report", headers={"X-API-Key": KEY}), 404)


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 2
XLSX = b"PK\x03\x04" + b"\x00" * 200


@pytest.mark.parametrize(
    ("name", "data", "status", "mentions"),
    [
        ("scan.txt", PNG, 400, "scan.txt"),
        ("figures.xlsx", XLSX, 415, "figures.xlsx"),
        ("big.txt", NEW_REPORT + "。" * UPLOAD_LIMIT, 413, "big.txt"),
        ("empty.txt", b"", 400, "empty.txt"),
        ("blank.txt", "\n \n\t\n", 400, "blank.txt"),
        ("copy_of_sample.txt", report_text(SAMPLES[0]), 409, "copy_of_sample.txt"),
        ("noext", NEW_REPORT, 415, "noext"),
    ],
)
def test_failed_upload_changes_nothing(
    writable: tuple[TestClient, Path], name: str, data: bytes | str, status: int, mentions: str
) -> None:
    api, index = writable
    before = snapshot(api)
    listed = get(api, "/reports").json()
    err = upload_error(api, name, data, status)
    assert mentions in err["message"]
    assert str(index) not in err["message"] and "/tmp" not in err["message"]  # the upload's name, no server path
    assert snapshot(api) == before
    assert get(api, "/reports").json() == listed
    assert stored(index) == []
    assert "181件" in ask(api, "青禾县接收了多少件行政复议申请？")["answer"]
    assert "41.7%" in ask(api, "云溪区行政复议和解率是多少？")["answer"]


def test_failed_reupload_keeps_the_previous_file(writable: tuple[TestClient, Path]) -> None:
    api, index = writable
    upload_done(api, "示例县_2024.txt", NEW_REPORT)
    before, kept = snapshot(api), stored(index)
    upload_error(api, "示例县_2024.txt", PNG, 400)
    assert snapshot(api) == before
    assert stored(index) == kept and kept[0].endswith("/示例县_2024.txt")
    [path] = (index / "uploads").glob("*/示例县_2024.txt")
    assert path.read_text(encoding="utf-8") == NEW_REPORT
    assert "64件" in ask(api, NEW_QUESTION)["answer"]


def test_questions_answered_while_an_upload_is_ingested(live_writable: tuple[httpx.Client, Path]) -> None:
    api, _ = live_writable
    results: list[tuple[float, float, int, str]] = []  # (start, end, status, answer)
    stop = threading.Event()

    def hammer() -> None:
        deadline = time.monotonic() + 20
        with httpx.Client(base_url=api.base_url, timeout=TIMEOUT) as client:
            while time.monotonic() < deadline and len(results) < 200 and not (stop.is_set() and len(results) >= 30):
                t0 = time.monotonic()
                r = client.post("/ask", json={"question": "云溪区接收了多少件行政复议申请？"})
                results.append((t0, time.monotonic(), r.status_code, r.json().get("answer", r.text)))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    while not results and thread.is_alive():
        time.sleep(0.01)
    up0 = time.monotonic()
    upload_done(api, "示例县_2024.txt", NEW_REPORT)
    up1 = time.monotonic()
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert len(results) >= 30
    assert all(status == 200 for _, _, status, _ in results), [x for x in results if x[2] != 200][:3]
    assert all("96件" in answer for *_, answer in results)
    # some questions were answered while the upload was being ingested
    assert any(up0 < end < up1 for _, end, _, _ in results)
    assert "64件" in ask(api, NEW_QUESTION)["answer"]
    assert "示例县" in {r["region"] for r in get(api, "/reports").json()}


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "assistant", "content": "您好"}],
        [{"role": "system", "content": "x"}, {"role": "user", "content": "  \n "}],
        [{"role": "user", "content": ""}],
    ],
)
def test_a_conversation_without_a_user_message_is_422(api: Client, messages: list[dict[str, str]]) -> None:
    for path in ("/chat", "/v1/chat/completions"):
        for stream in (False, True):
            err = error_of(post(api, path, json={"messages": messages, "stream": stream}), 422)
            assert "user message" in err["message"]
