"""``rag.entry``: a writing command is nice before its heavy imports; a read command keeps its priority."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag.entry import command_words, writes

HEAVY = ("openai", "numpy", "faiss", "jieba", "typer", "rag.cli", "rag.settings", "rag.runtime")

# In a fresh interpreter: note this thread's niceness when the first heavy module starts importing, then
# run the entry with the arguments given (``--help``: typer prints and exits without touching an index).
PROBE = """
import importlib.abc, os, sys
seen = {}
class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name in ("openai", "typer") and "nice" not in seen:
            seen["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
        return None
sys.meta_path.insert(0, Watch())
from rag.entry import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print("NICE", seen["nice"], os.getpriority(os.PRIO_PROCESS, 0))
"""


def _nice_at_heavy_import(*argv: str, nice: str = "7") -> tuple[int, int]:
    env = {**os.environ, "RAG_BACKGROUND_NICE": nice}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, check=True, env=env
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("NICE "))
    at_import, after = line.split()[1:]
    return int(at_import), int(after)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ingest", "a.txt", "--index", "x"], True),
        (["remove", "report-1"], True),
        (["compact"], True),
        (["meta", "set", "report-1", "--year", "2024"], True),
        (["meta", "unset", "report-1", "year"], True),
        (["meta", "show", "report-1"], False),
        (["ask", "remove 是什么"], False),
        (["search", "ingest"], False),
        (["serve"], False),
        (["--help"], False),
        ([], False),
    ],
)
def test_writes_names_the_commands_that_write_the_index(argv: list[str], expected: bool) -> None:
    assert writes(argv) is expected


def test_command_words_stop_at_the_first_option() -> None:
    assert command_words(["meta", "set", "r1", "--year", "2024"]) == ("meta", "set", "r1")


def test_the_entry_imports_nothing_heavy() -> None:
    """What runs before the renice: the standard library, pydantic-settings and ``rag.priority``."""
    script = f"import sys, rag.entry; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == ""


@pytest.mark.slow
def test_a_writing_command_is_nice_before_its_heavy_imports() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)  # the runner may already be nicer (make, nice)
    at_import, after = _nice_at_heavy_import("ingest", "--help")
    assert at_import == after == max(7, base)


@pytest.mark.slow
def test_a_read_command_keeps_its_priority() -> None:
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert _nice_at_heavy_import("ask", "--help") == (base, base)


@pytest.mark.slow
def test_an_invalid_nice_is_left_to_the_app_to_report() -> None:
    """The entry does not renice on a bad value; the app reads ``Settings`` and names the variable."""
    env = {**os.environ, "RAG_BACKGROUND_NICE": "99"}
    result = subprocess.run(
        [sys.executable, "-m", "rag", "ingest", "nothing.txt", "--index", "/nonexistent/x"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 2
    assert "background_nice" in (result.stdout + result.stderr).lower()
