"""What three towers cost against one network: training time, spikes and synaptic operations.

The dense digits classifier as one network (``wl.models.dense_classifier(towers=1)``,
64-256-64-100, the paper's) and as three towers (``towers=3``, the builder's default), each
trained with the ``digits_dense`` recipe and seed 0, in alternation (one, three, one, three,
...) so that both see the same machine load; the fit times are medians over the rounds and
the ratio is taken within this one run. The trained
networks then run in the exact simulator on the test digits (accuracy, spikes, synaptic
operations, dense multiply-accumulates) and their non-zero weights are counted.

Usage::

    python benchmarks/towers.py            # 3 rounds, writes results/towers.json and its .md
    python benchmarks/towers.py --rounds 1 # one round, prints only
    python benchmarks/towers.py --report   # the .md again from the .json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS, machine, render

import whetstone_lab as wl


def measure(towers: int, data) -> dict:
    """Train one network with seed 0; its fit time and what it costs in the simulator."""
    keras.utils.set_random_seed(0)
    model = wl.models.dense_classifier(towers=towers)
    recipe = wl.recipes.recipe("digits_dense", fast=False)
    start = time.perf_counter()
    wl.training.fit(model, data.x_train, data.y_train, recipe, seed=0, progress=False)
    seconds = time.perf_counter() - start
    result = wl.deploy.to_spiking(model).run(data.x_test)
    weights = sum(int(np.count_nonzero(keras.ops.convert_to_numpy(w)))
                  for w in model.trainable_weights)
    return {"towers": towers, "seconds": seconds,
            "accuracy": float(np.mean(result.classes == data.y_test)),
            "spikes": float(sum(c.spikes for c in result.counts)),
            "synops": result.total_synops, "dense_macs": result.total_dense_macs,
            "nonzero_weights": weights, "stored_weights": model.count_params()}


def markdown(out: dict) -> str:
    """The report, from the results file's contents alone."""
    rows = out["rows"]
    one = [r for r in rows if r["towers"] == 1]
    three = [r for r in rows if r["towers"] == 3]
    t1, t3 = (float(np.median([r["seconds"] for r in rs])) for rs in (one, three))
    a, b = one[0], three[0]
    table = [
        f"| fit time | {t1:.1f} s | {t3:.1f} s | {t3 / t1:.2f} × |",
        f"| test accuracy, fully sharp (simulator) | {100 * a['accuracy']:.1f} % "
        f"| {100 * b['accuracy']:.1f} % | |",
        f"| spikes per digit | {a['spikes']:.1f} | {b['spikes']:.1f} "
        f"| {b['spikes'] / a['spikes']:.2f} × |",
    ]
    for key, what, form in (("synops", "synaptic operations per digit", ".0f"),
                            ("dense_macs", "dense multiply-accumulates", ""),
                            ("nonzero_weights", "non-zero weights and biases", ""),
                            ("stored_weights", "parameters as Keras stores them", "")):
        table.append(f"| {what} | {a[key]:{form}} | {b[key]:{form}} "
                     f"| {b[key] / a[key]:.2f} × |")
    return render("towers", {"rounds": len(one), "table": "\n".join(table),
                             "load": f"{out['load']:.1f}", "machine": out["machine"]})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args(argv)
    path = RESULTS / "towers.json"
    if args.report:
        path.with_suffix(".md").write_text(markdown(json.loads(path.read_text())))
        return
    data = wl.data.load("digits")
    load = os.getloadavg()[0]
    rows = []
    for _ in range(args.rounds):
        for towers in (1, 3):
            rows.append(measure(towers, data))
            print(rows[-1], flush=True)
    out = {"rows": rows, "load": load, "machine": machine()}
    text = markdown(out)
    print(text)
    if args.rounds >= 3:
        path.write_text(json.dumps(out, indent=1))
        path.with_suffix(".md").write_text(text)


if __name__ == "__main__":
    main()
