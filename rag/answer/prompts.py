"""Prompt templates: files in ``prompts/`` with a version id, recorded in every answer and eval record.

Format: a front-matter block (``id: answer-zh-v1``), then ``[system]`` and ``[user]`` sections whose
``{fields}`` are filled with ``str.format``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError

_FRONT = re.compile(r"\A---\n(?P<meta>.*?)\n---\n", re.S)
_SECTION = re.compile(r"^\[(system|user)\]\n", re.M)


@dataclass(frozen=True)
class Prompt:
    id: str
    system: str
    user: str

    def messages(self, **fields: str) -> list[Any]:  # OpenAI chat message dicts
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.format(**fields)},
        ]


def load_prompt(path: str | Path) -> Prompt:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError(f"{path}: cannot read prompt ({e.strerror})") from e
    m = _FRONT.match(text)
    meta = dict(line.split(":", 1) for line in m.group("meta").splitlines() if ":" in line) if m else {}
    pid = meta.get("id", "").strip()
    if not pid:
        raise ConfigError(f"{path}: prompt has no 'id:' in its front matter")
    body = text[m.end() :] if m else text
    parts = _SECTION.split(body)
    sections = {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise ConfigError(f"{path}: prompt needs a [system] and a [user] section")
    return Prompt(pid, sections["system"], sections["user"])
