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
``benchmarks/results/backends.md`` and ``backends.json``.

    python benchmarks/backends.py [--repeats 3] [--torch-python .venv-torch/bin/python]
                                  [--epochs N: fewer epochs, to check that it runs]
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

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "backends.md"
NETWORKS = ("quickstart", "conv")
#: What `make test-torch` gave last (kept here so a re-run of this script keeps it).
TEST_TORCH = """\
`make test-torch` (Keras 3.15.1, torch 2.13.0+cpu, the unit and integration suites with
KERAS_BACKEND=torch, 2026-12-01, load 1.8 at the start): 400 passed, 2 skipped
(MirroredStrategy, which is TensorFlow's, and a check that runs in the JAX suite), 0 failed,
in 100 s.
Segmentation trains on PyTorch: off
TensorFlow `training.fit` hands the loss the decoder's logits (`layers.DecoderCrossEntropy`),
which avoids Keras 3.15.1's failing backward pass of sparse categorical cross-entropy on
probabilities for (n, h, w) targets (`grad_input must be contiguous`)."""
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
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3",
               JAX_PLATFORMS="cpu", WHETSTONE_FAST="0")
    more = ["--epochs", str(epochs)] if epochs else []
    done = subprocess.run([python, __file__, "--worker", network, *more], capture_output=True,
                          text=True, env=env, cwd=ROOT, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{network} on {backend} failed:\n{done.stderr[-3000:]}")
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--torch-python", default=str(ROOT / ".venv-torch" / "bin" / "python"),
                        help="an interpreter with torch, when this one has none")
    parser.add_argument("--epochs", type=int, default=None,
                        help="override the recipes' epochs (a quick check that it runs)")
    parser.add_argument("--worker", choices=NETWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print("RESULT " + json.dumps(_fit(args.worker, args.epochs)), flush=True)
        return

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

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from common import machine

    versions = {b: results[NETWORKS[0]][b][0]["versions"] for b in backends}
    lines = [
        "# The lesson networks on each Keras backend",
        "",
        "Generated by `benchmarks/backends.py`. Each fit runs in its own process with",
        "`KERAS_BACKEND` set, so each backend pays its own tracing and compilation; runs are",
        f"interleaved, {args.repeats} per network and backend; the fit time is `training.fit`",
        "alone (data loading and imports excluded), its median (min-max) and its ratio to",
        "TensorFlow's. *quickstart*: the README's dense network, recipe `digits_dense`.",
        "*conv*: lesson 03's final network, recipe `digits_conv`, the whole training split.",
        "The accuracy is fully sharp on the test digits (a check that each backend trains the",
        "network as well, not a benchmark of its own).",
        "",
        *_table(results, backends),
        "",
        f"Load average (1, 5, 15 min) before: {', '.join(f'{v:.2f}' for v in load_before)};",
        f"after: {', '.join(f'{v:.2f}' for v in load_after)}. The machine: {machine()}.",
        "Versions per backend: " + "; ".join(
            f"{b}: " + ", ".join(f"{k} {v}" for k, v in versions[b].items())
            for b in backends) + ".",
        "",
    ]
    lines += ["## The test suites on each backend", "", TEST_TORCH, ""]
    if args.epochs:
        lines += [f"Every fit ran {args.epochs} epochs (`--epochs`): a check that the script "
                  "runs, not the lessons' training; run it without `--epochs` for the table.",
                  ""]
    missing = [b for b in BACKENDS if b not in backends]
    if missing:
        lines += [f"Not installed here: {', '.join(missing)}.", ""]
    RESULTS.write_text("\n".join(lines))
    RESULTS.with_suffix(".json").write_text(json.dumps(
        {"repeats": args.repeats, "load_before": load_before, "load_after": load_after,
         "results": results}, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
