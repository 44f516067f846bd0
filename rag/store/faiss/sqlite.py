"""The FAISS store's metadata file (``meta.sqlite``): reports (metadata and clean text) and chunks by
row, each with the generation that added it and the one that removed it (the deletion marker).

SQLite because a write then costs the change: adding or removing a report is a few inserts or updates
in one transaction, and a reader reads one chunk or one report by key without loading the rest.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ...errors import IndexCorruptError

META = "meta.sqlite"

#: indented as first written: SQLite keeps each statement's text, whitespace and all, in ``sqlite_master``,
#: so a new index's file stays the same as one written by earlier versions
SCHEMA = """
            CREATE TABLE IF NOT EXISTS reports (
                report_id TEXT NOT NULL, gen_added INTEGER NOT NULL, gen_removed INTEGER,
                source TEXT NOT NULL, content_hash TEXT NOT NULL, meta TEXT NOT NULL, text TEXT NOT NULL,
                PRIMARY KEY (report_id, gen_added));
            CREATE TABLE IF NOT EXISTS chunks (
                row INTEGER PRIMARY KEY, report_id TEXT NOT NULL, gen_added INTEGER NOT NULL,
                gen_removed INTEGER, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS chunks_by_report ON chunks (report_id, row);
            CREATE INDEX IF NOT EXISTS chunks_by_removal ON chunks (gen_removed) WHERE gen_removed IS NOT NULL;
            """


def connect(directory: Path, *, readonly: bool) -> sqlite3.Connection:
    """The index's metadata database: read-only for a snapshot (an error when missing), read-write
    (WAL, full sync, the schema created) for the writer, which opens its transactions itself."""
    path = directory / META
    if readonly:
        if not path.is_file():
            raise IndexCorruptError(f"{directory}: {META} is missing")
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    else:
        con = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=FULL")
        con.executescript(SCHEMA)
    return con
