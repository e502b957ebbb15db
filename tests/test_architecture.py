"""Imports point one way: apps -> retail -> sync (and apps -> webui). The engine knows nothing of
retail, and neither engine nor domain knows HTTP, web frameworks or the CLI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "possync"
FORBIDDEN = {
    "sync": (
        "possync.retail",
        "possync.store",
        "possync.terminal",
        "possync.cli",
        "possync.transport",
        "fastapi",
        "starlette",
        "httpx",
        "typer",
        "rich",
        "uvicorn",
    ),
    "retail": (
        "possync.store",
        "possync.terminal",
        "possync.cli",
        "possync.transport",
        "fastapi",
        "starlette",
        "httpx",
        "typer",
        "rich",
        "uvicorn",
    ),
    "transport": ("possync.retail", "possync.store", "possync.terminal", "possync.cli"),
    # The apps stand side by side: head office, store and terminal import none of
    # each other (a store talks to head office over HTTP, as a terminal to its store).
    "headoffice": ("possync.store", "possync.terminal", "possync.cli"),
    "store": ("possync.headoffice", "possync.terminal", "possync.cli"),
    # Shared page furniture and the consoles' sign-in: no domain, no app. Of the
    # engine it uses only the database helpers (transactions, guessing limits) that
    # administrators' accounts and sessions are kept with.
    "webui": (
        "possync.retail",
        "possync.store",
        "possync.terminal",
        "possync.cli",
        "possync.transport",
    ),
}


def imported_modules(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            # `from possync import transport` imports the module possync.transport:
            # count each name as a submodule too, or the layer rule never sees it.
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def forbidden_imports(layer: str, source: str) -> list[str]:
    return sorted(
        name
        for name in imported_modules(source)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])
    )


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in forbidden_imports(layer, path.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    [
        "import possync.transport",
        "import possync.transport.client as c",
        "from possync.transport import client",
        "from possync.transport.client import SyncClient",
        "from possync import transport",
        "from possync import sync, transport as t",
        "def f():\n    from possync import transport\n",
        "import httpx",
        "from httpx import Client",
    ],
)
def test_the_checker_flags_every_spelling_of_a_forbidden_import(source: str) -> None:
    assert forbidden_imports("retail", source) != []


def test_the_checker_lets_allowed_imports_pass() -> None:
    source = "from possync import sync\nfrom possync.sync import log\nimport possync.retail.sales\n"
    assert forbidden_imports("retail", source) == []


def test_modules_stay_short() -> None:
    long = [
        f"{p.relative_to(PACKAGE)}: {n} lines"
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    ]
    assert long == []


def runtime_imports(source: str) -> set[str]:
    """Like imported_modules, at any depth (a function's import still closes a
    circle when it runs), but not under ``if TYPE_CHECKING:``, which never runs."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            node.body = [ast.Pass()]
    return imported_modules(ast.unparse(tree))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The modules that reach themselves again by imports, one sorted group per circle."""
    reaches: dict[str, set[str]] = {}
    for start in graph:
        seen: set[str] = set()
        todo = list(graph[start])
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(graph.get(name, ()))
        reaches[start] = seen
    circles = {
        tuple(sorted(m for m in graph if m in reaches[start] and start in reaches[m]))
        for start in graph
        if start in reaches[start]
    }
    return sorted(list(c) for c in circles)


def test_no_import_circles_in_the_package() -> None:
    paths = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph = {
        name: {m for m in runtime_imports(path.read_text()) if m in paths and m != name}
        for name, path in paths.items()
    }
    assert import_circles(graph) == []


def test_the_circle_finder_finds_circles_through_functions_not_type_checking() -> None:
    app = "from possync.console import page\n"
    page = "def handler():\n    from possync.console import app\n"
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from possync import a\n"
    graph = {
        "possync.console.app": runtime_imports(app),
        "possync.console.page": runtime_imports(page),
        "possync.a": {"possync.b"},
        "possync.b": runtime_imports(typed),
    }
    graph = {name: deps & set(graph) for name, deps in graph.items()}
    assert import_circles(graph) == [["possync.console.app", "possync.console.page"]]
