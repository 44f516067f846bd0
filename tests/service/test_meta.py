"""``PATCH /reports/{id}``: metadata corrected over HTTP, behind the key; the corrected values are what
scope, the report list and later answers see; bad input is a 404/422 naming it, with nothing changed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rag import store
from tests.helpers import copy_index
from tests.service.test_api import KEY, ask, error_of, get, snapshot

NEW_PLACE = "翠湖县"  # fictional, named by no report of the sample corpus
QUESTION = f"{NEW_PLACE}接收了多少件行政复议申请？"


@pytest.fixture()
def writable(make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path) -> tuple[TestClient, Path]:
    index = copy_index(sample_index_dir, tmp_path / "index")
    return make_client(index_dir=index, api_key=KEY), index


def patch(api: TestClient, rid: str, body: Any, *, key: str | None = KEY) -> Any:
    headers = {"X-API-Key": key} if key else {}
    return api.patch(f"/reports/{rid}", json=body, headers=headers)


def test_a_correction_is_stored_seen_by_scope_and_undone(writable: tuple[TestClient, Path]) -> None:
    api, index = writable
    rid = get(api, "/reports", params={"region": "青禾县"}).json()[0]["report_id"]
    assert ask(api, QUESTION)["answerable"] is False
    reports0, chunks0, gen0 = snapshot(api)

    r = patch(api, rid, {"region": NEW_PLACE, "year": 2019})
    assert r.status_code == 200, r.text
    fixed = r.json()
    assert (fixed["region"], fixed["year"], fixed["report_id"]) == (NEW_PLACE, 2019, rid)
    assert fixed["provenance"]["region"]["source"] == "user"
    assert fixed["read_values"]["region"]["value"] == "青禾县"
    reports1, chunks1, gen1 = snapshot(api)
    assert (reports1, chunks1) == (reports0, chunks0) and gen1 != gen0  # a new generation, same rows
    listed = {r["report_id"]: r for r in get(api, "/reports").json()}
    assert listed[rid]["region"] == NEW_PLACE and listed[rid]["unsure"] == []
    # scope finds the report by its corrected place; the answer is the report's own figure
    out = ask(api, QUESTION)
    assert out["answerable"] and "181件" in out["answer"], out
    assert {c["report_id"] for c in out["citations"]} == {rid}
    assert {r["report_id"] for r in get(api, "/reports", params={"year": 2019}).json()} == {rid}

    # null undoes the correction: back to the value read from the text
    r = patch(api, rid, {"region": None, "year": None})
    assert r.status_code == 200, r.text
    assert (r.json()["region"], r.json()["year"], r.json()["read_values"]) == ("青禾县", 2024, {})
    assert ask(api, QUESTION)["answerable"] is False
    assert store.read_corrections(index) == {}


@pytest.mark.parametrize(
    ("body", "status", "mentions"),
    [
        ({"colour": "red"}, 422, "colour"),
        ({"year": "20x4"}, 422, "20x4"),
        ({"year": 3024}, 422, "3024"),
        ({"url": "ftp://x"}, 422, "url"),
        ({"published": "yesterday"}, 422, "yesterday"),
        ({"region": ["a"]}, 422, "region"),
        ({}, 422, "fields"),
        ([1, 2], 422, "object"),
    ],
)
def test_bad_corrections_change_nothing(
    writable: tuple[TestClient, Path], body: Any, status: int, mentions: str
) -> None:
    api, index = writable
    rid = get(api, "/reports", params={"region": "青禾县"}).json()[0]["report_id"]
    before = snapshot(api)
    err = error_of(patch(api, rid, body), status)
    assert mentions in err["message"]
    assert snapshot(api) == before and store.read_corrections(index) == {}
    assert get(api, f"/reports/{rid}").json()["region"] == "青禾县"


def test_unknown_report_is_404_and_a_correction_needs_the_key(writable: tuple[TestClient, Path]) -> None:
    api, index = writable
    before = snapshot(api)
    err = error_of(patch(api, "no-such-report", {"region": NEW_PLACE}), 404)
    assert "no-such-report" in err["message"]
    rid = get(api, "/reports", params={"region": "青禾县"}).json()[0]["report_id"]
    for key in (None, "wrong"):
        error_of(patch(api, rid, {"region": NEW_PLACE}, key=key), 401)
    error_of(api.patch(f"/reports/{rid}", content=b"{not json", headers={"X-API-Key": KEY}), 422)
    assert snapshot(api) == before and store.read_corrections(index) == {}


def test_corrections_are_closed_without_a_key(
    make_client: Callable[..., TestClient], sample_index_dir: Path, tmp_path: Path
) -> None:
    index = copy_index(sample_index_dir, tmp_path / "index")
    api = make_client(index_dir=index)
    rid = get(api, "/reports").json()[0]["report_id"]
    assert "RAG_API_KEY" in error_of(patch(api, rid, {"year": 2020}, key=None), 403)["message"]
