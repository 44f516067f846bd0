"""The analyst workspace page (issue 4), end to end in headless Chromium (selenium) against a live uvicorn
server over an index of the SHARED corpus (../shared/corpus, read in place; skips when absent).

Questions come from the shared dev gold set at test time (../shared/gold/dev.jsonl), never copied here.
Screenshots go to out/screenshots/. Every explicit wait is bounded (BROWSER_WAIT seconds).
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from service.routes.pages import prefers_html
from tests.helpers import BROWSER_WAIT, SCREENSHOTS

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"
GOLD = SHARED / "gold" / "dev.jsonl"
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
NOT_INDEXED_PLACE = "海淀区"  # a real district with no report in the shared corpus (checked below)


def norm(s: str) -> str:
    """The gold set's matching rule: NFKC, whitespace removed."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", s))


def permalink(rid: str, pid: str) -> str:
    return f"/reports/{quote(rid)}/paragraphs/{quote(pid)}"


# --- content negotiation of the permalink (no browser needed; the SAMPLE corpus) ------------------------


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (None, False),
        ("", False),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html", False),
        ("text/html;q=0.5, application/json", False),
        ("text/html", True),
        (BROWSER_ACCEPT, True),
        ("text/*, application/json;q=0.5", True),
        ("text/html;q=0", False),
    ],
)
def test_prefers_html(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


def test_permalink_negotiates_html_and_json(sample_client: TestClient) -> None:
    api = sample_client
    rid = api.get("/reports").json()[0]["report_id"]
    report = api.get(f"/reports/{quote(rid)}").json()
    pid = report["sections"][0]["paragraphs"][0]["paragraph_id"]
    path = permalink(rid, pid)
    for accept in (None, "*/*", "application/json"):
        headers = {"Accept": accept} if accept else {}
        r = api.get(path, headers=headers)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), accept
        assert r.json()["paragraph_id"] == pid
        assert "accept" in r.headers["vary"].lower()
    for p in (path, f"/reports/{quote(rid)}", "/reports"):
        r = api.get(p, headers={"Accept": BROWSER_ACCEPT})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), p
        assert 'id="paragraph-panel"' in r.text and "/static/app.js" in r.text
        assert "accept" in r.headers["vary"].lower()
    # errors stay JSON for API clients
    r = api.get(f"/reports/{quote(rid)}/paragraphs/s99.p9")
    assert r.status_code == 404 and r.json()["error"]["message"]
    # the page itself and its static files
    home = api.get("/")
    assert home.status_code == 200 and home.headers["content-type"].startswith("text/html")
    for name, kind in (("app.js", "javascript"), ("style.css", "text/css")):
        r = api.get(f"/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"], name
    assert "/" not in api.get("/openapi.json").json()["paths"]


# --- the browser ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gold() -> list[dict[str, Any]]:
    if not GOLD.is_file():
        pytest.skip(f"no shared gold set at {GOLD}")
    return [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def url(corpus_index: Path, make_server: Callable[..., str]) -> str:
    """A live server over the session's index of the shared corpus (read-only)."""
    return make_server(index_dir=corpus_index)


def wait(driver: Any, condition: Callable[[Any], Any], message: str) -> Any:
    """Poll ``condition`` until it holds; an element the page re-rendered while it was read (stale) is
    "not yet", as is one not found."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    ignored = (NoSuchElementException, StaleElementReferenceException)
    return WebDriverWait(driver, BROWSER_WAIT, poll_frequency=0.1, ignored_exceptions=ignored).until(condition, message)


def css(root: Any, selector: str) -> Any:
    from selenium.webdriver.common.by import By

    return root.find_element(By.CSS_SELECTOR, selector)


def css_all(root: Any, selector: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(root.find_elements(By.CSS_SELECTOR, selector))


def text_of(element: Any) -> str:
    return str(element.get_attribute("textContent"))


def open_page(driver: Any, address: str) -> None:
    driver.get(address)
    wait(driver, lambda d: len(css_all(d, "#filter-region option")) > 1, "the region filter was not populated")


def ask(driver: Any, question: str) -> Any:
    """Type the question, press 提问, wait for the answer (or the error); returns the assistant turn."""
    before = len(css_all(driver, "#messages .message.assistant"))
    box = css(driver, "#question")
    box.clear()
    box.send_keys(question)
    css(driver, "#ask").click()

    def finished(d: Any) -> Any:
        turns = css_all(d, "#messages .message.assistant")
        if len(turns) > before and turns[-1].get_attribute("data-state") in ("done", "error"):
            return turns[-1]
        return False

    return wait(driver, finished, f"no answer to {question!r}")


def regions(url: str) -> list[str]:
    return [r["region"] for r in httpx.get(f"{url}/reports", timeout=BROWSER_WAIT).json() if r["region"]]


def first_numeric(gold: list[dict[str, Any]]) -> dict[str, Any]:
    return next(q for q in gold if q["type"] == "numeric" and q["answerable"] and q["must_include"])


def region_of(question: str, known: list[str]) -> str:
    return next(r for r in sorted(known, key=len, reverse=True) if question.startswith(r))


def chat_api(url: str, messages: list[dict[str, str]]) -> dict[str, Any]:
    r = httpx.post(f"{url}/chat", json={"messages": messages}, timeout=BROWSER_WAIT)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def test_ask_then_open_a_citation(driver: Any, url: str, gold: list[dict[str, Any]]) -> None:
    q = first_numeric(gold)
    open_page(driver, f"{url}/")
    turn = ask(driver, q["question"])
    assert turn.get_attribute("data-state") == "done", text_of(turn)
    answer = text_of(css(turn, ".answer"))
    for figure in q["must_include"]:
        assert norm(figure) in norm(answer), (figure, answer)
    assert "unanswerable" not in (turn.get_attribute("class") or "")

    expected = {c["n"]: c for c in chat_api(url, [{"role": "user", "content": q["question"]}])["citations"]}
    markers = css_all(turn, ".answer .citation-marker")
    assert markers and {int(m.get_attribute("data-n")) for m in markers} <= set(expected)
    marker = markers[0]
    citation = expected[int(marker.get_attribute("data-n"))]
    marker.click()

    panel = wait(driver, lambda d: css(d, "#paragraph-panel"), "no paragraph panel")
    mark = wait(driver, lambda d: css_all(d, "#paragraph-panel .quote-highlight"), "no highlighted quote")[0]
    assert panel.is_displayed() and mark.is_displayed()
    assert text_of(mark) == citation["quote"]
    assert "active" in (marker.get_attribute("class") or "")
    assert text_of(css(panel, ".panel-reference")) == citation["reference"]
    path = text_of(css(panel, ".section-path"))
    assert all(h in path for h in citation["section_path"])
    para = httpx.get(f"{url}{permalink(citation['report_id'], citation['paragraph_id'])}", timeout=BROWSER_WAIT).json()
    assert text_of(css(panel, ".paragraph-text")) == para["text"]
    meta = text_of(css(panel, ".report-meta"))
    report = para["report"]
    for key in ("title", "region", "year", "issuer", "published", "source"):
        if report[key]:
            assert str(report[key]) in meta, key
    link = css(panel, "a.permalink").get_attribute("href")
    assert unquote(urlsplit(link).path) == f"/reports/{citation['report_id']}/paragraphs/{citation['paragraph_id']}"
    driver.save_screenshot(str(SCREENSHOTS / "chat.png"))


def test_follow_up_in_the_same_conversation(driver: Any, url: str, gold: list[dict[str, Any]]) -> None:
    first = first_numeric(gold)
    region = region_of(first["question"], regions(url))
    # the next numeric question about the same place, asked without naming the place again
    second = next(
        q
        for q in gold
        if q is not first and q["type"] == "numeric" and q["answerable"] and q["question"].startswith(region)
    )
    follow_up = re.sub(r"^\d{4}年", "", second["question"][len(region) :])
    open_page(driver, f"{url}/")
    ask(driver, first["question"])
    turn = ask(driver, follow_up)
    assert turn.get_attribute("data-state") == "done", text_of(turn)
    assert len(css_all(driver, "#messages .message.user")) == 2
    standalone = css(turn, ".standalone-question")
    assert standalone.is_displayed() and region in text_of(standalone)
    answer = text_of(css(turn, ".answer"))
    for figure in second["must_include"]:
        assert norm(figure) in norm(answer), (figure, answer)
    markers = css_all(turn, ".answer .citation-marker")
    assert markers and all(m.get_attribute("data-region") == region for m in markers)


def test_unanswerable_and_error_states(driver: Any, url: str) -> None:
    assert NOT_INDEXED_PLACE not in regions(url)
    open_page(driver, f"{url}/")
    turn = ask(driver, f"{NOT_INDEXED_PLACE}行政复议申请有多少件？")
    assert turn.get_attribute("data-state") == "done"
    assert "unanswerable" in (turn.get_attribute("class") or "")
    label = css(turn, ".unanswerable-label")
    assert label.is_displayed() and "没有" in text_of(label)
    assert NOT_INDEXED_PLACE in text_of(turn)
    assert not css_all(turn, ".citation-marker")
    driver.save_screenshot(str(SCREENSHOTS / "unanswerable.png"))

    # an API error (a question over the length limit; the textarea's maxlength is bypassed on purpose)
    too_long = "法" * 2100
    body = {"messages": [{"role": "user", "content": too_long}], "stream": True}
    refused = httpx.post(f"{url}/chat", json=body, timeout=BROWSER_WAIT)
    assert refused.status_code == 400, refused.text  # before the stream starts: a JSON error, not a broken stream
    expected = refused.json()["error"]["message"]
    driver.execute_script("document.getElementById('question').value = arguments[0]", too_long)
    before = len(css_all(driver, "#messages .message.assistant"))
    css(driver, "#ask").click()

    def failed(d: Any) -> Any:
        turns = css_all(d, "#messages .message.assistant")
        return len(turns) > before and turns[-1].get_attribute("data-state") == "error" and turns[-1]

    turn = wait(driver, failed, "no error shown")
    error = css(turn, ".error")
    assert error.is_displayed() and expected in text_of(error)
    # the failed question is not part of the conversation: the next one is answered normally
    turn = ask(driver, f"{regions(url)[0]}行政机关负责人出庭应诉率是多少？")
    assert turn.get_attribute("data-state") == "done"


def test_report_browser_and_paragraph_permalink(driver: Any, url: str) -> None:
    listed = httpx.get(f"{url}/reports", timeout=BROWSER_WAIT).json()
    details = {
        r["report_id"]: httpx.get(f"{url}/reports/{quote(r['report_id'])}", timeout=BROWSER_WAIT).json() for r in listed
    }
    open_page(driver, f"{url}/#/reports")

    def all_rows(d: Any) -> Any:
        rows = css_all(d, "#report-table .report-row")
        return len(rows) == len(listed) and rows

    rows = wait(driver, all_rows, "the report list did not show every report")
    by_id = {r.get_attribute("data-report-id"): r for r in rows}
    assert set(by_id) == {r["report_id"] for r in listed}
    for r in listed:
        row = by_id[r["report_id"]]
        assert text_of(css(row, ".region")) == r["region"]
        assert text_of(css(row, ".year")) == str(r["year"])
        assert text_of(css(row, ".title")) == r["title"]
        count = sum(len(s["paragraphs"]) for s in details[r["report_id"]]["sections"])
        assert text_of(css(row, ".paragraph-count")) == str(count)
    driver.save_screenshot(str(SCREENSHOTS / "reports.png"))

    # a report by section
    rid = listed[0]["report_id"]
    css(by_id[rid], "a.report-link").click()
    wait(driver, lambda d: css_all(d, f'#report-view[data-report-id="{rid}"] .paragraph'), "the report did not open")
    sections = details[rid]["sections"]
    headings = [text_of(h) for h in css_all(driver, "#report-view .section-heading")]
    assert len(headings) == len(sections)
    assert all(all(part in h for part in s["section_path"]) for h, s in zip(headings, sections, strict=True))
    paragraphs = [p for s in sections for p in s["paragraphs"]]
    assert len(css_all(driver, "#report-view .paragraph")) == len(paragraphs)

    # follow one paragraph's permalink: the API URL, opened by a browser, shows the page on that paragraph
    target = paragraphs[len(paragraphs) // 2]
    pid = target["paragraph_id"]
    link = css(driver, f'#report-view .paragraph[data-paragraph-id="{pid}"] a.permalink')
    assert unquote(urlsplit(link.get_attribute("href")).path) == f"/reports/{rid}/paragraphs/{pid}"
    link.click()
    wait(driver, lambda d: "/paragraphs/" in d.current_url, "the permalink was not followed")
    shown = wait(
        driver,
        lambda d: css_all(d, f'#paragraph-panel .paragraph-text[data-paragraph-id="{pid}"]'),
        "the permalink page did not show the paragraph",
    )[0]
    assert unquote(urlsplit(driver.current_url).path) == f"/reports/{rid}/paragraphs/{pid}"
    assert text_of(shown) == target["text"]
    assert text_of(css(driver, "#paragraph-panel .panel-reference")) == target["reference"]
    assert "target" in (css(driver, f'#report-view .paragraph[data-paragraph-id="{pid}"]').get_attribute("class") or "")
    driver.save_screenshot(str(SCREENSHOTS / "permalink.png"))


def test_region_and_year_filters(driver: Any, url: str) -> None:
    from selenium.webdriver.support.ui import Select

    listed = httpx.get(f"{url}/reports", timeout=BROWSER_WAIT).json()
    open_page(driver, f"{url}/")
    region_options = [o.get_attribute("value") for o in Select(css(driver, "#filter-region")).options][1:]
    year_options = [o.get_attribute("value") for o in Select(css(driver, "#filter-year")).options][1:]
    assert sorted(region_options) == sorted({r["region"] for r in listed if r["region"]})
    assert sorted(year_options) == sorted({str(r["year"]) for r in listed if r["year"]})
    report = listed[-1]
    Select(css(driver, "#filter-region")).select_by_value(report["region"])
    Select(css(driver, "#filter-year")).select_by_value(str(report["year"]))
    assert report["region"] in text_of(css(driver, "#filter-status"))
    turn = ask(driver, "行政执法人员有多少名？")  # no place named: the filters decide
    assert turn.get_attribute("data-state") == "done", text_of(turn)
    markers = css_all(turn, ".answer .citation-marker")
    if turn.get_attribute("data-answerable") == "true":
        assert markers and all(m.get_attribute("data-report-id") == report["report_id"] for m in markers)
    else:  # "<region>的报告中没有找到…": the filter was applied all the same
        assert report["region"] in text_of(turn) and not markers


@pytest.mark.slow
def test_a_refusal_shows_the_nearest_passages_marked_as_no_answer(driver: Any, url: str) -> None:
    # a rate none of the shared reports states: refused, with the sentences that came nearest
    refused = None
    for region in regions(url):
        question = f"{region}行政复议纠错率是多少？"
        body = chat_api(url, [{"role": "user", "content": question}])
        if not body["answerable"] and body["checks"].get("candidates"):
            refused = (question, body["checks"]["candidates"])
            break
    assert refused, "no region's report refuses the 纠错率 question with candidates"
    question, expected = refused
    open_page(driver, f"{url}/")
    turn = ask(driver, question)
    assert turn.get_attribute("data-state") == "done" and "unanswerable" in (turn.get_attribute("class") or "")
    assert not css_all(turn, ".citation-marker") and not css_all(turn, ".citation-list")
    section = css(turn, ".nearest")
    assert section.is_displayed()
    assert text_of(css(section, ".nearest-label")) == "最接近的段落 · 不是答案"
    items = css_all(section, ".nearest-item")
    assert [text_of(css(i, ".nearest-sentence")) for i in items] == [c["sentence"] for c in expected]
    assert [i.get_attribute("data-check") for i in items] == [c["check"] for c in expected]
    assert all(c["reason"] in text_of(css(i, ".nearest-check")) for i, c in zip(items, expected, strict=True))
    # the answer text is the refusal alone: no candidate sentence is shown as the answer
    assert all(c["sentence"] not in text_of(css(turn, ".answer")) for c in expected)

    css(items[0], "a.nearest-ref").click()
    mark = wait(driver, lambda d: css_all(d, "#paragraph-panel .quote-highlight"), "no highlighted sentence")[0]
    assert text_of(mark) == expected[0]["sentence"]
    assert "不是答案" in text_of(css(driver, "#paragraph-panel .panel-reference"))
    driver.save_screenshot(str(SCREENSHOTS / "refusal-nearest.png"))
