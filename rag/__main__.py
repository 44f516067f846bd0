"""``python -m rag``: the ``rag`` command, through ``rag.entry`` (a writing command is nice before its imports)."""

from .entry import main

main()
