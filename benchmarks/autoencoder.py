"""The digits autoencoder: float twin vs Whetstone vs a straight-through anchor.

Three networks of the same shape, trained on the same data for the same epochs with the same
learning rate in every epoch:

* **float**: the spiking layers left at sharpness 0 (bounded ReLU), never sharpened
  (``training.fit(..., sharpen=False)``);
* **Whetstone**: sharpened bottom-up while training, then a straight-through fine-tune
  (``training.fit(...)``); fully sharp at the end;
* **straight-through**: the anchor a practitioner would pick: every spiking layer fully sharp
  with a straight-through gradient from the first epoch (``training.fit(..., sharpen=False)``
  on a network set sharp beforehand).

Scores are the mean squared error per pixel. Every spiking network that is reported is
checked to emit exactly 0 or 1 from every spiking layer on the scored images
(``spikes.assert_binary``).

Stages (each run is cached in ``--cache``, one file per run, so stages can run side by side
and a stage that is run again only trains what is missing)::

    python benchmarks/autoencoder.py search   # ideas to close the gap, validation split, seed 0
    python benchmarks/autoencoder.py sweep    # code size sweep at the chosen setting, test, seed 0
    python benchmarks/autoencoder.py final    # chosen setting, the best convolutional one, the
                                              # lesson's and the binary-code reference, test,
                                              # seeds 0-2
    python benchmarks/autoencoder.py report   # results/autoencoder.{md,json} and the figure
    python benchmarks/autoencoder.py all      # all of the above in turn
    python benchmarks/autoencoder.py markdown # results/autoencoder.md again from its .json

Settings are chosen on a validation split carved (stratified, 20 %) from the training data;
the final table reports the test split.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS, machine, mean_sd, render

import whetstone_lab as wl
from whetstone_lab import metrics, recipes, spikes, training
from whetstone_lab.recipes import Recipe

KINDS = ("float", "whetstone", "straight_through")
SEEDS = (0, 1, 2)


# ----------------------------------------------------------------------------------------
# Settings: a network and a recipe
# ----------------------------------------------------------------------------------------
#: Fields added to Setting after runs were cached, with the value they had implicitly.
_ADDED = {"float_layers": "", "noise_while_sharpening": False, "decoder_filters": (),
          "net": "conv", "input_noise": 0.0}


@dataclass(frozen=True)
class Setting:
    """One autoencoder and its recipe.

    Attributes:
        name: a label for tables.
        net: ``"conv"`` (convolutions down to a 2 × 2 code and back up) or ``"dense"``
            (the 64 pixels, Dense layers of spiking neurons, a Dense sigmoid read-out).
        filters: channels of each encoder level (the decoder mirrors them); dense: the
            widths of the hidden layers between the pixels and the code (may be empty).
        decoder_filters: channels of each decoder level, if not the mirror of ``filters``;
            dense: the widths of the hidden layers between the code and the read-out.
        code_channels: channels of the 2 × 2 code (bits = 4 · code_channels); dense: the
            code's neurons (bits = code_channels).
        input_noise: standard deviation of Gaussian noise added to the input pixels while
            training (all three networks alike; none at inference), a regulariser.
        down: how the encoder halves the resolution: ``"pool"`` (max-pooling the spikes, an
            OR, as ``models.autoencoder``), ``"pool_pre"`` (max-pooling the pre-activations,
            then the spiking layer), ``"stride"`` (stride-2 convolutions, no pooling).
        code: activation of the code: ``"brelu"`` (``SpikingBReLU``) or ``"sigmoid"``
            (``SpikingSigmoid``).
        code_noise: standard deviation of Gaussian noise added to the code's pre-activation
            while training (all three networks alike; none at inference).
        noise_while_sharpening: add the code noise only from the first sharpening epoch on,
            and only to the Whetstone network (the float twin and the straight-through
            anchor are built without it: they are never sharpened).
        batchnorm: a BatchNorm between each hidden convolution and its activation.
        recipe: changes to ``RECIPES["digits_autoencoder"]`` (``Recipe.with_``).
        float_layers: a diagnostic, never a reported spiking network: ``"code"`` or
            ``"hidden"`` makes those layers plain bounded ReLUs (``ReLU(max_value=1)``) that
            are never sharpened, to see which binary layers cost the most.
    """

    name: str
    net: str = "conv"
    filters: tuple[int, ...] = (32, 32)
    decoder_filters: tuple[int, ...] = ()
    code_channels: int = 16
    down: str = "pool"
    code: str = "brelu"
    code_noise: float = 0.0
    noise_while_sharpening: bool = False
    batchnorm: bool = False
    recipe: tuple[tuple[str, object], ...] = ()
    float_layers: str = ""
    input_noise: float = 0.0
    note: str = ""

    @property
    def bits(self) -> int:
        return self.code_channels if self.net == "dense" else 4 * self.code_channels

    @property
    def decoder_widths(self) -> tuple[int, ...]:
        """Channels (dense: widths) of the decoder's hidden layers."""
        return self.decoder_filters or tuple(reversed(self.filters))

    def with_bits(self, bits: int) -> Setting:
        """The same setting with a code of ``bits`` bits."""
        return replace(self, name=f"{self.name}, {bits} bits",
                       code_channels=bits if self.net == "dense" else bits // 4)

    def training_recipe(self) -> Recipe:
        base = recipes.recipe("digits_autoencoder", fast=False)
        return base.with_(name=self.name, **dict(self.recipe)) if self.recipe else base

    @property
    def library_network(self) -> bool:
        """True when ``models.autoencoder`` or ``models.dense_autoencoder`` builds this
        network as it is."""
        plain = self.code == "brelu" and not self.code_noise and not self.float_layers
        if self.net == "dense":
            return plain and not self.batchnorm
        return plain and self.down == "pool" and not self.decoder_filters and not self.input_noise

    def key(self, kind: str, split: str, seed: int, *, legacy: bool = False) -> str:
        """The run's cache key. The float and straight-through networks are not sharpened:
        for them only the learning rate of each epoch, the batch size and the optimizer of
        the recipe matter, so recipes that differ only in their sharpening share those runs.
        (``legacy``: the key of the first runs, which hashed the recipe's fields.)"""
        fields = {k: v for k, v in asdict(self).items()
                  if k not in ("name", "note") and not (k in _ADDED and v == _ADDED[k])}
        if kind != "whetstone" and self.noise_while_sharpening:  # built without the noise
            del fields["noise_while_sharpening"]
            fields["code_noise"] = 0.0
        if kind != "whetstone" and legacy:
            fields["recipe"] = [list(kv) for kv in self.recipe if kv[0] != "per"]
        elif kind != "whetstone":
            r = self.training_recipe()
            fields["recipe"] = {"rates": [r.learning_rate_at(e) for e in range(r.epochs)],
                                "batch_size": r.batch_size, "optimizer": r.optimizer}
        text = json.dumps([fields, kind, split, seed], sort_keys=True, default=str)
        return hashlib.sha1(text.encode()).hexdigest()[:16]

    def cached(self, kind: str, split: str, seed: int, cache: Path) -> Path:
        """The cache file of the run (a legacy file is copied to the current key)."""
        path = cache / f"{self.key(kind, split, seed)}.json"
        old = cache / f"{self.key(kind, split, seed, legacy=True)}.json"
        if not path.exists() and old.exists():
            path.write_text(old.read_text())
        return path

    def describe(self) -> str:
        if self.net == "dense":
            layers = ([f"{w} spiking neurons" for w in self.filters]
                      + [f"a {self.bits}-bit spiking code"]
                      + [f"{w} spiking neurons" for w in self.decoder_widths])
            text = "dense layers: 64 pixels → " + " → ".join(layers)
        else:
            text = self._describe_conv()
        if self.code_noise:
            text += (f", Gaussian noise σ = {self.code_noise:g} on the code's pre-activation "
                     + ("from the first sharpening epoch on (Whetstone only)"
                        if self.noise_while_sharpening else "while training"))
        if self.input_noise:
            text += (f", Gaussian noise σ = {self.input_noise:g} on the input pixels while "
                     "training")
        if self.batchnorm:
            text += ", BatchNorm"
        return text + ", sigmoid read-out"

    def _describe_conv(self) -> str:
        down = {"pool": "2 × 2 max-pooling of the spikes", "pool_pre":
                "2 × 2 max-pooling of the pre-activations", "stride": "stride-2 convolutions"}
        decoder = (f" (decoder {'/'.join(map(str, self.decoder_filters))})"
                   if self.decoder_filters else "")
        text = (f"conv {'/'.join(map(str, self.filters))} channels{decoder} with "
                f"{down[self.down]}, "
                f"a 2 × 2 × {self.code_channels} spiking code ({self.bits} bits"
                f"{', SpikingSigmoid' if self.code == 'sigmoid' else ''})")
        return text


class CodeNoise(keras.layers.Layer):
    """Gaussian noise whose standard deviation is a variable (0 until a callback sets it);
    only while training."""

    def __init__(self, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.stddev = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                      name="stddev")
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, x, training=False):
        if not training:
            return x
        return x + self.stddev * keras.random.normal(keras.ops.shape(x),
                                                     seed=self.seed_generator)


class NoiseFrom(keras.callbacks.Callback):
    """Switch every :class:`CodeNoise` to ``stddev`` from epoch ``start`` on."""

    def __init__(self, start: int, stddev: float):
        super().__init__()
        self.start, self.value = start, stddev

    def on_epoch_begin(self, epoch, logs=None):
        for layer in self.model.layers:
            if isinstance(layer, CodeNoise):
                layer.stddev.assign(self.value if epoch >= self.start else 0.0)


def build(s: Setting, kind: str = "whetstone") -> keras.Model:
    """The autoencoder of ``s``: ``models.autoencoder`` when it can build it, else the same
    layers assembled here from ``keras.layers`` and the spiking activations."""
    if s.noise_while_sharpening and kind != "whetstone":
        s = replace(s, code_noise=0.0, noise_while_sharpening=False)
    if s.library_network and s.net == "dense":
        return wl.models.dense_autoencoder((8, 8, 1), code_bits=s.code_channels,
                                           decoder=s.decoder_widths, encoder=s.filters,
                                           input_noise=s.input_noise)
    if s.library_network:
        return wl.models.autoencoder((8, 8, 1), filters=s.filters,
                                     code_channels=s.code_channels, batchnorm=s.batchnorm)

    def spiking(x, filters, name, *, kernel_size=3, strides=1, pool=False, sigmoid=False):
        if s.net == "dense":
            x = keras.layers.Dense(filters, use_bias=not s.batchnorm, name=f"{name}_dense")(x)
        else:
            x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                                    use_bias=not s.batchnorm, name=f"{name}_conv")(x)
        if s.batchnorm:
            x = keras.layers.BatchNormalization(momentum=wl.models.BN_MOMENTUM,
                                                name=f"{name}_bn")(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
        if name == "code" and s.code_noise and s.noise_while_sharpening:
            x = CodeNoise(name="code_noise")(x)
        elif name == "code" and s.code_noise:
            x = keras.layers.GaussianNoise(s.code_noise, name="code_noise")(x)
        if s.float_layers == ("code" if name == "code" else "hidden"):
            return keras.layers.ReLU(max_value=1.0, name=f"{name}_float")(x)
        layer = wl.SpikingSigmoid if sigmoid else wl.SpikingBReLU
        return layer(name=f"{name}_spikes")(x)

    inputs = keras.Input((8, 8, 1))
    x = inputs
    if s.input_noise:
        x = keras.layers.GaussianNoise(s.input_noise, name="input_noise")(x)
    if s.net == "dense":
        x = keras.layers.Flatten(name="pixels")(x)
        for i, f in enumerate(s.filters):
            x = spiking(x, f, f"enc_{i}")
        x = spiking(x, s.code_channels, "code", sigmoid=s.code == "sigmoid")
        for i, f in enumerate(s.decoder_widths):
            x = spiking(x, f, f"dec_{i}")
        x = keras.layers.Dense(64, activation="sigmoid", name="reconstruction")(x)
        return keras.Model(inputs, keras.layers.Reshape((8, 8, 1), name="image")(x),
                           name="autoencoder")
    for i, f in enumerate(s.filters):
        name = f"enc_{i}"
        if s.down == "stride":
            x = spiking(x, f, name, strides=2)
        elif s.down == "pool_pre":
            x = spiking(x, f, name, pool=True)
        else:
            x = spiking(x, f, name)
            x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = spiking(x, s.code_channels, "code", kernel_size=1, sigmoid=s.code == "sigmoid")
    for i, f in enumerate(s.decoder_widths):
        x = keras.layers.UpSampling2D(2, name=f"dec_{i}_up")(x)
        x = spiking(x, f, f"dec_{i}")
    outputs = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid",
                                  name="reconstruction")(x)
    return keras.Model(inputs, outputs, name="autoencoder")


# ----------------------------------------------------------------------------------------
# Data, training, scoring
# ----------------------------------------------------------------------------------------
def load(split: str):
    """``(x_train, x_eval)``: the training images and the images scored."""
    ds = wl.data.load("digits")
    if split == "val":
        x_tr, _, x_val, _ = training.validation_split(ds.x_train, ds.y_train)
        return x_tr, x_val
    return ds.x_train, ds.x_test


def train_and_score(s: Setting, kind: str, split: str, seed: int) -> dict:
    x_tr, x_ev = load(split)
    recipe = s.training_recipe()
    keras.utils.set_random_seed(seed)  # before building: the same initial weights for all
    model = build(s, kind)
    callbacks = []
    if kind == "whetstone" and s.noise_while_sharpening:
        callbacks.append(NoiseFrom(recipe.warmup_epochs, s.code_noise))
    if kind == "straight_through":
        wl.set_sharpness(model, 1.0)
        for layer in wl.spiking_layers(model):
            layer.straight_through = True
    t0 = time.perf_counter()
    history = training.fit(model, x_tr, x_tr, recipe, sharpen=kind == "whetstone",
                           callbacks=callbacks, seed=None, progress=False)
    seconds = time.perf_counter() - t0
    row = {"setting": s.name, "kind": kind, "split": split, "seed": seed, "bits": s.bits,
           "epochs": recipe.epochs, "seconds": seconds,
           "final_loss": float(history.history["loss"][-1])}
    if kind != "float":
        for layer in wl.spiking_layers(model):
            layer.straight_through = False
        if not wl.is_fully_sharp(model):
            raise RuntimeError(f"{s.name} {kind}: not fully sharp: {wl.get_sharpness(model)}")
        row["binary_checked"] = spikes.assert_binary(model, x_ev)
        if s.float_layers != "code":
            code = spikes.record(model, x_ev, layers=["code_spikes"])["code_spikes"]
            code = code.reshape(len(code), -1)
            rate = code.mean(axis=0)
            row["code_bits_constant"] = int(np.sum((rate == 0) | (rate == 1)))
            row["code_distinct"] = len({c.tobytes() for c in code.astype(np.uint8)})
    row["mse"] = metrics.mse(x_ev, model.predict(x_ev, batch_size=256, verbose=0))
    return row


def run(s: Setting, kind: str, split: str, seed: int, cache: Path) -> dict | None:
    path = s.cached(kind, split, seed, cache)
    if path.exists():
        row = json.loads(path.read_text())
        row["setting"] = s.name
        return row
    lock = path.with_suffix(".lock")
    try:  # another process side by side may be training this run
        lock.touch(exist_ok=False)
    except FileExistsError:
        return None
    try:
        row = train_and_score(s, kind, split, seed)
        row["config"] = asdict(s)
        path.write_text(json.dumps(row, indent=1, default=str))
    finally:
        lock.unlink()
    print(f"{s.name:32s} {kind:16s} {split} seed {seed}: mse {row['mse']:.4f}  "
          f"({row['seconds']:.0f} s)", flush=True)
    return row


# ----------------------------------------------------------------------------------------
# The settings tried
# ----------------------------------------------------------------------------------------
LESSON = Setting("lesson", note="`models.autoencoder((8, 8, 1))`, "
                 "`recipe(\"digits_autoencoder\")`")


def _r(**changes) -> tuple[tuple[str, object], ...]:
    return tuple(sorted(changes.items()))


DECAY = _r(finetune_learning_rate_end=1e-4)
LONG_FT = _r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=30)
BATCH_16 = _r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=30, batch_size=16)
BATCH_16_DECAY = _r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=30, batch_size=16,
                    finetune_learning_rate_end=1e-4)
LONG_DECAY = _r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=90, batch_size=16,
                finetune_learning_rate_end=1e-4)


def _dense(name: str, *, filters=(), decoder=(), recipe=BATCH_16, **kw) -> Setting:
    """A dense autoencoder with a 64-bit code (``filters``: the encoder's hidden widths;
    ``decoder``: the decoder's, the mirror of ``filters`` if empty)."""
    return Setting(name, net="dense", filters=filters, decoder_filters=decoder,
                   code_channels=64, recipe=recipe, **kw)


CONV_NOISE = Setting("stride, filters 128/128, 2/8/30, batch 16, input noise σ 0.1",
                     down="stride", filters=(128, 128), recipe=BATCH_16, input_noise=0.1)
#: Dense layers instead of convolutions, a 64-bit code, the recipe of the row above; by the
#: short key the notes quote them with.
DENSE: dict[str, Setting] = {
    "mlp": _dense("dense 512/256, 2/8/30, batch 16", filters=(512, 256)),
    "mlp1024": _dense("dense 1024, 2/8/30, batch 16", filters=(1024,)),
    "readout": _dense("dense, code from the pixels, read-out only"),
    "dec1024": _dense("dense, code from the pixels, decoder 1024", decoder=(1024,)),
    "decay": _dense("dense, code from the pixels, decoder 1024, fine-tune lr → 1e-4",
                    decoder=(1024,), recipe=BATCH_16_DECAY),
    "noise": _dense("dense, code from the pixels, decoder 1024, lr → 1e-4, input noise σ 0.1",
                    decoder=(1024,), recipe=BATCH_16_DECAY, input_noise=0.1),
    "dec2048": _dense("dense, code from the pixels, decoder 2048, lr → 1e-4, input noise σ 0.1",
                      decoder=(2048,), recipe=BATCH_16_DECAY, input_noise=0.1),
    "long": _dense("dense, code from the pixels, decoder 2048, 2/8/90, lr → 1e-4, "
                   "input noise σ 0.1", decoder=(2048,), recipe=LONG_DECAY, input_noise=0.1),
    "noise005": _dense("dense, code from the pixels, decoder 2048, 2/8/90, lr → 1e-4, "
                       "input noise σ 0.05", decoder=(2048,), recipe=LONG_DECAY,
                       input_noise=0.05),
    "noise02": _dense("dense, code from the pixels, decoder 2048, 2/8/90, lr → 1e-4, "
                      "input noise σ 0.2", decoder=(2048,), recipe=LONG_DECAY, input_noise=0.2),
    "dec4096": _dense("dense, code from the pixels, decoder 4096, 2/8/90, lr → 1e-4, "
                      "input noise σ 0.1", decoder=(4096,), recipe=LONG_DECAY, input_noise=0.1),
    "deep": _dense("dense, code from the pixels, decoder 2048/2048, 2/8/90, lr → 1e-4, "
                   "input noise σ 0.1", decoder=(2048, 2048), recipe=LONG_DECAY,
                   input_noise=0.1),
}
SEARCH: list[Setting] = [
    LESSON,
    # recipe
    Setting("fine-tune lr 1e-3 → 1e-4", recipe=DECAY),
    Setting("sharpen lr 3e-3", recipe=_r(sharpen_learning_rate=3e-3,
                                         finetune_learning_rate=1e-3)),
    Setting("sharpen per epoch", recipe=_r(per="epoch")),
    # network around a fixed 64-bit code
    Setting("filters 64/64", filters=(64, 64)),
    Setting("filters 128/128", filters=(128, 128)),
    Setting("pool pre-activations", down="pool_pre"),
    Setting("stride-2 convolutions", down="stride"),
    Setting("sigmoid code", code="sigmoid"),
    Setting("code noise σ 0.3", code_noise=0.3),
    Setting("batchnorm", batchnorm=True),
    Setting("short warm-up, long fine-tune (2/8/30)", recipe=LONG_FT),
    Setting("stride, filters 64/64", down="stride", filters=(64, 64)),
    Setting("stride, filters 64/64, 2/8/30", down="stride", filters=(64, 64), recipe=LONG_FT),
    Setting("stride, filters 64/64, 2/2/36", down="stride", filters=(64, 64),
            recipe=_r(warmup_epochs=2, sharpen_epochs=2, finetune_epochs=36)),
    Setting("stride, filters 64/64, 0/2/38", down="stride", filters=(64, 64),
            recipe=_r(warmup_epochs=0, sharpen_epochs=2, finetune_epochs=38)),
    Setting("code noise σ 0.3 while sharpening", code_noise=0.3, noise_while_sharpening=True),
    Setting("stride, 64/64, 2/8/30, noise while sharpening", down="stride", filters=(64, 64),
            recipe=LONG_FT, code_noise=0.3, noise_while_sharpening=True),
    # more steps, a wider decoder, a wider network: the chosen setting otherwise
    Setting("stride, 64/64, 2/8/30, batch 16", down="stride", filters=(64, 64),
            recipe=_r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=30, batch_size=16)),
    Setting("stride, 64/64, decoder 128/128, 2/8/30", down="stride", filters=(64, 64),
            decoder_filters=(128, 128), recipe=LONG_FT),
    Setting("stride, filters 128/128, 2/8/30", down="stride", filters=(128, 128),
            recipe=LONG_FT),
    Setting("stride, 64/64, 2/8/30, batch 8", down="stride", filters=(64, 64),
            recipe=_r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=30, batch_size=8)),
    Setting("stride, 64/64, decoder 128/128, 2/8/30, batch 16", down="stride",
            filters=(64, 64), decoder_filters=(128, 128),
            recipe=_r(warmup_epochs=2, sharpen_epochs=8, finetune_epochs=30, batch_size=16)),
    Setting("stride, filters 128/128, 2/8/30, batch 16", down="stride", filters=(128, 128),
            recipe=BATCH_16),
    CONV_NOISE,
    *DENSE.values(),
]
#: Diagnostics (Whetstone only): which binary layers cost the most.
DIAGNOSTICS: list[Setting] = [
    Setting("code float, hidden spiking", float_layers="code"),
    Setting("code spiking, hidden float", float_layers="hidden"),
]


def chosen() -> Setting:
    """The setting chosen on the validation split (see the notes in the report)."""
    return CHOSEN


def _searched(name: str) -> Setting:
    return next(s for s in SEARCH if s.name == name)


#: The lowest Whetstone validation MSE of the search, and of its convolutional networks.
CHOSEN = DENSE["long"]
CONV = _searched("stride, filters 128/128, 2/8/30, batch 16")


#: A float reference with a binary bottleneck: the chosen network with only its 64-bit code
#: spiking (sharpened by Whetstone, or straight-through from the start), every other layer a
#: bounded ReLU; it measures what binarising the hidden layers costs once the code is binary.
REFERENCE = replace(CHOSEN, name=f"{CHOSEN.name}, only the code spiking", float_layers="hidden")
REFERENCE_KINDS = ("whetstone", "straight_through")
#: The final table's settings, in its order (the chosen one first, the lesson's last).
FINAL = list(dict.fromkeys([CHOSEN, CONV, LESSON]))


def sweep_settings(base: Setting) -> list[Setting]:
    return [base.with_bits(bits) for bits in (16, 32, 64, 128, 256)]


# ----------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------
def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("search", "sweep", "final", "report", "all",
                                          "markdown"),
                        help="markdown: only render results/autoencoder.md from its .json")
    parser.add_argument("--only", default="",
                        help="setting names separated by semicolons (search, final)")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--reverse", action="store_true",
                        help="final stage: last run first (for a second process side by side)")
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "wl_autoencoder"),
                        help="directory of the per-run cache")
    args = parser.parse_args(argv)
    if args.stage == "markdown":
        (RESULTS / "autoencoder.md").write_text(
            markdown(json.loads((RESULTS / "autoencoder.json").read_text())))
        return
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in args.kinds.split(",") if k]
    only = {n.strip() for n in args.only.split(";") if n.strip()}
    for s in SEARCH:  # carry the first runs over to the current keys
        for kind in KINDS:
            s.cached(kind, "val", 0, cache)
    stages = ("search", "sweep", "final", "report") if args.stage == "all" else (args.stage,)
    for stage in stages:
        if stage == "search":
            for s in SEARCH + DIAGNOSTICS:
                if only and s.name not in only:
                    continue
                for kind in kinds:
                    run(s, kind, "val", 0, cache)
        elif stage == "sweep":
            for s in sweep_settings(chosen()):
                for kind in kinds:
                    run(s, kind, "test", 0, cache)
        elif stage == "final":
            runs = [(s, kind, seed) for s in FINAL
                    if not only or s.name in only for seed in SEEDS for kind in kinds]
            runs += [(REFERENCE, kind, seed) for kind in REFERENCE_KINDS for seed in SEEDS
                     if not only or REFERENCE.name in only]
            for s, kind, seed in reversed(runs) if args.reverse else runs:
                run(s, kind, "test", seed, cache)
        else:
            report(cache)


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------
def _cached(s: Setting, kind: str, split: str, seed: int, cache: Path) -> dict | None:
    path = s.cached(kind, split, seed, cache)
    if not path.exists():
        return None
    row = json.loads(path.read_text())
    row["setting"] = s.name
    return row


def _ms(values, digits: int = 4) -> str:
    """mean ± sd (population sd, as benchmarks/results/retention.md)."""
    return mean_sd(values, 1.0, digits)


def _summary(s: Setting, split: str, seeds, cache: Path) -> dict | None:
    rows = {k: [_cached(s, k, split, seed, cache) for seed in seeds] for k in KINDS}
    done = [i for i in range(len(seeds)) if all(rows[k][i] for k in KINDS)]
    if not done:
        return None
    mse = {k: [rows[k][i]["mse"] for i in done] for k in KINDS}
    out = {"setting": s.name, "network": s.describe(), "recipe": s.training_recipe().describe(),
           "bits": s.bits, "split": split, "seeds": [seeds[i] for i in done], "mse": mse,
           "ratio_whetstone": [w / f for w, f in zip(mse["whetstone"], mse["float"])],
           "ratio_straight_through": [t / f for t, f in
                                      zip(mse["straight_through"], mse["float"])],
           "code_bits_constant": {k: [rows[k][i].get("code_bits_constant") for i in done]
                                  for k in KINDS[1:]},
           "seconds": {k: [rows[k][i]["seconds"] for i in done] for k in KINDS}}
    return out


def _cells(levels: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Which of the sorted ``levels`` is nearest to each value (the quantizer's cells)."""
    return np.searchsorted((levels[1:] + levels[:-1]) / 2, values)


def _lloyd(values: np.ndarray, levels: int, iterations: int = 60) -> np.ndarray:
    """The ``levels`` reconstruction values of a 1-D Lloyd-Max quantizer fitted to ``values``
    (started at the quantiles, so deterministic)."""
    centers = np.quantile(values, (np.arange(levels) + 0.5) / levels)
    for _ in range(iterations):
        cell = _cells(centers, values)
        centers = np.array([values[cell == j].mean() if np.any(cell == j) else centers[j]
                            for j in range(levels)])
    return centers


def transform_coder(bits: int, thermometer: bool = False, max_levels: int = 256,
                    images: tuple[np.ndarray, np.ndarray] | None = None,
                    components: int | None = None) -> dict:
    """A classical code of ``bits`` bits, for scale: the principal components of the training
    images, each quantized on its own by a Lloyd-Max quantizer, the bits handed out one at a
    time to the component where they lower the training error most. ``b`` bits give a
    component ``2**b`` levels (a binary index), or ``b + 1`` with ``thermometer``: one
    threshold per bit, as ``b`` step neurons reading one linear projection would give. Its
    test MSE per pixel, no training of a network involved. ``images``: (train, test) images
    (default: the digits' test split); ``components``: only the first ones are candidates
    (default: all)."""
    x_train, x_test = (x.reshape(len(x), -1).astype("float64")
                       for x in (images if images is not None else load("test")))
    mean = x_train.mean(axis=0)
    basis = np.linalg.svd(x_train - mean, full_matrices=False)[2][:components]  # rows
    z_train, z_test = (x_train - mean) @ basis.T, (x_test - mean) @ basis.T

    def count(b: int) -> int:
        return b + 1 if thermometer else 2 ** b

    def quantizer(i: int, b: int) -> tuple[np.ndarray, float]:
        """Component ``i`` with ``b`` bits: its levels and its training distortion."""
        if b == 0:
            return np.zeros(1), float(np.mean(z_train[:, i] ** 2))
        levels = _lloyd(z_train[:, i], count(b))
        error = levels[_cells(levels, z_train[:, i])] - z_train[:, i]
        return levels, float(np.mean(error ** 2))

    given = np.zeros(basis.shape[0], int)
    fitted = {(i, 0): quantizer(i, 0) for i in range(len(given))}
    for _ in range(bits):
        gain = []
        for i, b in enumerate(given):
            room = count(b + 1) <= max_levels
            if room and (i, b + 1) not in fitted:
                fitted[i, b + 1] = quantizer(i, b + 1)
            gain.append(fitted[i, b][1] - fitted[i, b + 1][1] if room else -1.0)
        given[int(np.argmax(gain))] += 1
    decoded = np.stack([fitted[i, b][0][_cells(fitted[i, b][0], z_test[:, i])]
                        for i, b in enumerate(given)], axis=1)
    mse = float(np.mean((decoded @ basis + mean - x_test) ** 2))
    return {"bits": bits, "thermometer": thermometer, "mse": mse,
            "components": int(np.sum(given > 0)), "most_bits": int(given.max())}


def figure(sweep: list[dict], coder: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    bits = [r["bits"] for r in sweep]
    for kind, label, marker in (("float", "float twin", "o"), ("whetstone", "Whetstone", "s"),
                                ("straight_through", "straight-through anchor", "^")):
        ax.plot(bits, [r["mse"][kind][0] for r in sweep], marker=marker, label=label)
    for thermometer, label, marker in ((False, "transform coder (PCA + Lloyd-Max)", "x"),
                                       (True, "the same, thermometer bits", "+")):
        points = [r for r in coder if r["thermometer"] == thermometer]
        ax.plot([r["bits"] for r in points], [r["mse"] for r in points], marker=marker,
                color="0.3", linestyle=":" if thermometer else "-.", label=label)
    ax.axhline(2 * sweep[bits.index(64)]["mse"]["float"][0] if 64 in bits else np.nan,
               color="grey", linestyle="--", label="goal: 2 × float at 64 bits")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(bits)
    ax.set_xticklabels([str(b) for b in bits])
    ax.set_xlabel("bits in the code (spiking code neurons)")
    ax.set_ylabel("test MSE per pixel")
    ax.set_title("Digits autoencoder, chosen setting (seed 0)")
    ax.grid(True, which="both", alpha=0.3)
    bottom, top = ax.get_ylim()
    ax.set_ylim(bottom, top * 3)  # room above the lines for the legend
    ax.legend(loc="upper right", ncols=2, fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _previous() -> dict[str, dict[str, dict]]:
    """The rows of the results file already written, by section and setting name."""
    path = RESULTS / "autoencoder.json"
    if not path.exists():
        return {}
    old = json.loads(path.read_text())
    return {section: {x["setting"]: x for x in old.get(section, [])}
            for section in ("search", "sweep", "final", "diagnostics", "reference")}


def report(cache: Path) -> None:
    """Write results/autoencoder.{json,md} and the figure from the cached runs; a setting none
    of whose runs are cached keeps its row of the results file already written (a row is
    re-measured only by running it again)."""
    old = _previous()

    def rows(section, settings, make):
        kept = old.get(section, {})
        return [x for s in settings if (x := make(s) or kept.get(s.name))]

    search = rows("search", SEARCH, lambda s: _summary(s, "val", (0,), cache))
    sweep = rows("sweep", sweep_settings(chosen()), lambda s: _summary(s, "test", (0,), cache))
    final = rows("final", FINAL,
                 lambda s: _summary(s, "test", SEEDS, cache))
    diagnostics = rows("diagnostics", DIAGNOSTICS, lambda s: (
        {"setting": s.name, "float_layers": s.float_layers, "mse_whetstone": r["mse"]}
        if (r := _cached(s, "whetstone", "val", 0, cache)) else None))
    chosen_final = next((x for x in final if x["setting"] == chosen().name), None)
    reference = rows("reference", [REFERENCE], lambda s: _reference(s, chosen_final, cache))
    if not final:
        # Nothing to report from: keep the results files rather than overwrite them empty.
        raise SystemExit(f"no final runs in the cache {cache} or in results/autoencoder.json "
                         f"(run the 'final' stage first, or pass --cache DIR).")
    coder = []
    for thermometer in (False, True):
        for x in sweep:  # each against the float twin whose code has as many values
            c = transform_coder(x["bits"], thermometer)
            coder.append(c | {"ratio_float": c["mse"] / x["mse"]["float"][0]})
    out = {"benchmark": "digits autoencoder: float vs Whetstone vs straight-through",
           "diagnostics": diagnostics, "reference": reference, "transform_coder": coder,
           "chosen": asdict(chosen()), "chosen_recipe": chosen().training_recipe().as_dict(),
           "final": final, "sweep": sweep, "search": search, "machine": machine()}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "autoencoder.json").write_text(json.dumps(out, indent=1, default=str) + "\n")
    if sweep:
        figure(sweep, coder, RESULTS / "autoencoder_code_size.png")
    (RESULTS / "autoencoder.md").write_text(markdown(out))
    print(f"wrote {RESULTS / 'autoencoder.md'}")


def _reference(s: Setting, chosen_final: dict | None, cache: Path) -> dict | None:
    """The reference's test MSEs per kind, and its ratios to the chosen setting's final runs,
    once every seed of every kind is cached."""
    found = {k: [_cached(s, k, "test", seed, cache) for seed in SEEDS] for k in REFERENCE_KINDS}
    if (any(None in runs for runs in found.values()) or chosen_final is None
            or chosen_final["seeds"] != list(SEEDS)):
        return None
    mse = {k: [r["mse"] for r in runs] for k, runs in found.items()}
    reference = np.array(mse["whetstone"])
    flt, whetstone = (np.array(chosen_final["mse"][k]) for k in ("float", "whetstone"))
    return {"setting": s.name, "bits": s.bits, "seeds": list(SEEDS), "mse": mse,
            # per seed: the reference against the chosen float twin, and the chosen
            # all-binary Whetstone network against the reference
            "ratio_float": list(reference / flt), "ratio_whetstone": list(whetstone / reference),
            "code_bits_constant": {k: [r["code_bits_constant"] for r in runs]
                                   for k, runs in found.items()}}


def _ratio_row(x: dict) -> str:
    return (f"| {x['setting']} | {x['bits']} | {_ms(x['mse']['float'])} | "
            f"{_ms(x['mse']['whetstone'])} | {_ms(x['mse']['straight_through'])} | "
            f"{_ms(x['ratio_whetstone'], 2)} × | {_ms(x['ratio_straight_through'], 2)} × |")


def _final_numbers(out: dict) -> dict:
    chosen_, lesson = out["final"][0], out["final"][-1]
    conv = next((x for x in out["final"] if x["setting"] == CONV.name), chosen_)
    # the search row with the lowest Whetstone / float ratio, and its float twin
    low = min(out["search"], key=lambda x: x["ratio_whetstone"][0])
    chosen_val = next((x for x in out["search"] if x["setting"] == chosen_["setting"]), None)

    def vs_anchor(x):
        return np.mean(x["mse"]["whetstone"]) / np.mean(x["mse"]["straight_through"]) - 1

    wins = sum(w < a for w, a in zip(chosen_["mse"]["whetstone"],
                                     chosen_["mse"]["straight_through"]))
    ratios = [np.mean(x["ratio_whetstone"]) for x in (chosen_, conv, lesson)]
    mean = {name: {k: np.mean(x["mse"][k]) for k in KINDS}
            for name, x in (("chosen", chosen_), ("conv", conv), ("lesson", lesson))}
    chosen_float_val = chosen_val["mse"]["float"][0] if chosen_val else float("nan")
    gain = 1 - np.mean(chosen_["mse"]["whetstone"]) / np.mean(lesson["mse"]["whetstone"])
    return {"met_ratio": "met" if ratios[0] <= 2 else "not met",
            "ratio_chosen": f"{ratios[0]:.2f}", "ratio_conv": f"{ratios[1]:.2f}",
            "ratio_lesson": f"{ratios[2]:.2f}",
            "gain_conv": f"{1 - mean['chosen']['whetstone'] / mean['conv']['whetstone']:.0%}",
            "float_change_conv": f"{mean['chosen']['float'] / mean['conv']['float'] - 1:+.0%}",
            "low_ratio": f"{low['ratio_whetstone'][0]:.2f}", "low_setting": low["setting"],
            "low_float": f"{low['mse']['float'][0]:.4f}",
            "chosen_float_val": f"{chosen_float_val:.4f}",
            "met_anchor": "met" if vs_anchor(chosen_) <= 0 else "not met",
            "vs_chosen": f"{vs_anchor(chosen_):+.0%}", "vs_lesson": f"{vs_anchor(lesson):+.0%}",
            "wins": wins, "n": len(chosen_["seeds"]), "gain": f"{gain:.0%}"}


def _reference_numbers(out: dict) -> dict:
    ref = out["reference"][0]
    st_constant = ref["code_bits_constant"]["straight_through"]
    st = _ms(ref["mse"]["straight_through"])
    return {"n_last": len(ref["seeds"]) - 1, "whetstone_ref": _ms(ref["mse"]["whetstone"]),
            "float": _ms(out["final"][0]["mse"]["float"]),
            "ref_vs_float": f"{np.mean(ref['ratio_float']):.1f}",
            "ratio": _ms(ref["ratio_whetstone"], 2),
            "met": "met" if np.mean(ref["ratio_whetstone"]) <= 2 else "not met",
            "straight_through": (
                f"training collapsed: {st}, every code bit constant on every seed (the "
                "read-out draws one image for all inputs)" if min(st_constant) == ref["bits"]
                else f"it scores {st} ({', '.join(map(str, st_constant))} of the "
                f"{ref['bits']} code bits constant on the seeds)")}


def _retention_numbers(out: dict) -> dict:
    """The autoencoder row of ``retention.json`` (test split), and how the lesson's final row
    here compares with it seed by seed."""
    rows = sorted((r for r in json.loads((RESULTS / "retention.json").read_text())["rows"]
                   if r["task"] == "digits autoencoder" and r["split"] == "test"),
                  key=lambda r: r["seed"])
    lesson = out["final"][-1]
    same = [r["seed"] for r in rows] == list(lesson["seeds"]) and all(
        np.isclose(r[key], m, rtol=1e-6)
        for key in ("float", "whetstone") for r, m in zip(rows, lesson["mse"][key]))
    return {"float": _ms([r["float"] for r in rows]),
            "whetstone": _ms([r["whetstone"] for r in rows]),
            "agreement": "the same numbers, seed by seed" if same
            else "not identical seed by seed, within its spread"}


def _sweep_numbers(out: dict) -> dict:
    by_bits = {x["bits"]: x["mse"] for x in out["sweep"]}
    ratios = [x["ratio_whetstone"][0] for x in out["sweep"]]
    spread = max(abs(x["mse"]["whetstone"][0] / x["mse"]["straight_through"][0] - 1)
                 for x in out["sweep"])
    lowest = min(out["sweep"], key=lambda x: x["ratio_whetstone"][0])
    return {"sweep_gain": f"{1 - by_bits[256]['whetstone'][0] / by_bits[64]['whetstone'][0]:.0%}",
            "low": f"{min(ratios):.1f}", "high": f"{max(ratios):.1f}",
            "st_spread": f"{spread:.0%}", "lowest_bits": lowest["bits"],
            "sweep_ratio": f"{by_bits[256]['whetstone'][0] / by_bits[64]['float'][0]:.1f}"}


def _coder_numbers(out: dict) -> dict:
    coder = {c["bits"]: c["mse"] for c in out["transform_coder"] if not c["thermometer"]}
    thermo = {c["bits"]: c["mse"] for c in out["transform_coder"] if c["thermometer"]}
    sweep = {x["bits"]: x["mse"] for x in out["sweep"]}
    return {"coder_64": f"{coder[64]:.4f}",
            "coder_ratio": f"{coder[64] / sweep[64]['float'][0]:.1f}",
            "goal": f"{2 * sweep[64]['float'][0]:.4f}",
            "whetstone_vs_coder": f"{sweep[64]['whetstone'][0] / coder[64]:.1f}",
            "thermo_vs": _relative(thermo[64], sweep[64]["whetstone"][0]),
            **{f"thermo_{b}": f"{thermo[b]:.4f}" for b in (64, 128, 256)},
            **{f"whetstone_{b}": f"{sweep[b]['whetstone'][0]:.4f}" for b in (64, 128, 256)},
            "bits_for_goal": min((b for b, m in coder.items() if m <= 2 * sweep[64]["float"][0]),
                                 default=None)}


#: The search rows the notes on dense networks quote, by a short key.
DENSE_ROWS = {"conv": CONV.name, "conv_noise": CONV_NOISE.name,
              **{key: setting.name for key, setting in DENSE.items()}}


def _dense_numbers(out: dict) -> dict:
    rows = {x["setting"]: x for x in out["search"]}
    numbers = {}
    for key, name in DENSE_ROWS.items():
        x = rows[name]
        numbers |= {f"{key}_{k[0]}": x["mse"][k][0] for k in KINDS}  # _f, _w, _s
        numbers[f"{key}_seconds"] = x["seconds"]["whetstone"][0]
    dense = [rows[name] for key, name in DENSE_ROWS.items() if not key.startswith("conv")]
    numbers["wins"] = sum(x["mse"]["whetstone"][0] < x["mse"]["straight_through"][0]
                          for x in dense)
    numbers["n_dense"] = len(dense)
    wider = min(numbers["dec4096_w"], numbers["deep_w"]) < numbers["long_w"]
    numbers["wider"] = "helps" if wider else "does not help"
    # As the notes print them: an MSE with 4 decimals, a run's seconds whole.
    return {k: f"{v:.0f}" if k.endswith("_seconds") else f"{v:.4f}" if k[-2:] in MSE_KEYS
            else v for k, v in numbers.items()}


#: How the dense notes' MSE keys end (``_f``, ``_w``, ``_s``: float, Whetstone, anchor).
MSE_KEYS = ("_f", "_w", "_s")


def _relative(value: float, reference: float) -> str:
    """``"12% below"`` / ``"12% above"``: ``value`` against ``reference``."""
    change = value / reference - 1
    return f"{abs(change):.0%} {'below' if change < 0 else 'above'}"


def markdown(out: dict) -> str:
    """The report, from the results file's contents (and ``retention.json``) alone."""
    final_numbers = _final_numbers(out)
    reference = ""
    if out.get("reference"):
        reference = "\n\n" + render("autoencoder_reference", _reference_numbers(out))
    coder = ""
    if out.get("transform_coder"):
        by_bits = {x["bits"]: x["mse"] for x in out["sweep"]}
        thermo = {c["bits"]: c["mse"] for c in out["transform_coder"] if c["thermometer"]}
        rows = [f"| {c['bits']} | {c['mse']:.4f} | {c['components']} | "
                f"{thermo[c['bits']]:.4f} | {by_bits[c['bits']]['float'][0]:.4f} | "
                f"{by_bits[c['bits']]['whetstone'][0]:.4f} | "
                f"{c['mse'] / by_bits[c['bits']]['float'][0]:.2f} × |"
                for c in out["transform_coder"] if not c["thermometer"]]
        coder = "\n\n" + render("autoencoder_coder",
                                  {"rows": "\n".join(rows), **_coder_numbers(out)})
    dense = ""
    if all(name in {x["setting"] for x in out["search"]} for name in DENSE_ROWS.values()):
        dense = "\n" + render("autoencoder_dense", _dense_numbers(out))
    diagnostic_rows = []
    lesson = next((x for x in out["search"] if x["setting"] == LESSON.name), None)
    if lesson:
        diagnostic_rows += [
            f"| none (the lesson's Whetstone) | {lesson['mse']['whetstone'][0]:.4f} |",
            f"| all (the lesson's float twin) | {lesson['mse']['float'][0]:.4f} |"]
    which = {"code": "the code", "hidden": "the four hidden layers"}
    diagnostic_rows += [f"| {which[d['float_layers']]} | {d['mse_whetstone']:.4f} |"
                        for d in out["diagnostics"]]
    return render("autoencoder", {
        "final_rows": "\n".join(_ratio_row(x) for x in out["final"]),
        "final_settings": "\n".join(f"* {x['setting']}: {x['network']}; {x['recipe']}."
                                    for x in out["final"]),
        **final_numbers, "reference": reference,
        "sweep_rows": "\n".join(_ratio_row(x) for x in out["sweep"]),
        **_sweep_numbers(out), "coder": coder,
        "search_rows": "\n".join(_ratio_row(x) for x in out["search"]), "dense": dense,
        "diagnostic_rows": "".join("\n" + r for r in diagnostic_rows),
        **_retention_numbers(out), "machine": out["machine"]})


if __name__ == "__main__":
    main()
