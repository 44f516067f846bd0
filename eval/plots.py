"""The report's plots: matplotlib figures rendered to inline SVG, text drawn as paths.

Text is embedded as outlines (``svg.fonttype = "path"``), so the SVG needs no font on the reader's machine;
Chinese labels are drawn with a CJK font found on this machine (``CJK_FONTS``, Debian's fonts-wqy-microhei
first), falling back to matplotlib's own font when none is installed (Chinese then shows as boxes, and
``cjk_font()`` says so). Each function takes plain dicts (``metrics.json``, ``predictions.jsonl`` records)
and returns one ``<svg>`` string.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import font_manager
from matplotlib.figure import Figure

from eval.metrics import percentile

CJK_FONTS: tuple[str, ...] = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
"""CJK fonts tried in order for the plots' text."""

FIG_WIDTH_IN = 5.6
FIG_HEIGHT_IN = 3.0
BAR_HEIGHT_PER_ROW_IN = 0.32  # horizontal bar charts grow with their rows
LATENCY_BINS = 20
PERCENTILES: tuple[int, ...] = (50, 90, 99)
LABEL_INSIDE_FROM = 0.85  # accuracy above which a bar's value is written inside it
ID_PREFIX_CHARS = 8  # hex digits of the figure's hash prefixed to its element ids
COLORS = {"ok": "#2e7d32", "bad": "#c62828", "main": "#1565c0", "second": "#ef6c00", "grey": "#757575"}


@cache
def cjk_font() -> str | None:
    """The family name of the first CJK font found (registered with matplotlib), else ``None``."""
    for path in CJK_FONTS:
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
                return str(font_manager.FontProperties(fname=path).get_name())
            except (OSError, RuntimeError, ValueError):
                continue
    return None


def _figure(height: float = FIG_HEIGHT_IN) -> Figure:
    family = cjk_font()
    plt.rcParams["svg.fonttype"] = "path"
    plt.rcParams["svg.hashsalt"] = "rag-eval"  # the same run gives the same SVG
    plt.rcParams["font.family"] = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    plt.rcParams["axes.unicode_minus"] = False
    fig = Figure(figsize=(FIG_WIDTH_IN, height))
    return fig


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buf.getvalue()
    # the XML prologue and DOCTYPE are not allowed inside HTML; the <svg> element is
    text = re.sub(r"<metadata>.*?</metadata>", "", text[text.find("<svg") :], flags=re.S)
    # inline SVG in HTML needs no namespace declarations (their URLs are names, but a reader of the file
    # should find no URL at all); ids are made unique per figure, since a page holds several
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)
    prefix = "f" + hashlib.sha256(text.encode()).hexdigest()[:ID_PREFIX_CHARS] + "-"
    ids = set(re.findall(r'\bid="([^"]+)"', text))
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', text)
    return re.sub(
        r"#([A-Za-z_][\w.-]*)(?=[\")])",
        lambda m: f"#{prefix}{m.group(1)}" if m.group(1) in ids else m.group(0),
        text,
    )


def accuracy_bars(groups: dict[str, dict[str, Any]], title: str) -> str:
    """Horizontal bars of accuracy per group (``{"numeric": {"n": 26, "accuracy": 0.9}, …}``), n beside."""
    names = list(groups)
    fig = _figure(max(FIG_HEIGHT_IN / 2, BAR_HEIGHT_PER_ROW_IN * len(names) + 0.8))
    ax = fig.subplots()
    acc = [groups[g].get("accuracy") or 0.0 for g in names]
    ax.barh(range(len(names)), acc, color=COLORS["main"])
    ax.set_yticks(range(len(names)), [f"{g} (n={groups[g].get('n', 0)})" for g in names])
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("accuracy")
    ax.set_title(title)
    for i, v in enumerate(acc):
        inside = v > LABEL_INSIDE_FROM  # a long bar carries its value inside, in white
        x = v - 0.01 if inside else v + 0.01
        ax.text(
            x,
            i,
            f"{v:.2f}",
            va="center",
            ha="right" if inside else "left",
            fontsize=8,
            color="white" if inside else "black",
        )
    return _svg(fig)


def hit_curve(metrics: dict[str, Any]) -> str:
    """hit@k and recall@k against k (the ks the run measured)."""
    ks = sorted(int(m.group(1)) for key in metrics if (m := re.fullmatch(r"hit@(\d+)", key)))
    fig = _figure()
    ax = fig.subplots()
    for name, color in (("hit", COLORS["main"]), ("recall", COLORS["second"])):
        ys = [metrics.get(f"{name}@{k}") for k in ks]
        pts = [(k, y) for k, y in zip(ks, ys, strict=True) if y is not None]
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color=color, label=f"{name}@k")
    ax.set_xticks(ks)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("k (passages)")
    ax.set_title("evidence found in the top k passages")
    ax.legend(loc="lower right")
    ax.grid(alpha=0.3)
    return _svg(fig)


def citation_bars(records: Sequence[dict[str, Any]]) -> str:
    """Per question type: citation accuracy (every evidence quote cited) beside citation validity (each
    quote stands in its source), over answered questions."""
    types = list(dict.fromkeys(r["type"] for r in records))
    acc, val = [], []
    for t in types:
        rows = [r for r in records if r["type"] == t and r.get("gold_answerable")]
        cc = [bool(r["citation_correct"]) for r in rows if r.get("citation_correct") is not None]
        acc.append(sum(cc) / len(cc) if cc else 0.0)
        checked = sum(r.get("citations_checked", 0) for r in records if r["type"] == t)
        valid = sum(r.get("citations_valid", 0) for r in records if r["type"] == t)
        val.append(valid / checked if checked else 1.0)
    fig = _figure()
    ax = fig.subplots()
    width = 0.4
    xs = range(len(types))
    ax.bar([x - width / 2 for x in xs], acc, width, label="citation accuracy", color=COLORS["main"])
    ax.bar([x + width / 2 for x in xs], val, width, label="citation validity", color=COLORS["second"])
    ax.set_xticks(list(xs), types)
    ax.set_ylim(0, 1.1)
    ax.set_title("citation accuracy against validity, per type")
    ax.legend(loc="lower right", fontsize=8)
    return _svg(fig)


def latency_histogram(latencies: Sequence[float]) -> str:
    """Histogram of per-question latency (ms) with the ``PERCENTILES`` marked."""
    fig = _figure()
    ax = fig.subplots()
    if latencies:
        ax.hist(latencies, bins=LATENCY_BINS, color=COLORS["grey"])
        for p, color in zip(PERCENTILES, ("ok", "second", "bad"), strict=True):
            v = percentile(latencies, p / 100) or 0.0
            ax.axvline(v, color=COLORS[color], linestyle="--", label=f"p{p} {v:.0f} ms")
        ax.legend(fontsize=8)
    ax.set_xlabel("latency per question (ms)")
    ax.set_ylabel("questions")
    ax.set_title("latency")
    return _svg(fig)
