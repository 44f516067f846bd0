"""``eval.plots``: each plot is one inline-ready ``<svg>`` (no XML prologue, no namespace URL), its text drawn
as outlines in the CJK font found here, its element ids unique to the figure."""

from __future__ import annotations

import re
from pathlib import Path

from eval import plots


def test_text_is_drawn_as_paths_with_a_cjk_font() -> None:
    svg = plots.accuracy_bars({"数值题": {"n": 3, "accuracy": 0.5}}, "每类准确率")
    assert svg.startswith("<svg") and "<text" not in svg  # text drawn as outlines
    assert "xmlns" not in svg and "http" not in svg
    if Path(plots.CJK_FONTS[0]).is_file():
        assert plots.cjk_font()


def test_ids_are_unique_to_each_figure_and_references_resolve() -> None:
    a = plots.hit_curve({"hit@1": 0.5, "hit@5": 0.9, "recall@1": 0.4, "recall@5": 0.8})
    b = plots.latency_histogram([10.0, 12.0, 30.0, 200.0])
    ids_a, ids_b = set(re.findall(r'id="([^"]+)"', a)), set(re.findall(r'id="([^"]+)"', b))
    assert ids_a and ids_b and not ids_a & ids_b
    for svg, ids in ((a, ids_a), (b, ids_b)):
        refs = set(re.findall(r'href="#([^"]+)"', svg)) | set(re.findall(r"url\(#([^)]+)\)", svg))
        assert refs <= ids


def test_latency_histogram_marks_p50_p90_p99() -> None:
    svg = plots.latency_histogram([float(x) for x in range(1, 101)])
    assert svg.count("stroke-dasharray") >= 3  # p50, p90, p99 lines
    assert plots.latency_histogram([]).startswith("<svg")


def test_citation_bars_per_type() -> None:
    rows = [
        {
            "type": "numeric",
            "gold_answerable": True,
            "citation_correct": True,
            "citations_valid": 1,
            "citations_checked": 1,
        },
        {
            "type": "list",
            "gold_answerable": True,
            "citation_correct": False,
            "citations_valid": 0,
            "citations_checked": 2,
        },
    ]
    assert plots.citation_bars(rows).startswith("<svg")
