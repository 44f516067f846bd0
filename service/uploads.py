"""Where uploaded files are kept, under names the file system always accepts.

An upload is stored as ``UPLOADS/<first 16 hex digits of its sha256>/<sanitised name>``: the folder
derives from the content, the file keeps the name as uploaded (sanitised), because the index knows a
report by its file name (a later upload under the same name replaces it). Sanitising keeps the last
path component, drops control and format characters (NUL included), NFC-normalises and shortens the
name to ``MAX_NAME_BYTES`` of UTF-8, keeping its suffix. An upload is stored before its job is queued
and kept until the job ends (an interrupted job keeps it for its retry); files that neither the index
nor a job needs are removed at start-up.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import unicodedata
from pathlib import Path

MAX_NAME_BYTES = 150  # well under every common file system's 255 bytes, with room for a temporary prefix


def safe_name(name: str) -> str:
    """The upload's file name as it will be stored and shown; "" when nothing usable is left."""
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in "CZ" or ch == " ").strip(" .")
    stem, dot, suffix = name.rpartition(".")
    if not dot:
        stem, suffix = name, ""
    suffix = suffix[:10]
    room = MAX_NAME_BYTES - len(suffix.encode()) - 1
    stem = stem.encode()[:room].decode("utf-8", "ignore").rstrip(" .")
    return f"{stem}.{suffix}" if stem and suffix else stem


def store(folder: Path, name: str, data: bytes) -> Path:
    """Write ``data`` as ``folder/<hash>/<name>`` (atomically: a part file then a rename); its path. The
    file stays until its job ends (``AppState.discard_upload`` removes it when nothing needs it)."""
    target = folder / hashlib.sha256(data).hexdigest()[:16]
    target.mkdir(parents=True, exist_ok=True)
    dest = target / name
    part = target / f".part-{os.getpid()}-{threading.get_ident()}"
    part.write_bytes(data)
    os.replace(part, dest)
    return dest


def remove(folder: Path, source_path: str | None) -> None:
    """Delete a stored upload (and its folder when empty); paths outside ``folder`` are left alone."""
    if not source_path:
        return
    path, folder = Path(source_path), folder.resolve()
    if folder not in (path.parent, path.parent.parent):  # <hash>/<name>, or the earlier flat layout
        return
    path.unlink(missing_ok=True)
    if path.parent != folder:
        with contextlib.suppress(OSError):  # not empty: another upload of the same content
            path.parent.rmdir()


def sweep(folder: Path, referenced: set[str]) -> list[Path]:
    """Remove stored files that no indexed report references (and empty folders); returns them."""
    if not folder.is_dir():
        return []
    removed = []
    for sub in folder.iterdir():
        if sub.is_dir():
            for f in sub.iterdir():
                if str(f.resolve()) not in referenced:
                    f.unlink(missing_ok=True)
                    removed.append(f)
            with contextlib.suppress(OSError):
                sub.rmdir()
        elif str(sub.resolve()) not in referenced:  # a file of the old flat layout or a stray part file
            sub.unlink(missing_ok=True)
            removed.append(sub)
    return removed
