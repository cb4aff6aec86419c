"""How much does sharpening cost? The same fit with and without a sharpener, in one run.

Each variant trains the digits dense network (64→256→64→100, batch 32) for the same number of
epochs; variants are interleaved and repeated, and the median wall time of each is compared with
the plain fit. The goal is a ratio ≤ 1.05. Writes ``benchmarks/results/sharpening_overhead.json``
(every fit time) and renders ``sharpening_overhead.md`` from it.

    python benchmarks/sharpening_overhead.py [--repeats 7] [--epochs 10]
    python benchmarks/sharpening_overhead.py --report   # the .md again from the .json
"""

from __future__ import annotations

import argparse
import os
import time

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS, machine, render, write_report

import whetstone_lab as wl

JSON = RESULTS / "sharpening_overhead.json"


class _EmptyBatchHook(keras.callbacks.Callback):
    """Does nothing per batch: what Keras itself charges for any per-batch callback."""

    def on_train_batch_end(self, batch, logs=None):
        pass


#: The variant whose network has no spiking layers at all (Keras' own bounded ReLU).
KERAS_RELU = "reference: Keras' ReLU(max_value=1) instead of the spiking layers, plain fit"


def keras_relu_twin(x_shape) -> keras.Model:
    """The same dense network with ``keras.layers.ReLU(max_value=1)``: what the spiking
    layers (sharpness variable, in-graph schedule) cost over a plain activation."""
    inputs = keras.Input(x_shape)
    h = keras.layers.Flatten()(inputs)
    for units in (256, 64, 100):
        h = keras.layers.ReLU(max_value=1.0)(keras.layers.Dense(units)(h))
    key = wl.make_key(10, 100)
    return keras.Model(inputs, wl.SoftmaxDecode(key, temperature=wl.models.TEMPERATURE)(h))


def variants(epochs: int, batches: int) -> dict[str, callable]:
    """Callback factories; each is built fresh for every fit."""
    return {
        "plain fit (no sharpener)": lambda: [],
        KERAS_RELU: lambda: [],
        "reference: an empty per-batch callback": lambda: [_EmptyBatchHook()],
        "SimpleSharpener, per epoch": lambda: [wl.SimpleSharpener(1, steps=max(1, epochs // 4))],
        "SimpleSharpener, per batch": lambda: [
            wl.SimpleSharpener(1, steps=max(1, (epochs - 2) * batches // 3), per="batch")
        ],
        "AdaptiveSharpener (sharpening from epoch 1)": lambda: [
            wl.AdaptiveSharpener(min_init_epochs=0, patience=0, sig_decrease=0.99,
                                 extra_epochs=None)
        ],
    }


def markdown(out: dict) -> str:
    """The report, from the results file's contents alone."""
    times = out["times"]
    base = float(np.median(times[out["variants"][0]]))
    rows = [f"| {name} | {np.median(times[name]):.3f} | {min(times[name]):.3f} | "
            f"{np.median(times[name]) / base:.3f} |" for name in out["variants"]]
    return render("sharpening_overhead", {
        **{k: out[k] for k in ("samples", "batch_size", "epochs", "batches", "repeats",
                               "machine")},
        "load_before": f"{out['load_before']:.1f}", "load_after": f"{out['load_after']:.1f}",
        "rows": "\n".join(rows)})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args(argv)
    print(write_report(JSON, markdown, None if args.report else measure(args)))


def measure(args) -> dict:
    """Every fit time of every variant, with the set-up, the machine's load and the wall
    time of it all."""
    start = time.perf_counter()
    load_before = os.getloadavg()[0]
    keras.utils.set_random_seed(0)
    data = wl.data.load("digits")
    x, y = data.x_train, data.y_train
    batches = int(np.ceil(len(x) / args.batch_size))
    factories = variants(args.epochs, batches)

    # One compiled model per variant, so every fit below reuses its traced train step.
    models = {}
    for name in factories:
        model = keras_relu_twin(x.shape[1:]) if name == KERAS_RELU \
            else wl.models.dense_classifier((8, 8, 1), towers=1)
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x, y, epochs=1, batch_size=args.batch_size, verbose=0)  # trace once
        models[name] = model

    times: dict[str, list[float]] = {name: [] for name in factories}
    names = list(factories)
    for repeat in range(args.repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]  # rotate the order
        for name in order:
            model = models[name]
            if name != KERAS_RELU:
                wl.set_sharpness(model, 0.0)
            fit_start = time.perf_counter()
            model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0,
                      callbacks=factories[name]())
            times[name].append(time.perf_counter() - fit_start)
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)

    return {"samples": len(x), "batch_size": args.batch_size, "epochs": args.epochs,
            "batches": batches, "repeats": args.repeats, "machine": machine(),
            "load_before": load_before, "load_after": os.getloadavg()[0],
            "variants": names, "times": times, "seconds": time.perf_counter() - start}


if __name__ == "__main__":
    main()
