"""The house rules of docs/design.md, checked on the source: module sizes, import direction,
no private names across modules, no Keras private API, docs cited inside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "whetstone_lab"
SOURCES = sorted(PACKAGE.rglob("*.py"))

#: Which library modules each module may import (docs/design.md, "The modules").
ALLOWED = {
    "validation": set(),
    "deprecation": set(),
    "config": set(),
    "stats": {"validation"},
    "layers": {"validation"},
    "grouped": {"validation"},
    "sharpening": {"layers", "validation"},
    "transforms": {"layers", "sharpening", "validation"},
    "models": {"deprecation", "grouped", "layers", "transforms", "validation"},
    "spikes": {"deprecation", "sharpening", "validation", "layers"},
    "metrics": {"layers", "sharpening", "spikes", "validation"},
    "recipes": {"config", "sharpening", "validation"},
    "training": {"deprecation", "metrics", "recipes", "sharpening", "transforms", "validation",
                 "layers"},
    "data": {"validation", "data"},
    "deploy": {"grouped", "layers", "sharpening", "transforms", "validation", "deploy"},
    "plots": {"layers", "stats", "validation", "plots"},
    "widgets": {"layers", "sharpening", "models", "spikes", "metrics", "plots", "validation"},
    "lessons": {"layers", "sharpening", "models", "spikes", "metrics", "training",
                "validation", "questions"},
    "questions": set(),
    "doctor": {"config", "data", "deploy", "metrics", "models", "recipes", "sharpening", "spikes",
               "training"},
}


def _top(path: Path) -> str:
    """The library module a file belongs to (the package for files inside data/, ...)."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def _library_imports(path: Path) -> list[tuple[str, list[str]]]:
    """(imported library module, imported names) for every relative import of ``path``."""
    tree = ast.parse(path.read_text())
    rel = path.relative_to(PACKAGE)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(rel.parts[:-1])[: len(rel.parts) - node.level]
            parts = base + (node.module.split(".") if node.module else [])
            names = [a.name for a in node.names]
            if not parts:  # "from . import x": a module, or a name of the package itself
                found += [(n if (PACKAGE / f"{n}.py").exists() or (PACKAGE / n).is_dir()
                           else "__init__", []) for n in names]
            else:
                found.append((parts[0], names))
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600


@pytest.mark.parametrize("path", [p for p in SOURCES if p.name != "__init__.py"
                                  or p.parent != PACKAGE],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way_and_take_no_private_names(path):
    own = _top(path)
    for module, names in _library_imports(path):
        if module == own:
            continue  # inside a package: its modules share public names
        assert module in ALLOWED[own], f"{own} imports {module}"
        private = [n for n in names if n.startswith("_")]
        assert not private, f"{path.name} imports private names {private} from {module}"


def test_nothing_imports_widgets_or_lessons():
    for path in SOURCES:
        if _top(path) in ("widgets", "lessons") or path == PACKAGE / "__init__.py":
            continue
        assert not {m for m, _ in _library_imports(path)} & {"widgets", "lessons"}, path


KERAS_PRIVATE = re.compile(r"\._(flatten_layers|inbound_nodes|outbound_nodes|keras_history|"
                           r"get_lines)\b")


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_keras_or_matplotlib_private_api(path):
    assert not KERAS_PRIVATE.search(path.read_text())


def test_docs_cite_only_files_inside_the_repository():
    root = PACKAGE.parent
    assert (root / "docs" / "design.md").exists()
    for path in [*SOURCES, *sorted((root / "tests").glob("*.py"))]:
        if path.name == Path(__file__).name:
            continue
        assert "DESIGN.md" not in path.read_text(), path


def test_one_spiking_layer_enumerator():
    """Only sharpening.spiking_layers collects a model's SpikingActivation layers."""
    collects = re.compile(r"for \w+ in [^\n]*\bif isinstance\(\w+, SpikingActivation\)")
    for path in SOURCES:
        if path.name != "sharpening.py":
            assert not collects.search(path.read_text()), path
