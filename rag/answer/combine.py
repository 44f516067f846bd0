"""One answer from the answers to a compound question's parts (``rag.question.compound``).

Each part was answered by the whole pipeline on its own, its citations numbered from [1]. The combined
answer shows each part as asked, then its answer, with every citation renumbered across the parts and
the same sentence cited once (one number however many parts cite it). A part refused says so under
its own heading while the others keep their answers; parts past the cap on parts are named, not
answered. Incremental (``add`` returns the part's block as soon as it is answered), so a stream can
send each part when it is ready: the blocks joined by newlines are exactly the combined answer text.
Each part also keeps its own lines (``AnswerPart.answer``), so a reader shows a part without parsing headings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from ..question.compound import Part
from ..types import Answer, AnswerPart, Candidate, Citation, Passage

_MARKER = re.compile(r"\[(\d+)\]")


def part_heading(i: int, asked: str) -> str:
    """The line a part's answer stands under: （1）南昌县2022年获得了什么称号？"""
    return f"（{i}）{asked}"


def left_line(left: tuple[Part, ...], answered: int) -> str:
    """The line naming the parts past the cap: they are not answered, and the reader is told which."""
    asked = "".join(f"“{p.asked}”" for p in left)
    return f"（未回答）这个问题共{answered + len(left)}个部分，只回答了前{answered}个；请另行提问：{asked}"


class Combiner:
    """Collects the parts' answers in order; ``add`` each, then ``answer``."""

    def __init__(self) -> None:
        self._citations: dict[tuple[str, int, int], Citation] = {}
        self._blocks: list[str] = []
        self._parts: list[AnswerPart] = []
        self._answers: list[Answer] = []

    def add(self, part: Part, answer: Answer) -> str:
        """Take one part's answer; its block (heading, then the answer with markers renumbered)."""
        local: dict[int, int] = {}
        for c in answer.citations:
            key = (c.report_id, c.start, c.end)
            if key not in self._citations:
                self._citations[key] = replace(c, n=len(self._citations) + 1)
            local[c.n] = self._citations[key].n

        def renumber(m: re.Match[str]) -> str:
            n = int(m.group(1))
            return f"[{local[n]}]" if n in local else m.group()

        text = _MARKER.sub(renumber, answer.answer)
        cited = tuple(dict.fromkeys(local[int(n)] for n in _MARKER.findall(answer.answer) if int(n) in local))
        self._parts.append(AnswerPart(part.asked, part.question, answer.answerable, cited, answer=text))
        self._answers.append(answer)
        block = f"{part_heading(len(self._parts), part.asked)}\n{text}"
        self._blocks.append(block)
        return block

    def add_left(self, left: tuple[Part, ...]) -> str:
        """Name the parts past the cap (not answered); their block."""
        block = left_line(left, len(self._parts))
        self._parts.extend(AnswerPart(p.asked, p.question, False, answered=False) for p in left)
        self._blocks.append(block)
        return block

    def answer(self, question: str, scope: dict[str, Any], notes: tuple[str, ...] = ()) -> Answer:
        """The combined answer to ``question`` (``scope``: the whole question's, as the API shows it)."""
        answers = self._answers
        answered = [a for a in answers if a.answerable]
        modes = {a.mode for a in answers}
        lead = answered[0] if answered else answers[0]
        part_notes = tuple(dict.fromkeys(n for a in answers for n in a.notes))
        timings: dict[str, float] = {}
        checks: dict[str, int] = {}
        for a in answers:
            for k, v in a.timings.items():
                timings[k] = timings.get(k, 0.0) + v
            for k, n in a.checks.items():
                checks[k] = checks.get(k, 0) + n
        candidates: tuple[Candidate, ...] = () if answered else tuple(c for a in answers for c in a.candidates)
        return Answer(
            question=question,
            answer="\n".join(self._blocks),
            answerable=bool(answered),
            citations=tuple(sorted(self._citations.values(), key=lambda c: c.n)),
            passages=_interleave([a.passages for a in answers]),
            mode=lead.mode if len(modes) > 1 else answers[0].mode,
            prompt_version=lead.prompt_version,
            scope=scope,
            notes=(*notes, *part_notes),
            timings=timings,
            checks=checks,
            candidates=candidates,
            parts=tuple(self._parts),
        )


def _interleave(lists: list[tuple[Passage, ...]]) -> tuple[Passage, ...]:
    """The parts' passages taken in turn (each part's best first), each chunk once, ranked anew."""
    seen: set[str] = set()
    out: list[Passage] = []
    for i in range(max((len(x) for x in lists), default=0)):
        for passages in lists:
            if i < len(passages) and passages[i].chunk.chunk_id not in seen:
                seen.add(passages[i].chunk.chunk_id)
                out.append(replace(passages[i], rank=len(out) + 1))
    return tuple(out)
