"""The composition root: ``build_runtime(settings)`` builds the engine (and the LLM, when configured)
from validated settings; invalid settings fail when they are made, naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.errors import ConfigError, IndexMissingError
from rag.runtime import build_runtime
from rag.settings import Settings
from tests.conftest import SampleIndex


def test_build_runtime_without_an_llm(sample_index: SampleIndex) -> None:
    runtime = build_runtime(Settings(index_dir=sample_index.index, top_k=3))
    assert runtime.llm is None and runtime.engine.llm is None
    a = runtime.engine.ask("云溪区接收行政复议申请多少件？")
    assert a.answerable and "96件" in a.answer and len(a.passages) == 3


def test_build_runtime_wires_the_llm_once(sample_index: SampleIndex) -> None:
    s = Settings(index_dir=sample_index.index, llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout=1)
    runtime = build_runtime(s)
    assert runtime.llm is not None and runtime.engine.llm is runtime.llm
    assert runtime.llm.model == "m" and runtime.llm.answer_prompt.id.startswith("answer")
    # nothing listens on port 9: the LLM modes fall back to the extractive answer, with the reason
    a = runtime.engine.ask("云溪区接收行政复议申请多少件？", answer_mode="llm")
    assert a.mode == "extractive-fallback" and "96件" in a.answer
    assert any("LLM 调用失败" in n for n in a.notes)


def test_a_missing_index_fails_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match=str(tmp_path / "none")):
        build_runtime(Settings(index_dir=tmp_path / "none"))


@pytest.mark.parametrize(
    ("settings", "error", "match"),
    [
        ({"llm_model": "m"}, ConfigError, "RAG_LLM_BASE_URL"),
        ({"llm_base_url": "http://127.0.0.1:9/v1"}, ConfigError, "RAG_LLM_MODEL"),
        ({"llm_base_url": "http://x/v1", "llm_model": "m", "answer_prompt": "nope.md"}, ConfigError, "nope.md"),
        ({"embedder": "word2vec"}, ValidationError, "embedder"),
        ({"tokenizer": "spaces"}, ValidationError, "tokenizer"),
        ({"top_k": 0}, ValidationError, "top_k"),
    ],
)
def test_invalid_settings_fail_when_made(
    monkeypatch: pytest.MonkeyPatch, settings: dict[str, object], error: type[Exception], match: str
) -> None:
    for var in ("RAG_LLM_BASE_URL", "RAG_LLM_MODEL", "RAG_EMBEDDER", "RAG_TOKENIZER", "RAG_TOP_K"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(error, match=match):
        Settings(**settings)  # type: ignore[arg-type]


@pytest.mark.slow  # a subprocess importing the whole library
def test_the_core_imports_without_the_llama_extra() -> None:
    """llama-index is an optional extra: the library, the CLI and the service import without it."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['llama_index'] = None\n"  # any import of llama_index now fails
        "import rag, rag.engine, rag.runtime, rag.cli, rag.tools.compare, service.app\n"
        "assert not any(m.startswith('llama_index') and sys.modules[m] for m in sys.modules)\n"
        "try:\n    import rag.tools.llama\nexcept ImportError:\n    print('llama adapters need the extra')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "llama adapters need the extra" in done.stdout
