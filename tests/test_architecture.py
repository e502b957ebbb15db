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


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_point_one_way(layer: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in imported_modules(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer])
    ]
    assert offenders == []


def test_modules_stay_short() -> None:
    long = [
        f"{p.relative_to(PACKAGE)}: {n} lines"
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text().splitlines())) > 500
    ]
    assert long == []
