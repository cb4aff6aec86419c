"""Fill the prose's result markers from the results files; render the kit's tables.

Usage:
    python scripts/lesson_numbers.py            # fill every marker, render the kit's tables
    python scripts/lesson_numbers.py --check    # change nothing; exit 1 if anything is stale
    python scripts/lesson_numbers.py notebooks/05_spiking_autoencoder.ipynb   # only these

A number in markdown prose (the lessons' markdown cells, ``notebooks/README.md``,
``README.md``) that comes from a results file is written between markers (GitHub and
Jupyter hide the comments). There are two kinds.

**A lesson's number** names ``<notebook stem>.<metric>`` of ``notebooks/results.json``,
which ``make notebooks`` writes (``lessons.report``)::

    <!--r 02_dense_classifier.sharp_accuracy-->0.969<!--/r-->

The value keeps the precision it is written with: ``0.969`` has three decimals, so 0.96944
is written ``0.969``; ``25`` is an integer; ``96.9%`` is a percentage with one decimal. An
empty marker gets the recorded value as it is.

**A benchmark's number** names a results file ``benchmarks/results/<stem>.json`` and a path
into it::

    <!--b retention.rows[task=digits dense][temperature=20].whetstone-->96.9 ± 0.5 %<!--/b-->
    <!--b defaults.rows[setting=conv, defaults].whetstone-->97.8 ± 0.5 %<!--/b-->
    <!--b autoencoder.final[setting=lesson].ratio_whetstone-->4.20 ± 0.15 ×<!--/b-->
    <!--b interop.versions.snntorch-->1.0.0<!--/b-->

The path starts with the file's stem; ``.key`` takes a key of an object (of every row, when
the rows are a list), ``[key=value]`` keeps the rows of a list whose ``key`` equals
``value`` (numbers compare as numbers: ``[temperature=20]`` matches 20.0). Several rows, or
one row's list, are the seeds' values; one number is one value; a string is written as it
is. Numbers are rendered as the benchmarks' own tables render them, with ``mean_sd`` of
``benchmarks/common.py`` (mean and population sd over the values), in the form they are
written with: ``96.9 ± 0.5 %`` is mean ± sd with one decimal; ``99.9 %`` the mean alone;
the unit after the number decides the scale: ``%``, ``points`` or ``pt`` multiply the
stored fraction by 100, ``×`` or none keep it. An empty marker gets the value as it is (a
list: its mean ± sd at four decimals).

A marker whose file, key or row does not exist is reported; ``--check`` reports every
marker whose written text differs from its rendering, and exits 1.

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
BENCHMARK_RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import mean_sd  # noqa: E402  (benchmarks/common.py: the reports' own format)

MARKER = re.compile(r"<!--r ([\w-]+)\.(\w+)-->(.*?)<!--/r-->")
BENCHMARK_MARKER = re.compile(r"<!--b (.+?)-->(.*?)<!--/b-->")
_ADDRESS = re.compile(r"([\w-]+)((?:\.[^.\[\]]+|\[[^=\]]+=[^\]]*\])*)")
_STEP = re.compile(r"\.([^.\[\]]+)|\[([^=\]]+)=([^\]]*)\]")
#: mean, sd (optional), space, unit (optional): "96.9 ± 0.5 %", "99.9 %", "4.20 ± 0.15 ×"
_FORM = re.compile(r"(-?\d+)(?:\.(\d+))?( ± \d+(?:\.\d+)?)?(\s*)(%|points|pt|×)?")
#: units whose number is the stored fraction × 100
_PERCENT_UNITS = {"%", "points", "pt"}
TIMING_BLOCK = re.compile(r"(<!--timings-->\n).*?(<!--/timings-->)", re.S)
RESULTS_BLOCK = re.compile(r"(<!--results-->\n).*?(<!--/results-->)", re.S)
_NUMBER = re.compile(r"^(-?\d+)(?:\.(\d+))?(%?)$")


def prose_files() -> list[Path]:
    """Every file whose prose may hold markers: the lessons, the kit, the README and
    docs/paper.md (whose ingredient is whose, with its measured effect)."""
    return [*sorted(NOTEBOOKS.glob("[0-9][0-9]*.ipynb")), KIT, ROOT / "README.md",
            ROOT / "docs" / "paper.md"]


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


class BenchmarkResults(dict):
    """The benchmarks' results files by stem (``retention`` → ``retention.json``), each
    read when a marker first names it."""

    def __init__(self, folder: Path = BENCHMARK_RESULTS):
        super().__init__()
        self.folder = folder

    def __missing__(self, stem: str):
        path = self.folder / f"{stem}.json"
        if not path.is_file():
            raise KeyError(stem)
        self[stem] = json.loads(path.read_text())
        return self[stem]

    def stems(self) -> list[str]:
        return sorted(p.stem for p in self.folder.glob("*.json"))


def _same(value, wanted: str) -> bool:
    """Whether a row's ``value`` is the ``wanted`` text of a ``[key=wanted]`` step."""
    if isinstance(value, bool):
        return wanted.lower() == str(value).lower()
    if isinstance(value, (int, float)):
        try:
            return float(wanted) == value
        except ValueError:
            return False
    return str(value) == wanted


def _is_rows(node) -> bool:
    return isinstance(node, list) and bool(node) and all(isinstance(r, dict) for r in node)


def benchmark_value(address: str, benchmarks) -> tuple[object, str | None]:
    """The value a benchmark marker's ``address`` names (a string, a number or a list of
    numbers), or ``None`` and what is wrong with the address."""
    parsed = _ADDRESS.fullmatch(address)
    if parsed is None:
        return None, (f"{address!r} is not <results file>.key[key=value]...: e.g. "
                      "retention.rows[task=digits dense].whetstone")
    stem, path = parsed.groups()
    try:
        node = benchmarks[stem]
    except KeyError:
        stems = benchmarks.stems() if hasattr(benchmarks, "stems") else sorted(benchmarks)
        return None, f"no results file {stem}.json (there are {', '.join(stems) or 'none'})"
    where = f"{stem}.json"
    for key, row_key, wanted in (m.groups() for m in _STEP.finditer(path)):
        if row_key is not None:
            if not _is_rows(node):
                return None, f"{where} is not a list of rows to pick [{row_key}=...] from"
            kept = [r for r in node if row_key in r and _same(r[row_key], wanted)]
            if not kept:
                there = sorted({str(r[row_key]) for r in node if row_key in r})
                return None, (f"{where} has no row with {row_key}={wanted!r} (its "
                              f"{row_key}s: {'; '.join(there) or 'none'})")
            node, where = kept, f"{where}[{row_key}={wanted}]"
        elif isinstance(node, dict):
            if key not in node:
                return None, f"{where} has no {key!r} (it has {', '.join(node) or 'nothing'})"
            node, where = node[key], f"{where}.{key}"
        elif _is_rows(node):
            lacking = sum(key not in r for r in node)
            if lacking == len(node):
                return None, (f"the rows of {where} have no {key!r} (they have "
                              f"{', '.join(dict.fromkeys(k for r in node for k in r))})")
            if lacking:
                return None, f"{lacking} of the {len(node)} rows of {where} have no {key!r}"
            node = node[0][key] if len(node) == 1 else [r[key] for r in node]
            where = f"{where}.{key}"
        else:
            return None, f"{where} is {type(node).__name__}, not an object with {key!r}"
    if isinstance(node, str):
        return node, None
    numbers = node if isinstance(node, list) else [node]
    if not numbers or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                              for v in numbers):
        return None, f"{where} is not a number, a list of numbers or a string"
    return node, None


def format_benchmark(value, written: str) -> str:
    """``value`` (a benchmark's number, or the seeds' numbers) rendered as the benchmarks'
    tables do (``mean_sd``), in the form of ``written``.

    Example:
        >>> seeds = [0.975, 0.9638888888888889, 0.9666666666666667]
        >>> format_benchmark(seeds, "96.0 ± 1.0 %"), format_benchmark(seeds, "96.87 %")
        ('96.9 ± 0.5 %', '96.85 %')
        >>> format_benchmark([4.273, 4.003, 4.338], "4.2 ± 0.1 ×")
        '4.2 ± 0.1 ×'
        >>> format_benchmark(0.0732, "7 points"), format_benchmark("1.0.0", "0.9.1")
        ('7 points', '1.0.0')
    """
    if isinstance(value, str):
        return value
    values = value if isinstance(value, list) else [value]
    form = _FORM.fullmatch(written)
    if form is None:  # an empty marker (or one whose text is no number): the value as it is
        return str(value) if len(values) == 1 else mean_sd(values, 1.0, 4)
    _, decimals, spread, space, unit = form.groups()
    scale = 100.0 if unit in _PERCENT_UNITS else 1.0
    shown = mean_sd(values, scale, len(decimals or ""))
    if not spread:  # the mean alone, rounded as the tables round it
        shown = shown.split(" ± ")[0]
    return f"{shown}{space}{unit}" if unit else shown


def _benchmarks(benchmarks):
    return BenchmarkResults() if benchmarks is None else benchmarks


def _lesson_marker(match: re.Match, results: dict, benchmarks) -> tuple[str | None, str]:
    """A ``<!--r-->`` marker as it should be written (None: its number is missing), and what
    to report when it is not written so."""
    stem, metric, written = match.groups()
    value, problem = _lookup(results, stem, metric)
    if problem:
        return None, problem
    shown = format_like(value, written)
    return (f"<!--r {stem}.{metric}-->{shown}<!--/r-->",
            f"{stem}.{metric} is written {written!r} but {RESULTS.name} has {value} "
            f"({shown!r})")


def _benchmark_marker(match: re.Match, results: dict, benchmarks) -> tuple[str | None, str]:
    """A ``<!--b-->`` marker as it should be written, as :func:`_lesson_marker`."""
    address, written = match.groups()
    value, problem = benchmark_value(address, benchmarks)
    if problem:
        return None, f"<!--b {address}-->: {problem}"
    shown = format_benchmark(value, written)
    return (f"<!--b {address}-->{shown}<!--/b-->",
            f"{address} is written {written!r} but {_ADDRESS.fullmatch(address).group(1)}"
            f".json gives {shown!r}")


#: The two kinds of marker and how each is rendered.
_MARKERS = ((MARKER, _lesson_marker), (BENCHMARK_MARKER, _benchmark_marker))


def fill_text(text: str, results: dict, benchmarks=None) -> tuple[str, list[str]]:
    """``text`` with every marker filled; and the markers that name a missing number.

    ``benchmarks`` maps a results file's stem to its contents (by default the files of
    ``benchmarks/results/``)."""
    benchmarks = _benchmarks(benchmarks)
    missing: list[str] = []

    def replace(render):
        def sub(match: re.Match) -> str:
            filled, problem = render(match, results, benchmarks)
            if filled is None:
                missing.append(problem)
                return match.group(0)
            return filled
        return sub

    for pattern, render in _MARKERS:
        text = pattern.sub(replace(render), text)
    return text, missing


def check_text(text: str, results: dict, benchmarks=None) -> list[str]:
    """Every marker of ``text`` that disagrees with its results file or names a missing
    number (``benchmarks`` as for ``fill_text``)."""
    benchmarks = _benchmarks(benchmarks)
    problems = []
    for pattern, render in _MARKERS:
        for match in pattern.finditer(text):
            filled, problem = render(match, results, benchmarks)
            if filled != match.group(0):
                problems.append(problem)
    return problems


def _markdown_sources(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return [c.source for c in nb.cells if c.cell_type == "markdown"]
    return [path.read_text()] if path.exists() else []


def check_file(path: Path, results: dict, benchmarks=None) -> list[str]:
    """The marker problems of one file, as ``file: problem`` lines."""
    benchmarks = _benchmarks(benchmarks)
    return [f"{path.name}: {p}" for src in _markdown_sources(path)
            for p in check_text(src, results, benchmarks)]


def fill_file(path: Path, results: dict, benchmarks=None) -> tuple[bool, list[str]]:
    """Fill one file's markers in place; return whether it changed and what is missing."""
    benchmarks = _benchmarks(benchmarks)
    missing: list[str] = []
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        changed = False
        for cell in nb.cells:
            if cell.cell_type != "markdown":
                continue
            new, lost = fill_text(cell.source, results, benchmarks)
            missing += lost
            if new != cell.source:
                cell.source, changed = new, True
        if changed:
            nbformat.write(nb, path)
        return changed, missing
    text = path.read_text()
    new, missing = fill_text(text, results, benchmarks)
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
    benchmarks = BenchmarkResults()
    files = [f.resolve() for f in args.files] or prose_files()
    status = 0
    for path in files:
        if args.check:
            problems = check_file(path, results, benchmarks)
            if path == KIT and path.exists():
                text = path.read_text()
                if render_tables(text, results, timings) != text:
                    problems.append(f"{path.name}: its tables are not those of {TIMINGS.name} "
                                    f"and {RESULTS.name}")
            for line in problems:
                print(line)
            status |= bool(problems)
            continue
        changed, missing = fill_file(path, results, benchmarks)
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
