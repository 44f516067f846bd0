"""The ``rag`` CLI's plugins: ``rag eval`` and ``rag serve`` come from the evaluation and the service through
the ``rag.cli`` entry points, since the library imports neither; a plugin that fails to load is reported."""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points

import typer
from typer.testing import CliRunner, Result

from rag.cli import PLUGIN_GROUP, app, build

runner = CliRunner()

LIBRARY_COMMANDS = ["ingest", "reports", "remove", "compact", "search", "ask", "brief", "compare", "sample"]
LIBRARY_GROUPS = ["meta"]  # typer lists groups after single commands, in the order they were added


def _run(cli: object, args: list[str]) -> Result:
    return runner.invoke(cli, args, env={"COLUMNS": "500"})  # type: ignore[arg-type]


def _commands(cli: typer.Typer) -> list[str]:
    """The app's command names, in the order ``--help`` lists them."""
    group = typer.main.get_command(cli)
    assert isinstance(group, typer.core.TyperGroup)
    return group.list_commands(typer.Context(group))


def test_the_installed_package_declares_the_eval_and_serve_plugins() -> None:
    declared = {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}
    assert declared == {"eval": "eval.cli:register", "serve": "service.cli:register"}, (
        "the installed metadata does not match pyproject.toml's [project.entry-points] (reinstall: pip install -e .)"
    )


def test_help_lists_the_library_commands_then_the_plugins() -> None:
    # typer lists single commands before groups: serve, then meta (show, set, unset), eval (eval, eval diff)
    # and gold (gold check)
    assert _commands(app) == [*LIBRARY_COMMANDS, "serve", *LIBRARY_GROUPS, "eval", "gold"]
    result = _run(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "Score the system on a gold set" in result.output and "Serve the HTTP API" in result.output


def test_without_plugins_only_the_library_commands() -> None:
    assert _commands(build(plugins=[])) == [*LIBRARY_COMMANDS, *LIBRARY_GROUPS]
    assert _run(build(plugins=[]), ["eval", "--help"]).exit_code == 2  # no such command


def test_a_plugin_adds_its_command_with_its_options() -> None:
    cli = build(plugins=[EntryPoint("eval", "eval.cli:register", PLUGIN_GROUP)])
    result = _run(cli, ["eval", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--gold", "--index", "--out", "--compare", "--answer-mode", "--ablate", "--replies"):
        assert option in result.output


def test_serve_help() -> None:
    result = _run(app, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert "Serve the HTTP API" in result.output
    assert all(option in result.output for option in ("--index", "--host", "--port"))


def test_a_plugin_that_cannot_load_is_reported_and_the_others_still_work() -> None:
    missing = EntryPoint("report", "no_such_package_for_rag.cli:register", PLUGIN_GROUP)
    wrong_name = EntryPoint("chart", "eval.cli:no_such_register", PLUGIN_GROUP)
    refuses = EntryPoint("tally", "builtins:len", PLUGIN_GROUP)  # loads, but calling it with the app fails
    cli = build(plugins=[missing, wrong_name, refuses])

    assert _commands(cli) == [*LIBRARY_COMMANDS, "chart", "report", "tally", *LIBRARY_GROUPS]
    listing = _run(cli, ["--help"])
    assert listing.exit_code == 0, listing.output
    flat = "".join(listing.output.split())
    assert "(unavailable:ModuleNotFoundError:Nomodulenamed'no_such_package_for_rag'" in flat
    assert "(unavailable:AttributeError:" in flat and "(unavailable:TypeError:" in flat

    result = _run(cli, ["report", "--index", "x", "extra"])
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert "error: the 'report' command could not be loaded" in said
    assert "rag.cli plugin no_such_package_for_rag.cli:register" in said
    assert "ModuleNotFoundError" in said and "Traceback" not in result.output

    assert _run(cli, ["sample", "--help"]).exit_code == 0
