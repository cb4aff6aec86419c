"""Run the lesson notebooks end to end and store their outputs (``make notebooks``).

Usage:
    python scripts/execute_notebooks.py              # every notebooks/NN_*.ipynb, full mode
    python scripts/execute_notebooks.py 00 01b      # only these lessons (number or prefix)
    python scripts/execute_notebooks.py --fast --check-only   # time fast mode, write nothing
    python scripts/execute_notebooks.py 01 --output-dir /tmp/out   # keep the originals

Each notebook runs in a fresh ``python3`` kernel of the interpreter that runs this script
(the project's virtualenv), with the notebook folder as working directory, ``WHETSTONE_FAST``
unset (unless ``--fast``) and TensorFlow's C++ logging off. The stored outputs must be clean:
no error, no stderr, no warning, no machine path, no progress-bar debris. A notebook whose
outputs are not clean is reported and left unwritten, and the script exits with status 1.

Two files record what the runs measured:

* ``notebooks/results.json``: each lesson's headline numbers, ``{"<stem>": {"<metric>":
  value}}``. The kernel runs with ``WHETSTONE_RESULTS`` (``whetstone_lab.lessons.RESULTS_ENV``)
  naming a scratch file that ``lessons.report`` fills; a full-mode run whose outputs were
  clean and written in place replaces that lesson's entry with it. Fast-mode numbers are
  never recorded.
* ``notebooks/timings.json``: per lesson and mode (``"full"``, ``"fast"``), the wall time, the
  kernel's CPU time and the load average (``os.getloadavg()``) before and after the run, for
  every run that finished cleanly without ``--output-dir`` (``--check-only`` included: the
  timing is a measurement, not an output). ``scripts/lesson_numbers.py`` renders the
  workshop kit's timing table from it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULTS = NOTEBOOKS / "results.json"
TIMINGS = NOTEBOOKS / "timings.json"
#: The environment variable ``whetstone_lab.lessons.report`` reads (``lessons.RESULTS_ENV``;
#: not imported, so that this script does not load TensorFlow).
RESULTS_ENV = "WHETSTONE_RESULTS"
#: ``whetstone_lab.plots.audit.AUDIT_ENV``, and the kernel start-up file that installs it.
AUDIT_ENV = "WHETSTONE_AUDIT_FIGURES"
AUDIT_STARTUP = (
    "import os\n"
    f"if os.environ.get({AUDIT_ENV!r}):\n"
    "    from whetstone_lab.plots.audit import install\n"
    "    install()\n"
)

#: What must never appear in a stored text output, with the reason shown on failure.
FORBIDDEN = [
    (re.compile(r"(/work/|/root/|/home/|/tmp/|/Users/|[A-Z]:\\\\)"), "a machine path"),
    (re.compile(r"\b\w*Warning\b|warnings\.warn"), "a warning"),
    (re.compile(r"\r(?!\n)"), "a carriage return (progress-bar debris)"),
    (re.compile(r"[━█▏▎▍▌▋▊▉]|\bETA\b|\d+/\d+ \[=*>?\.*\]"), "progress-bar debris"),
    (re.compile(r"Traceback \(most recent call last\)"), "a traceback"),
]


def find_notebooks(selectors: list[str]) -> list[Path]:
    """Lesson notebooks in order; ``selectors`` are lesson numbers (``"01"``, ``"01b"``),
    name prefixes (``"02_dense"``) or paths."""
    lessons = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))
    if not selectors:
        return lessons
    chosen: list[Path] = []
    for sel in selectors:
        path = Path(sel)
        if path.suffix == ".ipynb" and path.exists():
            chosen.append(path.resolve())
            continue
        name = Path(sel).name
        matches = [nb for nb in lessons if nb.stem.split("_")[0] == name
                   or ("_" in name and nb.name.startswith(name))]
        if not matches:
            names = ", ".join(nb.name for nb in lessons) or "none"
            raise SystemExit(f"no lesson notebook matches {sel!r}; the lessons are: {names}")
        chosen.extend(matches)
    return list(dict.fromkeys(chosen))


def output_problems(nb: nbformat.NotebookNode) -> list[str]:
    """Every reason the notebook's outputs may not be stored, as ``cell N: reason`` lines."""
    problems = []
    state = (nb.metadata.get("widgets") or {}).get("application/vnd.jupyter.widget-state+json")
    if (state or {}).get("state"):  # a static renderer would show a blank dashboard from it
        problems.append("notebook: saved widget state in its metadata")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "error":
                problems.append(f"cell {index}: error {out.get('ename')}: {out.get('evalue')}")
                continue
            if kind == "stream" and out.get("name") == "stderr":
                text = "".join(out.get("text", ""))
                # a warning: its message, not the path of the file that raised it
                text = re.sub(r"^\S+:\d+: (\w+Warning: )", r"\1", text)
                problems.append(f"cell {index}: stderr output {text[:600]!r}")
                continue
            texts = [out.get("text", "")] if kind == "stream" else [
                value for mime, value in out.get("data", {}).items()
                if mime.startswith("text/") or mime == "application/json"
            ]
            for text in texts:
                text = "".join(text) if isinstance(text, list) else str(text)
                for pattern, reason in FORBIDDEN:
                    found = pattern.search(text)
                    if found:
                        start = max(found.start() - 40, 0)
                        problems.append(f"cell {index}: {reason}: {text[start:found.end() + 40]!r}")
    return problems


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() and path.read_text().strip() else {}


def _write_json(path: Path, table: dict) -> None:
    path.write_text(json.dumps(table, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def merge_results(stem: str, numbers: dict, path: Path = RESULTS) -> None:
    """Replace lesson ``stem``'s entry of the results file with ``numbers``."""
    table = _read_json(path)
    table[stem] = dict(sorted(numbers.items()))
    _write_json(path, table)


def record_timing(stem: str, mode: str, timing: dict, path: Path = TIMINGS) -> None:
    """Store one run's timing (wall, CPU, load before/after) under ``stem`` and ``mode``."""
    table = _read_json(path)
    table.setdefault(stem, {})[mode] = timing
    _write_json(path, table)


def execute(path: Path, *, fast: bool, timeout: int, results_file: Path | None = None
            ) -> tuple[nbformat.NotebookNode, float, float]:
    """Run one notebook in a fresh kernel; return it with outputs, wall and kernel CPU time.

    The CPU time (user + system of the finished kernel process) is what a quiet machine
    would need at most in wall time with one core; on a busy machine wall time overstates.
    ``results_file``, when given, is where the kernel's ``lessons.report`` calls record.
    """
    nb = nbformat.read(path, as_version=4)
    env_before = os.environ.copy()
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ.pop("MPLBACKEND", None)  # the kernel's inline backend draws the figures
    os.environ.pop(RESULTS_ENV, None)
    if results_file is not None:
        os.environ[RESULTS_ENV] = str(results_file)
    if fast:
        os.environ["WHETSTONE_FAST"] = "1"
    else:
        os.environ.pop("WHETSTONE_FAST", None)
    # Every figure the lesson displays is checked (whetstone_lab.plots.audit): one that does
    # not say what it shows warns, and a warning keeps the lesson from being stored.
    profile = tempfile.TemporaryDirectory(prefix="ipython-")
    startup = Path(profile.name) / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-audit-figures.py").write_text(AUDIT_STARTUP)
    os.environ["IPYTHONDIR"] = profile.name
    os.environ[AUDIT_ENV] = "1"
    try:
        client = NotebookClient(
            nb, timeout=timeout, kernel_name="python3", record_timing=False,
            # no widget state: renderers without a kernel show each dashboard's PNG instead
            store_widget_state=False, resources={"metadata": {"path": str(path.parent)}},
            # fast mode runs what CI runs: nbval skips the cells tagged nbval-skip
            **({"skip_cells_with_tag": "nbval-skip"} if fast else {}),
        )
        start, cpu = time.perf_counter(), _children_cpu()
        client.execute()
        nb.metadata.pop("widgets", None)
        return nb, time.perf_counter() - start, _children_cpu() - cpu
    finally:
        os.environ.clear()
        os.environ.update(env_before)
        profile.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", help="name prefixes (e.g. 00 03) or paths")
    parser.add_argument("--fast", action="store_true", help="run in fast mode (as CI does)")
    parser.add_argument("--check-only", action="store_true",
                        help="run and check, but do not write the outputs")
    parser.add_argument("--output-dir", type=Path, default=None,
                        help="write the executed notebooks here instead of in place")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell")
    args = parser.parse_args(argv)

    failed = False
    timings = []
    mode = "fast" if args.fast else "full"
    in_place = args.output_dir is None
    scratch = Path(tempfile.mkdtemp(prefix="whetstone-results-"))
    for path in find_notebooks(args.notebooks):
        name = path.name
        results_file = scratch / f"{path.stem}.json"
        print(f"running {name} ({mode} mode) ...", flush=True)
        load_before = os.getloadavg()
        try:
            nb, seconds, cpu = execute(path, fast=args.fast, timeout=args.timeout,
                                       results_file=results_file)
        except CellExecutionError as err:
            text = str(err)  # the failing cell's source comes first, the traceback's end last
            shown = text if len(text) <= 3000 else f"{text[:1000]}\n...\n{text[-2000:]}"
            print(f"FAILED {name}: a cell raised\n{shown}", flush=True)
            failed = True
            timings.append((name, None, None))
            continue
        load_after = os.getloadavg()
        problems = output_problems(nb)
        timings.append((name, seconds, cpu))
        if problems:
            failed = True
            print(f"NOT WRITTEN {name}: its outputs are not clean:", flush=True)
            for line in problems:
                print("   ", line)
        else:
            if not args.check_only:
                target = path if in_place else args.output_dir / name
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target)
                numbers = _read_json(results_file).get(path.stem)
                if in_place and not args.fast and numbers:
                    merge_results(path.stem, numbers)
                    print(f"{name}: {len(numbers)} numbers recorded in {RESULTS.name}")
            if in_place:
                record_timing(path.stem, mode, {
                    "wall_s": round(seconds, 1), "cpu_s": round(cpu, 1),
                    "load_before": [round(v, 2) for v in load_before],
                    "load_after": [round(v, 2) for v in load_after],
                    "date": time.strftime("%Y-%m-%d"),
                })
        print(f"{name}: {seconds:.1f} s wall, {cpu:.1f} s kernel CPU, load "
              f"{load_before[0]:.1f} -> {load_after[0]:.1f}", flush=True)

    shutil.rmtree(scratch, ignore_errors=True)
    print(f"\n{'notebook':55s} {'wall':>8s} {'CPU':>8s}")
    for name, seconds, cpu in timings:
        if seconds is None:
            print(f"{name:55s} {'failed':>8s}")
        else:
            print(f"{name:55s} {seconds:7.1f}s {cpu:7.1f}s")
    done = [t for t in timings if t[1] is not None]
    print(f"{'total':55s} {sum(t[1] for t in done):7.1f}s {sum(t[2] for t in done):7.1f}s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
