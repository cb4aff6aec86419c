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
out more of the split's luck than one split with 3 seeds. ``--cv --3`` also trains each split
with two more model seeds (15 runs), which averages out the initialisation's luck too.
"""

from __future__ import annotations

import json
import sys
import time

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS

import whetstone_lab as wl
from whetstone_lab import metrics, recipes, training

JSONL = RESULTS / "classifier_variants.jsonl"


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


class FloatPhaseDropout(keras.layers.Layer):
    """Dropout with a switch: ``active`` is a variable, so the compiled train step sees the
    :class:`DropoutOff` callback turn it off without being traced again."""

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.active = self.add_weight(shape=(), initializer="ones", trainable=False,
                                      name="active")
        self.seed_generator = keras.random.SeedGenerator(1)

    def call(self, x, training=None):
        if not training:
            return x
        rate = self.rate * self.active
        noise = keras.random.uniform(keras.ops.shape(x), seed=self.seed_generator)
        return x * keras.ops.cast(noise >= rate, x.dtype) / (1.0 - rate)


class DropoutOff(keras.callbacks.Callback):
    """Switch every :class:`FloatPhaseDropout` off from epoch ``epoch`` (0-based) on."""

    def __init__(self, epoch: int):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.epoch:
            for layer in self.model.layers:
                if isinstance(layer, FloatPhaseDropout):
                    layer.active.assign(0.0)


def regularised(model: keras.Model, dropout: float = 0.0, input_dropout: float = 0.0,
                noise: float = 0.0, float_phase: bool = False) -> keras.Model:
    """A copy of ``model`` (a dense classifier, its initial weights kept) with dropout after
    each hidden spiking layer and on the flattened input, or Gaussian noise before each
    spiking layer; with ``float_phase`` the dropout is a :class:`FloatPhaseDropout`."""
    drop = FloatPhaseDropout if float_phase else keras.layers.Dropout
    last = wl.sharpening.spiking_layers(model)[-1]
    x = inputs = keras.Input(model.input_shape[1:])
    for old in model.layers[1:]:
        if isinstance(old, wl.SpikingBReLU) and noise:
            x = keras.layers.GaussianNoise(noise)(x)
        # fresh layers: the spike recorder follows each layer's own graph
        layer = type(old).from_config(old.get_config())
        x = layer(x)
        layer.set_weights(old.get_weights())
        if isinstance(layer, keras.layers.Flatten) and input_dropout:
            x = drop(input_dropout)(x)
        if isinstance(old, wl.SpikingBReLU) and old is not last and dropout:
            x = drop(dropout)(x)
    return keras.Model(inputs, x)


class DecoderTemperature(keras.callbacks.Callback):
    """Give the decoder the temperature ``schedule[e]`` from epoch ``e`` on; the decoder's T
    becomes a variable, so the compiled train step sees each change."""

    def __init__(self, model: keras.Model, schedule: dict[int, float]):
        super().__init__()
        self.schedule = schedule
        self.decode = model.get_layer("decode")
        # untracked (the built layer takes no new state): the TensorFlow graph still reads it
        self.temperature = keras.Variable(schedule[0], trainable=False, name="temperature")
        key = self.decode.key

        def call(spikes):
            logits = wl.layers.decoder_logits(spikes, key, 1.0) / self.temperature
            return keras.ops.softmax(logits, axis=-1)

        object.__setattr__(self.decode, "call", call)

    def on_epoch_begin(self, epoch, logs=None):
        if epoch in self.schedule:
            self.temperature.assign(self.schedule[epoch])


class DecayingRate(keras.callbacks.Callback):
    """A cosine decay of the learning rate from ``start`` to ``end`` over epochs
    ``first``..``last`` (0-based), overriding the recipe's rate there (it runs after the
    recipe's :class:`~whetstone_lab.training.LearningRates`)."""

    def __init__(self, first: int, last: int, start: float, end: float):
        super().__init__()
        self.first, self.last, self.start, self.end = first, last, start, end

    def on_epoch_begin(self, epoch, logs=None):
        if self.first <= epoch <= self.last:
            done = (epoch - self.first) / max(self.last - self.first, 1)
            rate = self.end + (self.start - self.end) * 0.5 * (1 + np.cos(np.pi * done))
            self.model.optimizer.learning_rate.assign(rate)


def soft_targets(y: np.ndarray, smoothing: float = 0.0, teacher: np.ndarray | None = None,
                 tau: float = 1.0, alpha: float = 0.5) -> np.ndarray:
    """One-hot targets, label-smoothed, or mixed with a teacher's softened probabilities:
    ``alpha · onehot + (1 − alpha) · softmax(log p_teacher / tau)``."""
    onehot = np.eye(10, dtype=np.float32)[y]
    if teacher is not None:
        logits = np.log(np.maximum(teacher, 1e-12)) / tau
        soft = np.exp(logits - logits.max(axis=1, keepdims=True))
        onehot = alpha * onehot + (1 - alpha) * soft / soft.sum(axis=1, keepdims=True)
    return onehot * (1 - smoothing) + smoothing / 10


def variants(x, y) -> dict:
    base = recipes.recipe("digits_dense", fast=False)
    st10 = base.with_(sharpen_epochs=35, finetune_epochs=10, finetune_learning_rate=1e-3,
                      finetune_learning_rate_end=1e-4)
    xa, ya = shifted(x, y)
    conv = recipes.recipe("digits_conv", fast=False)
    conv_decay = conv.with_(finetune_learning_rate_end=1e-4)
    conv_ft20 = conv.with_(finetune_epochs=20)
    # name: (builder options, recipe, x, y, sharpen[, optimizer factory]); "conv" in the options
    # builds `conv_classifier` instead of `dense_classifier`; "regularise" holds the options
    # of `regularised`, and its "until" the epoch the float-phase dropout stops; "temperatures"
    # the decoder's T from each epoch on
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
        "ema99": ({}, base, x, y, True, lambda: keras.optimizers.Adam(
            use_ema=True, ema_momentum=0.99)),
        "ema995": ({}, base, x, y, True, lambda: keras.optimizers.Adam(
            use_ema=True, ema_momentum=0.995)),
        "adamw4e-3": ({}, base, x, y, True, keras.optimizers.AdamW),
        "adamw4e-2": ({}, base, x, y, True, lambda: keras.optimizers.AdamW(
            weight_decay=0.04)),
        "float_base": ({}, base, x, y, False),
        "towers2": ({"towers": 2}, base, x, y, True),
        "towers3": ({"towers": 3}, base, x, y, True),
        "towers3_t40": ({"towers": 3, "temperature": 40.0}, base, x, y, True),
        "towers5": ({"towers": 5}, base, x, y, True),
        "float_towers3": ({"towers": 3}, base, x, y, False),
        "drop1": ({"regularise": {"dropout": 0.1}}, base, x, y, True),
        "drop2": ({"regularise": {"dropout": 0.2}}, base, x, y, True),
        "drop3": ({"regularise": {"dropout": 0.3}}, base, x, y, True),
        "indrop1": ({"regularise": {"input_dropout": 0.1}}, base, x, y, True),
        "indrop2_drop2": ({"regularise": {"input_dropout": 0.2, "dropout": 0.2}}, base, x, y, True),
        "float_drop2": ({"regularise": {"dropout": 0.2}}, base, x, y, False),
        "bs64": ({}, base.with_(batch_size=64), x, y, True),
        "bs128": ({}, base.with_(batch_size=128), x, y, True),
        "lr2e-3": ({}, base.with_(learning_rate=2e-3), x, y, True),
        "s30": ({}, base.with_(sharpen_epochs=30), x, y, True),
        "s36": ({}, base.with_(sharpen_epochs=36), x, y, True),
        "w6": ({}, base.with_(warmup_epochs=6), x, y, True),
        "slr3e-4": ({}, base.with_(sharpen_learning_rate=3e-4), x, y, True),
        "per_batch": ({}, base.with_(per="batch"), x, y, True),
        "noise1": ({"regularise": {"noise": 0.1}}, base, x, y, True),
        "noise2": ({"regularise": {"noise": 0.2}}, base, x, y, True),
        "noise05": ({"regularise": {"noise": 0.05}}, base, x, y, True),
        "h256_128_64": ({"hidden": (256, 128, 64)},
                        base.with_(warmup_epochs=8, sharpen_epochs=48), x, y, True),
        # the anchor: every spiking layer fully sharp with a straight-through gradient (that
        # of clip(x, 0, 1)) from the first epoch, for the same 56 epochs and rates
        "straight_through_scratch": ({"straight_through": True}, base, x, y, False),
        # inputs standardised per pixel (training mean and sd) instead of X / 16
        "standardised": ({"standardise": True}, base, x, y, True),
        "float_standardised": ({"standardise": True}, base, x, y, False),
        # one hidden spiking layer: two sharpening stages instead of three
        "h256": ({"hidden": (256,)}, base, x, y, True),
        "h512": ({"hidden": (512,)}, base, x, y, True),
        "h1024": ({"hidden": (1024,)}, base, x, y, True),
        "float_h512": ({"hidden": (512,)}, base, x, y, False),
        "npc16_t16": ({"neurons_per_class": 16, "temperature": 16.0}, base, x, y, True),
        "float_noise1": ({"regularise": {"noise": 0.1}}, base, x, y, False),
        # the decoder at T = 1 while float (the float twin scores higher at T = 1), T = 20
        # from the first sharpening epoch (11), or once the output layer sharpens (41)
        "t1_float_phase": ({"temperatures": {0: 1.0, 11: 20.0}}, base, x, y, True),
        "t1_until_output": ({"temperatures": {0: 1.0, 41: 20.0}}, base, x, y, True),
        "t1_float_phase_t10": ({"temperatures": {0: 1.0, 11: 10.0}}, base, x, y, True),
        "float_t1": ({"temperature": 1.0}, base, x, y, False),
        # dropout 0.2 after the hidden layers only while the network is float: off from the
        # first sharpening epoch (11), from 15 with a 15-epoch warm-up, or from 26 (the first
        # layer sharp)
        "float_phase_drop2": ({"regularise": {"dropout": 0.2, "float_phase": True, "until": 11}},
                              base, x, y, True),
        "float_phase_drop3": ({"regularise": {"dropout": 0.3, "float_phase": True, "until": 11}},
                              base, x, y, True),
        "float_phase_drop2_w15": ({"regularise": {"dropout": 0.2, "float_phase": True,
                                                  "until": 15}},
                                  base.with_(warmup_epochs=15), x, y, True),
        "float_phase_drop2_26": ({"regularise": {"dropout": 0.2, "float_phase": True,
                                                 "until": 26}}, base, x, y, True),
        "float_aug5": ({}, base, xa, ya, False),
        # targets other than the labels: label smoothing, or distillation from a float
        # teacher (the same network at T = 1, trained with the same recipe, sharpen=False)
        "smooth1": ({"smoothing": 0.1}, base, x, y, True),
        "smooth2": ({"smoothing": 0.2}, base, x, y, True),
        "distill_t2": ({"distill": {"tau": 2.0, "alpha": 0.5}}, base, x, y, True),
        "distill_t4": ({"distill": {"tau": 4.0, "alpha": 0.5}}, base, x, y, True),
        "distill_t4_a0": ({"distill": {"tau": 4.0, "alpha": 0.0}}, base, x, y, True),
        # the rate decays (cosine) over the sharpening of the last layers, 1e-3 to 1e-4
        "decay_from26": ({"decay": (26, 55, 1e-3, 1e-4)}, base, x, y, True),
        "decay_from11": ({"decay": (11, 55, 1e-3, 1e-4)}, base, x, y, True),
        "st_dense": ({}, st10, x, y, True),
        # other sharpeners in place of the recipe's (windows: ScheduledSharpener's per-layer
        # epochs, linear per batch; adaptive: the paper's plateau-driven schedule)
        "win_8_15_22": ({"sharpener": [(11, 19), (19, 34), (34, 56)]}, base, x, y, True),
        "win_22_15_8": ({"sharpener": [(11, 33), (33, 48), (48, 56)]}, base, x, y, True),
        "win_15_15_15": ({"sharpener": [(11, 26), (26, 41), (41, 56)]}, base, x, y, True),
        "adaptive": ({"sharpener": "adaptive"}, base, x, y, True),
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


def targets(build, options: dict, recipe, x, y, seed: int):
    """``(y, loss)``: the labels and the task's loss, or soft targets (label smoothing, a
    float teacher's probabilities) and categorical cross-entropy."""
    smoothing, distill = options.pop("smoothing", 0.0), options.pop("distill", None)
    if not (smoothing or distill):
        return y, None
    teacher = None
    if distill:
        teacher = build(**dict(options, temperature=1.0))
        training.fit(teacher, x, y, recipe, seed=seed, progress=False, sharpen=False)
        teacher = teacher.predict(x, verbose=0)
        keras.utils.set_random_seed(seed)  # the student starts from the usual weights
    return soft_targets(y, smoothing, teacher, **(distill or {})), \
        keras.losses.CategoricalCrossentropy()


def callbacks_for(model: keras.Model, options: dict, until: int | None) -> list:
    """The variant's callbacks; a sharpener of its own goes first, as the recipe's would."""
    callbacks = [DropoutOff(until)] if until is not None else []
    if temperatures := options.pop("temperatures", None):
        callbacks.append(DecoderTemperature(model, temperatures))
    if decay := options.pop("decay", None):
        callbacks.append(DecayingRate(*decay))
    if sharpener := options.pop("sharpener", None):
        callbacks.insert(0, wl.sharpening.AdaptiveSharpener(min_init_epochs=11)
                         if sharpener == "adaptive"
                         else wl.sharpening.ScheduledSharpener(sharpener))
    return callbacks


def score(variant: tuple, x_val, y_val, seed: int) -> float:
    """Train one variant with one seed; its fully sharp (or float) validation accuracy."""
    options, recipe, x, y, sharpen, *optimizer = variant
    keras.utils.set_random_seed(seed)
    options = dict(options)
    build = wl.models.conv_classifier if options.pop("conv", False) \
        else wl.models.dense_classifier
    if options.pop("standardise", False):
        mean, sd = x.mean(axis=0), x.std(axis=0) + 0.1
        x, x_val = (x - mean) / sd, (x_val - mean) / sd
    extra = {k: options.pop(k) for k in ("temperatures", "decay", "sharpener") if k in options}
    regularise = dict(options.pop("regularise", {}))
    until = regularise.pop("until", None)
    y, loss = targets(build, options, recipe, x, y, seed)
    straight_through = options.pop("straight_through", False)
    model = build(**options)
    if regularise:
        model = regularised(model, **regularise)
    if straight_through:
        wl.set_sharpness(model, 1.0)
        for layer in wl.spiking_layers(model):
            layer.straight_through = True
    training.fit(model, x, y, recipe, loss=loss, seed=seed, progress=False,
                 sharpen=sharpen and "sharpener" not in extra,
                 optimizer=optimizer[0]() if optimizer else None,
                 callbacks=callbacks_for(model, extra, until))
    if sharpen or straight_through:
        assert wl.is_fully_sharp(model)
    for layer in wl.spiking_layers(model):
        layer.straight_through = False
    return metrics.evaluate(model, x_val, y_val)


def main(names: list[str]) -> None:
    cv = "--cv" in names
    model_seeds = 3 if "--3" in names else 1
    names = [n for n in names if n not in ("--cv", "--3")]
    data = wl.data.load("digits")
    seeds = range(5) if cv else range(3)
    splits = {s: training.validation_split(data.x_train, data.y_train, seed=s if cv else 0)
              for s in seeds}
    known = variants(*splits[0][:2])
    for name in names or list(known):
        if name not in known:
            raise SystemExit(f"unknown variant {name!r}; the variants are: {', '.join(known)}")
        start = time.time()
        # --3: each split also trained with model seeds split + 10 and split + 20
        scores = [score(variants(*splits[seed][:2])[name], *splits[seed][2:], seed + 10 * k)
                  for seed in seeds for k in range(model_seeds)]
        line = json.dumps({"variant": name, "cv": cv, "model_seeds": model_seeds,
                           "val": [round(s, 4) for s in scores],
                           "mean": round(sum(scores) / len(scores), 4),
                           "s": round(time.time() - start)})
        print(line, flush=True)
        with JSONL.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
