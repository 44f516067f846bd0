"""Per-document limits (rag.ingest.limits) through the real loader and ingest, on small generated files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag import store
from rag.errors import IngestCancelledError, LimitExceededError
from rag.ingest.limits import DocLimits, TruncatedQueries, applied, check_zip
from rag.ingest.load import load_report
from rag.ingest.sample import SAMPLES, report_text
from rag.ingest.write import ingest
from tests.conftest import HashEmbedder
from tests.helpers import TITLE, docx_bytes, inflated_docx, long_report


def test_a_docx_inflating_past_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(inflated_docx(long_report(3), 3 * 1024 * 1024))
    assert path.stat().st_size < 100_000
    with applied(DocLimits(max_inflated_bytes=1024 * 1024)), pytest.raises(LimitExceededError) as e:
        load_report(path)
    assert str(e.value).startswith(str(path)) and "RAG_DOC_MAX_INFLATED_BYTES" in str(e.value)
    with applied(DocLimits(max_inflated_bytes=1024 * 1024)), pytest.raises(LimitExceededError) as e:
        check_zip(path.read_bytes(), "bomb.docx")
    assert str(e.value).startswith("bomb.docx: over a limit (inflates to 3.") and "the limit is 1.0 MiB" in str(e.value)
    check_zip(path.read_bytes(), "bomb.docx")  # the default, 32 MiB, lets 3 MiB through
    assert load_report(path).title == TITLE


@pytest.mark.parametrize("suffix", [".txt", ".md", ".html", ".docx"])
def test_characters_are_capped_in_every_format(tmp_path: Path, suffix: str) -> None:
    text = long_report(200)
    path = tmp_path / f"long{suffix}"
    if suffix == ".docx":
        path.write_bytes(docx_bytes(text))
    elif suffix == ".html":
        paras = "".join(f"<p>{line}</p>" for line in text.splitlines())
        path.write_text(f"<html><head><title>{TITLE}</title></head><body><article>{paras}</article></body></html>")
    else:
        path.write_text(text, encoding="utf-8")
    assert len(text) > 5000
    with applied(DocLimits(max_chars=5000)), pytest.raises(LimitExceededError) as e:
        load_report(path)
    assert path.name in str(e.value) and "5,000 characters" in str(e.value) and "RAG_DOC_MAX_CHARS" in str(e.value)
    with applied(DocLimits(max_chars=50_000)):
        assert load_report(path).title == TITLE


def test_pdf_characters_are_capped(tmp_path: Path) -> None:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path = tmp_path / "long.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    for page in range(6):
        for line in range(40):
            c.drawString(40, 800 - line * 18, f"Page {page} line {line}: administrative review applications {line}.")
        c.showPage()
    c.save()
    with applied(DocLimits(max_chars=3000)), pytest.raises(LimitExceededError) as e:
        load_report(path)
    assert "long.pdf" in str(e.value) and "RAG_DOC_MAX_CHARS" in str(e.value)


def _index(tmp_path: Path, embedder: HashEmbedder) -> Path:
    first = tmp_path / "青禾县.txt"
    first.write_text(report_text(SAMPLES[0]), encoding="utf-8")
    ingest([first], tmp_path / "index", embedder)
    return tmp_path / "index"


def test_chunk_limit_fails_the_file_by_name_and_the_others_go_in(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    directory = _index(tmp_path, fake_embedder)
    big, small = tmp_path / "big.txt", tmp_path / "云溪区.txt"
    big.write_text(long_report(120), encoding="utf-8")
    small.write_text(report_text(SAMPLES[1]), encoding="utf-8")
    result = ingest([big, small], directory, fake_embedder, limits=DocLimits(max_chunks=50))
    failed, added = result.outcomes
    assert failed.status == "failed" and isinstance(failed.error, LimitExceededError)
    assert (
        "big.txt" in failed.message and "the limit is 50" in failed.message and "RAG_DOC_MAX_CHUNKS" in failed.message
    )
    assert added.status == "added"
    assert {r.source for r in store.load(directory).reports.values()} == {"青禾县.txt", "云溪区.txt"}


def test_ingest_time_limit(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    directory = _index(tmp_path, fake_embedder)
    before = store.read_manifest(directory)
    doc = tmp_path / "slow.txt"
    doc.write_text(long_report(40), encoding="utf-8")
    result = ingest([doc], directory, fake_embedder, limits=DocLimits(timeout=1e-9))
    [o] = result.outcomes
    assert o.status == "failed" and "slow.txt" in o.message and "RAG_INGEST_TIMEOUT" in o.message
    assert store.read_manifest(directory) == before


def test_a_stop_request_writes_nothing(tmp_path: Path, fake_embedder: HashEmbedder) -> None:
    directory = _index(tmp_path, fake_embedder)
    before = store.read_manifest(directory)
    doc = tmp_path / "云溪区.txt"
    doc.write_text(report_text(SAMPLES[1]), encoding="utf-8")
    with pytest.raises(IngestCancelledError):
        ingest([doc], directory, fake_embedder, should_stop=lambda: True)
    assert store.read_manifest(directory) == before
    segments = sorted(p.name for p in directory.iterdir() if p.name.startswith(("seg-", ".tmp")))
    assert segments == sorted(s["name"] for s in before.segments)  # no new or half-written segment


class Recording(HashEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def embed_queries(self, texts):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().embed_queries(texts)


def test_only_the_start_of_a_question_is_embedded() -> None:
    inner = Recording()
    wrapped = TruncatedQueries(inner, 300)
    assert (wrapped.id, wrapped.dim) == (inner.id, inner.dim)
    wrapped.embed_queries(["问" * 2000, "短问题"])
    assert [len(t) for t in inner.seen] == [300, 3]
    assert wrapped.embed_documents(["文" * 2000]).shape == (1, inner.dim)


def test_long_questions_use_their_own_embedder() -> None:
    short, long = Recording(), Recording()
    wrapped = TruncatedQueries(short, 300, long=long, long_from=100)
    wrapped.embed_queries(["短问题"])
    wrapped.embed_queries(["问" * 150])
    assert short.seen == ["短问题"] and long.seen == ["问" * 150]


@pytest.mark.slow  # a subprocess
def test_cli_ingest_names_the_file_and_the_limit(tmp_path: Path) -> None:
    doc = tmp_path / "long.txt"
    doc.write_text(long_report(200), encoding="utf-8")
    env = {**os.environ, "RAG_DOC_MAX_CHARS": "5000", "RAG_INDEX_DIR": str(tmp_path / "index")}
    run = subprocess.run(
        [sys.executable, "-m", "rag.cli", "ingest", str(doc)], env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 1, run.stderr
    assert "long.txt" in run.stderr and "RAG_DOC_MAX_CHARS" in run.stderr
