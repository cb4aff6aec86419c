"""What every benchmark shares: the preamble, the machine it ran on, how a mean ± sd reads, how
a task row is named, the report rendered from a template, and a worker run on another Keras
backend.

Importing this module is the preamble: it sets the environment defaults (TensorFlow's C++ log
quiet, matplotlib's non-interactive backend) and puts the repository first on ``sys.path``, so
``whetstone_lab`` is the repository's own. A benchmark imports it first among its third-party
imports (``import common`` sorts before ``keras``, ``numpy`` and ``tensorflow``)::

    import common  # noqa: F401  (the shared preamble, before Keras)
    import keras
    from common import machine, render

A report is data first: the benchmark writes its ``results/<name>.json`` and renders the
Markdown from it with ``render("<name>", context)``, the prose living in
``benchmarks/templates/<name>.md`` (``string.Template``: ``$name`` or ``${name}``).
"""

from __future__ import annotations

import json
import os
import platform
import string
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
TEMPLATES = ROOT / "benchmarks" / "templates"

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def backend_env(backend: str, **more: str) -> dict[str, str]:
    """This process's environment for a child process on Keras backend ``backend`` (on CPU)."""
    return dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
                JAX_PLATFORMS="cpu", **more)


def run_worker(argv: list[str], backend: str, what: str, **env: str) -> dict:
    """Run ``argv`` in a fresh process on ``backend``; return the JSON of its ``RESULT `` line
    (a worker prints ``"RESULT " + json.dumps(...)``), or raise with its stderr's end."""
    done = subprocess.run(argv, capture_output=True, text=True, env=backend_env(backend, **env),
                          cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{what} on {backend} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def machine() -> str:
    """CPU model, visible cores, and the versions that decide the numbers."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import keras
    import numpy as np
    import sklearn
    import tensorflow as tf

    return (f"{cpu}, {os.cpu_count()} cores visible; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}, "
            f"scikit-learn {sklearn.__version__}, {platform.system()} {platform.release()}")


def mean_sd(values, scale: float = 100.0, digits: int = 1) -> str:
    """``"mean ± sd"`` of ``values × scale`` (population sd), or just the value for one.

    Example:
        >>> mean_sd([0.969, 0.975, 0.962])
        '96.9 ± 0.5'
    """
    import numpy as np

    v = scale * np.asarray(values, dtype=float)
    spread = f" ± {v.std():.{digits}f}" if len(v) > 1 else ""
    return f"{v.mean():.{digits}f}{spread}"


def reflow(text: str, width: int = 92) -> str:
    """Markdown ``text`` with each paragraph and each ``* `` bullet re-wrapped to ``width``
    columns (headings and table rows kept as they are), so text with numbers filled in reads
    as evenly as typed text."""
    import textwrap

    blocks, out = [], []
    for line in text.splitlines():
        if not line.strip() or line.startswith(("#", "|")):
            blocks.append(line)
        elif line.startswith("* ") or not blocks or not blocks[-1].strip() \
                or blocks[-1].startswith(("#", "|")):
            blocks.append(line)
        else:
            blocks[-1] += " " + line.strip()
    for block in blocks:
        if not block.strip() or block.startswith(("#", "|")):
            out.append(block)
        else:
            indent = "  " if block.startswith("* ") else ""
            out.append(textwrap.fill(block, width, subsequent_indent=indent,
                                     break_on_hyphens=False))
    return "\n".join(out) + ("\n" if text.endswith("\n") else "")


def task_label(row: dict) -> str:
    """A results row's task name, with its decoder temperature when the task has a decoder:
    ``"digits dense (T = 20)"``."""
    t = row.get("temperature")
    return row["task"] if t is None else f"{row['task']} (T = {t:g})"


def render(template_name: str, context: dict) -> str:
    """The text of ``benchmarks/templates/<template_name>.md`` with every ``$name`` (or
    ``${name}``) replaced by ``str(context[name])``; a name missing from ``context`` raises
    ``KeyError`` (``$$`` is a literal dollar sign). The context holds text: numbers formatted
    and tables built by the benchmark, from its results file only, so the report can be
    rendered again from that file alone.
    """
    path = TEMPLATES / f"{template_name}.md"
    return string.Template(path.read_text(encoding="utf-8")).substitute(context)


def write_report(path: Path, markdown, results: dict | None = None, indent: int = 1) -> str:
    """Write ``results`` (when given) to the results file ``path`` as JSON, then render the
    report from that file alone with ``markdown`` and write it beside it (``.md``); return
    the report. With ``results`` None (a benchmark's ``--report``) only the report is
    rendered again."""
    if results is not None:
        path.write_text(json.dumps(results, indent=indent) + "\n")
    text = markdown(json.loads(path.read_text()))
    path.with_suffix(".md").write_text(text)
    return text

# ----------------------------------------------------------------------------------------
# The benchmarks and their expected times (`make benchmarks`)
# ----------------------------------------------------------------------------------------
#: The time ``make benchmarks`` spends at most: it runs, shortest first, the benchmarks whose
#: expected times add up to no more than this; the others run by name.
BUDGET_SECONDS = 30 * 60


def _results(name: str):
    """``results/<name>.json`` (or the lines of ``<name>.jsonl``), None if there is none."""
    path = RESULTS / f"{name}.json"
    if path.exists():
        return json.loads(path.read_text())
    lines = RESULTS / f"{name}.jsonl"
    if lines.exists():
        return [json.loads(x) for x in lines.read_text().splitlines() if x.strip()]
    return None


def _fit_seconds(r: dict) -> float:
    return sum(x["fit_seconds"] for runs in r["results"].values() for xs in runs.values()
               for x in xs)


def _paper_seconds(r: dict) -> float:
    return sum(x["epochs"] * sum(x["seconds_per_epoch"].values()) for x in r["rows"])


def _ae_seconds(r: dict) -> float:
    return sum(sum(v) for part in ("search", "sweep", "final") for x in r[part]
               for v in x["seconds"].values())


#: Every benchmark: (its arguments for a full run, or the make target that runs it; what its
#: expected time covers; the time in seconds, read from its own results file). Each time is
#: what the last full run took on the machine and at the load its report names.
BENCHMARKS = {
    "widget_latency": ([], "the run", lambda r: r["runs"][-1]["info"].get("seconds")),
    "towers": ([], "its fits (simulation not counted)",
               lambda r: sum(x["seconds"] for x in r["rows"])),
    "spiking_inference": ([], "the run", lambda r: r["seconds"]),
    "sharpening_overhead": ([], "the run", lambda r: r.get("seconds")),
    "defaults": ([], "the run", lambda r: r["seconds"]),
    "backends": ([], "its fits (process start-ups not counted; torch only if installed)",
                 _fit_seconds),
    "interop": ("make interop", "the run (installing its two environments not counted)",
                lambda r: r.get("wall_seconds")),
    "classifier_variants": ([], "every variant's line in its results, one after another",
                            lambda r: sum(x["s"] for x in r)),
    "autoencoder": (["all"], "its search, sweep and final runs, one after another",
                    _ae_seconds),
    "retention": ([], "its merged parts, one after another (they ran side by side)",
                  lambda r: sum(r.get("part_seconds", [r["total_seconds"]]))),
    "paper_scale": ("make paper", "the training of the rows in its results so far",
                    _paper_seconds),
    "segmentation": (["--final", "wide_ft30"], "the chosen setting's test fits (3 seeds), "
                     "one after another (they ran side by side)",
                     lambda r: sum(x["seconds_float"] + x["seconds_whetstone"]
                                   for x in r["rows"] if x["setting"] == "wide_ft30"
                                   and x["split"] == "test")),
}


def expected_seconds(name: str) -> float | None:
    """The expected time of benchmark ``name`` from its results file, None if unknown."""
    results = _results(name)
    try:
        return None if results is None else BENCHMARKS[name][2](results)
    except (KeyError, TypeError):
        return None


def within_budget() -> list[str]:
    """The benchmarks ``make benchmarks`` runs: run by this Python (not by a make target
    of their own), shortest first, as many as fit together in ``BUDGET_SECONDS``."""
    known = sorted((s, n) for n in BENCHMARKS if isinstance(BENCHMARKS[n][0], list)
                    and (s := expected_seconds(n)) is not None)
    chosen, total = [], 0.0
    for seconds, name in known:
        if total + seconds <= BUDGET_SECONDS:
            chosen.append(name)
            total += seconds
    return chosen


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _command(name: str) -> str:
    how = BENCHMARKS[name][0]
    return how if isinstance(how, str) else f"make benchmark NAME={name}"


def catalogue() -> str:
    """The table ``make benchmarks`` prints: every benchmark, its expected time, what the
    time covers, and whether ``make benchmarks`` runs it or how to run it."""
    runs = within_budget()
    lines = [f"{'benchmark':20s} {'expected':>9s}  {'how it runs':38s} the time covers"]
    for name, (_, covers, _) in BENCHMARKS.items():
        where = "in make benchmarks" if name in runs else _command(name)
        lines.append(f"{name:20s} {_duration(expected_seconds(name)):>9s}  {where:38s} {covers}")
    total = sum(expected_seconds(n) for n in runs)
    lines += ["", f"make benchmarks runs {len(runs)} of them (about {_duration(total)} "
              f"together, a budget of {BUDGET_SECONDS // 60} min); run any one by name with "
              "`make benchmark NAME=<benchmark>` or `python benchmarks/<benchmark>.py` (its "
              "docstring gives its options). Times are those of each one's last full run, "
              "read from benchmarks/results/, on the machine and at the load its report names."]
    return "\n".join(lines)


def _main(argv: list[str]) -> None:
    """``list``: the catalogue; ``fits``: the names ``make benchmarks`` runs; ``run NAME``:
    one benchmark with its arguments for a full run (or the make target that runs it)."""
    if argv[:1] == ["list"]:
        print(catalogue())
    elif argv[:1] == ["fits"]:
        print("\n".join(within_budget()))
    elif argv[:1] == ["run"] and len(argv) == 2 and argv[1] in BENCHMARKS:
        how = BENCHMARKS[argv[1]][0]
        if isinstance(how, str):
            raise SystemExit(f"{argv[1]} runs with `{how}` (it needs more than this Python)")
        script = str(ROOT / "benchmarks" / f"{argv[1]}.py")
        os.execv(sys.executable, [sys.executable, script, *how])
    else:
        raise SystemExit("usage: python benchmarks/common.py list | fits | run NAME "
                         f"(NAME: {', '.join(BENCHMARKS)})")


if __name__ == "__main__":
    _main(sys.argv[1:])
