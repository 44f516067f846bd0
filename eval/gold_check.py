"""``rag gold check``: is a gold set sound against its corpus?

Every line of the gold file is checked on its own, so one report lists every bad item, each as
``file:line: id: what is wrong``:

- the line is a valid gold item (``eval.gold``'s field rules: JSON, fields, types, ``answerable``);
- its id is unique in the file;
- every evidence ``source`` names a file of the corpus, and its ``quote`` stands in that file, raw or after
  the matching rules of the gold README (NFKC, whitespace removed);
- every ``must_include`` string stands in one of the item's evidence quotes (matching rules); one found
  only elsewhere in an evidence file is a note (a list or cross question's quote holds one item, the place
  name stands in the report: the project's and ../shared's sets have such items, and the layouts README
  asks only that each string occur in an evidence file); one found in neither is a defect;
- an unanswerable item carries no ``must_include`` and no evidence (evidence on one asks whether it is
  answerable after all); an answerable item without evidence is a note (the format allows it; its
  retrieval and citations go unscored).

A quote found only after the matching rules is a *note*, not a defect (the README compares normalised
strings). ``rag eval`` runs the same check first, against the files its index was built from, and refuses
a broken gold set with the same lines.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from eval.gold import normalize, parsed_lines
from rag.errors import InputError
from rag.ingest.load import read_text


@dataclass(frozen=True)
class Finding:
    """One thing wrong with (or worth noting about) one gold line."""

    path: str
    line: int
    id: str  # "?" when the line has no readable id
    problem: str
    defect: bool = True  # False: a note (e.g. a quote that matches only after normalisation)

    def __str__(self) -> str:
        kind = "" if self.defect else "note: "
        return f"{self.path}:{self.line}: {self.id}: {kind}{self.problem}"


@dataclass(frozen=True)
class Corpus:
    """The corpus files a gold set may name, by file name: ``text(name)`` reads one once."""

    files: Mapping[str, Path]

    @staticmethod
    def of_dirs(dirs: Iterable[Path]) -> Corpus:
        """Every file under ``dirs`` (recursively), by its name; the first directory wins a clash."""
        files: dict[str, Path] = {}
        for d in dirs:
            d = Path(d)
            if not d.is_dir():
                raise InputError(d, "corpus directory not found")
            for p in sorted(d.rglob("*")):
                if p.is_file() and not p.name.startswith(".") and p.name != "README.md":
                    files.setdefault(p.name, p)
        return Corpus(files)

    @staticmethod
    def of_files(paths: Iterable[Path]) -> Corpus:
        return Corpus({Path(p).name: Path(p) for p in paths})


def check_gold(path: str | Path, corpus: Corpus | None) -> list[Finding]:
    """Every defect (and note) of the gold file at ``path`` checked against ``corpus``, in line order;
    with ``corpus`` ``None`` only the lines themselves (fields, ids, unanswerable items)."""
    path = Path(path)
    texts: dict[str, tuple[str, str] | None] = {}

    def text_of(name: str) -> tuple[str, str] | None:
        """(raw text, normalised text) of a corpus file, ``None`` when the corpus has no such file."""
        if name not in texts:
            p = corpus.files.get(name) if corpus else None
            if p is None:
                texts[name] = None
            else:
                raw = read_text(p)[0]
                texts[name] = (raw, normalize(raw))
        return texts[name]

    findings: list[Finding] = []
    seen: dict[str, int] = {}
    for n, line, item in parsed_lines(path):
        if isinstance(item, ValueError):
            findings.append(Finding(str(path), n, _id_of(line), str(item)))
            continue

        def bad(problem: str, defect: bool = True, _n: int = n, _id: str = item.id) -> None:
            findings.append(Finding(str(path), _n, _id, problem, defect))

        if item.id in seen:
            bad(f"duplicate id (first on line {seen[item.id]})")
        else:
            seen[item.id] = n
        if not item.answerable:
            if item.must_include:
                bad("unanswerable but has must_include strings")
            if item.evidence:
                bad("unanswerable but has evidence: is it answerable after all?")
            continue
        if not item.evidence:  # allowed by the format, but nothing to score retrieval or citations against
            bad("answerable but has no evidence: retrieval and citations cannot be scored", defect=False)
            continue
        if corpus is None:
            continue
        for i, e in enumerate(item.evidence):
            found = text_of(e.source)
            if found is None:
                bad(f"evidence[{i}]: source {e.source!r} is not in the corpus")
                continue
            raw, norm = found
            if e.quote in raw:
                continue
            if normalize(e.quote) in norm:
                bad(f"evidence[{i}]: quote stands in {e.source} only after normalisation", defect=False)
            else:
                bad(f"evidence[{i}]: quote {_short(e.quote)!r} is not in {e.source}")
        quotes = [normalize(e.quote) for e in item.evidence]
        sources = [t[1] for e in item.evidence if (t := text_of(e.source)) is not None]
        for s in item.must_include:
            if any(normalize(s) in q for q in quotes):
                continue
            if any(normalize(s) in t for t in sources):
                bad(f"must_include {s!r} is in its evidence files but in none of its quotes", defect=False)
            else:
                bad(f"must_include {s!r} is in none of its evidence quotes nor their files")
    return findings


def defects(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.defect]


QUOTE_SHOWN = 40
"""Characters of a quote shown in a finding."""


def _short(s: str) -> str:
    return s if len(s) <= QUOTE_SHOWN else s[:QUOTE_SHOWN] + "…"


def _id_of(line: str) -> str:
    try:
        d = json.loads(line)
    except ValueError:
        return "?"
    return str(d["id"]) if isinstance(d, dict) and isinstance(d.get("id"), str) else "?"
