"""One loader for every word list in rag/text/data."""

from __future__ import annotations

from rag.text.lexicon import department_names, table, words


def test_words_and_tables_are_read_from_data_files() -> None:
    assert "多少" in words("question_words") and "#" not in "".join(words("question_words"))
    assert "件" in words("count_units") and "天" in words("measure_units")
    assert table("synonyms")["不足"] == ("问题", "差距", "短板", "弱点")


def test_department_names_map_every_alias_to_its_canonical_name() -> None:
    names = department_names()
    assert names["市场监管局"] == names["市场监督管理局"] == "市场监督管理局"
    assert names["卫健委"] == "卫生健康委员会"
    assert names["司法局"] == "司法局"


def test_a_committee_is_also_named_with_wei_alone() -> None:
    names = department_names()
    assert names["卫生健康委"] == names["卫健委"] == "卫生健康委员会"  # as a report calls itself: 市卫生健康委
    assert names["发展和改革委"] == "发展和改革委员会" and names["住房和城乡建设委"] == "住房和城乡建设局"
    assert "司法" not in names and "司法局委" not in names  # only names ending in 委员会 get a short form


def test_page_lists_read_as_the_cleaner_uses_them() -> None:
    labels = table("field_labels")
    assert labels["发布机构"] == ("issuer",) and labels["发文日期"] == ("date_issued",)
    assert labels["浏览次数"] == ()  # recognised, its line dropped, no key
    assert {"打印", "关闭窗口", "A+"} <= words("page_action_words")
    assert "打算" in words("plan_words")
