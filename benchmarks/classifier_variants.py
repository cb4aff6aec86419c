"""Digits dense: variants of the `digits_dense` recipe and network, on the validation split.

Each variant is trained with seeds 0, 1, 2 on the stratified 80 % of the canonical training
split (`training.validation_split`) and scored fully sharp on the other 20 %; one JSON line
per variant is printed and appended to ``results/dense_variants.jsonl``. The float rows train
the same network with the same recipe and ``sharpen=False``. The notes in
``benchmarks/retention.py`` (digits dense) quote these lines.

    python benchmarks/dense_variants.py base wide512_128      # only these variants
    python benchmarks/dense_variants.py                        # every variant
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import whetstone_lab as wl  # noqa: E402
from whetstone_lab import metrics, training  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "dense_variants.jsonl"


def shifted(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The images and their four one-pixel shifts (zeros shifted in): 5 × the data."""
    xs, ys = [x], [y]
    for dy, dx in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        s = np.roll(x, (dy, dx), axis=(1, 2))
        if dy == 1:
            s[:, 0] = 0
        if dy == -1:
            s[:, -1] = 0
        if dx == 1:
            s[:, :, 0] = 0
        if dx == -1:
            s[:, :, -1] = 0
        xs.append(s)
        ys.append(y)
    return np.concatenate(xs), np.concatenate(ys)


def variants(x, y) -> dict:
    base = training.recipe("digits_dense", fast=False)
    st10 = dataclasses.replace(base, sharpen_epochs=35, finetune_epochs=10,
                               finetune_learning_rate=1e-3, finetune_learning_rate_end=1e-4)
    xa, ya = shifted(x, y)
    # name: (builder options, recipe, x, y, sharpen)
    return {
        "base": ({}, base, x, y, True),
        "wide512_128": ({"hidden": (512, 128)}, base, x, y, True),
        "st10": ({}, st10, x, y, True),
        "wide512_256_st10": ({"hidden": (512, 256)}, st10, x, y, True),
        "bn": ({"batchnorm": True}, base, x, y, True),
        "aug5": ({}, base, xa, ya, True),
        "aug5_short": ({}, dataclasses.replace(base, warmup_epochs=6, sharpen_epochs=20),
                       xa, ya, True),
        "float_base": ({}, base, x, y, False),
        "float_aug5": ({}, base, xa, ya, False),
    }


def main(names: list[str]) -> None:
    data = wl.data.load("digits")
    x_tr, y_tr, x_val, y_val = training.validation_split(data.x_train, data.y_train)
    table = variants(x_tr, y_tr)
    for name in names or list(table):
        if name not in table:
            raise SystemExit(f"unknown variant {name!r}; the variants are: {', '.join(table)}")
        options, recipe, x, y, sharpen = table[name]
        scores, start = [], time.time()
        for seed in (0, 1, 2):
            keras.utils.set_random_seed(seed)
            model = wl.models.dense_classifier(**options)
            training.fit(model, x, y, recipe, seed=seed, progress=False, sharpen=sharpen)
            if sharpen:
                assert wl.is_fully_sharp(model)
            scores.append(metrics.evaluate(model, x_val, y_val))
        line = json.dumps({"variant": name, "val": [round(s, 4) for s in scores],
                           "mean": round(sum(scores) / 3, 4), "s": round(time.time() - start)})
        print(line, flush=True)
        with RESULTS.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
