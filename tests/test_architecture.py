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
    # Shared page furniture: no domain, no engine, no app.
    "webui": (
        "possync.sync",
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
