"""Question analysis: a question, once scoped, becomes one typed ``Question`` that every later stage
reads (answer, compare, the LLM path) instead of re-deriving it.

What it records: the content terms (jieba search-mode words less question and function words, the
places and the scoped years), the kind of question (quantity / rate / list / cross / who / document /
fact), the unit and the counted things of a quantity question (多少件行政复议申请 → 件, {行政复议申请}),
the rate words of a rate question (和解率 → 和解), the years it names, the places and departments
scope recognised, and for a question about the document itself which metadata field it asks for. A
question for the 文号 of a document the report names (《…实施方案》的文号) is no question about the report
itself: it is answered only by a sentence that gives that document's number (``Question.admits``).

Written by hand: these rules are about the kinds of question users ask of these reports (README); the
word lists they use are data in ``rag/text/data`` (``rag.text.lexicon``). Each rule is switchable by name
(``RULES``) so ``rag eval --ablate`` can measure what it adds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from ..text import CJK, HAN_OR_NUMBER_RE
from ..text.lexicon import words
from .compound import Split
from .figures import ASKED_UNIT_RE, COUNT_WORD_RE, RATE_RE, AskedCount, asked_counts, counted_things
from .lexical import ASKS_RE, CLAUSE_RE, alternation, content_bigrams, stop_bigrams, synonyms
from .scope import Scope, aliases

__all__ = [
    "CLAUSE_RE",
    "CROSS_RE",
    "RATE_RE",
    "RULES",
    "UNIT_RE",
    "YEAR_WORD_RE",
    "AnalysisParams",
    "Question",
    "alternation",
    "analyse",
    "content_bigrams",
    "counted_things",
    "coverage",
    "document_field",
    "question_terms",
    "stop_bigrams",
    "synonyms",
    "term_weights",
    "unit_of",
]

Words = Callable[[str], list[str]]

#: Rules that can be switched off for an ablation (``rag eval --ablate``); all on by default.
RULES = (
    "synonyms",
    "term_weights",  # domain synonyms count as covering a question word
    "focus",  # terms only in clauses that ask nothing weigh less
    "counted-thing",  # a count must stand next to what the question counts
    "rate-match",  # a rate question needs a rate of the same thing
    "semantic",  # sentence embeddings score sentences beside the shared words
    "document",  # questions about the document are answered from its metadata
    "lists",  # list questions return enumerated items or subsections
    "cross",  # questions across reports answer per report
    "describe",  # how-is-X-put questions (怎么概括, 被称为什么) prefer a sentence quoting the phrase
    "restated-figure",  # a figure stated twice in a report: cite the sentence whose clause for it reads as asked
)

YEAR_WORD_RE = re.compile(r"(?:19|20)\d{2}(?:年度|年)?")  # 2024, 2024年, 2024年度
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
_ASKING = re.compile(r"^几|[哪什吗呢]")


@dataclass(frozen=True)
class AnalysisParams:
    """The question analysis's tuning; each field says what it trades."""

    # weight of a term found only in clauses that ask nothing (我是省司法厅的，…): lower follows the asking
    # clause more closely, and loses more when the background clause names what is asked about
    background_clause_weight: float = 0.3


CROSS_RE = re.compile(
    r"哪(?:些|几个|几|个)(?:地方|地区|县市|区县|县区|城市|县|区|市|部门|单位)|各地|各份报告|哪里|哪些报告|哪几份|哪份报告|哪些政府"
)
_SEVERAL = re.compile(r"分别|各(?:自|是|为|有|培训|办理|接收|收到)?|和|与|及|、")
#: a question asking how something is put into words: a describing word (``describe_words``) with a question word
#: or asks for a name of a kind reports quote (什么文件, 哪个品牌: ``named_kinds``)
DESCRIBE_RE = re.compile(
    rf"(?:{alternation('describe_words')})(?:.{{0,6}})(?:什么|哪些|哪个|怎样|如何)|"
    rf"(?:怎么|如何|怎样|是什么)(?:.{{0,4}})(?:{alternation('describe_words')})|"
    rf"(?:什么|哪个|哪份|哪项|哪部)(?:.{{0,2}})(?:{alternation('named_kinds')})"
)
LIST_RE = re.compile(r"哪些|有什么|包括|几个方面|哪几|哪[一二三四五六七八九十两]个")
#: a question about these asks for the items of a section (存在哪些不足, 下一步打算), not for names in a sentence
LIST_TOPIC_RE = re.compile(r"举措|措施|做法|问题|不足|短板|差距|打算|计划|安排|重点|亮点|经验")
_QUANTITY = re.compile(r"多少|(?<!哪)几|多大|多长|多久|比例|占比|率|金额|总额|面积|人数|数量|年纪|年龄|多高|多快")
_WHO = re.compile(r"哪位|谁")
_VERB = "(?:发布|印发|公开|发出|签发|出具|落款|生成|成文|发文)"
_WHEN = "(?:哪天|哪一天|何时|什么时候|哪个日期)"
_BODY = "(?:机关|机构|单位|部门)"
#: what a question about the document asks for → the Report field that holds it
_DOCUMENT = (
    ("doc_number", re.compile(r"文号|发文字号|文件编号")),
    ("published", re.compile(rf"{_VERB}的?(?:日期|时间)|{_WHEN}.{{0,4}}{_VERB}|{_VERB}.{{0,4}}{_WHEN}")),
    ("issuer", re.compile(rf"{_VERB}{_BODY}|(?:哪个|哪家|什么|哪一?级){_BODY}.{{0,6}}{_VERB}|谁{_VERB}")),
    ("year", re.compile(r"报告年度|(?:报告|总结)的?(?:是|属于)?(?:哪一?年|哪个年度)|哪一?年的?(?:报告|总结)")),
    ("title", re.compile(r"(?:报告|文件)的?(?:标题|题目|名称)")),
)


UNIT_RE = ASKED_UNIT_RE

#: A document's number written in a sentence: 白鹭府办发〔2023〕12号, 某政发[2022]3号.
DOC_NUMBER_RE = re.compile(rf"[{CJK}]{{1,15}}\s*[〔\[【(（]\s*(?:19|20)\d{{2}}\s*[〕\]】)）]\s*第?\s*\d{{1,5}}\s*号")
_NAMED_DOCUMENT = re.compile(r"《(?P<name>[^《》]{2,60})》")
_REPORT_ITSELF = re.compile(r"(?:报告|总结)$")  # 《X县关于2023年法治政府建设情况的报告》 is the report itself
_DOCUMENT_KIND = re.compile(alternation("document_kinds"))

NO_SCOPE = Scope(report_ids=())


@dataclass(frozen=True)
class Question:
    text: str  # as asked, whitespace normalised
    query: str  # for retrieval: the recognised place words removed (``Scope.query``)
    kind: str  # quantity | rate | list | cross | who | document | fact
    terms: frozenset[str]
    focus: dict[str, float] = field(default_factory=dict)  # weight of terms outside the asking clauses
    unit: str | None = None  # 件, 个, %, 岁 …
    things: tuple[frozenset[str], ...] = ()  # bigram sets of what is counted
    counts: tuple[AskedCount, ...] = ()  # each count or ordinal asked for (多少个部门的多少项: two; 第几期)
    rates: tuple[str, ...] = ()  # rate words without 率: 和解, 行政复议和解
    years: tuple[str, ...] = ()  # years named that the scoped reports are not of: a passage must name them
    numbers: tuple[str, ...] = ()  # figures named in the question (100%)
    regions: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    places: tuple[str, ...] = ()  # places named that are no indexed region (a zone, a town): the answer must name them
    document_field: str | None = None  # doc_number | published | issuer | year | title
    number_of: str | None = None  # the document whose 文号 is asked (《…实施方案》), when it is not the report
    quantity: bool = False
    is_list: bool = False
    cross: bool = False  # asks across reports (哪些地方…)
    several: bool = False  # names several reports' places, departments or years to answer each
    who: bool = False
    describes: bool = False  # asks how something is put into words: a quoted phrase answers (怎么概括, 被称为什么)
    rules: frozenset[str] = frozenset(RULES)
    scope: Scope = NO_SCOPE  # the scope it was analysed in: the reports it may be answered from
    # a compound question (``rag.question.compound``): how it splits, and each answered part analysed as a
    # standalone question; the engine answers the parts, not the whole. None / () for a single question
    split: Split | None = None
    parts: tuple[Question, ...] = ()

    def uses(self, rule: str) -> bool:
        return rule in self.rules

    def admits(self, text: str, context: str = "") -> bool:
        """Hard conditions on a passage ``text`` (``context``: its headings and paragraph): the years the
        question names and the places it names that are no indexed region (a zone, a town) stand in it or
        its context; for the 文号 of a named document, the sentence names that document and gives a number."""
        if not all(y in text or y in context for y in (*self.years, *self.places)):
            return False
        return self.number_of is None or (self.number_of in text and bool(DOC_NUMBER_RE.search(text)))

    def covers(self, term: str, text: str) -> bool:
        """Whether ``term`` (or, with the synonyms rule, a word the reports use for it) stands in ``text``."""
        if term in text:
            return True
        return self.uses("synonyms") and any(alt in text for alt in synonyms().get(term, ()))

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "terms": sorted(self.terms),
            "unit": self.unit,
            "things": [sorted(t) for t in self.things],
            "counts": [{"unit": c.unit, "thing": sorted(c.thing), "ordinal": c.ordinal} for c in self.counts],
            "rates": list(self.rates),
            "years": list(self.years),
            "document_field": self.document_field,
            **({"number_of": self.number_of} if self.number_of else {}),
        }


def term_weights(q: Question, background: Sequence[str] = ()) -> dict[str, float]:
    """Each content term's weight: rarer in the ``background`` texts (the lines of the reports in scope)
    weighs more (a smoothed inverse document frequency); terms outside the asking clauses weigh less."""
    n = max(len(background), 1)
    return {
        t: (math.log((n + 1) / (sum(q.covers(t, b) for b in background) + 0.5)) + 0.5) * q.focus.get(t, 1.0)
        for t in q.terms
    }


def coverage(
    q: Question,
    weights: dict[str, float],
    text: str,
    context: str = "",
    *,
    title: str = "",
    terms: Collection[str] | None = None,
    context_weight: float,
) -> float:
    """Weighted share of ``q``'s terms (``weights``: ``term_weights``) in ``text``; terms only in the
    headings (``context``) count ``context_weight``; terms in the report's ``title`` (法治政府建设) say
    nothing about where the answer is and are left out."""
    chosen = weights if terms is None else {t: weights[t] for t in terms}
    total = got = 0.0
    covers = q.covers
    for t, w in chosen.items():
        if title and covers(t, title):
            continue
        total += w
        if covers(t, text):
            got += w
        elif covers(t, context):
            got += context_weight * w
    return got / total if total else 0.0


def question_terms(question: str, scope: Scope, words_of: Words) -> set[str]:
    """Content terms of the question: its words and sub-words (``words_of``: jieba's search mode, so
    出庭应诉率 also gives 出庭, 应诉, 应诉率) less question and function words and the regions and years
    it was scoped by; numbers and quoted phrases (“高效办成一件事”) stay whole."""
    q = question
    for region in scope.regions:
        for name in sorted(aliases(region), key=len, reverse=True):
            q = q.replace(name, " ")
    terms: set[str] = set(_QUOTED.findall(q))
    q = _QUOTED.sub(" ", q)
    asking = words("question_words")
    for w in words_of(q):
        w = w.strip()
        if not w or w in asking or not HAN_OR_NUMBER_RE.fullmatch(w) or _ASKING.search(w) or COUNT_WORD_RE.match(w):
            continue
        if w[0].isdigit():
            y = YEAR_WORD_RE.fullmatch(w)
            if not (y and int(w[:4]) in scope.years):
                terms.add(w)
        elif len(w) >= 2:
            terms.add(w)
    return terms - stop_bigrams()


def focus_weights(question: str, terms: Collection[str], weight: float) -> dict[str, float]:
    """Terms only in clauses that ask nothing (我是省司法厅的，想比较各地…，哪些县市…？) weigh ``weight``."""
    clauses = [c for c in CLAUSE_RE.split(question) if c.strip()]
    asking = [c for c in clauses if ASKS_RE.search(c)]
    if len(clauses) < 2 or not asking:
        return {}
    return {t: weight for t in terms if not any(t in c for c in asking)}


def unit_of(question: str) -> str | None:
    """The unit a quantity question asks for: 多少件 → 件; 年龄 → 岁; 率/比例 → %."""
    unit = UNIT_RE.search(question)
    if unit:
        return unit.group(1)
    if re.search(r"年纪|年龄|多大岁数", question):
        return "岁"
    if re.search(r"率|比例|占比|百分比", question):
        return "%"
    return None


def rate_words(question: str) -> list[str]:
    """The rates asked for, without 率 (败诉率 → 败诉): a sentence must state a rate of the same thing."""
    return [w[:-1] for w in RATE_RE.findall(question) if len(w) >= 3]


def named_years(question: str, scope: Scope) -> list[str]:
    """Years the question names that are not the year of the reports it is scoped to: the passage
    must mention them (祁连县2021年… against a 2020 report is not answered by 2020's figures)."""
    return [m.group()[:4] for m in YEAR_WORD_RE.finditer(question) if int(m.group()[:4]) not in scope.years]


def document_field(question: str) -> str | None:
    """The metadata field a question about the document itself asks for, or None."""
    for name, pattern in _DOCUMENT:
        if pattern.search(question):
            return name
    return None


def named_document(question: str) -> str | None:
    """The document a 文号 question names when it is not the report itself: its name as quoted
    (《…实施方案》), else the kind of document written (…实施方案的文号 → 实施方案)."""
    for m in _NAMED_DOCUMENT.finditer(question):
        if not _REPORT_ITSELF.search(m.group("name")):
            return m.group("name")
    if _NAMED_DOCUMENT.search(question):
        return None
    kind = _DOCUMENT_KIND.search(question)
    return kind.group() if kind else None


def analyse(
    question: str,
    scope: Scope,
    words_of: Words,
    *,
    rules: Sequence[str] = RULES,
    params: AnalysisParams = AnalysisParams(),
) -> Question:
    """The typed question: computed once, after scope, and read by every later stage."""
    terms = question_terms(question, scope, words_of)
    active = frozenset(rules)
    describes = bool(DESCRIBE_RE.search(question)) and "describe" in active
    if describes:  # the describing word asks; the text says 形成了“…”, rarely 概括为
        terms = {t for t in terms if not any(w in t for w in words("describe_words"))}
    counts = asked_counts(scope.query or question) if "counted-thing" in active else ()
    unit = unit_of(question)
    if counts and unit not in ("%", "岁"):
        unit = counts[0].unit  # 几个人 asks for 人; 第几轮 for 轮
    rates = tuple(rate_words(question))
    who = bool(_WHO.search(question))
    doc = document_field(question) if "document" in active else None
    number_of = named_document(question) if doc == "doc_number" else None
    if number_of:  # the number of a document the report names: read in its sentences, never the report's own
        doc = None
        asked_for = [m.group() for m in dict(_DOCUMENT)["doc_number"].finditer(question)]
        terms = {t for t in terms if not any(t in w for w in asked_for)}  # a sentence gives it, never names it
    cross = not scope.regions and bool(CROSS_RE.search(question)) and "cross" in active
    several_named = len(scope.regions) > 1 or len(scope.departments) > 1 or len(scope.years) > 1
    several = (
        "cross" in active
        and len(scope.report_ids) > 1
        and (several_named or not (scope.regions or scope.departments or scope.text_places))
    )
    is_list = bool(LIST_RE.search(question) or LIST_TOPIC_RE.search(question))
    is_list = is_list and not UNIT_RE.search(question) and not who and "lists" in active
    quantity = bool(_QUANTITY.search(question)) and not number_of
    if doc:
        kind = "document"
    elif cross or several:
        kind = "cross"
    elif unit == "%" or rates:
        kind = "rate" if quantity else "fact"
    elif quantity:
        kind = "quantity"
    elif is_list:
        kind = "list"
    elif who:
        kind = "who"
    else:
        kind = "fact"
    years = named_years(question, scope)
    q_text = scope.query or question
    return Question(
        text=question,
        query=q_text,
        kind=kind,
        terms=frozenset(terms),
        focus=focus_weights(question, terms, params.background_clause_weight) if "focus" in active else {},
        unit=unit,
        things=tuple(frozenset(t) for t in counted_things(q_text)) if "counted-thing" in active else (),
        counts=counts,
        rates=rates if "rate-match" in active else (),
        years=tuple(years),
        numbers=tuple(t for t in terms if t[0].isdigit() and t not in years),
        regions=scope.regions,
        departments=scope.departments,
        places=scope.text_places,
        document_field=doc,
        number_of=number_of,
        quantity=quantity,
        is_list=is_list,
        cross=cross,
        several=several,
        who=who,
        describes=describes,
        rules=active,
        scope=scope,
    )
