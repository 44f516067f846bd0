"""Ctrl-C during ``rag ingest`` (a subprocess, SIGINT while it embeds): it stops at the next embedding
batch, says that nothing of the batch in progress was written and which command resumes, exits 130,
and the index is as before."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag import store
from rag.errors import IndexMissingError
from rag.ingest.sample import write_sample_corpus
from tests.helpers import long_report


@pytest.mark.slow  # a subprocess with the real embedder
def test_ctrl_c_during_an_ingest_says_what_was_written_and_how_to_resume(tmp_path: Path) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    write_sample_corpus(corpus)
    (corpus / "zz-long.txt").write_text(long_report(400), encoding="utf-8")
    run = subprocess.Popen(
        [sys.executable, "-m", "rag.cli", "ingest", str(corpus), "--index", str(index)],
        env={**os.environ, "COLUMNS": "500"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(1200):  # the lock file appears once the model is loaded and the ingest reads the index
            if (index / ".lock").exists() or run.poll() is not None:
                break
            time.sleep(0.1)
        time.sleep(1.0)  # embedding now
        run.send_signal(signal.SIGINT)
        _, err = run.communicate(timeout=120)
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    assert run.returncode == 130, err
    flat = " ".join(err.split())
    assert "interrupted: nothing was written: the index is as it was before this ingest" in flat
    assert f"resume with (files already in are skipped as unchanged): rag ingest {corpus} --index {index}" in flat
    with pytest.raises(IndexMissingError):  # a new index: still none
        store.read_manifest(index)
