"""Small helpers the lesson notebooks share: recipes, a quiet ``train``, checks and tables.

Anything two notebooks would otherwise copy lives here, so the notebooks only tell the story.

Example:
    >>> import whetstone_lab as wl
    >>> from whetstone_lab import lessons
    >>> data = wl.data.load("digits")
    >>> model = wl.models.dense_classifier((8, 8, 1), 10, temperature=lessons.TEMPERATURE)
    >>> history = lessons.train(model, data.x_train, data.y_train, lessons.recipe("lesson"))
    >>> lessons.accuracy(model, data.x_test, data.y_test)  # fully sharp after the recipe
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

import keras
import numpy as np

from .sharpening import (
    MODES,
    SimpleSharpener,
    SpikingEvaluator,
    StraightThroughFinetune,
    fully_sharp,
    global_sharpness,
    set_sharpness,
    spiking_layers,
)

# TensorFlow's Python logger warns about re-traced functions when a lesson evaluates
# differently sized splits; lessons print their own one-line summaries instead.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

__all__ = [
    "OPTIMIZERS",
    "Recipe",
    "recipe",
    "make_optimizer",
    "compile_classifier",
    "train",
    "validation_split",
    "FloatSnapshot",
    "describe_model",
    "set_batchnorm_momentum",
    "accuracy",
    "spiking_outputs",
    "assert_binary",
    "TEMPERATURE",
    "Ties",
    "ties",
    "quantize_weights",
    "results_table",
]

#: Optimizers of the lessons and the learning rate each one works well with on digits.
#: Adadelta's Keras 3 default (1e-3) barely moves; 1.0 is the value of its paper and of Keras 2.
OPTIMIZERS: dict[str, float] = {"adam": 1e-3, "rmsprop": 1e-3, "adadelta": 1.0, "sgd": 0.02}


#: Decoder temperature of the lessons' classifiers (pass it as ``temperature=`` to the model
#: builders). Dividing the N-hot logits by 20 keeps the cross-entropy from vanishing once the
#: right class leads by a vote or two, so every output neuron keeps learning; it never changes
#: which class wins. Chosen on the digits validation split (notebooks/README.md, Recipe study).
TEMPERATURE: float = 20.0


def _check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def _check_rate(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.generic)):
        raise TypeError(f"{name} must be a positive number, got {value!r}.")
    if not (math.isfinite(float(value)) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}.")
    return float(value)


def make_optimizer(name: str = "adam", learning_rate: float | None = None):
    """A fresh Keras optimizer by name.

    Args:
        name: one of ``"adam"``, ``"rmsprop"``, ``"adadelta"``, ``"sgd"`` (SGD uses momentum 0.9).
        learning_rate: defaults to the value in :data:`OPTIMIZERS`.

    Example:
        >>> make_optimizer("adadelta").learning_rate.numpy()  # 1.0
    """
    if not isinstance(name, str) or name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}.")
    name = name.lower()
    lr = OPTIMIZERS[name] if learning_rate is None else _check_rate(learning_rate, "learning_rate")
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    if name == "adadelta":
        return keras.optimizers.Adadelta(lr)
    return keras.optimizers.SGD(lr, momentum=0.9)


@dataclass(frozen=True)
class Recipe:
    """How to train a classifier into a fully sharp spiking network.

    ``warmup_epochs`` float epochs, then ``sharpen_epochs`` epochs in which the global
    sharpness rises from 0 to 1 (per batch or per epoch, bottom-up or uniform), then
    ``sharp_epochs`` fully sharp epochs. Per batch, the sharpness rises after every batch of
    the sharpening epochs and is 1 at their end. Per epoch, it rises at the end of the last
    warm-up epoch and of every sharpening epoch but the last, which trains fully sharp (the
    2018 recipe: 6 + 15 epochs, steps at the ends of epochs 5..19, epoch 20 fully sharp).
    While sharpening, the learning rate is ``sharpen_learning_rate`` (a smaller step lets
    the layers above follow each change below).

    Attributes:
        name: a label for tables.
        warmup_epochs, sharpen_epochs, sharp_epochs: the three phases, in epochs.
        finetune_epochs: fully sharp epochs at the end in which the steps pass a
            straight-through gradient (the forward pass stays binary; at sharpness 1 the
            step alone passes none, so without this nothing below the output learns).
        per: ``"batch"`` or ``"epoch"``: how often the sharpness rises.
        mode: ``"bottom_up"`` or ``"uniform"``.
        optimizer: a name from :data:`OPTIMIZERS`.
        learning_rate: learning rate of the warm-up (None: the optimizer's default).
        sharpen_learning_rate: learning rate from the start of sharpening (None: unchanged).
        batch_size: mini-batch size.
    """

    name: str = "lesson"
    warmup_epochs: int = 10
    sharpen_epochs: int = 10
    sharp_epochs: int = 0
    finetune_epochs: int = 0
    per: str = "batch"
    mode: str = "bottom_up"
    optimizer: str = "adam"
    learning_rate: float | None = None
    sharpen_learning_rate: float | None = None
    batch_size: int = 32

    def __post_init__(self):
        _check_positive_int(self.warmup_epochs, "warmup_epochs", 0)
        _check_positive_int(self.sharpen_epochs, "sharpen_epochs", 1)
        _check_positive_int(self.sharp_epochs, "sharp_epochs", 0)
        _check_positive_int(self.finetune_epochs, "finetune_epochs", 0)
        _check_positive_int(self.batch_size, "batch_size", 1)
        if self.per not in ("batch", "epoch"):
            raise ValueError(f"per must be 'batch' or 'epoch', got {self.per!r}.")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}.")
        if not isinstance(self.optimizer, str) or self.optimizer.lower() not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(OPTIMIZERS)}, got {self.optimizer!r}."
            )
        for field in ("learning_rate", "sharpen_learning_rate"):
            if getattr(self, field) is not None:
                _check_rate(getattr(self, field), field)

    @property
    def epochs(self) -> int:
        """Total epochs: warm-up + sharpening + fully sharp + straight-through fine-tune."""
        return self.warmup_epochs + self.sharpen_epochs + self.sharp_epochs + \
            self.finetune_epochs

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed: ``recipe("lesson").with_(optimizer="sgd")``."""
        return replace(self, **changes)

    def sharpener(self, num_samples: int, num_spiking_layers: int) -> SimpleSharpener:
        """The :class:`SimpleSharpener` that spreads sharpening over ``sharpen_epochs``."""
        num_samples = _check_positive_int(num_samples, "num_samples")
        layers = _check_positive_int(num_spiking_layers, "num_spiking_layers")
        points = self.sharpen_epochs
        if self.per == "batch":
            points *= math.ceil(num_samples / self.batch_size)
        if self.mode == "bottom_up":
            steps = max(1, points // layers)  # SimpleSharpener counts steps per layer
        else:
            steps = points
        # Per epoch, the first step lands at the end of the first sharpening epoch, so the
        # sharpener starts one epoch earlier to finish within the window.
        start = self.warmup_epochs if self.per == "batch" else max(self.warmup_epochs - 1, 0)
        return SimpleSharpener(start_epoch=start, steps=steps, per=self.per, mode=self.mode)

    def learning_rates(self) -> tuple[float, float]:
        """(warm-up learning rate, sharpening learning rate)."""
        lr = OPTIMIZERS[self.optimizer.lower()] if self.learning_rate is None \
            else self.learning_rate
        return lr, lr if self.sharpen_learning_rate is None else self.sharpen_learning_rate


_RECIPES = {
    # The 2018 reference recipe: sharpen one layer a fifth at a time, once per epoch.
    "simple_2018": Recipe("simple_2018", warmup_epochs=6, sharpen_epochs=15, per="epoch",
                          learning_rate=1e-3),
    # The lessons' recipe: the same schedule, for models built with temperature=TEMPERATURE.
    # At that temperature longer per-batch schedules and a straight-through fine-tune no longer
    # beat it on the validation split (notebooks/README.md, Recipe study), so the shortest wins.
    "lesson": Recipe("lesson", warmup_epochs=6, sharpen_epochs=15, per="epoch",
                     learning_rate=1e-3),
    # Longer: per-batch sharpening and a straight-through fine-tune, which still pays for the
    # BatchNorm conv net of lesson 03 (see notebooks/README.md).
    "straight_through": Recipe("straight_through", warmup_epochs=10, sharpen_epochs=15,
                               finetune_epochs=10, per="batch", learning_rate=1e-3),
}


def recipe(name: str = "lesson", *, fast: bool | None = None) -> Recipe:
    """A named training recipe, shortened in fast mode.

    Args:
        name: ``"simple_2018"`` (the paper's recipe: Adam 1e-3, batch 32, Simple schedule
            starting after epoch 5, 5 steps per layer, one per epoch, bottom-up; 21 epochs)
            or ``"lesson"``, the same schedule for classifiers built with the decoder
            temperature :data:`TEMPERATURE`: on the digits validation split it matched
            longer per-batch schedules with or without a straight-through fine-tune
            (0.964 against 0.965 and 0.967, 3 seeds each; notebooks/README.md), or
            ``"straight_through"`` (10 float epochs, 15 epochs of per-batch bottom-up
            sharpening, 10 fully sharp epochs with a straight-through gradient; 35 epochs),
            which lesson 03 uses for its BatchNorm conv net.
        fast: shorten the phases (for CI); default: ``whetstone_lab.fast_mode()``.

    Example:
        >>> recipe("simple_2018").epochs
        21
    """
    if name not in _RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {sorted(_RECIPES)}.")
    if fast is None:
        from . import fast_mode

        fast = fast_mode()
    r = _RECIPES[name]
    if fast:
        r = r.with_(warmup_epochs=min(r.warmup_epochs, 3), sharpen_epochs=3,
                    sharp_epochs=0, finetune_epochs=min(r.finetune_epochs, 1), per="batch")
    return r


class _LearningRateSwitch(keras.callbacks.Callback):
    """Set the optimizer's learning rate to ``after`` from epoch ``epoch`` on."""

    def __init__(self, epoch: int, before: float, after: float):
        super().__init__()
        self.epoch, self.before, self.after = epoch, before, after

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.after if epoch >= self.epoch
                                                  else self.before)


class _Progress(keras.callbacks.Callback):
    """One printed line every ``every`` epochs and a final summary; no progress bars."""

    def __init__(self, every: int, total: int):
        super().__init__()
        self.every, self.total = every, total

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()
        self.last: dict = {}
        self.epochs_run = 0

    def on_epoch_end(self, epoch, logs=None):
        self.last = dict(logs or {})
        self.epochs_run = epoch + 1
        if self.every and (epoch + 1) % self.every == 0 and epoch + 1 < self.total:
            print(f"epoch {epoch + 1:3d}/{self.total}  {_format_logs(self.last)}")

    def on_train_end(self, logs=None):
        seconds = time.perf_counter() - self.start
        print(f"trained {self.epochs_run} epochs in {seconds:.1f} s  {_format_logs(self.last)}")


def _format_logs(logs: Mapping[str, float]) -> str:
    names = [k for k in ("loss", "accuracy", "val_accuracy", "spiking_accuracy", "sharpness")
             if k in logs]
    return "  ".join(f"{k} {float(logs[k]):.3f}" for k in names)


def compile_classifier(model: keras.Model, optimizer: str = "adam",
                       learning_rate: float | None = None) -> keras.Model:
    """Compile a classifier for integer labels: sparse categorical cross-entropy + accuracy."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    model.compile(optimizer=make_optimizer(optimizer, learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def train(model: keras.Model, x: np.ndarray, y: np.ndarray, recipe: Recipe | None = None, *,
          epochs: int | None = None, sharpen: bool = True,
          validation_data: tuple[np.ndarray, np.ndarray] | None = None,
          spiking_evaluator: bool = False, callbacks: Iterable = (), every: int = 0,
          seed: int | None = 0,
          sample_weight: np.ndarray | None = None) -> keras.callbacks.History:
    """Compile and fit a classifier with a recipe, quietly, printing one summary line.

    Args:
        model: a classifier from :mod:`whetstone_lab.models` (outputs class probabilities).
        x, y: training inputs and integer labels.
        recipe: the :class:`Recipe` (default ``recipe("lesson")``).
        epochs: override the recipe's total epochs (e.g. to train a float network).
        sharpen: False trains a float network: no sharpener, no learning-rate switch.
        validation_data: ``(x, y)`` for ``val_*`` metrics (and the spiking evaluator).
        spiking_evaluator: add :class:`SpikingEvaluator` on ``validation_data`` (or on the
            training data when there is none): the ``spiking_accuracy`` curve.
        callbacks: more Keras callbacks.
        every: also print a line every ``every`` epochs (0: only the summary line).
        seed: seed for weights and shuffling (None: leave the random state alone).
        sample_weight: loss weights per sample, or per pixel for a segmenter (see
            :func:`whetstone_lab.data.pixel_weights`).

    Returns:
        The Keras ``History``; ``history.history["sharpness"]`` holds the schedule.

    Example:
        >>> history = train(model, x, y, recipe("simple_2018"), every=5)
    """
    r = globals()["recipe"]() if recipe is None else recipe
    if not isinstance(r, Recipe):
        raise TypeError(f"recipe must be a Recipe (see lessons.recipe()), got {r!r}.")
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}.")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    total = r.epochs if epochs is None else _check_positive_int(epochs, "epochs")
    warm_lr, sharp_lr = r.learning_rates()
    compile_classifier(model, r.optimizer, warm_lr)
    cbs = list(callbacks)
    if sharpen:
        cbs = [r.sharpener(len(x), len(spiking_layers(model))),
               _LearningRateSwitch(r.warmup_epochs, warm_lr, sharp_lr), *cbs]
        if r.finetune_epochs:
            cbs.insert(1, StraightThroughFinetune(r.epochs - r.finetune_epochs))
    if spiking_evaluator:
        cbs.append(SpikingEvaluator(validation_data if validation_data is not None else (x, y)))
    cbs.append(_Progress(_check_positive_int(every, "every", 0), total))
    ndim = np.ndim(sample_weight)
    if sample_weight is not None and (ndim == 0 or np.shape(sample_weight) != y.shape[:ndim]):
        raise ValueError(f"sample_weight must match y's leading shape {y.shape}, got shape "
                         f"{np.shape(sample_weight)}.")
    return model.fit(x, y, batch_size=r.batch_size, epochs=total, verbose=0,
                     sample_weight=sample_weight, validation_data=validation_data,
                     callbacks=cbs)


def validation_split(x: np.ndarray, y: np.ndarray, fraction: float = 0.2, seed: int = 0):
    """Carve a stratified validation split from the training data.

    Returns:
        ``(x_train, y_train, x_val, y_val)``.
    """
    from sklearn.model_selection import train_test_split

    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be strictly between 0 and 1, got {fraction!r}.")
    x_tr, x_val, y_tr, y_val = train_test_split(x, y, test_size=fraction, random_state=seed,
                                                stratify=y)
    return x_tr, y_tr, x_val, y_val


def accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray, *,
             sharp: bool = False, batch_size: int = 256) -> float:
    """Fraction of samples whose most probable class is the label.

    Runs through the model's cached compiled recorder (see :mod:`whetstone_lab.spikes`), so
    evaluating splits of different sizes, or at different sharpness, never re-traces.

    Args:
        model: a classifier whose output is class probabilities.
        x, y: inputs and integer labels.
        sharp: evaluate with every spiking layer at 1 (sharpness restored afterwards).
        batch_size: samples per forward pass.

    Example:
        >>> accuracy(model, data.x_test, data.y_test, sharp=True)
    """
    from . import spikes

    y = np.asarray(y)
    if sharp:
        with fully_sharp(model):
            probs = spikes.record_with_output(model, x, batch_size=batch_size)[1]
    else:
        probs = spikes.record_with_output(model, x, batch_size=batch_size)[1]
    if probs.shape[0] != y.shape[0]:
        raise ValueError(f"x has {probs.shape[0]} samples but y has {y.shape[0]}.")
    return float(np.mean(np.argmax(probs, axis=-1) == y))


class FloatSnapshot(keras.callbacks.Callback):
    """Keep the weights of the last epoch trained entirely at sharpness 0.

    That is the float network just before sharpening began, whatever the schedule (fixed or
    adaptive). :meth:`float_model` rebuilds it.

    Example:
        >>> snap = FloatSnapshot()
        >>> train(model, x, y, recipe, callbacks=[snap])
        >>> before = snap.float_model()   # same architecture, float weights, sharpness 0
    """

    def __init__(self):
        super().__init__()
        self.weights: list[np.ndarray] | None = None
        self.epoch: int | None = None

    def _all_float(self) -> bool:
        return not any(layer.get_sharpness() > 0 for layer in spiking_layers(self.model))

    def on_epoch_begin(self, epoch, logs=None):
        self._float = self._all_float()

    def on_train_batch_begin(self, batch, logs=None):
        if self._float and not self._all_float():
            self._float = False

    def on_epoch_end(self, epoch, logs=None):
        if self._float:
            self.weights = [np.copy(w) for w in self.model.get_weights()]
            self.epoch = epoch

    def float_model(self) -> keras.Model:
        """A copy of the model with the snapshot weights and every layer at sharpness 0."""
        if self.weights is None:
            raise ValueError("no epoch was trained entirely at sharpness 0, so there is no "
                             "float network to return; train with a warm-up first.")
        from .models import float_twin

        twin = float_twin(self.model)
        twin.set_weights(self.weights)
        set_sharpness(twin, 0.0)
        return twin


def set_batchnorm_momentum(model: keras.Model, momentum: float = 0.9) -> int:
    """Set the momentum of every BatchNormalization layer; return how many were changed.

    Keras' default 0.99 averages the batch statistics over ~100 batches. Digits has only
    ~36 batches per epoch and sharpening keeps shifting the statistics, so the running
    averages that inference (and BN folding) uses would lag behind the network. Call this
    before training.

    Args:
        momentum: in [0, 1); smaller follows the recent batches more closely.
    """
    if isinstance(momentum, bool) or not isinstance(momentum, (numbers.Real, np.generic)):
        raise TypeError(f"momentum must be a number in [0, 1), got {momentum!r}.")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum!r}.")
    changed = 0
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = float(momentum)
            changed += 1
    return changed


def describe_model(model: keras.Model) -> str:
    """One line per layer: name, kind, output shape and, for spiking layers, the sharpness.

    A compact, plain-text alternative to ``model.summary()`` for stored notebooks.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {type(model).__name__}.")
    lines = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.output.shape[1:])
        extra = f"  sharpness {layer.get_sharpness():.2f}" if layer in spiking_layers(model) \
            else ""
        lines.append(f"{layer.name:14s} {type(layer).__name__:20s} {str(shape):14s}{extra}")
    lines.append(f"{model.count_params():,} parameters, "
                 f"{len(spiking_layers(model))} spiking layers")
    return "\n".join(lines)


def spiking_outputs(model: keras.Model, x: np.ndarray, batch_size: int = 256
                    ) -> dict[str, np.ndarray]:
    """The output of every spiking layer for ``x``, keyed by layer name (input to output)."""
    from . import spikes

    return spikes.record(model, x, batch_size=batch_size)


def assert_binary(model: keras.Model, x: np.ndarray) -> int:
    """Check that every spiking layer's output on ``x`` is exactly 0 or 1.

    Returns:
        How many outputs were checked (so a notebook can print it).

    Raises:
        AssertionError: naming the first layer with a value strictly between 0 and 1.
    """
    checked = 0
    for name, out in spiking_outputs(model, x).items():
        inside = np.count_nonzero((out != 0) & (out != 1))
        if inside:
            raise AssertionError(
                f"layer {name!r} has {inside} of {out.size} outputs that are not exactly 0 or 1 "
                f"(global sharpness {global_sharpness(model):.3f})."
            )
        checked += out.size
    return checked


@dataclass(frozen=True)
class Ties:
    """How many fully sharp decisions are exact ties (see :func:`ties`)."""

    samples: int
    tied: int
    tied_wrong: int

    @property
    def fraction(self) -> float:
        """Fraction of the samples whose top class is tied."""
        return self.tied / self.samples


def ties(model: keras.Model, x: np.ndarray, y: np.ndarray) -> Ties:
    """Count exact ties of the nearest-codeword decision of the fully sharp network.

    With binary output spikes two classes can be at the same Hamming distance from the
    output; the decoder then picks the lower class index, which is often wrong.

    Args:
        model: a classifier ending in :class:`~whetstone_lab.layers.SoftmaxDecode`.
        x, y: inputs and integer labels.

    Returns:
        A :class:`Ties` with the number of samples, of tied samples and of tied samples
        whose decoded class is not the label.

    Example:
        >>> t = ties(model, data.x_test, data.y_test)
        >>> print(f"{t.tied} ties, {t.tied_wrong} of them wrong")
    """
    from .layers import SoftmaxDecode

    decoders = [layer for layer in model.layers if isinstance(layer, SoftmaxDecode)]
    if not decoders:
        raise TypeError("ties needs a classifier ending in SoftmaxDecode; "
                        f"model {model.name!r} has none.")
    y = np.asarray(y)
    with fully_sharp(model):
        out = list(spiking_outputs(model, x).values())[-1]
    if out.shape[0] != y.shape[0]:
        raise ValueError(f"x has {out.shape[0]} samples but y has {y.shape[0]}.")
    key = decoders[-1].key.astype(np.float32)
    logits = (2.0 * out - 1.0) @ (2.0 * key.T - 1.0)  # the decoder's logits before 1/T
    tied = np.sum(logits == logits.max(axis=1, keepdims=True), axis=1) > 1
    wrong = np.argmax(logits, axis=1) != y
    return Ties(len(y), int(tied.sum()), int((tied & wrong).sum()))


def quantize_weights(model: keras.Model, bits: int) -> keras.Model:
    """A copy of ``model`` whose Dense/Conv2D weights are rounded to ``bits`` bits.

    Symmetric uniform rounding per layer: kernel and bias share one step
    ``max|w| / (2**(bits-1) - 1)``, so a layer keeps ``2**bits - 1`` distinct values
    (zero included). The spiking layers keep their sharpness.

    Args:
        bits: 2 to 32 (32 returns the weights unchanged).

    Example:
        >>> accuracy(quantize_weights(model, 4), x_test, y_test)
    """
    bits = _check_positive_int(bits, "bits", 2)
    if bits > 32:
        raise ValueError(f"bits must be between 2 and 32, got {bits}.")
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    if bits == 32:
        return clone
    levels = 2 ** (bits - 1) - 1
    for layer in clone.layers:
        if not isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            continue
        weights = layer.get_weights()
        largest = max(float(np.max(np.abs(w))) for w in weights)
        if largest == 0:
            continue
        step = largest / levels
        layer.set_weights([(np.round(w / step) * step).astype(w.dtype) for w in weights])
    return clone


def results_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str] | None = None,
                  *, digits: int = 3, formatters: Mapping[str, Callable] | None = None) -> str:
    """A plain-text table (GitHub-markdown pipes) from a list of dicts, ready to ``print``.

    Args:
        rows: one dict per row.
        columns: which keys, in order (default: the keys of the first row).
        digits: decimals for floats.
        formatters: optional ``{column: callable(value) -> str}``.

    Example:
        >>> print(results_table([{"optimizer": "adam", "float": 0.98, "sharp": 0.97}]))
        | optimizer | float | sharp |
        |-----------|-------|-------|
        | adam      | 0.980 | 0.970 |
    """
    rows = list(rows)
    if not rows:
        raise ValueError("results_table needs at least one row.")
    columns = list(columns) if columns is not None else list(rows[0])
    formatters = dict(formatters or {})

    def fmt(col, value):
        if col in formatters:
            return formatters[col](value)
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.{digits}f}"
        return str(value)

    cells = [[fmt(c, row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = lambda values: "| " + " | ".join(
        v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(columns), rule, *(line(r) for r in cells)])
