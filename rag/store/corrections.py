"""The corrections ledger: metadata a person set by hand (``rag meta set``, ``PATCH /reports/{id}``), kept
beside the index so that it outlives the reports it corrects.

A correction is applied to the stored report at once (a metadata-only commit, ``Writer.commit(update=…)``),
and also recorded here under the file's content hash (sha256 of its bytes): when the same file is ingested
again (after ``rag remove``, or into an index rebuilt in the same directory), the write path reapplies it.
Keyed by content, not by file name: a correction is about this document; a changed file is a new
document, read afresh.

One JSON file (``corrections.json``) in the index directory, for both stores (a Milvus index keeps its
pointer manifest and lock there too), written only under the writer lock, staged and swapped in with
``os.replace``. The writer records a correction here *before* it commits the corrected report and puts
the old ledger back when that commit fails, so nothing committed is ever missing from the ledger.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import IndexCorruptError
from .manifest import write_json_atomically

LEDGER = "corrections.json"

#: content hash → field → the value a person set (as text: ``"2024"`` for a year)
Ledger = dict[str, dict[str, str]]


def read_corrections(directory: Path) -> Ledger:
    """The ledger of the index at ``directory`` ({} when nothing was ever corrected)."""
    path = Path(directory) / LEDGER
    if not path.is_file():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise IndexCorruptError(f"{path}: unreadable corrections ({e})") from e
    if not isinstance(raw, dict):
        raise IndexCorruptError(f"{path}: unreadable corrections (not an object)")
    return {str(h): {str(k): str(v) for k, v in f.items()} for h, f in raw.items() if isinstance(f, dict)}


def write_corrections(directory: Path, ledger: Ledger) -> None:
    """Swap in ``ledger`` (entries without fields left out); the caller holds the writer lock."""
    body = {h: dict(sorted(f.items())) for h, f in sorted(ledger.items()) if f}
    write_json_atomically(Path(directory) / LEDGER, body)
