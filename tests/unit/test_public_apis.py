"""The data layer stands on the libraries' published APIs only: no module, name or
attribute of psycopg or SQLAlchemy that starts with an underscore (a minor release may
change any of them without notice). SQLAlchemy documents Row._mapping, _asdict and
_fields as public; namedtuple's _make and _replace are the standard library's."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = ("psycopg", "sqlalchemy", "psycopg_pool")
DOCUMENTED = {"_mapping", "_asdict", "_fields", "_make", "_replace"}
SKIP = {".venv", "build", "node_modules", ".git"}


def _sources() -> list[Path]:
    return [p for p in ROOT.rglob("*.py") if not SKIP.intersection(p.relative_to(ROOT).parts)]


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _our_names(trees: list[ast.AST]) -> set[str]:
    """Every underscore name the project defines itself (its own privates are fine)."""
    ours: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                ours.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                ours.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                ours.add(node.attr)
            elif isinstance(node, ast.arg) or (isinstance(node, ast.keyword) and node.arg):
                ours.add(node.arg)
    return {n for n in ours if _private(n)}


def test_no_private_module_name_or_attribute_of_psycopg_or_sqlalchemy() -> None:
    parsed = {path: ast.parse(path.read_text(encoding="utf-8")) for path in _sources()}
    ours = _our_names(list(parsed.values()))
    found = []
    for path, tree in parsed.items():
        where = path.relative_to(ROOT)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and \
                    node.module.split(".")[0] in LIBRARIES:
                if any(_private(part) for part in node.module.split(".")):
                    found.append(f"{where}:{node.lineno} from {node.module}")
                found += [f"{where}:{node.lineno} {node.module}.{a.name}"
                          for a in node.names if _private(a.name)]
            elif isinstance(node, ast.Import):
                found += [f"{where}:{node.lineno} import {a.name}" for a in node.names
                          if a.name.split(".")[0] in LIBRARIES
                          and any(_private(p) for p in a.name.split("."))]
            elif isinstance(node, ast.Attribute) and _private(node.attr) and \
                    node.attr not in ours and node.attr not in DOCUMENTED:
                found.append(f"{where}:{node.lineno} .{node.attr}")
    assert found == []


def test_the_check_finds_what_it_is_for() -> None:
    """The check above would notice the kind of use it forbids."""
    tree = ast.parse("from psycopg._queries import PostgresQuery\n"
                     "x = state._commit_all\n")
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    attrs = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)]
    assert any(_private(p) for p in imports[0].module.split("."))  # type: ignore[union-attr]
    assert _private(attrs[0].attr) and attrs[0].attr not in DOCUMENTED
