"""The ``rag`` executable (``[project.scripts]``, and ``python -m rag``): lower a writing command's priority,
then import the app.

Why not ``rag.cli:app`` directly: importing the app costs ~1.5 s of CPU (openai, pypdf, trafilatura, faiss,
jieba, the plugins' entry points), and a ``rag ingest`` or ``rag remove`` beside a server spent it at the
server's priority, before the command lowered its own: the slowest answers during CLI commits. Here a
writing command (``WRITE_COMMANDS``) runs at ``RAG_BACKGROUND_NICE`` from its first import on; read
commands (``ask``, ``search``, ``serve``…) keep their priority. The nice value is read through
``rag.priority.PrioritySettings``, the part of ``Settings`` that defines it (importing ``Settings`` itself
would cost the imports this avoids).

Imports only the standard library and ``rag.priority`` at module level; a test checks it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .priority import PrioritySettings, lower_process_priority

#: commands that write the index, as their words on the command line (a group's subcommand after it)
WRITE_COMMANDS: frozenset[tuple[str, ...]] = frozenset(
    {("ingest",), ("remove",), ("compact",), ("meta", "set"), ("meta", "unset")}
)


def command_words(argv: Sequence[str]) -> tuple[str, ...]:
    """The command's words: the arguments before the first option (``rag meta set ID --year 2024`` →
    ``("meta", "set", "ID")``)."""
    words: list[str] = []
    for arg in argv:
        if arg.startswith("-"):
            break
        words.append(arg)
    return tuple(words)


def writes(argv: Sequence[str]) -> bool:
    """Whether ``argv`` (without the program name) runs a command that writes the index."""
    words = command_words(argv)
    return any(words[: len(c)] == c for c in WRITE_COMMANDS)


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``rag`` with ``argv`` (default: the process's arguments), nice first when it writes. An invalid
    ``RAG_BACKGROUND_NICE`` is left for the app to report, as every other setting (it reads ``Settings``)."""
    args = sys.argv[1:] if argv is None else list(argv)
    if writes(args):
        try:
            nice = PrioritySettings().background_nice
        except ValueError:  # pydantic's ValidationError: the app names the variable when it reads Settings
            nice = 0
        lower_process_priority(nice)
    from .cli import app

    app(args=args, prog_name="rag")
