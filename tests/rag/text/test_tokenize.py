"""Keyword side: the two Chinese tokenisers with real jieba.

Sentences here are SAMPLE text about fictional places.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import jieba
import pytest

from rag.text.tokenize import STOPWORDS, TOKENIZERS, Tokenizer

SENTENCE = "示例县加强府院联动工作，行政机关负责人出庭应诉率100%，接收行政复议申请181件，和解率36.23%。"
DOCS = [
    SENTENCE,
    "示例县建设应急避难场所16处，避难场所总面积达11万平方米，可容纳2.5万人。",
    "样例市开展行政执法案卷评查2次，发现问题10个，已全部整改。",
    "演示区推进国家工作人员旁听庭审常态化，全年组织旁听庭审12场。",
]
PUNCTUATION = set("，。、；：“”（）《》！？,.;:!?()% ")


@pytest.fixture(scope="module")
def jieba_tok() -> Tokenizer:
    return Tokenizer("jieba")


@pytest.fixture(scope="module")
def bigram_tok() -> Tokenizer:
    return Tokenizer("bigram")


@pytest.fixture(params=TOKENIZERS)
def tok(request: pytest.FixtureRequest, jieba_tok: Tokenizer, bigram_tok: Tokenizer) -> Tokenizer:
    return jieba_tok if request.param == "jieba" else bigram_tok


# --- tokenisers -------------------------------------------------------------------------------------------


def test_numbers_are_kept_whole(tok: Tokenizer) -> None:
    tokens = tok(SENTENCE)
    for number in ("181", "36.23%", "100%"):
        assert number in tokens, (tok.kind, number, tokens)
    assert "36" not in tokens and "23" not in tokens


def test_punctuation_and_stopwords_are_dropped(tok: Tokenizer) -> None:
    tokens = tok("请问，示例县行政复议的申请和办理情况是什么？共有多少件（含调解）！")
    assert tokens, tok.kind
    assert not PUNCTUATION & set(tokens)
    assert not STOPWORDS & set(tokens)
    for dropped in ("的", "和", "件", "是", "请问", "情况", "多少", "什么"):
        assert dropped not in tokens
    assert "申请" in tokens and "办理" in tokens


def test_only_punctuation_and_stopwords_give_no_tokens(tok: Tokenizer) -> None:
    assert tok("，。、；：“”（）《》！？的 和 与 是否") == []
    assert tok("") == []


def test_bigram_tokens_exactly() -> None:
    tok = Tokenizer("bigram")
    assert tok("出庭应诉率100%") == ["出庭", "庭应", "应诉", "诉率", "100%"]
    assert tok("和解率36.23%，OCR识别") == ["和解", "解率", "36.23%", "OCR", "识别"]
    assert tok("率") == ["率"]  # a lone Han character is a token
    assert tok.id == "bigram-v1"


def test_jieba_with_domain_dictionary_keeps_legal_terms(jieba_tok: Tokenizer) -> None:
    tokens = jieba_tok(SENTENCE)
    for term in ("出庭应诉率", "行政复议", "府院联动"):
        assert term in tokens
    # search mode also emits the sub-words, so a query for a part still matches
    for part in ("出庭", "应诉", "应诉率", "行政", "复议"):
        assert part in tokens
    assert "出庭应诉率" in jieba_tok.words("行政机关负责人出庭应诉率100%")
    assert jieba_tok.id == "jieba-v1"


def test_domain_dictionary_does_not_touch_global_jieba(jieba_tok: Tokenizer) -> None:
    assert "出庭应诉率" in jieba_tok("出庭应诉率")
    assert "出庭应诉率" not in jieba.lcut("行政机关负责人出庭应诉率100%")


def test_bigram_words_are_runs(bigram_tok: Tokenizer) -> None:
    assert bigram_tok.words("出庭应诉率100%，和解率36.23%。") == ["出庭应诉率", "100%", "和解率", "36.23%"]


def test_unknown_tokenizer() -> None:
    with pytest.raises(ValueError, match="unknown tokenizer 'spaces'"):
        Tokenizer("spaces")


def test_tokenizer_is_thread_safe(jieba_tok: Tokenizer) -> None:
    expected = [jieba_tok(d) for d in DOCS]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(jieba_tok, DOCS * 25))
    assert results == expected * 25


def test_spans_are_the_offsets_of_the_words_recorded_while_segmenting(jieba_tok: Tokenizer) -> None:
    text = "我局牵头起草《渝北区行政规范性文件审核办法》，赴北区学习（示例文本）。"
    spans = jieba_tok.spans(text)
    assert "".join(text[a:b] for a, b in spans) == text  # every character, in order, once
    words = [text[a:b] for a, b in spans]
    assert "渝北区" in words and "北区" in words  # a whole name, and the short one standing alone
    assert Tokenizer("bigram").spans("渝北区 2024年") == [(0, 3), (4, 8), (8, 9)]
