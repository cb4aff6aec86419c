"""Fill the prose's result markers from ``notebooks/results.json``; render the timing table.

Usage:
    python scripts/lesson_numbers.py            # fill every marker, render the timing table
    python scripts/lesson_numbers.py --check    # change nothing; exit 1 if anything is stale
    python scripts/lesson_numbers.py notebooks/05_spiking_autoencoder.ipynb   # only these

A number in markdown prose (the lessons' markdown cells, ``notebooks/README.md``,
``README.md``) that comes from a lesson's results is written between markers::

    <!--r 02_dense_classifier.sharp_accuracy-->0.969<!--/r-->

(GitHub and Jupyter hide the comments). The marker names ``<notebook stem>.<metric>`` of
``notebooks/results.json``, which ``make notebooks`` writes (``lessons.report``). The value
keeps the precision it is written with: ``0.969`` has three decimals, so 0.96944 is written
``0.969``; ``25`` is an integer; ``96.9%`` is a percentage with one decimal. An empty marker
gets the recorded value as it is.

Two tables of the workshop kit (``notebooks/README.md``) are rendered whole: the timing
table between ``<!--timings-->`` and ``<!--/timings-->`` from ``notebooks/timings.json``
(``scripts/execute_notebooks.py`` records it), and every lesson's headline numbers between
``<!--results-->`` and ``<!--/results-->`` from ``notebooks/results.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = NOTEBOOKS / "results.json"
TIMINGS = NOTEBOOKS / "timings.json"
KIT = NOTEBOOKS / "README.md"

MARKER = re.compile(r"<!--r ([\w-]+)\.(\w+)-->(.*?)<!--/r-->")
TIMING_BLOCK = re.compile(r"(<!--timings-->\n).*?(<!--/timings-->)", re.S)
RESULTS_BLOCK = re.compile(r"(<!--results-->\n).*?(<!--/results-->)", re.S)
_NUMBER = re.compile(r"^(-?\d+)(?:\.(\d+))?(%?)$")


def prose_files() -> list[Path]:
    """Every file whose prose may hold markers: the lessons, the kit and the README."""
    return [*sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb")), KIT, ROOT / "README.md"]


def format_like(value: float, written: str) -> str:
    """``value`` with the precision (and percent sign) of ``written``.

    Example:
        >>> format_like(0.96944, "0.969"), format_like(25, "0"), format_like(0.9694, "96.9%")
        ('0.969', '25', '96.9%')
        >>> format_like(0.9195, "0.000")
        '0.920'
    """
    found = _NUMBER.match(written.strip())
    if found is None:
        return str(value)
    decimals = len(found.group(2) or "")
    percent = found.group(3)
    # Half up on the recorded decimal digits (0.9195 -> "0.920"), as a reader rounds the
    # number in results.json; binary floats would give "0.919".
    shown = Decimal(str(value)) * (100 if percent else 1)
    return f"{shown.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)}{percent}"


def _lookup(results: dict, stem: str, metric: str):
    if stem not in results:
        return None, f"no lesson {stem!r} in {RESULTS.name}"
    if metric not in results[stem]:
        return None, (f"{stem!r} has no number {metric!r} in {RESULTS.name} (it has "
                      f"{', '.join(sorted(results[stem])) or 'none'})")
    return results[stem][metric], None


def fill_text(text: str, results: dict) -> tuple[str, list[str]]:
    """``text`` with every marker filled; and the markers that name a missing number."""
    missing: list[str] = []

    def replace(match: re.Match) -> str:
        stem, metric, written = match.groups()
        value, problem = _lookup(results, stem, metric)
        if problem:
            missing.append(problem)
            return match.group(0)
        return f"<!--r {stem}.{metric}-->{format_like(value, written)}<!--/r-->"

    return MARKER.sub(replace, text), missing


def check_text(text: str, results: dict) -> list[str]:
    """Every marker of ``text`` that disagrees with ``results`` or names a missing number."""
    problems = []
    for match in MARKER.finditer(text):
        stem, metric, written = match.groups()
        value, problem = _lookup(results, stem, metric)
        if problem:
            problems.append(problem)
        elif format_like(value, written) != written:
            problems.append(f"{stem}.{metric} is written {written!r} but {RESULTS.name} "
                            f"has {value} ({format_like(value, written)!r})")
    return problems


def _markdown_sources(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return [path.read_text()] if path.exists() else []


def check_file(path: Path, results: dict) -> list[str]:
    """The marker problems of one file, as ``file: problem`` lines."""
    return [f"{path.name}: {p}" for src in _markdown_sources(path)
            for p in check_text(src, results)]


def fill_file(path: Path, results: dict) -> tuple[bool, list[str]]:
    """Fill one file's markers in place; return whether it changed and what is missing."""
    missing: list[str] = []
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            new, lost = fill_text(cell.source, results)
            missing += lost
            if new != cell.source:
                cell.source, changed = new, True
        if changed:
            nbformat.write(nb, path)
        return changed, missing
    text = path.read_text()
    new, missing = fill_text(text, results)
    if new != text:
        path.write_text(new)
    return new != text, missing


def _seconds(value) -> str:
    return "—" if value is None else f"{value:.0f} s"


def timing_table(timings: dict) -> str:
    """The kit's per-lesson timing table (markdown) from ``timings.json``."""
    lines = ["| lesson | full mode: wall | full mode: kernel CPU | load (1 min) before → after"
             " | fast mode: wall | fast mode: kernel CPU | measured |",
             "|---|---|---|---|---|---|---|"]
    lessons = [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))]
    for stem in lessons:
        full = timings.get(stem, {}).get("full", {})
        fast = timings.get(stem, {}).get("fast", {})
        load = (f"{full['load_before'][0]:.1f} → {full['load_after'][0]:.1f}"
                if full.get("load_before") else "—")
        dates = sorted({t["date"] for t in (full, fast) if t.get("date")})
        lines.append(f"| [{stem}]({stem}.ipynb) | {_seconds(full.get('wall_s'))} | "
                     f"{_seconds(full.get('cpu_s'))} | {load} | {_seconds(fast.get('wall_s'))}"
                     f" | {_seconds(fast.get('cpu_s'))} | {', '.join(dates) or 'not yet'} |")
    return "\n".join(lines) + "\n"


def results_table(results: dict) -> str:
    """Every lesson's recorded headline numbers (markdown), in lesson order."""
    lines = ["| lesson | headline numbers (full mode, as `lessons.report` recorded them) |",
             "|---|---|"]
    for stem in [p.stem for p in sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb"))]:
        numbers = results.get(stem)
        shown = ", ".join(f"{k} {v}" for k, v in numbers.items()) if numbers else "not yet run"
        lines.append(f"| [{stem}]({stem}.ipynb) | {shown} |")
    return "\n".join(lines) + "\n"


def render_timings(text: str, timings: dict) -> str:
    """``text`` with its timing block (if any) replaced by the rendered table."""
    return TIMING_BLOCK.sub(lambda m: m.group(1) + timing_table(timings) + m.group(2), text)


def render_tables(text: str, results: dict, timings: dict) -> str:
    """``text`` with its timing and results blocks (if any) rendered."""
    text = render_timings(text, timings)
    return RESULTS_BLOCK.sub(lambda m: m.group(1) + results_table(results) + m.group(2), text)


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path,
                        help="only these files (default: the lessons, the kit, the README)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a marker or the timing table is stale")
    args = parser.parse_args(argv)
    results, timings = _read_json(RESULTS), _read_json(TIMINGS)
    files = [f.resolve() for f in args.files] or prose_files()
    status = 0
    for path in files:
        if args.check:
            problems = check_file(path, results)
            if path == KIT and path.exists():
                text = path.read_text()
                if render_tables(text, results, timings) != text:
                    problems.append(f"{path.name}: its tables are not those of {TIMINGS.name} "
                                    f"and {RESULTS.name}")
            for line in problems:
                print(line)
            status |= bool(problems)
            continue
        changed, missing = fill_file(path, results)
        if path == KIT and path.exists():
            text = path.read_text()
            if render_tables(text, results, timings) != text:
                path.write_text(render_tables(text, results, timings))
                changed = True
        for line in missing:
            print(f"{path.name}: {line}")
        status |= bool(missing)
        if changed:
            print(f"updated {path.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
