"""What three towers cost against one network: training time, spikes and synaptic operations.

The dense digits classifier as one network (``wl.models.dense_classifier(towers=1)``,
64-256-64-100, the paper's) and as three towers (``towers=3``, the builder's default), each
trained with the ``digits_dense`` recipe and seed 0, in alternation (one, three, one, three,
...) so that both see the same machine load; the fit times are medians over the rounds and
the ratio is taken within this one run. The trained
networks then run in the exact simulator on the test digits (accuracy, spikes, synaptic
operations, dense multiply-accumulates) and their non-zero weights are counted.

Usage::

    python benchmarks/towers.py            # 3 rounds, writes results/towers.md and .json
    python benchmarks/towers.py --rounds 1 # one round, prints only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from common import machine  # noqa: E402  (benchmarks/common.py)

import whetstone_lab as wl  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


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


def report(rows: list[dict], load: float, rounds: int) -> str:
    one = [r for r in rows if r["towers"] == 1]
    three = [r for r in rows if r["towers"] == 3]
    t1, t3 = (float(np.median([r["seconds"] for r in rs])) for rs in (one, three))
    a, b = one[0], three[0]
    lines = [
        "# Three towers against one network: what they cost",
        "",
        "Written by `benchmarks/towers.py`. The dense digits classifier as one network "
        "(`towers=1`) and as three towers (`towers=3`, the builder's default), each trained "
        "with the `digits_dense` recipe (56 epochs) and seed 0, "
        f"alternating over {rounds} rounds; fit time: the median of the rounds. Simulator counts "
        "are means per test digit from `wl.deploy.to_spiking(model).run(x_test)`.",
        "",
        "| | one network | three towers | ratio |",
        "|---|---|---|---|",
        f"| fit time | {t1:.1f} s | {t3:.1f} s | {t3 / t1:.2f} × |",
        f"| test accuracy, fully sharp (simulator) | {100 * a['accuracy']:.1f} % "
        f"| {100 * b['accuracy']:.1f} % | |",
        f"| spikes per digit | {a['spikes']:.1f} | {b['spikes']:.1f} "
        f"| {b['spikes'] / a['spikes']:.2f} × |",
        f"| synaptic operations per digit | {a['synops']:.0f} | {b['synops']:.0f} "
        f"| {b['synops'] / a['synops']:.2f} × |",
        f"| dense multiply-accumulates | {a['dense_macs']} | {b['dense_macs']} "
        f"| {b['dense_macs'] / a['dense_macs']:.2f} × |",
        f"| non-zero weights and biases | {a['nonzero_weights']} | {b['nonzero_weights']} "
        f"| {b['nonzero_weights'] / a['nonzero_weights']:.2f} × |",
        f"| parameters as Keras stores them | {a['stored_weights']} | {b['stored_weights']} "
        f"| {b['stored_weights'] / a['stored_weights']:.2f} × |",
        "",
        "Keras stores each `GroupedDense` kernel whole, its zero blocks included. One seed: "
        "the accuracies over 3 seeds are in `retention.md`.",
        "",
        f"1-minute load average {load:.1f} when the run started. Machine: {machine()}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    data = wl.data.load("digits")
    load = os.getloadavg()[0]
    rows = []
    for _ in range(args.rounds):
        for towers in (1, 3):
            rows.append(measure(towers, data))
            print(rows[-1], flush=True)
    text = report(rows, load, args.rounds)
    print(text)
    if args.rounds >= 3:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "towers.md").write_text(text)
        (RESULTS / "towers.json").write_text(json.dumps({"rows": rows, "load": load},
                                                        indent=1))


if __name__ == "__main__":
    main()
