"""The lesson networks on every installed Keras backend: fit time, side by side, in one run.

Two networks, trained exactly as the lessons train them, with the same epochs everywhere:

* ``quickstart``: the README's dense network (``dense_classifier()``: three towers of
  64→256→64→100) with the ``digits_dense`` recipe (56 epochs), seed 0;
* ``conv``: lesson 03's final network (``conv_classifier`` with the builder's defaults) with
  the ``digits_conv`` recipe (30 epochs) on the whole training split, seed 0.

Each fit runs in a fresh Python process with ``KERAS_BACKEND`` set (TensorFlow, JAX, and
PyTorch when it can be imported, by this interpreter or by ``--torch-python``), so every
backend pays its own compilation. Runs are interleaved (repeat 1 of every network on every
backend, then repeat 2, ...), and the median fit time of each backend is divided by
TensorFlow's. The load average is stated before and after. Writes
``benchmarks/results/backends.json`` and renders ``backends.md`` from it.

    python benchmarks/backends.py [--repeats 3] [--torch-python .venv-torch/bin/python]
                                  [--epochs N: fewer epochs, to check that it runs]
    python benchmarks/backends.py --report   # the .md again from the .json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import common  # noqa: F401  (the shared preamble)
from common import RESULTS, ROOT, machine, render, run_worker, write_report

JSON = RESULTS / "backends.json"
NETWORKS = ("quickstart", "conv")
BACKENDS = ("tensorflow", "jax", "torch")


# ----------------------------------------------------------------------------------------
# One fit, in the worker process
# ----------------------------------------------------------------------------------------
def _fit(network: str, epochs: int | None = None) -> dict:
    """Train ``network`` as the lessons do (``epochs`` overrides the recipe's, for a smoke
    check); return the fit time and the fully sharp test score."""
    import keras

    import whetstone_lab as wl
    from whetstone_lab import recipes, training

    data = wl.data.load("digits")
    if network == "quickstart":
        keras.utils.set_random_seed(0)
        model = wl.models.dense_classifier()
        recipe = recipes.recipe("digits_dense", fast=False)
        args = (data.x_train, data.y_train)
        kwargs = {}
    else:  # lesson 03's final network (notebooks/03, the contract lesson 07 relies on)
        wl.lessons.deterministic(0)
        model = wl.models.conv_classifier(data.input_shape, data.num_classes, name="conv")
        recipe = recipes.recipe("digits_conv", fast=False)
        args = (data.x_train, data.y_train)
        kwargs = {}
    start = time.perf_counter()
    training.fit(model, *args, recipe, seed=0, progress=False, epochs=epochs, **kwargs)
    seconds = time.perf_counter() - start
    accuracy = wl.metrics.evaluate(model, data.x_test, data.y_test, sharp=True)
    return {"backend": keras.backend.backend(), "network": network,
            "epochs": epochs or recipe.epochs,
            "fit_seconds": seconds, "sharp_test_accuracy": float(accuracy),
            "fully_sharp": wl.is_fully_sharp(model), "versions": _versions()}


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("keras", "tensorflow-cpu", "tensorflow", "jax", "torch"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            pass
    return found


# ----------------------------------------------------------------------------------------
# The driver
# ----------------------------------------------------------------------------------------
def _has(python: str, module: str) -> bool:
    if python == sys.executable:
        return importlib.util.find_spec(module) is not None
    done = subprocess.run([python, "-c", f"import {module}"], capture_output=True)
    return done.returncode == 0


def _run(python: str, backend: str, network: str, epochs: int | None) -> dict:
    more = ["--epochs", str(epochs)] if epochs else []
    return run_worker([python, __file__, "--worker", network, *more], backend, network,
                      WHETSTONE_FAST="0")


def _table(results: dict, backends: list[str]) -> list[str]:
    head = "| network | epochs |"
    rule = "|---|---|"
    for b in backends:
        head += f" {b}: fit s (median) | {b}: ratio to TF | {b}: sharp test accuracy |"
        rule += "---|---|---|"
    rows = [head, rule]
    for network in NETWORKS:
        runs = results[network]
        tf = statistics.median(r["fit_seconds"] for r in runs["tensorflow"])
        row = f"| {network} | {runs['tensorflow'][0]['epochs']} |"
        for b in backends:
            times = [r["fit_seconds"] for r in runs[b]]
            med = statistics.median(times)
            accs = sorted({round(100 * r["sharp_test_accuracy"], 1) for r in runs[b]})
            row += (f" {med:.1f} ({min(times):.1f}-{max(times):.1f}) | {med / tf:.2f} | "
                    f"{', '.join(f'{a:.1f} %' for a in accs)} |")
        rows.append(row)
    return rows


def markdown(out: dict) -> str:
    """The report, from the results file's contents alone."""
    results = out["results"]
    backends = [b for b in BACKENDS if b in results[NETWORKS[0]]]
    versions = {b: results[NETWORKS[0]][b][0]["versions"] for b in backends}
    notes = ""
    if out["epochs"]:
        notes += render("backends_epochs", {"epochs": out["epochs"]})
    missing = [b for b in BACKENDS if b not in backends]
    if missing:
        notes += f"\nNot installed here: {', '.join(missing)}.\n"
    return render("backends", {
        "repeats": out["repeats"], "table": "\n".join(_table(results, backends)),
        "load_before": ", ".join(f"{v:.2f}" for v in out["load_before"]),
        "load_after": ", ".join(f"{v:.2f}" for v in out["load_after"]),
        "machine": out["machine"], "notes": notes,
        "versions": "; ".join(f"{b}: " + ", ".join(f"{k} {v}" for k, v in versions[b].items())
                              for b in backends)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--torch-python", default=str(ROOT / ".venv-torch" / "bin" / "python"),
                        help="an interpreter with torch, when this one has none")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the recipes' epochs (a quick check that it runs)")
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    parser.add_argument("--worker", choices=NETWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(_fit(args.worker, args.epochs)), flush=True)
        return
    print(write_report(JSON, markdown, None if args.report else measure(args), indent=2))


def measure(args) -> dict:
    """Every fit on every backend, with the load before and after and the machine."""
    pythons = {"tensorflow": sys.executable}
    if _has(sys.executable, "jax"):
        pythons["jax"] = sys.executable
    if _has(sys.executable, "torch"):
        pythons["torch"] = sys.executable
    elif Path(args.torch_python).exists() and _has(args.torch_python, "torch"):
        pythons["torch"] = args.torch_python
    backends = [b for b in BACKENDS if b in pythons]

    load_before = os.getloadavg()
    results: dict = {n: {b: [] for b in backends} for n in NETWORKS}
    for repeat in range(args.repeats):
        for network in NETWORKS:
            for backend in backends:
                r = _run(pythons[backend], backend, network, args.epochs)
                results[network][backend].append(r)
                print(f"repeat {repeat + 1}: {network:10s} {backend:10s} "
                      f"{r['fit_seconds']:6.1f} s  sharp accuracy "
                      f"{r['sharp_test_accuracy']:.3f}", flush=True)
    load_after = os.getloadavg()
    return {"repeats": args.repeats, "load_before": load_before, "load_after": load_after,
            "results": results, "epochs": args.epochs, "machine": machine()}


if __name__ == "__main__":
    main()
