"""The ``rag`` command line: ingest, reports, meta, remove, compact, search, ask, brief, compare, sample, and the
commands other packages contribute (eval, serve).

Options default to ``Settings`` (environment prefix ``RAG_``), validated when read. Every read command
builds its engine with ``rag.runtime.build_runtime`` (the LLM, when configured, is wired there). Library
errors and invalid settings print as one red line naming what was wrong and exit with status 2; an ingest
where some files failed exits with 1 (``rag.cli.common``).

Each group of commands is a module with a ``register(app)``. The library never imports the evaluation or
the service (the import contract in pyproject.toml), so ``rag eval`` and ``rag serve`` are plugins: entry
points in the group ``rag.cli`` (``[project.entry-points."rag.cli"]``) naming a ``register(app)`` of the
same shape, found through the installed package's metadata. A plugin that does not load does not take the
other commands down: its command stays listed, marked unavailable, and running it says why and exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib.metadata import EntryPoint, entry_points

import typer

from . import indexing, meta, query, sample, tools
from .common import fail

PLUGIN_GROUP = "rag.cli"
HELP = "Cited answers from 法治政府建设情况报告."


def build(plugins: Iterable[EntryPoint] | None = None) -> typer.Typer:
    """The ``rag`` app: the library's commands, then each plugin's (by default the installed ``rag.cli``
    entry points, in the order of their names)."""
    app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP)
    for module in (indexing, meta, query, tools, sample):
        module.register(app)
    found = entry_points(group=PLUGIN_GROUP) if plugins is None else plugins
    for plugin in sorted(found, key=lambda ep: ep.name):
        add_plugin(app, plugin)
    return app


def add_plugin(app: typer.Typer, plugin: EntryPoint) -> None:
    """Let ``plugin``'s ``register(app)`` add its commands; when that fails, a stand-in command of the
    plugin's name that explains why."""
    try:
        plugin.load()(app)
    except Exception as e:  # a plugin is another package's code: any failure of it is reported, not raised
        reason = f"{type(e).__name__}: {e}"
        message = f"the {plugin.name!r} command could not be loaded ({PLUGIN_GROUP} plugin {plugin.value}): {reason}"

        def unavailable() -> None:
            fail(message)

        app.command(
            plugin.name,
            help=f"(unavailable: {reason})",
            context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        )(unavailable)


app = build()
