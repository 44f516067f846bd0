"""Answer stage (offline default): pick the sentences that answer the question and quote them verbatim.

Written by hand because extractive QA models that read Chinese are hub downloads we cannot make here;
the rules below are about the kinds of question users ask of these reports (``rag.question`` analyses
the question once), not their wording:

- Sentences of the top passages are scored by weighted coverage of the question's content terms
  (rarer terms weigh more; terms found only in the section headings above a sentence count half;
  terms of the report's title say nothing about where the answer is and are left out; a small domain
  synonym list), plus their meaning: the sentence vectors computed at ingest against the question's
  vector (multilingual-e5), so 开办一家企业要几个工作日 finds 企业设立所需时间…缩减至2个工作日. The
  figure a quantity question asks for adds a bonus.
- A question is answered only when the best sentence covers enough of it and carries the right kind
  of figure: a 率 question needs a rate of the same thing (败诉率 is not answered by 出庭率100%),
  多少件X needs a count standing next to X, a year the question names must appear. Otherwise the
  answer says plainly that the reports do not say. A region-level place the index has no report for
  is refused.
- Multi-part questions take a second or third sentence for the parts the first leaves uncovered.
- List questions (存在哪些不足, 有哪些工作打算) return the enumerated items (一是…二是…, or the
  （一）（二）… subsections) of the best-matching paragraph or section.
- Questions across reports (哪些地方…, or naming several places, departments or years) answer from
  each report separately, labelled by region (or department), and keep only reports whose sentence
  carries the figure the question names (100%).
- Questions asking how something is put into words (怎么概括, 被称为什么) prefer a sentence quoting a
  phrase (“…”, 《…》) to a section heading.
- Questions about the document (文号, 发布机关, 发布日期, 报告年度) are answered from the report's
  metadata, quoting the header or signature line that holds the value.
- A refusal carries the sentences that came nearest, each with the check that turned it down
  (``rag.answer.why``; collected by ``_candidates``, apart from the answering).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ..ingest.chunk import parse_heading
from ..question import Question, content_bigrams, coverage, term_weights
from ..question.figures import (
    COUNTED_CHAR_SHARE,
    COUNTED_SHARE,
    AskedCount,
    clause_window,
    count_answering,
    figures,
    has_figure,
    written_with,
)
from ..retrieve import Reading, Retrieved
from ..text import ITEM_START_RE, iso_date, sentence_spans
from ..types import MATTER, Answer, Candidate, Chunk, Citation, Report
from .base import AnswerLine, Fallback, StreamEvent, stream_lines
from .cite import make_citation
from .why import WhyParams, nearest, turned_down

__all__ = ["EXTRACTIVE_VERSION", "ExtractiveAnswerer", "ExtractiveParams", "Scorer", "Sentence", "sentences_of"]

EXTRACTIVE_VERSION = "extractive-v2"

_QUOTED_PHRASE = re.compile(r"“[^”]{2,}”|「[^」]{2,}」|『[^』]{2,}』|‘[^’]{2,}’|《[^》]{2,}》|\"[^\"]{2,}\"")
_PERSON = re.compile(r"[厅局处科部]长|书记|[县市区州省]长|主任|同志")


@dataclass(frozen=True)
class ExtractiveParams:
    """The extractive answerer's tuning, chosen on the dev sets (README); each field says what it trades."""

    # which passages and texts are read
    read_k: int = 8  # passages whose sentences are scored: more finds answers ranked lower, and more wrong ones
    scope_passages: int = 30  # ranked passages whose reports are "in scope" when no filter names them (term weights)
    background_reports: int = 20  # reports whose lines weigh the terms (rarer weighs more): more is steadier, slower
    document_reports: int = 3  # reports quoted for a question about the document itself
    max_reports: int = 10  # reports quoted in one answer across reports
    passages_per_report: int = 4  # passages read per report quoted across reports: more finds more, reads more
    topic_reports: int = 3  # reports whose sections are looked through for a list question's topic
    # when a sentence answers
    threshold: float = 0.5  # share of the question's weighted content a sentence must cover: higher refuses more
    cross_threshold: float = 0.4  # … across reports (哪些地方…), where each report's wording differs
    cross_figure_threshold: float = 0.25  # … across reports, when the sentence also carries the figure asked about
    heading_weight: float = 0.5  # a term only in the headings above a sentence counts this much of one in it
    list_context_weight: float = 0.9  # for list questions a heading match counts nearly as much as the text
    section_threshold: float = 0.4  # coverage of the question by a heading to list its subsections or parts
    item_sentences: int = 3  # sentences quoted per enumerated item (and parts of a named section)
    counted_share: float = COUNTED_SHARE  # share of what is counted that must stand next to a count that answers
    # cosine of a sentence to the question at which a count in the measure word asked may stand next to other
    # words for what is counted (52项…改革举措 for 多少项改革措施): lower accepts more paraphrases, and more
    # counts of other things in sentences merely on the same topic
    counted_meaning: float = 0.88
    # … and the share of what is counted's characters that must stand beside it: at least
    # ``counted_char_share`` in a sentence at ``counted_meaning_sure`` or above, ``counted_char_share_near``
    # below (a sentence only just close must name more of the thing): lower accepts counts of neighbouring
    # things (行政处罚案件 for 法律援助案件 shares 法, 案, 件)
    counted_char_share: float = COUNTED_CHAR_SHARE
    counted_meaning_sure: float = 0.9
    counted_char_share_near: float = 0.7
    # the sentence score's bonuses and penalties
    semantic_weight: float = 0.35  # most the sentence's meaning (cosine to the question) adds to its coverage
    semantic_floor: float = 0.84  # cosine below which meaning adds nothing
    semantic_ceiling: float = 0.92  # cosine at which meaning adds all of ``semantic_weight``
    who_bonus: float = 0.1  # added for a 谁 question when the sentence names an office (局长, 书记)
    missing_figure_factor: float = 0.6  # a quantity question's sentence without the figure asked keeps this share
    unit_bonus: float = 0.05  # added when it writes a number in the unit asked (181件 for 多少件)
    phrase_bonus: float = 0.1  # added for a how-is-it-put question (怎么概括) when the sentence quotes a phrase (“…”)
    # a how-is-it-put question's sentence without a quoted phrase, or a section heading, keeps this share
    missing_phrase_factor: float = 0.6
    rank_bonus: float = 0.02  # divided by the passage's rank: breaks near-ties in retrieval's favour
    # further sentences for a multi-part question
    max_sentences: int = 3  # sentences quoted for one question at most
    remaining_share: float = 0.25  # weight of the still-uncovered terms below which no sentence is added
    second_threshold: float = 0.5  # coverage of the still-uncovered part a further sentence must reach
    second_meaning_coverage: float = 0.3  # … or this much, when its meaning is close to the question's
    second_meaning: float = 0.5  # share of ``semantic_weight`` that counts as close


@dataclass(frozen=True)
class Sentence:
    chunk: Chunk
    report: Report
    start: int  # offsets into report.text
    end: int
    rank: int  # rank of its passage
    row: int = -1  # the chunk's index row (-1: not from the index)
    index: int = 0  # the sentence's position in its chunk

    @property
    def text(self) -> str:
        return self.report.text[self.start : self.end]


def sentences_of(chunk: Chunk, report: Report, rank: int, row: int = -1) -> list[Sentence]:
    return [
        Sentence(chunk, report, chunk.start + s, chunk.start + e, rank, row, i)
        for i, (s, e) in enumerate(sentence_spans(chunk.text))
    ]


class Scorer:
    """Weighted coverage of the question's terms by a sentence (plus its headings), and its meaning."""

    def __init__(
        self,
        q: Question,
        background: Sequence[str],
        reading: Reading | None = None,
        vector: np.ndarray | None = None,
        params: ExtractiveParams = ExtractiveParams(),
    ) -> None:
        self.q = q
        self.params = params
        self.weights = term_weights(q, background)
        self.total = sum(self.weights.values()) or 1.0
        self.reading = reading
        self.vector = vector if q.uses("semantic") else None
        self.paraphrased: tuple[AskedCount, ...] = ()  # counts no candidate states in the question's words

    def char_share(self, s: Sentence) -> float | None:
        """How much of what is counted a count must stand beside in other words in this sentence: None when
        the sentence is not close in meaning to the question (cosine below ``counted_meaning``), a larger
        share when it is only just close (below ``counted_meaning_sure``)."""
        p = self.params
        sim = self.similarity(s)
        if sim is None or sim < p.counted_meaning:
            return None
        return p.counted_char_share if sim >= p.counted_meaning_sure else p.counted_char_share_near

    def paraphrase_counts(self, candidates: Sequence[Sentence]) -> None:
        """The counts asked that no candidate states beside the question's own words for what is counted:
        only those may be answered beside other words (``close``), so 行政处罚案件3.2万件 never outranks
        法律援助案件1200件 for 多少件法律援助案件."""
        share = self.params.counted_share
        self.paraphrased = tuple(
            a for a in self.q.counts if not any(count_answering(a, s.text, share) for s in candidates)
        )

    def has_figure(self, s: Sentence) -> bool:
        if has_figure(self.q, s.text, self.params.counted_share):
            return True
        return any(self.answers_count(a, s) for a in self.paraphrased)

    def answers_count(self, asked: AskedCount, s: Sentence) -> bool:
        """Whether ``s`` states the count ``asked``: beside the question's words for what is counted, or,
        for a count no candidate states so (``paraphrase_counts``), beside other words in a close sentence
        (``char_share``)."""
        share = self.char_share(s) if asked in self.paraphrased else None
        close = share is not None
        found = count_answering(asked, s.text, self.params.counted_share, close=close, char_share=share or 1.0)
        return found is not None

    def admits(self, text: str, context: str = "") -> bool:
        """The question's hard conditions (``Question.admits``: years, places, a named document's number)."""
        return self.q.admits(text, context)

    def coverage(
        self,
        text: str,
        context: str = "",
        *,
        title: str = "",
        terms: set[str] | None = None,
        context_weight: float | None = None,
    ) -> float:
        """``rag.question.coverage`` with this scorer's term weights (headings count ``heading_weight``
        unless ``context_weight`` says otherwise)."""
        weight = self.params.heading_weight if context_weight is None else context_weight
        return coverage(self.q, self.weights, text, context, title=title, terms=terms, context_weight=weight)

    def similarity(self, s: Sentence) -> float | None:
        """The cosine of the sentence's vector (computed at ingest) to the question's, None when either
        is missing (no semantic rule, a sentence not from the index)."""
        if self.vector is None or self.reading is None or s.row < 0:
            return None
        vectors = self.reading.sentence_vectors(s.row)
        if s.index >= len(vectors):
            return None
        return float(np.dot(vectors[s.index].astype(np.float32), self.vector))

    def meaning(self, s: Sentence) -> float:
        """The share of ``semantic_weight`` the sentence's similarity to the question earns (0 to 1)."""
        sim = self.similarity(s)
        if sim is None:
            return 0.0
        floor, ceiling = self.params.semantic_floor, self.params.semantic_ceiling
        return min(max((sim - floor) / (ceiling - floor), 0.0), 1.0)

    def score(self, s: Sentence) -> float:
        text = s.text
        context = " ".join(s.chunk.section_path)
        if not self.admits(text, f"{context} {s.chunk.text}"):
            return 0.0
        p = self.params
        cov = self.coverage(text, context, title=s.report.title) + p.semantic_weight * self.meaning(s)
        if self.q.who and _PERSON.search(text):
            cov += p.who_bonus
        if self.q.describes:
            heading = s.index == 0 and parse_heading(text) is not None
            cov = cov + p.phrase_bonus if _QUOTED_PHRASE.search(text) and not heading else cov * p.missing_phrase_factor
        if self.q.quantity:
            if not self.has_figure(s):
                cov *= p.missing_figure_factor
            elif self.q.unit and written_with(text, self.q.unit):
                cov += p.unit_bonus
        return cov + p.rank_bonus / s.rank


def label(report: Report) -> str:
    """How an answer across reports names the report a line comes from: its issuer for a department's
    report (泰州市市场监督管理局), else its region."""
    if report.department and report.issuer:
        return f"{report.issuer}："
    return f"{report.region or report.title}："


_DOCUMENT_LABELS = {
    "doc_number": "文号",
    "published": "发布日期",
    "issuer": "发布机关",
    "year": "报告年度",
    "title": "标题",
}


class ExtractiveAnswerer:
    """The offline answer stage (``rag.answer.base.Answerer``): verbatim sentences of what was retrieved,
    each cited, or a plain statement that the reports do not say. Reads nothing but its ``Retrieved``."""

    def __init__(self, params: ExtractiveParams = ExtractiveParams(), why: WhyParams = WhyParams()) -> None:
        self.params = params
        self.read_k = params.read_k
        self.why = why

    # -- helpers ---------------------------------------------------------------------------------
    @staticmethod
    def _sentences(reading: Reading, limit: int) -> list[Sentence]:
        """Sentences of the top ``limit`` passages; the document's header and signature lines are
        metadata, quoted only for questions about the document (``_document``)."""
        out: list[Sentence] = []
        for c in reading.candidates(limit):
            if c.chunk.section_ref in MATTER:
                continue
            out.extend(sentences_of(c.chunk, c.report, c.rank, c.row))
        return out

    @staticmethod
    def _paragraph_sentences(reading: Reading, s: Sentence) -> list[Sentence]:
        out: list[Sentence] = []
        for row, c in reading.chunks_of(s.report.report_id):
            if c.paragraph_id == s.chunk.paragraph_id:
                out.extend(sentences_of(c, s.report, s.rank, row))
        return out

    @staticmethod
    def _subsection_heads(reading: Reading, para: Sentence) -> list[Sentence]:
        """First sentence of each subsection (（一）…) of the top-level section (四、) holding ``para``."""
        m = re.match(r"[一二三四五六七八九十]+、", para.chunk.section_ref)
        if not m:
            return []
        parent = m.group()
        heads: dict[str, Sentence] = {}
        for row, c in reading.chunks_of(para.report.report_id):
            opens_subsection = (
                c.part == 0
                and c.paragraph_no == 1
                and len(c.section_ref) > len(parent)
                and c.section_ref.startswith(parent)
                and parse_heading(c.text) is not None
            )
            if opens_subsection and c.section_ref not in heads:
                heads[c.section_ref] = sentences_of(c, para.report, para.rank, row)[0]
        return list(heads.values())

    def _item(self, para: Sequence[Sentence], i: int, starts: Sequence[int]) -> Sentence:
        """The enumerated item starting at sentence ``i``: its sentences up to the next item, at most
        ``item_sentences`` and within one chunk (so one citation covers it)."""
        first = para[i]
        end = first
        for s in para[i + 1 : i + self.params.item_sentences]:
            if (para.index(s) in starts) or s.chunk is not first.chunk:
                break
            end = s
        return Sentence(first.chunk, first.report, first.start, end.end, first.rank, first.row, first.index)

    def _topic_sections(self, reading: Reading, scorer: Scorer) -> list[Sentence]:
        """First sentences of the paragraphs whose section heading names the question's topic (存在的不足,
        下一步工作打算), in the reports retrieval ranked first (at most ``topic_reports``): a list question's
        answer is a section, which retrieval may rank low when its items share no word with the question."""
        out: list[Sentence] = []
        for rid in reading.report_ids(self.read_k)[: self.params.topic_reports]:
            report = reading.report(rid)
            for row, c in reading.chunks_of(rid):
                if c.part == 0 and c.section_ref not in MATTER and self._names_section(scorer, c, report):
                    out.extend(sentences_of(c, report, self.read_k + 1, row)[:1])
        return out

    def _names_section(self, scorer: Scorer, chunk: Chunk, report: Report, *, items: bool = True) -> bool:
        """Whether the question names the section ``chunk`` stands in: one of its top two headings (存在的不足)
        covers the question; with ``items=False`` an enumerated item standing as a heading (一是深化…) does not
        count, since the question's words in a 下一步 section's first item make no question about that section."""
        heads = [h for h in chunk.section_path[:2] if items or not ITEM_START_RE.search(h)]
        return bool(heads) and max(scorer.coverage(h, title=report.title) for h in heads) >= self.params.threshold

    def _list(self, reading: Reading, scorer: Scorer) -> list[Sentence]:
        """Items of the best-matching paragraph that reads as a list: its items (一是…二是…), else the
        subsections of its section when the question names that section, else the paragraph itself when
        the question names its heading (数字政府建设方面做了哪些工作 → （八）加快推进数字政府建设。…).
        When the best paragraph lists nothing (a sentence of another section that happens to say 问题),
        a paragraph of a section the question names (存在的不足) still answers it, best first; without one
        the question is left to ``_single`` (学习了哪个县的经验 is no list of the 下一步 section's items, even
        when its first item shares the question's words)."""
        p = self.params
        seen: set[tuple[str, str]] = set()
        scored: list[tuple[float, int, list[Sentence]]] = []
        for s in [*self._sentences(reading, self.read_k), *self._topic_sections(reading, scorer)]:
            key = (s.report.report_id, s.chunk.paragraph_id)
            if key in seen:
                continue
            seen.add(key)
            para = self._paragraph_sentences(reading, s)
            text = "".join(x.text for x in para)
            context = " ".join(s.chunk.section_path)
            if not scorer.admits(text, context):
                continue
            score = scorer.coverage(text, context, title=s.report.title, context_weight=p.list_context_weight)
            score += p.semantic_weight * max((scorer.meaning(x) for x in para), default=0.0)
            score += p.rank_bonus / s.rank
            if score >= p.threshold:
                scored.append((score, -len(scored), para))
        ranked = [para for *_, para in sorted(scored, key=lambda t: t[:2], reverse=True)]
        if not ranked:
            return []
        if items := self._as_list(reading, scorer, ranked[0]):
            return items
        for para in ranked[1:]:
            if self._names_section(scorer, para[0].chunk, para[0].report, items=False) and (
                items := self._as_list(reading, scorer, para)
            ):
                return items
        return []

    def _as_list(self, reading: Reading, scorer: Scorer, para: list[Sentence]) -> list[Sentence]:
        """What of ``para`` answers a list question (see ``_list``), or nothing when it lists nothing."""
        p = self.params
        starts = [i for i, s in enumerate(para) if ITEM_START_RE.search(s.text)]
        if len(starts) >= 2:
            return [self._item(para, i, starts) for i in starts]
        # a question about a whole section (下步工作重点) is answered by its subsections' headings
        top = para[0].chunk.section_path[:1]
        if top and scorer.coverage(top[0], title=para[0].report.title) >= p.section_threshold:
            heads = self._subsection_heads(reading, para[0])
            if len(heads) >= 2:
                return heads
        # the heading opening the paragraph, or the heading line above it (（一）优化法治化营商环境 / 全年推出…)
        own = para[0].chunk.section_path[-1:]
        if own and scorer.coverage(own[0], title=para[0].report.title) >= p.section_threshold:
            parts: dict[str, Sentence] = {}
            for x in para:
                whole = Sentence(x.chunk, x.report, x.chunk.start, x.chunk.end, x.rank, x.row, x.index)
                parts.setdefault(x.chunk.chunk_id, whole)
            return list(parts.values())[: p.item_sentences]
        return []

    # -- main ------------------------------------------------------------------------------------
    def answer(self, retrieved: Retrieved, fallback: Fallback | None = None) -> Answer:
        return self.extract(retrieved).answer

    def stream(self, retrieved: Retrieved, fallback: Fallback | None = None) -> Iterator[StreamEvent]:
        yield from stream_lines(self.answer(retrieved))

    def extract(self, retrieved: Retrieved) -> Fallback:
        """The answer with its lines as values (what the LLM answerer is handed as its fallback)."""
        t0 = time.perf_counter()
        q = retrieved.question
        scope = q.scope
        if scope.refusal:
            why = self._candidates(retrieved, None, scope=scope.refusal.removesuffix("，无法回答这个问题。"))
            return Fallback(self._refusal(retrieved, scope.refusal, t0, why))
        ids = scope.report_filter()
        if ids is not None and not ids:
            return Fallback(self._refusal(retrieved, "没有符合筛选条件的报告。", t0))
        reading = retrieved.reading
        in_scope = ids if ids is not None else reading.report_ids(self.params.scope_passages)
        background = reading.lines(in_scope[: self.params.background_reports])
        scorer = Scorer(q, background, reading, retrieved.vector, self.params)
        labelled = q.cross or q.several
        picked: list[Sentence] = []
        if q.document_field:
            picked = self._document(reading, q, in_scope if ids is not None else list(scope.report_ids))
        if not picked and labelled:
            picked = self._cross(reading, scorer, explicit=q.cross)
        elif not picked:
            picked = (self._list(reading, scorer) if q.is_list else []) or self._single(reading, scorer)
        if not picked:
            where = f"{'、'.join(scope.regions)}的报告中" if scope.regions else "已索引的报告中"
            why = self._candidates(retrieved, scorer)
            return Fallback(self._refusal(retrieved, f"{where}没有找到能回答这个问题的内容。", t0, why))
        lines: list[AnswerLine] = []
        by_document = bool(q.document_field) and picked[0].chunk.section_ref in MATTER
        for n, s in enumerate(picked, 1):
            prefix = label(s.report) if labelled or (by_document and len(picked) > 1) else ""
            if by_document and q.document_field:
                prefix += f"{_DOCUMENT_LABELS[q.document_field]}——"
            lines.append(AnswerLine(prefix, s.text, make_citation(n, s.report, s.chunk, s.start, s.end)))
        answer = self._answer(retrieved, "\n".join(line.text for line in lines), [line.citation for line in lines], t0)
        return Fallback(answer, tuple(lines))

    def _document(self, reading: Reading, q: Question, report_ids: Sequence[str]) -> list[Sentence]:
        """For a question about the document itself: the line of each report in scope (at most
        ``document_reports``) that holds the metadata value asked for — a header or signature line, else
        the title or the body's opening, wherever the value was read."""
        field = q.document_field
        out: list[Sentence] = []
        for rid in list(report_ids)[: self.params.document_reports]:
            report = reading.report(rid)
            value = getattr(report, field or "", None)
            if not value:
                continue
            found = self._line_holding(reading, report, field or "", value)
            if found is not None:
                out.append(found)
        return out

    @staticmethod
    def _line_holding(reading: Reading, report: Report, field: str, value: object) -> Sentence | None:
        chunks = reading.chunks_of(report.report_id)
        header = [(r, c) for r, c in chunks if c.section_ref in MATTER]
        header_rows = {r for r, _ in header}
        evidence = report.provenance.get(field, {}).get("evidence", "")

        def holds(text: str) -> bool:
            if field == "published":
                return iso_date(text) == value
            if field == "year":
                return str(value) in text
            if field == "issuer" and evidence and evidence in text:
                return True
            return str(value) in text

        for row, c in [*header, *(rc for rc in chunks if rc[0] not in header_rows)]:
            for s in sentences_of(c, report, 1, row):
                if holds(s.text):
                    return s
        return None

    def _single(self, reading: Reading, scorer: Scorer) -> list[Sentence]:
        cands = self._sentences(reading, self.read_k)
        if not cands:
            return []
        scorer.paraphrase_counts(cands)
        scores = {id(s): scorer.score(s) for s in cands}
        scored = sorted(cands, key=lambda s: -scores[id(s)])
        p = self.params
        best = scored[0]
        if scores[id(best)] < p.threshold or (scorer.q.quantity and not scorer.has_figure(best)):
            return []
        best, restated = self._restated(best, scored, scores, scorer)
        picked = [best]
        covers = scorer.q.covers
        remaining = {t for t in scorer.weights if not covers(t, best.text)}
        while remaining and len(picked) < p.max_sentences:
            share = sum(scorer.weights[t] for t in remaining) / scorer.total
            if share < p.remaining_share:
                break
            same_report = [
                s
                for s in scored
                if s.report.report_id == best.report.report_id and s not in picked and s not in restated
            ]
            nxt = max(same_report, key=lambda s: scorer.coverage(s.text, terms=remaining), default=None)
            if nxt is None:
                break
            part = scorer.coverage(nxt.text, terms=remaining)
            close = part >= p.second_meaning_coverage and scorer.meaning(nxt) >= p.second_meaning
            if part < p.second_threshold and not close:
                break
            picked.append(nxt)
            remaining = {t for t in remaining if not covers(t, nxt.text)}
        return sorted(picked + self._other_counts(scored, picked, scorer), key=lambda s: s.start)

    def _restated(
        self, best: Sentence, scored: Sequence[Sentence], scores: dict[int, float], scorer: Scorer
    ) -> tuple[Sentence, list[Sentence]]:
        """The figure a quantity question asks for, stated twice in one report (…用时平均压减72%。 and
        …时间从…缩减至2个工作日,投资项目的审批用时平均缩减72%,…): cite the sentence whose clause holding
        it is worded most like the question. The sentence score counts the question's words anywhere in a
        sentence, so one listing several figures wins on words that belong to its other figures; the
        clause holding the figure is what says what the figure is. Only sentences that answer (over the
        threshold, with a figure of the kind asked) compete; on a tie the best-scored one stays. Returns the
        sentence to cite and the others stating the figure (never added as further sentences: they
        restate it)."""
        q = scorer.q
        if not (q.quantity and q.uses("restated-figure")):
            return best, []
        stated = {f.key for f in figures(best.text) if f.counts}
        rivals = [
            s
            for s in scored
            if s is not best
            and s.report.report_id == best.report.report_id
            and scores[id(s)] >= self.params.threshold
            and stated & {f.key for f in figures(s.text)}
            and scorer.has_figure(s)
        ]
        if not rivals:
            return best, []
        asked = content_bigrams(q.query)

        def worded_like(s: Sentence) -> int:
            out = 0
            for f in figures(s.text):
                if f.key in stated:
                    left, right = clause_window(s.text, f.start, f.end)
                    out = max(out, len(content_bigrams(left + f.written + right) & asked))
            return out

        chosen = max([best, *rivals], key=worded_like)
        return chosen, [s for s in [best, *rivals] if s is not chosen]

    def _other_counts(self, scored: Sequence[Sentence], picked: Sequence[Sentence], scorer: Scorer) -> list[Sentence]:
        """For a question asking several counts (多少个部门…多少项…): for each that no picked sentence
        answers, the best-scored sentence of the same report that does, so each figure is cited."""
        if len(scorer.q.counts) < 2:
            return []
        out: list[Sentence] = []
        rid = picked[0].report.report_id
        for asked in scorer.q.counts:
            if any(scorer.answers_count(asked, s) for s in [*picked, *out]):
                continue
            nxt = next((s for s in scored if s.report.report_id == rid and scorer.answers_count(asked, s)), None)
            if nxt is not None and nxt not in picked and nxt not in out:
                out.append(nxt)
        return out

    def _cross(self, reading: Reading, scorer: Scorer, *, explicit: bool) -> list[Sentence]:
        """The best sentence of each report that answers; ``explicit`` for 哪些地方… questions, which
        accept a looser match when the sentence carries the figure the question names."""
        p = self.params
        floor = self._floor(scorer.q, explicit=explicit)
        by_report: dict[str, Sentence] = {}
        best_score: dict[str, float] = {}
        for s in self._sentences(reading, p.max_reports * p.passages_per_report):
            if scorer.q.numbers and not all(n in s.text for n in scorer.q.numbers):
                continue
            if scorer.q.quantity and not explicit and not scorer.has_figure(s):
                continue
            sc = scorer.score(s)
            rid = s.report.report_id
            if sc >= floor and sc > best_score.get(rid, -1.0):
                by_report[rid], best_score[rid] = s, sc
        return sorted(by_report.values(), key=lambda s: -best_score[s.report.report_id])[: p.max_reports]

    def _floor(self, q: Question, *, explicit: bool) -> float:
        """The score a sentence must reach: lower across reports (``explicit``: 哪些地方…), lower still
        when the sentence must carry the figure the question names."""
        p = self.params
        if explicit:
            return p.cross_figure_threshold if q.numbers else p.cross_threshold
        return p.threshold

    # -- why a refusal (rag.answer.why) -------------------------------------------------------------
    def _candidates(self, retrieved: Retrieved, scorer: Scorer | None, scope: str | None = None) -> list[Candidate]:
        """The sentences of the passages read that came nearest (coverage plus meaning, before any
        check), each with the first check that turned it down; ``scope`` says why the question is out
        of the index's scope, when it is."""
        reading = retrieved.reading
        q = retrieved.question
        p = self.params
        if scorer is None:
            background = reading.lines(reading.report_ids(p.scope_passages)[: p.background_reports])
            scorer = Scorer(q, background, reading, retrieved.vector, p)
        explicit = q.cross
        floor = self._floor(q, explicit=explicit)
        needs_figure = q.quantity and not explicit
        out: list[Candidate] = []
        for s in self._sentences(reading, self.read_k):
            context = " ".join(s.chunk.section_path)
            score = scorer.coverage(s.text, context, title=s.report.title) + p.semantic_weight * scorer.meaning(s)
            check, reason = turned_down(
                q,
                s.text,
                f"{context} {s.chunk.text}",
                score,
                floor,
                needs_figure=needs_figure,
                counted_share=p.counted_share,
                scope=scope,
            )
            r = s.report
            where = (r.report_id, r.title, r.region, s.chunk.paragraph_id)
            out.append(Candidate(*where, s.text, s.start, s.end, score, check, reason))
        return list(nearest(out, self.why))

    def _refusal(self, retrieved: Retrieved, message: str, t0: float, candidates: Sequence[Candidate] = ()) -> Answer:
        return self._answer(retrieved, message, [], t0, candidates)

    @staticmethod
    def _answer(
        retrieved: Retrieved, text: str, citations: Sequence[Citation], t0: float, candidates: Sequence[Candidate] = ()
    ) -> Answer:
        """The extractive answer of ``retrieved``: answerable when it cites something, else a refusal."""
        scope = retrieved.question.scope
        return Answer(
            question=retrieved.question.text,
            answer=text,
            answerable=bool(citations),
            citations=tuple(citations),
            passages=retrieved.passages,
            mode="extractive",
            prompt_version=EXTRACTIVE_VERSION,
            scope=scope.to_dict(),
            notes=scope.notes,
            timings={"retrieve_ms": retrieved.retrieve_ms, "answer_ms": (time.perf_counter() - t0) * 1000},
            candidates=tuple(candidates),
        )
