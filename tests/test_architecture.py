"""The import structure: the contracts in pyproject.toml hold (``lint-imports``), and no two modules of rag,
service and eval import each other, directly or through others — package ``__init__`` modules included,
imports inside functions and under ``TYPE_CHECKING`` included (import-linter's default, and a circle
through them still ties the modules together).

``lint-imports``' ``acyclic_siblings`` contract only compares the children of one package, so a circle
between a package and its own modules (``rag.store`` ↔ ``rag.store.faiss``) passes it; here the whole
graph (grimp, which import-linter is built on) is split into strongly connected components, each of more
than one module being a circle, printed with the lines that make it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from itertools import pairwise
from pathlib import Path

import grimp

import rag

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("rag", "service", "eval")


def import_graph() -> grimp.ImportGraph:
    assert Path(rag.__file__).resolve().parents[1] == ROOT, f"rag is imported from {rag.__file__}, not {ROOT}"
    return grimp.build_graph(*PACKAGES, cache_dir=None)


def circles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative), each as
    its sorted module names; a module importing itself is not a circle between two modules."""
    imports = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in imports:
        if root in order:
            continue
        work = [(root, iter(imports[root]))]
        order[root] = low[root] = len(order)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in order:
                    order[target] = low[target] = len(order)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(imports[target])))
                elif target in on_stack:
                    low[module] = min(low[module], order[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[module])
            if low[module] == order[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def describe(graph: grimp.ImportGraph, component: Iterable[str], start: str | None = None) -> str:
    """The shortest circle through ``start`` (by default the component's first module) within the
    component, hop by hop with the importing line: ``a -> b (l.12: from b import x) -> a (l.3: import a)``."""
    members = set(component)
    start = start or min(members)
    # breadth first from start's imports back to start, within the component: the shortest circle
    previous: dict[str, str] = {}
    frontier = [start]
    while start not in previous and frontier:
        following = []
        for module in frontier:
            for target in sorted(graph.find_modules_directly_imported_by(module) & members):
                if target not in previous:
                    previous[target] = module
                    following.append(target)
        frontier = following
    if start not in previous:  # not on a circle: describe only what circles() found
        raise ValueError(f"{start} is on no circle within {sorted(members)}")
    path = [start]
    while len(path) == 1 or path[-1] != start:
        path.append(previous[path[-1]])
    path.reverse()
    hops = [path[0]]
    for importer, imported in pairwise(path):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = f"l.{details[0]['line_number']}: {details[0]['line_contents']}" if details else "added"
        hops.append(f"{imported} ({where})")
    return " -> ".join(hops)


def test_the_import_contracts_hold() -> None:
    code = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run(
        [sys.executable, "-c", code, "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_import_circle_between_any_two_modules() -> None:
    graph = import_graph()
    found = circles(graph)
    assert not found, "import circles:\n" + "\n".join(f"{', '.join(c)}: {describe(graph, c)}" for c in found)


def test_the_circle_check_finds_an_added_import() -> None:
    graph = import_graph()
    assert graph.chain_exists(importer="rag.cli", imported="rag.types")
    graph.add_import(importer="rag.types", imported="rag.cli", line_number=1, line_contents="import rag.cli")
    found = [c for c in circles(graph) if "rag.types" in c]
    assert len(found) == 1 and "rag.cli" in found[0]
    said = describe(graph, found[0], start="rag.types")
    assert said.startswith("rag.types -> rag.cli (l.1: import rag.cli) -> ")
    assert said.split(" -> ")[-1].startswith("rag.types (l.")


def test_the_circle_check_finds_a_package_and_its_module() -> None:
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.a", "pkg.b", "pkg.c"):
        graph.add_module(module)
    graph.add_import(importer="pkg", imported="pkg.a", line_number=3, line_contents="from . import a")
    graph.add_import(importer="pkg.a", imported="pkg.b", line_number=5, line_contents="from .b import x")
    graph.add_import(importer="pkg.b", imported="pkg.c", line_number=7, line_contents="from .c import y")
    assert circles(graph) == []
    graph.add_import(importer="pkg.b", imported="pkg", line_number=9, line_contents="from pkg import z")
    assert circles(graph) == [["pkg", "pkg.a", "pkg.b"]]
    assert describe(graph, ["pkg", "pkg.a", "pkg.b"]) == (
        "pkg -> pkg.a (l.3: from . import a) -> pkg.b (l.5: from .b import x) -> pkg (l.9: from pkg import z)"
    )
