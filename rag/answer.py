"""Answer stage (offline default): pick the sentences that answer the question and quote them verbatim.

Written by hand because extractive QA models that read Chinese are hub downloads we cannot make here;
the rules below are about the kinds of question users ask of these reports, not their wording:

- Sentences of the top passages are scored by weighted coverage of the question's content terms
  (jieba search-mode words and sub-words, less question and function words; rarer terms weigh more;
  terms found only in the section headings above a sentence count half; terms of the report's title
  say nothing about where the answer is and are left out; a small domain synonym list), with a bonus
  for the figure a quantity question asks for.
- A question is answered only when the best sentence covers enough of it and carries the right kind
  of figure: a 率 question needs a rate of the same thing (败诉率 is not answered by 出庭率100%),
  多少件X needs a count standing next to X, a year the question names must appear. Otherwise the
  answer says plainly that the reports do not say. A place the index has no report for is refused.
- Multi-part questions take a second or third sentence for the parts the first leaves uncovered.
- List questions (存在哪些不足, 有哪些工作打算) return the enumerated items (一是…二是…, or the
  （一）（二）… subsections) of the best-matching paragraph or section.
- Questions across reports (哪些地方…) answer from each report separately, labelled by region, and keep
  only reports whose sentence carries the figure the question names (100%).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .chunk import parse_heading
from .cite import make_citation
from .index import IndexData
from .keyword import get_tokenizer
from .retrieve import Ranked, Retriever
from .scope import Scope, aliases
from .types import Answer, Chunk, Citation, Passage, Report

EXTRACTIVE_VERSION = "extractive-v1"

_SENT = re.compile(r"[^。；！？;!?]+(?:[。；！？;!?]+[”’」』）)】]*|$)")
_HAN_OR_NUM = re.compile(r"[\u3400-\u9fff]+|\d+(?:\.\d+)?%?")
_YEAR = re.compile(r"(?:19|20)\d{2}(?:年度|年)?")
_QUESTION_WORDS = frozenset(
    """
    多少 是多少 有多少 分别 分别是 哪些 哪个 哪家 哪几 哪几个 哪里 什么 怎么样 怎样 如何 是否
    有没有 几 几个 几名 几项 几家 哪些地方 哪些地区 哪些县 哪些区 哪些市 哪个地方 请问 吗 呢
    达到 主要 情况 方面 地方 地区 各地 了 的 有 是 在 和 与 及 共 对 为 中 其 该 都 也
    又 还 被 把 将 给 获得 一共 总共 合计 总计 目前 截至 今年 去年 同期 比 年 年度 得到
    做了 提到 提及 列出 报告 里 自己 认为 各自 哪位 谁 哪几份 哪些报告 做法 各有 举措 措施
    年度报告 县市 哪些县市 强调 提出 表示 成效 效果 区县 拿到 比较 一下 各份 各个 最多 最少
    最高 最低 件数 具体 百分比 多大 入手 着手
    """.split()
)
# Domain words a question uses where the reports use another (称号 → 获评 示范县): a question term counts as
# covered when it or one of these occurs.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "称号": ("获评", "评为", "荣获", "授予", "命名"),
    "荣誉": ("获评", "评为", "荣获", "授予", "命名"),
    "打算": ("将", "计划", "安排", "重点", "一是"),
    "计划": ("将", "打算", "安排", "重点"),
    "不足": ("问题", "差距", "短板", "弱点"),
    "问题": ("不足", "差距", "短板", "弱点"),
    "律所": ("律师事务所",),
    "人数": ("人",),
    "短板": ("不足", "问题", "差距", "弱点"),
    "省级": ("全省", "省"),
    "收到": ("接收", "受理"),
    "下放": ("下发", "赋权", "赋予"),
    "下一步": ("下步", "下一阶段", "明年"),
}
_CROSS = re.compile(
    r"哪(?:些|几个|几|个)(?:地方|地区|县市|区县|县区|城市|县|区|市)|各地|各份报告|哪里|哪些报告|哪几份|哪份报告|哪些政府"
)
_LIST = re.compile(r"哪些|有什么|包括|几个方面|哪几|哪[一二三四五六七八九十两]个")
# a question about these asks for the items of a section (存在哪些不足, 下一步打算), not for names in a sentence
_LIST_TOPIC = re.compile(r"举措|措施|做法|问题|不足|短板|差距|打算|计划|安排|重点|亮点|经验")
_RATE = re.compile(r"[\u4e00-\u9fff]{1,6}率")
_FIGURE = re.compile(r"\d+(?:\.\d+)?(?![\d.年])")  # a figure that is not a bare year
_PERCENT = re.compile(r"\d\s*[%‰％]|百分之")
_QUANTITY = re.compile(r"多少|(?<!哪)几|多大|多长|多久|比例|占比|率|金额|总额|面积|人数|数量|年纪|年龄")
_UNIT = re.compile(r"(?:多少|(?<!哪)几)(个|件|项|名|人次|人|份|次|家|元|万元|亿元|条|起|场|期|所|卷|天|平方米)")
_ITEM = re.compile(r"(?:^|[：:])[一二三四五六七八九十]+是")
_QUOTED = re.compile(r"[“\"「『]([^”\"」』]{2,20})[”\"」』]")
_WHO = re.compile(r"哪位|谁")
_PERSON = re.compile(r"[厅局处科部]长|书记|[县市区州省]长|主任|同志")
_ASKING = re.compile(r"^几|[哪什吗呢]")
_COUNT_WORD = re.compile(r"^[一二三四五六七八九十两几]+[个项条件名次种类批]?$")
_STOP_BIGRAMS = frozenset({"工作", "全面", "进一步", "开展", "推进", "加强"})

THRESHOLD = 0.5  # share of the question's weighted content a sentence must cover to answer it
CROSS_THRESHOLD = 0.4
CROSS_FIGURE_THRESHOLD = 0.25  # across reports, when the sentence also carries the figure the question names
SECOND_THRESHOLD = 0.5  # coverage of the still-uncovered part a further sentence must reach
LIST_CONTEXT_WEIGHT = 0.9  # for list questions a heading match counts nearly as much as the text
SECTION_THRESHOLD = 0.4  # coverage of the question by a top-level heading to list its subsections
MAX_REPORTS = 10  # reports quoted in one answer across reports
ITEM_SENTENCES = 3  # sentences quoted per enumerated item


@dataclass(frozen=True)
class Sentence:
    chunk: Chunk
    report: Report
    start: int  # offsets into report.text
    end: int
    rank: int  # rank of its passage

    @property
    def text(self) -> str:
        return self.report.text[self.start : self.end]


def sentences_of(chunk: Chunk, report: Report, rank: int) -> list[Sentence]:
    out = []
    for m in _SENT.finditer(chunk.text):
        s, e = m.start(), m.end()
        while s < e and chunk.text[s].isspace():
            s += 1
        while e > s and chunk.text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append(Sentence(chunk, report, chunk.start + s, chunk.start + e, rank))
    return out


def bigrams(text: str) -> set[str]:
    grams: set[str] = set()
    for run in _HAN_OR_NUM.findall(text):
        if run[0].isdigit():
            grams.add(run)
        else:
            grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return grams - _STOP_BIGRAMS


def question_terms(question: str, scope: Scope, words: Callable[[str], list[str]]) -> set[str]:
    """Content terms of the question: its words and sub-words (``words``: jieba's search mode, so
    出庭应诉率 also gives 出庭, 应诉, 应诉率) less question and function words and the regions and years
    it was scoped by; numbers and quoted phrases (“高效办成一件事”) stay whole."""
    q = question
    for region in scope.regions:
        for name in sorted(aliases(region), key=len, reverse=True):
            q = q.replace(name, " ")
    terms: set[str] = set(_QUOTED.findall(q))
    q = _QUOTED.sub(" ", q)
    for w in words(q):
        w = w.strip()
        if not w or w in _QUESTION_WORDS or not _HAN_OR_NUM.fullmatch(w) or _ASKING.search(w) or _COUNT_WORD.match(w):
            continue
        if w[0].isdigit():
            y = _YEAR.fullmatch(w)
            if not (y and int(w[:4]) in scope.years):
                terms.add(w)
        elif len(w) >= 2:
            terms.add(w)
    return terms - _STOP_BIGRAMS


_CLAUSE = re.compile(r"[，,：:；;]")
_ASKS = re.compile(r"哪|多少|几|什么|谁|是否|吗|如何|怎么|怎样|有没有")
BACKGROUND_CLAUSE_WEIGHT = 0.3


def focus_weights(question: str, terms: set[str]) -> dict[str, float]:
    """Terms only in clauses that ask nothing (我是省司法厅的，想比较各地…，哪些县市…？) weigh less."""
    clauses = [c for c in _CLAUSE.split(question) if c.strip()]
    asking = [c for c in clauses if _ASKS.search(c)]
    if len(clauses) < 2 or not asking:
        return {}
    return {t: BACKGROUND_CLAUSE_WEIGHT for t in terms if not any(t in c for c in asking)}


_COUNTED = re.compile(
    r"(?:多少|(?<!哪)几)(?:个|件|项|名|人次|人|份|次|家|条|起|场|期|所|卷)(?P<after>[\u4e00-\u9fff]{0,8})"
)


def counted_things(question: str) -> list[set[str]]:
    """For each 多少件/多少项… in the question, the bigrams of what is counted: the words right before
    and after it in its clause (进驻了多少个部门, 收到行政复议申请多少件)."""
    out = []
    for m in _COUNTED.finditer(question):
        before = _CLAUSE.split(question[max(0, m.start() - 10) : m.start()])[-1]
        grams = bigrams(before + " " + m.group("after")) - _GENERIC_COUNTED
        if grams:
            out.append(grams)
    return out


_GENERIC_COUNTED = frozenset(
    {
        "一共",
        "共有",
        "总共",
        "合计",
        "共计",
        "分别",
        "全年",
        "今年",
        "累计",
        "办理",
        "收到",
        "有多",
        "了多",
        "行政",
        "工作",
        "政府",
        "法治",
        "建设",
        "开展",
        "其中",
    }
)
_FIGURE_WITH_UNIT = re.compile(
    r"(?P<num>\d+(?:\.\d+)?)(?:余|多)?(?:万|亿)?(?:余|多)?(?P<unit>个|件|项|名|人次|人|份|次|家|条|起|场|期|所|卷)"
)


def figure_about(text: str, things: Sequence[set[str]]) -> bool:
    """Whether some counted figure in ``text`` stands next to (within its clause) what the question
    counts, by a shared bigram other than generic ones (行政), so 行政处罚案件236件 does not answer
    多少件行政复议申请."""
    for m in _FIGURE_WITH_UNIT.finditer(text):
        left = _CLAUSE.split(text[max(0, m.start() - 16) : m.start()])[-1]
        right = _CLAUSE.split(text[m.end() : m.end() + 16])[0]
        window = bigrams(left + " " + right)
        if any(t & window for t in things):
            return True
    return False


_STATED_FIGURE = re.compile(
    r"(?<![\d.])(?P<num>\d+(?:\.\d+)?)(?:余|多)?(?P<mag>万|亿)?(?:余|多)?"
    r"(?P<unit>[%％‰]|个百分点|人次|场次|架次|平方米|元|个|件|项|名|人|份|次|家|条|起|场|期|所|卷|天|岁|处|户|宗)"
)
_FUNCTION_CHARS = re.compile(r"[了的是有在和与及]")
STATED_SHARE = 2 / 3  # share of what is counted that must stand next to a figure for it to be "the" figure


def stated_figure(
    text: str,
    things: Sequence[set[str]] = (),
    *,
    unit: str | None = None,
    rates: Sequence[str] = (),
    min_share: float = STATED_SHARE,
) -> str | None:
    """The figure ``text`` states for what a question asks, as written (``181件``, ``36.23%``,
    ``52.1万元``), or None.

    ``things`` are bigram sets of what is counted (``counted_things``); a figure qualifies when its
    clause holds at least ``min_share`` of one set's bigrams (so 行政复议案件2件 does not state the
    number of 行政复议申请). ``rates`` are the rate words asked for without their 率 (和解, 行政复议和解):
    a percentage qualifies when the rate word just before it ends with the same two characters
    (和解率36.23%), so 纠错率 never answers 和解率. ``unit`` (件, %, 万元…), when given, must match.
    Among qualifying figures the best-covered, then the first, wins."""
    best: tuple[float, int, str] | None = None
    for m in _STATED_FIGURE.finditer(text):
        written = (m.group("mag") or "") + m.group("unit")
        percent = m.group("unit") in "%％‰"
        if unit is not None:
            if unit == "%":
                if not percent:
                    continue
            elif not (written == unit or written.endswith(unit) or unit.endswith(written)):
                continue
        left = _CLAUSE.split(text[max(0, m.start() - 16) : m.start()])[-1]
        right = _CLAUSE.split(text[m.end() : m.end() + 16])[0]
        share = 0.0
        if rates:
            if not percent:
                continue
            stated = _RATE.findall(left)
            if stated and any(len(r) >= 2 and stated[-1][:-1].endswith(r[-2:]) for r in rates):
                share = 1.0
        window = bigrams(left + " " + right)
        for t in things:
            grams = {g for g in t if not _FUNCTION_CHARS.search(g)} or t
            share = max(share, len(grams & window) / len(grams))
        if share >= min_share and (best is None or share > best[0]):
            best = (share, m.start(), m.group())
    return best[2] if best else None


def named_years(question: str, scope: Scope) -> list[str]:
    """Years the question names that are not the year of the reports it is scoped to: the passage
    must mention them (祁连县2021年… against a 2020 report is not answered by 2020's figures)."""
    return [m.group()[:4] for m in _YEAR.finditer(question) if int(m.group()[:4]) not in scope.years]


def covers(term: str, text: str) -> bool:
    return term in text or any(alt in text for alt in SYNONYMS.get(term, ()))


class Scorer:
    """Weighted coverage of the question's bigrams by a sentence (plus its headings)."""

    def __init__(
        self, terms: set[str], background: Sequence[str], question: str, years: Sequence[str] = (), query: str = ""
    ) -> None:
        n = max(len(background), 1)
        focus = focus_weights(question, terms)
        self.weights = {
            t: (math.log((n + 1) / (sum(covers(t, b) for b in background) + 0.5)) + 0.5) * focus.get(t, 1.0)
            for t in terms
        }
        self.things = counted_things(query or question)
        self.total = sum(self.weights.values()) or 1.0
        self.quantity = bool(_QUANTITY.search(question))
        unit = _UNIT.search(question)
        if unit:
            self.unit: str | None = unit.group(1)
        elif re.search(r"年纪|年龄|多大岁数", question):
            self.unit = "岁"
        elif re.search(r"率|比例|占比|百分比", question):
            self.unit = "%"
        else:
            self.unit = None
        # the rates the question asks for (败诉率): a sentence must state a rate of the same thing
        self.rates = [w[:-1] for w in _RATE.findall(question) if len(w) >= 3]
        self.numbers = [t for t in terms if t[0].isdigit() and t not in years]
        self.years = list(years)
        self.who = bool(_WHO.search(question))

    def has_figure(self, text: str) -> bool:
        """Whether ``text`` can answer a quantity question: a percentage for 率 questions, else a
        number that is not just a year."""
        if self.unit == "%":
            if not _PERCENT.search(text):
                return False
            if self.rates:
                stated = [r[:-1] for r in _RATE.findall(text)]
                return any(bigrams(q) & bigrams(r) for q in self.rates for r in stated)
            return True
        if self.unit == "岁":
            return bool(re.search(r"\d+岁", text))
        if self.things:
            return figure_about(text, self.things)
        return bool(_FIGURE.search(text))

    def admits(self, text: str, context: str = "") -> bool:
        """Hard conditions: years the question names must stand in the passage or its headings."""
        return all(y in text or y in context for y in self.years)

    def coverage(
        self,
        text: str,
        context: str = "",
        *,
        title: str = "",
        terms: set[str] | None = None,
        context_weight: float = 0.5,
    ) -> float:
        """Weighted share of the terms in ``text``; terms only in the headings (``context``) count
        ``context_weight``; terms in the report's ``title`` (法治政府建设) say nothing about where the
        answer is and are left out."""
        weights = self.weights if terms is None else {t: self.weights[t] for t in terms}
        total = got = 0.0
        for t, w in weights.items():
            if title and covers(t, title):
                continue
            total += w
            if covers(t, text):
                got += w
            elif covers(t, context):
                got += context_weight * w
        return got / total if total else 0.0

    def score(self, s: Sentence) -> float:
        text = s.text
        context = " ".join(s.chunk.section_path)
        if not self.admits(text, context):
            return 0.0
        cov = self.coverage(text, context, title=s.report.title)
        if self.who and _PERSON.search(text):
            cov += 0.1
        if self.quantity:
            if not self.has_figure(text):
                cov *= 0.6
            elif self.unit and re.search(rf"\d{re.escape(self.unit)}", text):
                cov += 0.05
        return cov + 0.02 / s.rank


def _label(report: Report) -> str:
    return f"{report.region or report.title}："


class Answerer:
    def __init__(self, data: IndexData, retriever: Retriever, *, top_k: int = 5, read_k: int = 8) -> None:
        self.data = data
        self.retriever = retriever
        self.top_k = top_k
        self.read_k = read_k
        self.words = get_tokenizer("jieba")

    # -- helpers ---------------------------------------------------------------------------------
    def _background(self, report_ids: Sequence[str]) -> list[str]:
        texts: list[str] = []
        for rid in report_ids[:20]:
            texts.extend(self.data.reports[rid].text.split("\n"))
        return texts

    def _sentences(self, ranked: Sequence[Ranked], limit: int) -> list[Sentence]:
        out: list[Sentence] = []
        for rank, r in enumerate(ranked[:limit], 1):
            chunk = self.data.chunks[r.row]
            out.extend(sentences_of(chunk, self.data.reports[chunk.report_id], rank))
        return out

    def _paragraph_sentences(self, s: Sentence) -> list[Sentence]:
        rows = self.data.rows_of(s.report.report_id)
        out: list[Sentence] = []
        for row in rows:
            c = self.data.chunks[row]
            if c.paragraph_id == s.chunk.paragraph_id:
                out.extend(sentences_of(c, s.report, s.rank))
        return out

    def _subsection_heads(self, para: Sentence) -> list[Sentence]:
        """First sentence of each subsection (（一）…) of the top-level section (四、) holding ``para``."""
        m = re.match(r"[一二三四五六七八九十]+、", para.chunk.section_ref)
        if not m:
            return []
        parent = m.group()
        heads: dict[str, Sentence] = {}
        for row in self.data.rows_of(para.report.report_id):
            c = self.data.chunks[row]
            opens_subsection = (
                c.part == 0
                and c.paragraph_no == 1
                and len(c.section_ref) > len(parent)
                and c.section_ref.startswith(parent)
                and parse_heading(c.text) is not None
            )
            if opens_subsection and c.section_ref not in heads:
                heads[c.section_ref] = sentences_of(c, para.report, para.rank)[0]
        return list(heads.values())

    @staticmethod
    def _item(para: Sequence[Sentence], i: int, starts: Sequence[int]) -> Sentence:
        """The enumerated item starting at sentence ``i``: its sentences up to the next item, at most
        ``ITEM_SENTENCES`` and within one chunk (so one citation covers it)."""
        first = para[i]
        end = first
        for s in para[i + 1 : i + ITEM_SENTENCES]:
            if (para.index(s) in starts) or s.chunk is not first.chunk:
                break
            end = s
        return Sentence(first.chunk, first.report, first.start, end.end, first.rank)

    def _list(self, ranked: Sequence[Ranked], scorer: Scorer) -> list[Sentence]:
        """Items of the best-matching paragraph (一是…二是…), else the subsections of its section when the
        question names that section, else the paragraph itself when the question names its heading
        (数字政府建设方面做了哪些工作 → （八）加快推进数字政府建设。…)."""
        seen: set[tuple[str, str]] = set()
        best: tuple[float, list[Sentence]] | None = None
        for s in self._sentences(ranked, self.read_k):
            key = (s.report.report_id, s.chunk.paragraph_id)
            if key in seen:
                continue
            seen.add(key)
            para = self._paragraph_sentences(s)
            text = "".join(x.text for x in para)
            context = " ".join(s.chunk.section_path)
            if not scorer.admits(text, context):
                continue
            score = scorer.coverage(text, context, title=s.report.title, context_weight=LIST_CONTEXT_WEIGHT)
            score += 0.02 / s.rank
            if best is None or score > best[0]:
                best = (score, para)
        if best is None or best[0] < THRESHOLD:
            return []
        para = best[1]
        starts = [i for i, s in enumerate(para) if _ITEM.search(s.text)]
        if len(starts) >= 2:
            return [self._item(para, i, starts) for i in starts]
        # a question about a whole section (下步工作重点) is answered by its subsections' headings
        top = para[0].chunk.section_path[:1]
        if top and scorer.coverage(top[0], title=para[0].report.title) >= SECTION_THRESHOLD:
            heads = self._subsection_heads(para[0])
            if len(heads) >= 2:
                return heads
        own = para[0].chunk.section_path[-1:] if parse_heading(para[0].text) else []
        if own and scorer.coverage(own[0], title=para[0].report.title) >= SECTION_THRESHOLD:
            parts: dict[str, Sentence] = {}
            for x in para:
                parts.setdefault(x.chunk.chunk_id, Sentence(x.chunk, x.report, x.chunk.start, x.chunk.end, x.rank))
            return list(parts.values())[:ITEM_SENTENCES]
        return []

    # -- main ------------------------------------------------------------------------------------
    def answer(self, question: str, scope: Scope, *, top_k: int | None = None, mode: str = "hybrid") -> Answer:
        t0 = time.perf_counter()
        k = top_k or self.top_k
        if scope.unknown_places:
            place = "、".join(scope.unknown_places)
            return self._refusal(question, scope, [], f"索引中没有{place}的报告，无法回答这个问题。", t0, 0.0)
        ids = scope.report_filter()
        if ids is not None and not ids:
            return self._refusal(question, scope, [], "没有符合筛选条件的报告。", t0, 0.0)
        ranked = self.retriever.rank(scope.query or question, report_ids=ids, mode=mode)
        t_ret = time.perf_counter()
        passages = self.retriever.passages(ranked, k)
        retrieve_ms = (t_ret - t0) * 1000

        terms = question_terms(question, scope, self.words)
        in_scope = (
            ids if ids is not None else list(dict.fromkeys(self.data.chunks[r.row].report_id for r in ranked[:30]))
        )
        scorer = Scorer(terms, self._background(in_scope), question, named_years(question, scope), scope.query)
        cross = not scope.regions and bool(_CROSS.search(question))
        several = len(scope.regions) > 1 or (not scope.regions and len(scope.report_ids) > 1)
        if cross or several:
            picked = self._cross(ranked, scorer, explicit=cross)
        else:
            is_list = bool(_LIST.search(question) or _LIST_TOPIC.search(question))
            is_list = is_list and not _UNIT.search(question) and not scorer.who
            picked = (self._list(ranked, scorer) if is_list else []) or self._single(ranked, scorer)
        if not picked:
            where = f"{'、'.join(scope.regions)}的报告中" if scope.regions else "已索引的报告中"
            return self._refusal(question, scope, passages, f"{where}没有找到能回答这个问题的内容。", t0, retrieve_ms)
        label = cross or several
        citations: list[Citation] = []
        lines = []
        for n, s in enumerate(picked, 1):
            citations.append(make_citation(n, s.report, s.chunk, s.start, s.end))
            lines.append(f"{_label(s.report) if label else ''}{s.text}[{n}]")
        return Answer(
            question=question,
            answer="\n".join(lines),
            answerable=True,
            citations=tuple(citations),
            passages=tuple(passages),
            mode="extractive",
            prompt_version=EXTRACTIVE_VERSION,
            scope=scope.to_dict(),
            notes=scope.notes,
            timings={"retrieve_ms": retrieve_ms, "answer_ms": (time.perf_counter() - t_ret) * 1000},
        )

    def _single(self, ranked: Sequence[Ranked], scorer: Scorer) -> list[Sentence]:
        cands = self._sentences(ranked, self.read_k)
        if not cands:
            return []
        scored = sorted(cands, key=lambda s: -scorer.score(s))
        best = scored[0]
        if scorer.score(best) < THRESHOLD or (scorer.quantity and not scorer.has_figure(best.text)):
            return []
        picked = [best]
        remaining = {t for t in scorer.weights if not covers(t, best.text)}
        while remaining and len(picked) < 3:
            share = sum(scorer.weights[t] for t in remaining) / scorer.total
            if share < 0.25:
                break
            same_report = [s for s in scored if s.report.report_id == best.report.report_id and s not in picked]
            nxt = max(same_report, key=lambda s: scorer.coverage(s.text, terms=remaining), default=None)
            if nxt is None or scorer.coverage(nxt.text, terms=remaining) < SECOND_THRESHOLD:
                break
            picked.append(nxt)
            remaining = {t for t in remaining if not covers(t, nxt.text)}
        return sorted(picked, key=lambda s: s.start)

    def _cross(self, ranked: Sequence[Ranked], scorer: Scorer, *, explicit: bool) -> list[Sentence]:
        """The best sentence of each report that answers; ``explicit`` for 哪些地方… questions, which
        accept a looser match when the sentence carries the figure the question names."""
        floor = THRESHOLD
        if explicit:
            floor = CROSS_FIGURE_THRESHOLD if scorer.numbers else CROSS_THRESHOLD
        by_report: dict[str, Sentence] = {}
        best_score: dict[str, float] = {}
        for s in self._sentences(ranked, MAX_REPORTS * 4):
            if scorer.numbers and not all(n in s.text for n in scorer.numbers):
                continue
            if scorer.quantity and not explicit and not scorer.has_figure(s.text):
                continue
            sc = scorer.score(s)
            rid = s.report.report_id
            if sc >= floor and sc > best_score.get(rid, -1.0):
                by_report[rid], best_score[rid] = s, sc
        return sorted(by_report.values(), key=lambda s: -best_score[s.report.report_id])[:MAX_REPORTS]

    def _refusal(
        self, question: str, scope: Scope, passages: Sequence[Passage], message: str, t0: float, retrieve_ms: float
    ) -> Answer:
        return Answer(
            question=question,
            answer=message,
            answerable=False,
            citations=(),
            passages=tuple(passages),
            mode="extractive",
            prompt_version=EXTRACTIVE_VERSION,
            scope=scope.to_dict(),
            notes=scope.notes,
            timings={"retrieve_ms": retrieve_ms, "answer_ms": (time.perf_counter() - t0) * 1000 - retrieve_ms},
        )
