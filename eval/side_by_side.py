"""Print the side-by-side table of several ``rag eval --answer-mode both`` runs.

    python -m eval.side_by_side out/eval-llm/dev out/eval-llm/real-dev …

Each directory holds ``extractive/``, ``auto/`` and ``llm/`` with their ``metrics.json``; the set is
named by the directory. The ``llm`` runs reuse the ``auto`` runs' model replies, so their time per
question is retrieval and verification only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eval.run import METRICS_FILE, side_by_side_table

MODES = ("extractive", "auto", "llm")


def load(dirs: list[Path]) -> dict[str, dict[str, dict[str, Any]]]:
    runs: dict[str, dict[str, dict[str, Any]]] = {}
    for d in dirs:
        modes = {m: json.loads((d / m / METRICS_FILE).read_text(encoding="utf-8")) for m in MODES if (d / m).is_dir()}
        if modes:
            runs[d.name] = modes
    return runs


def main(argv: list[str]) -> int:
    runs = load([Path(a) for a in argv])
    if not runs:
        print("no runs found (directories with extractive/, auto/, llm/ metrics.json)", file=sys.stderr)
        return 2
    side_by_side_table(runs, title="Extractive vs LLM (local model)")
    reasons: dict[str, int] = {}
    for modes in runs.values():
        for n, count in (modes.get("auto", {}).get("dropped_by_reason") or {}).items():
            reasons[n] = reasons.get(n, 0) + count
    print("claims dropped per reason (auto runs, all sets):", json.dumps(reasons, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
