"""Digits classifiers: variants of the `digits_dense` and `digits_conv` recipes and networks.

Each variant is trained with seeds 0, 1, 2 on the stratified 80 % of the canonical training
split (`training.validation_split`) and scored fully sharp on the other 20 %; one JSON line
per variant is printed and appended to ``results/classifier_variants.jsonl``. The float rows train
the same network with the same recipe and ``sharpen=False``. The notes in
``benchmarks/retention.py`` (digits dense) quote these lines.

    python benchmarks/classifier_variants.py base wide512_128      # only these variants
    python benchmarks/classifier_variants.py                        # every variant
    python benchmarks/classifier_variants.py --cv base npc20_t40    # 5 splits, see below

With ``--cv`` each variant is trained 5 times, on the splits of seeds 0..4 of
``training.validation_split`` with the same model seed: the 5 × 288 held-out digits average
out more of the split's luck than one split with 3 seeds.
"""

from __future__ import annotations

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

MAKE_OPTIMIZER = training.make_optimizer
RESULTS = Path(__file__).resolve().parent / "results" / "classifier_variants.jsonl"


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
    st10 = base.with_(sharpen_epochs=35, finetune_epochs=10, finetune_learning_rate=1e-3,
                      finetune_learning_rate_end=1e-4)
    xa, ya = shifted(x, y)
    conv = training.recipe("digits_conv", fast=False)
    conv_decay = conv.with_(finetune_learning_rate_end=1e-4)
    conv_ft20 = conv.with_(finetune_epochs=20)
    # name: (builder options, recipe, x, y, sharpen[, optimizer]); "conv" in the options
    # builds `conv_classifier` instead of `dense_classifier`
    return {
        "base": ({}, base, x, y, True),
        "wide512_128": ({"hidden": (512, 128)}, base, x, y, True),
        "st10": ({}, st10, x, y, True),
        "wide512_256_st10": ({"hidden": (512, 256)}, st10, x, y, True),
        "bn": ({"batchnorm": True}, base, x, y, True),
        "aug5": ({}, base, xa, ya, True),
        "aug5_short": ({}, base.with_(warmup_epochs=6, sharpen_epochs=20), xa, ya, True),
        "npc20_t40": ({"neurons_per_class": 20, "temperature": 40.0}, base, x, y, True),
        "npc20_t20": ({"neurons_per_class": 20}, base, x, y, True),
        "t10": ({"temperature": 10.0}, base, x, y, True),
        "t40": ({"temperature": 40.0}, base, x, y, True),
        "bs16": ({}, base.with_(batch_size=16), x, y, True),
        "h256_128": ({"hidden": (256, 128)}, base, x, y, True),
        "h1024_64": ({"hidden": (1024, 64)}, base, x, y, True),
        "rmsprop": ({}, base.with_(optimizer="rmsprop"), x, y, True),
        "w15": ({}, base.with_(warmup_epochs=15), x, y, True),
        "lr3e-4": ({}, base.with_(learning_rate=3e-4), x, y, True),
        "uniform": ({}, base.with_(mode="uniform"), x, y, True),
        "s48": ({}, base.with_(sharpen_epochs=48), x, y, True),
        "ema99": ({}, base, x, y, True, lambda lr: keras.optimizers.Adam(
            lr, use_ema=True, ema_momentum=0.99)),
        "ema995": ({}, base, x, y, True, lambda lr: keras.optimizers.Adam(
            lr, use_ema=True, ema_momentum=0.995)),
        "adamw4e-3": ({}, base, x, y, True, lambda lr: keras.optimizers.AdamW(lr)),
        "adamw4e-2": ({}, base, x, y, True, lambda lr: keras.optimizers.AdamW(
            lr, weight_decay=0.04)),
        "float_base": ({}, base, x, y, False),
        "float_aug5": ({}, base, xa, ya, False),
        "conv_base": ({"conv": True}, conv, x, y, True),
        "conv_float_base": ({"conv": True}, conv, x, y, False),
        "conv_ft_decay": ({"conv": True}, conv_decay, x, y, True),
        "conv_float_ft_decay": ({"conv": True}, conv_decay, x, y, False),
        "conv_ft20": ({"conv": True}, conv_ft20, x, y, True),
        # the same 30 epochs at lr 1e-3 split differently: the float twin is conv_float_base
        "conv_s14_ft8": ({"conv": True}, conv.with_(sharpen_epochs=14, finetune_epochs=8),
                         x, y, True),
        "conv_s5_ft17": ({"conv": True}, conv.with_(sharpen_epochs=5, finetune_epochs=17),
                         x, y, True),
        "conv_w4_s14": ({"conv": True}, conv.with_(warmup_epochs=4, sharpen_epochs=14),
                        x, y, True),
        "conv_npc20": ({"conv": True, "neurons_per_class": 20}, conv, x, y, True),
        "conv_float_npc20": ({"conv": True, "neurons_per_class": 20}, conv, x, y, False),
        "conv_float_ft20": ({"conv": True}, conv_ft20, x, y, False),
    }


def main(names: list[str]) -> None:
    cv = "--cv" in names
    names = [n for n in names if n != "--cv"]
    data = wl.data.load("digits")
    seeds = range(5) if cv else range(3)
    splits = {s: training.validation_split(data.x_train, data.y_train, seed=s if cv else 0)
              for s in seeds}
    known = variants(*splits[0][:2])
    for name in names or list(known):
        if name not in known:
            raise SystemExit(f"unknown variant {name!r}; the variants are: {', '.join(known)}")
        scores, start = [], time.time()
        for seed in seeds:
            x_tr, y_tr, x_val, y_val = splits[seed]
            options, recipe, x, y, sharpen, *optimizer = variants(x_tr, y_tr)[name]
            # a variant's own optimizer: replace the recipe's for this run
            training.make_optimizer = (lambda _name, lr, f=optimizer[0]: f(lr)) if optimizer \
                else MAKE_OPTIMIZER
            keras.utils.set_random_seed(seed)
            options = dict(options)
            build = wl.models.conv_classifier if options.pop("conv", False) \
                else wl.models.dense_classifier
            model = build(**options)
            training.fit(model, x, y, recipe, seed=seed, progress=False, sharpen=sharpen)
            if sharpen:
                assert wl.is_fully_sharp(model)
            scores.append(metrics.evaluate(model, x_val, y_val))
        line = json.dumps({"variant": name, "cv": cv, "val": [round(s, 4) for s in scores],
                           "mean": round(sum(scores) / len(scores), 4),
                           "s": round(time.time() - start)})
        print(line, flush=True)
        with RESULTS.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
