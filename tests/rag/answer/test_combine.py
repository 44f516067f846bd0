"""Combining the parts' answers (``rag.answer.combine``) on hand-built answers over one SAMPLE report:
markers renumbered across parts, a sentence cited once, a refused part kept as refused, parts past the
cap named, the blocks joined being the answer."""

from __future__ import annotations

from rag.answer.combine import Combiner, part_heading
from rag.question.compound import Part
from rag.types import Answer, Citation

TEXT = "示例县接收行政复议申请143件，和解率41.2%。组织旁听庭审15场。开展普法活动48场次。"


def cite(n: int, sentence: str) -> Citation:
    start = TEXT.index(sentence)  # the test's own fixture text, not a citation path
    return Citation(
        n=n,
        report_id="示例县-2023",
        title="示例县关于2023年法治政府建设情况的报告（示例）",
        region="示例县",
        year=2023,
        source="shili.txt",
        section_path=(),
        paragraph_id="s0.p1",
        quote=sentence,
        start=start,
        end=start + len(sentence),
        reference="《示例县关于2023年法治政府建设情况的报告（示例）》第1段",
    )


def answer(text: str, *citations: Citation, answerable: bool = True, ms: float = 1.0) -> Answer:
    return Answer(
        question="q",
        answer=text,
        answerable=answerable,
        citations=citations,
        passages=(),
        mode="extractive",
        prompt_version="extractive-v2",
        timings={"retrieve_ms": ms},
    )


A = "示例县接收行政复议申请143件，和解率41.2%。"
B = "组织旁听庭审15场。"


def part(asked: str) -> Part:
    return Part(asked=asked, question=f"示例县2023年{asked}", start=0, end=len(asked))


def test_markers_are_renumbered_and_a_sentence_is_cited_once() -> None:
    c = Combiner()
    first = c.add(part("组织了几场旁听庭审？"), answer(f"{B}[1]", cite(1, B)))
    second = c.add(part("接收了多少件复议申请？"), answer(f"{A}[1]", cite(1, A)))
    third = c.add(part("和解率多少？"), answer(f"{A}[1]", cite(1, A), ms=2.0))
    combined = c.answer("整个问题", {"regions": ["示例县"]})
    assert [first, second, third] == [
        f"（1）组织了几场旁听庭审？\n{B}[1]",
        f"（2）接收了多少件复议申请？\n{A}[2]",
        f"（3）和解率多少？\n{A}[2]",
    ]
    assert combined.answer == "\n".join([first, second, third])
    assert [(x.n, x.quote) for x in combined.citations] == [(1, B), (2, A)]
    assert [p.citations for p in combined.parts] == [(1,), (2,), (2,)]
    # each part carries its own lines, exactly as they stand under its heading
    assert [p.answer for p in combined.parts] == [f"{B}[1]", f"{A}[2]", f"{A}[2]"]
    assert combined.answer == "\n".join(
        f"{part_heading(i, p.asked)}\n{p.answer}" for i, p in enumerate(combined.parts, 1)
    )
    assert combined.timings == {"retrieve_ms": 4.0}
    assert combined.question == "整个问题" and combined.scope == {"regions": ["示例县"]}


def test_a_refused_part_stays_refused_while_the_answer_is_answerable() -> None:
    c = Combiner()
    c.add(part("组织了几场旁听庭审？"), answer(f"{B}[1]", cite(1, B)))
    c.add(part("无人机巡查覆盖了几个乡镇？"), answer("示例县的报告中没有找到能回答这个问题的内容。", answerable=False))
    combined = c.answer("q", {})
    assert combined.answerable
    assert [p.answerable for p in combined.parts] == [True, False]
    assert combined.parts[1].answer == "示例县的报告中没有找到能回答这个问题的内容。"
    assert combined.answer.endswith("（2）无人机巡查覆盖了几个乡镇？\n示例县的报告中没有找到能回答这个问题的内容。")


def test_every_part_refused_is_a_refusal() -> None:
    c = Combiner()
    c.add(part("甲？"), answer("没有找到。", answerable=False))
    c.add(part("乙？"), answer("没有找到。", answerable=False))
    combined = c.answer("q", {})
    assert not combined.answerable and combined.citations == ()


def test_parts_past_the_cap_are_named() -> None:
    c = Combiner()
    c.add(part("组织了几场旁听庭审？"), answer(f"{B}[1]", cite(1, B)))
    line = c.add_left((part("开展了多少场普法活动？"),))
    combined = c.answer("q", {})
    assert line.startswith("（未回答）这个问题共2个部分，只回答了前1个") and "“开展了多少场普法活动？”" in line
    assert combined.answer.endswith(line)
    assert [(p.answered, p.answerable) for p in combined.parts] == [(True, True), (False, False)]
    assert combined.to_dict()["parts"][1] == {
        "asked": "开展了多少场普法活动？",
        "question": "示例县2023年开展了多少场普法活动？",
        "answerable": False,
        "citations": [],
        "answered": False,
        "answer": "",
    }
