"""The writer lock: one writer at a time, a second one waits, then fails with IndexBusyError."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from rag.errors import IndexBusyError
from rag.store import writer_lock


def test_second_writer_gets_index_busy(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    with writer_lock(directory):
        t0 = time.monotonic()
        with pytest.raises(IndexBusyError) as err, writer_lock(directory, timeout=0.2):
            pass
        assert 0.2 <= time.monotonic() - t0 < 5
        assert str(directory) in str(err.value)
    with writer_lock(directory, timeout=0.2):
        pass


def test_waiting_writer_proceeds_when_the_lock_is_released(tmp_path: Path) -> None:
    directory = tmp_path / "index"
    got: list[float] = []

    def second_writer() -> None:
        with writer_lock(directory, timeout=10):
            got.append(time.monotonic())

    with writer_lock(directory):
        thread = threading.Thread(target=second_writer)
        thread.start()
        time.sleep(0.3)
        assert got == []
        released = time.monotonic()
    thread.join(timeout=10)
    assert len(got) == 1 and got[0] >= released
