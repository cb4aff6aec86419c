"""The house rules of docs/design.md, checked on the source: module sizes, import direction,
no private names across modules, no Keras private API, docs cited inside the repository."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "whetstone_lab"
SOURCES = sorted(PACKAGE.rglob("*.py"))

DESIGN = PACKAGE.parent / "docs" / "design.md"


def _design_table() -> dict[str, set[str]]:
    """Which library modules each module may import: the table of docs/design.md, "The
    modules", read here so that the note and this test cannot differ. A cell lists modules in
    backticks, "—" for none, "everything above" (but `x`) for the rows before it."""
    text = DESIGN.read_text()
    section = text[text.index("## The modules"):text.index("Dependencies point one way")]
    allowed: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue  # the header, its rule, prose
        module = cells[0].strip("`").rstrip("/")
        names = set(re.findall(r"`([\w/]+)`", cells[2]))
        if cells[2].startswith("everything above"):
            names = set(allowed) - {n.rstrip("/") for n in names}
        allowed[module] = {n.rstrip("/") for n in names}
    return allowed


#: Which library modules each module may import (docs/design.md, "The modules").
ALLOWED = _design_table()


def test_the_design_table_lists_every_module_of_the_package():
    modules = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
               if (p.suffix == ".py" and p.name != "__init__.py")
               or (p.is_dir() and (p / "__init__.py").exists())}
    assert set(ALLOWED) == modules
    for module, names in ALLOWED.items():
        assert names <= set(ALLOWED), f"{module} may import unknown modules {names - set(ALLOWED)}"


def test_the_design_table_points_down():
    """A row may only name rows above it: the table's order is the import order."""
    order = list(ALLOWED)
    for i, module in enumerate(order):
        assert ALLOWED[module] <= set(order[:i]), module


#: Test files that check the project across modules, not one module.
CROSS_CUTTING = {"architecture", "backends", "benchmark_reports", "browser", "integration", "lint",
                 "notebooks_meta", "packaging", "site", "stored_outputs"}


def test_tests_mirror_modules():
    """One test file per library module or package (docs/design.md, "Rules of the house"):
    tests/test_<module>.py, a package's tests may be cut into test_<package>_<topic>.py; the
    rest are the cross-cutting files."""
    tests = {p.stem.removeprefix("test_") for p in Path(__file__).parent.glob("test_*.py")}
    packages = {m for m in ALLOWED if (PACKAGE / m).is_dir()}
    assert [m for m in ALLOWED if m not in tests
            and not any(t.startswith(f"{m}_") for t in tests if m in packages)] == []
    assert sorted(t for t in tests - set(ALLOWED) - CROSS_CUTTING
                  if not any(t.startswith(f"{p}_") for p in packages)) == []


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


@pytest.mark.parametrize("path", [p for p in SOURCES if p.parent != PACKAGE
                                  and p.name != "__init__.py"],
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_of_a_package_imports_its_face(path):
    """data/files.py, plots/tasks.py, ...: shared pieces live below the package's __init__,
    never imported back from it (not even inside a function, to dodge a cycle)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None:
            for alias in node.names:
                assert (path.parent / f"{alias.name}.py").exists() \
                    or (path.parent / alias.name).is_dir(), \
                    f"{path.name} imports {alias.name} from its package's face"


MEASURED = re.compile(r"\d[\d.,]*\s?%|\d+(\.\d+)?\s?points\b|\d+(\.\d+)?\s?× (faster|slower)")


def _prose(path: Path) -> list[str]:
    """The docstrings and comments of a source file."""
    import io
    import tokenize

    text = path.read_text()
    found = [t.string for t in tokenize.generate_tokens(io.StringIO(text).readline)
             if t.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append(ast.get_docstring(node) or "")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_measured_number_in_a_docstring_or_comment(path):
    """Measured results live in benchmarks/results/ (where the number-marker tests reach);
    the library's prose points there instead of quoting them."""
    quoted = [m.group(0) for prose in _prose(path) for m in MEASURED.finditer(prose)]
    assert not quoted, f"{path.name} quotes {quoted}: point to benchmarks/results/ instead"
