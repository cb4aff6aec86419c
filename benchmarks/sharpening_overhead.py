"""How much does sharpening cost? The same fit with and without a sharpener, in one run.

Each variant trains the digits dense network (64→256→64→100, batch 32) for the same number of
epochs; variants are interleaved and repeated, and the median wall time of each is compared with
the plain fit. The goal is a ratio ≤ 1.05. Writes ``benchmarks/results/sharpening_overhead.md``.

    python benchmarks/sharpening_overhead.py [--repeats 7] [--epochs 10]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import whetstone_lab as wl  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "sharpening_overhead.md"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

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
            start = time.perf_counter()
            model.fit(x, y, epochs=args.epochs, batch_size=args.batch_size, verbose=0,
                      callbacks=factories[name]())
            times[name].append(time.perf_counter() - start)
        print(f"repeat {repeat + 1}/{args.repeats} done", flush=True)

    base = float(np.median(times[names[0]]))
    rows = []
    for name in names:
        median = float(np.median(times[name]))
        ratio = median / base
        rows.append(f"| {name} | {median:.3f} | {min(times[name]):.3f} | {ratio:.3f} |")
    table = "\n".join([
        "| variant | median fit time (s) | best (s) | ratio to plain fit |",
        "|---|---|---|---|",
        *rows,
    ])
    machine = (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
               f"Python {platform.python_version()}, Keras {keras.__version__}")
    report = (
        "# Sharpening overhead\n\n"
        f"Digits dense network (64→256→64→100), {len(x)} samples, batch {args.batch_size}, "
        f"{args.epochs} epochs ({batches} batches each) per fit; {args.repeats} interleaved "
        f"repeats, median. Machine: {machine}; 1-minute load average {load_before:.1f} "
        f"before and {os.getloadavg()[0]:.1f} after (nothing else was running).\n\n"
        f"{table}\n\n"
        "Goal: ratio ≤ 1.05 (sharpening costs nothing noticeable). Per batch, the Simple "
        "schedule runs inside the compiled train step (each spiking layer ramps its sharpness "
        "from a step counter), so it needs no per-batch callback. Two reference rows: a "
        "callback that does nothing after each batch (Keras then converts the batch logs to "
        "Python numbers and waits for each step, whatever the callback does: the floor of any "
        "per-batch schedule run in Python, as the Adaptive one still is), and the same network "
        "with Keras' own bounded ReLU, which shows what the spiking layers themselves cost.\n"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report)
    print(report)


if __name__ == "__main__":
    main()
