"""Every word list the pipeline uses, read from ``rag/text/data/`` by one loader.

Two file kinds: ``NAME.txt`` holds entries separated by whitespace; ``NAME.tsv`` holds one entry a
line, ``key<TAB>alternatives separated by spaces``. ``#`` starts a comment in both. Each file is
read once per process. Keeping the lists as data makes them reviewable apart from the code that
uses them, and keeps one copy of each (question words, units, synonyms, departments …).
"""

from __future__ import annotations

import functools
from pathlib import Path

from ..errors import ConfigError

__all__ = ["DATA", "department_names", "table", "words"]

DATA = Path(__file__).parent / "data"


def _lines(path: Path) -> list[str]:
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"lexicon {path.name} cannot be read ({e})") from e
    return [line.split("#", 1)[0].rstrip() for line in raw.splitlines()]


@functools.cache
def words(name: str) -> frozenset[str]:
    """The entries of ``rag/text/data/NAME.txt``."""
    return frozenset(w for line in _lines(DATA / f"{name}.txt") for w in line.split())


@functools.cache
def table(name: str) -> dict[str, tuple[str, ...]]:
    """``rag/text/data/NAME.tsv`` as ``{key: alternatives}``, in file order."""
    out: dict[str, tuple[str, ...]] = {}
    for line in _lines(DATA / f"{name}.tsv"):
        if not line.strip():
            continue
        key, _, rest = line.partition("\t")
        out[key.strip()] = tuple(rest.split())
    return out


COMMITTEE, COMMITTEE_SHORT = "委员会", "委"  # a committee's name, and the one character it is written as


@functools.cache
def department_names() -> dict[str, str]:
    """Every name of a department (its canonical name and each alias) → its canonical name. A name ending
    in 委员会 is also written with 委 alone (卫生健康委员会 → 卫生健康委, as reports call themselves: 市卫生健康委),
    so those short forms are names too, made from the list rather than written into it."""
    out: dict[str, str] = {}
    for canonical, alts in table("departments").items():
        out[canonical] = canonical
        for a in alts:
            out.setdefault(a, canonical)
    for name, canonical in list(out.items()):
        if name.endswith(COMMITTEE):
            out.setdefault(name.removesuffix(COMMITTEE) + COMMITTEE_SHORT, canonical)
    return out
