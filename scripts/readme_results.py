"""Fill the README's result blocks from the benchmarks' results files.

Every number the README quotes lives between ``<!-- results:NAME -->`` and
``<!-- /results:NAME -->`` and is rendered here from ``benchmarks/results/NAME.json``, so the
README never holds a number typed by hand. ``--check`` only compares (exit 1 on a difference);
``tests/test_packaging.py`` runs it.

    python scripts/readme_results.py          # rewrite the blocks
    python scripts/readme_results.py --check  # fail if a block is out of date
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT / "benchmarks"))
from common import mean_sd, task_label  # noqa: E402  (benchmarks/common.py: the reports' own format)


def quickstart(results: dict) -> str:
    qs = results["quickstart"]
    seeds = ", ".join(map(str, results["seeds"]))
    return (f"Seeds {seeds} give **{mean_sd(qs)} %** fully sharp on the test digits "
            "(mean ± sd; `benchmarks/results/defaults.md`).")


def defaults(results: dict) -> str:
    lines = ["| network, as built | plain `SimpleSharpener` | epochs | float (never sharpened) "
             "| Whetstone, fully sharp |", "|---|---|---|---|---|"]
    for row in results["rows"]:
        sched = ", ".join(f"{k}={v}" for k, v in row["sharpener"].items()) or "its defaults"
        lines.append(f"| {row['setting']} | {sched} | {row['epochs']} | {mean_sd(row['float'])} % "
                     f"| {mean_sd(row['whetstone'])} % |")
    return "\n".join(lines)


def retention(results: dict) -> str:
    lines = ["| task | float | Whetstone, fully sharp | naive conversion | gap | goal |",
             "|---|---|---|---|---|---|"]
    tasks: dict[str, list[dict]] = {}
    for row in results["rows"]:
        tasks.setdefault(task_label(row), []).append(row)
    goals = results["goals"]
    for label, rows in tasks.items():
        a, b, c = (np.array([r[k] for r in rows]) for k in ("float", "whetstone", "naive"))
        goal = goals[rows[0]["task"]]
        bound = goal["bound"]
        own = not rows[0]["comparison"]  # marked by benchmarks/retention.py
        if rows[0]["metric"] == "mse":
            cells = [f"{a.mean():.4f}", f"{b.mean():.4f}", f"{c.mean():.3f}",
                     f"{(b / a).mean():.2f} ×", f"≤ {bound:g} ×"]
        else:
            cells = [f"{mean_sd(a)} %", f"{mean_sd(b)} %", f"{mean_sd(c)} %",
                     f"{100 * (a - b).mean():.1f} pt",
                     f"≤ {100 * bound:g} pt" if own else "— (comparison)"]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _interop_cell(row: dict | None) -> str:
    if row is None:
        return "not run"
    if not row["imported"] or not row["ran"]:
        error = row.get("error", "")
        if "Unknown node type" in error:
            return "refused (`Threshold`)"
        if error.startswith("KeyError"):
            return "fails (`KeyError`)"
        return "import fails"
    steps = row.get("layer_agreement_all_steps") or {}
    if not steps or any(v is None for v in steps.values()):
        return f"drops `Threshold`; classes {100 * row['class_agreement']:.1f}"
    return f"{100 * min(steps.values()):.1f} · {100 * row['class_agreement']:.1f}"


def interop(results: dict) -> str:
    toolchains = {"snntorch": "snnTorch", "norse": "Norse", "spyx": "Spyx"}
    versions = results.get("versions", {})
    header = " | ".join(f"{name} {versions.get(tc, '')}".strip()
                        for tc, name in toolchains.items())
    lines = [f"| `neuron=` | network | {header} |", "|---|---|---|---|---|"]
    rows = {(r["toolchain"], r["flavour"], r["network"]): r for r in results["rows"]}
    for flavour in ("lif", "cuba_lif", "li_threshold", "threshold"):
        label = f'`"{flavour}"`' + (" (default)" if flavour == "lif" else "")
        for network in ("dense", "conv"):
            cells = [_interop_cell(rows.get((tc, flavour, network))) for tc in toolchains]
            lines.append(f"| {label} | {network} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def backends(results: dict) -> str:
    """Median fit time per backend and its ratio to TensorFlow's, per network."""
    names = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
    runs = results["results"]
    present = [b for b in names if any(b in per for per in runs.values())]
    lines = ["| network | epochs | " + " | ".join(names[b] for b in present) + " |",
             "|---|---|" + "---|" * len(present)]
    for network, per in runs.items():
        tf = float(np.median([r["fit_seconds"] for r in per["tensorflow"]]))
        cells = []
        for b in present:
            if b not in per:
                cells.append("—")
                continue
            t = float(np.median([r["fit_seconds"] for r in per[b]]))
            cells.append(f"{t:.1f} s" + ("" if b == "tensorflow" else f" ({t / tf:.2f}×)"))
        epochs = per["tensorflow"][0]["epochs"]
        lines.append(f"| {network} | {epochs} | " + " | ".join(cells) + " |")
    load = ", ".join(f"{v:.1f}" for v in results["load_before"])
    lines.append("")
    lines.append(f"Median of {results['repeats']} interleaved runs per cell; load average "
                 f"(1, 5, 15 min) {load} before the runs.")
    return "\n".join(lines)


#: block name → (results file stem, renderer)
BLOCKS = {
    "quickstart": ("defaults", quickstart),
    "defaults": ("defaults", defaults),
    "retention": ("retention", retention),
    "interop": ("interop", interop),
    "backends": ("backends", backends),
}


def render(text: str) -> str:
    """``text`` with every known block re-rendered from its results file."""
    for name, (stem, fn) in BLOCKS.items():
        pattern = re.compile(rf"(<!-- results:{name} -->\n).*?(<!-- /results:{name} -->)",
                             re.S)
        if not pattern.search(text):
            continue
        path = RESULTS / f"{stem}.json"
        body = fn(json.loads(path.read_text()))
        text = pattern.sub(lambda m, body=body: m.group(1) + body + "\n" + m.group(2), text)
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 if stale")
    args = parser.parse_args(argv)
    old = README.read_text()
    new = render(old)
    if args.check:
        if new != old:
            print("README.md result blocks are out of date: run "
                  "`python scripts/readme_results.py`.", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
