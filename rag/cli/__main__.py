"""``python -m rag.cli``: the ``rag`` command."""

from . import app

app()
