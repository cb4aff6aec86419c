"""The one way to train a lesson network: a :class:`Recipe`, :func:`fit`, and its callbacks.

A recipe has four phases, in epochs (docs/design.md, "Training")::

    warm-up (float) → sharpening → fully sharp → straight-through fine-tune

and a learning rate per phase. :func:`fit` compiles the model for its task (classifier,
segmenter or autoencoder), adds the sharpener the recipe describes, the learning-rate
schedule and the fine-tune, and trains with a short progress display. Called with
``sharpen=False`` it trains the *float twin*: the same epochs and the same learning rates,
epoch for epoch, with every spiking layer left at sharpness 0.

Example:
    >>> import whetstone_lab as wl
    >>> data = wl.data.load("digits")
    >>> model = wl.models.dense_classifier()  # 8×8 digits, 10 classes
    >>> wl.training.fit(model, data.x_train, data.y_train, wl.training.recipe("lesson"))
    >>> wl.metrics.evaluate(model, data.x_test, data.y_test)  # fully sharp after the recipe
"""

from __future__ import annotations

import logging
import math
import random
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace

import keras
import numpy as np

from .layers import DecoderCrossEntropy
from .metrics import detect_task
from .models import float_twin
from .sharpening import (
    MODES,
    SimpleSharpener,
    SpikingEvaluator,
    is_fully_sharp,
    set_sharpness,
    spiking_layers,
)
from .validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_model,
    check_number,
    check_probability,
    check_same_length,
)

# TensorFlow's Python logger warns about re-traced functions when a lesson evaluates
# differently sized splits; fit prints its own one-line summaries instead.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

__all__ = [
    "OPTIMIZERS",
    "Recipe",
    "RECIPES",
    "recipe",
    "make_optimizer",
    "compile_model",
    "fit",
    "validation_split",
    "seed_everything",
    "StraightThroughFinetune",
    "FloatSnapshot",
    "LearningRates",
]

#: Optimizers of the lessons and the learning rate each one works well with on digits.
#: Adadelta's Keras 3 default (1e-3) barely moves; 1.0 is the value of its paper and of Keras 2.
OPTIMIZERS: dict[str, float] = {"adam": 1e-3, "rmsprop": 1e-3, "adadelta": 1.0, "sgd": 0.02}


def make_optimizer(name: str = "adam", learning_rate: float | None = None):
    """A fresh Keras optimizer by name.

    Args:
        name: one of ``"adam"``, ``"rmsprop"``, ``"adadelta"``, ``"sgd"`` (SGD uses momentum 0.9).
        learning_rate: defaults to the value in :data:`OPTIMIZERS`.

    Example:
        >>> make_optimizer("adadelta").learning_rate.numpy()  # 1.0
    """
    name = check_choice(name.lower() if isinstance(name, str) else name, "optimizer",
                        tuple(OPTIMIZERS))
    lr = OPTIMIZERS[name] if learning_rate is None else check_number(
        learning_rate, "learning_rate", minimum=0.0, min_open=True)
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    if name == "adadelta":
        return keras.optimizers.Adadelta(lr)
    return keras.optimizers.SGD(lr, momentum=0.9)


@dataclass(frozen=True)
class Recipe:
    """How to train a network into a fully sharp spiking network.

    ``warmup_epochs`` float epochs, then ``sharpen_epochs`` epochs in which the global
    sharpness rises from 0 to 1 (per batch or per epoch, bottom-up or uniform), then
    ``sharp_epochs`` fully sharp epochs, then ``finetune_epochs`` fully sharp epochs with a
    straight-through gradient. Per batch, the sharpness rises after every batch of the
    sharpening epochs and is 1 at their end. Per epoch, it rises at the end of the last
    warm-up epoch and of every sharpening epoch but the last, which trains fully sharp (the
    2018 recipe: 6 + 15 epochs, steps at the ends of epochs 5..19, epoch 20 fully sharp).

    Learning rates, by phase (:meth:`learning_rate_at`): ``learning_rate`` in the warm-up,
    ``sharpen_learning_rate`` while sharpening and fully sharp (a smaller step lets the
    layers above follow each change below), ``finetune_learning_rate`` in the fine-tune,
    decaying geometrically to ``finetune_learning_rate_end`` if given; None: the previous rate.

    Attributes:
        name: a label for tables.
        warmup_epochs, sharpen_epochs, sharp_epochs, finetune_epochs: the phases, in epochs.
        per: ``"batch"`` or ``"epoch"``: how often the sharpness rises.
        mode: ``"bottom_up"`` or ``"uniform"``.
        optimizer: a name from :data:`OPTIMIZERS`.
        learning_rate: warm-up learning rate (None: the optimizer's default).
        sharpen_learning_rate: from the start of sharpening (None: unchanged).
        finetune_learning_rate: from the start of the fine-tune (None: unchanged).
        finetune_learning_rate_end: where the fine-tune's rate ends (None: constant).
        batch_size: mini-batch size.
    """

    name: str = "custom"
    warmup_epochs: int = 10
    sharpen_epochs: int = 10
    sharp_epochs: int = 0
    finetune_epochs: int = 0
    per: str = "batch"
    mode: str = "bottom_up"
    optimizer: str = "adam"
    learning_rate: float | None = None
    sharpen_learning_rate: float | None = None
    finetune_learning_rate: float | None = None
    finetune_learning_rate_end: float | None = None
    batch_size: int = 32

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {self.name!r}.")
        check_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        check_int(self.sharpen_epochs, "sharpen_epochs", minimum=1)
        check_int(self.sharp_epochs, "sharp_epochs", minimum=0)
        check_int(self.finetune_epochs, "finetune_epochs", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_choice(self.per, "per", ("batch", "epoch"))
        check_choice(self.mode, "mode", MODES)
        check_choice(self.optimizer.lower() if isinstance(self.optimizer, str)
                     else self.optimizer, "optimizer", tuple(OPTIMIZERS))
        for field in ("learning_rate", "sharpen_learning_rate", "finetune_learning_rate",
                      "finetune_learning_rate_end"):
            if getattr(self, field) is not None:
                check_number(getattr(self, field), field, minimum=0.0, min_open=True)

    @property
    def epochs(self) -> int:
        """Total epochs: warm-up + sharpening + fully sharp + straight-through fine-tune."""
        return (self.warmup_epochs + self.sharpen_epochs + self.sharp_epochs
                + self.finetune_epochs)

    @property
    def finetune_start(self) -> int:
        """The first epoch (0-based) of the straight-through fine-tune."""
        return self.epochs - self.finetune_epochs

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed: ``recipe("lesson").with_(optimizer="sgd")``."""
        return replace(self, **changes)

    def steps(self, num_samples: int, num_spiking_layers: int) -> int:
        """The :class:`SimpleSharpener` steps (per layer bottom-up, in all uniform) that
        spread sharpening over ``sharpen_epochs`` for this many samples and layers."""
        num_samples = check_int(num_samples, "num_samples", minimum=1)
        layers = check_int(num_spiking_layers, "num_spiking_layers", minimum=1)
        points = self.sharpen_epochs
        if self.per == "batch":
            points *= math.ceil(num_samples / self.batch_size)
        return max(1, points // layers) if self.mode == "bottom_up" else points

    def sharpener(self, num_samples: int, num_spiking_layers: int) -> SimpleSharpener:
        """The :class:`SimpleSharpener` that spreads sharpening over ``sharpen_epochs``."""
        steps = self.steps(num_samples, num_spiking_layers)
        # Per epoch, the first step lands at the end of the first sharpening epoch, so the
        # sharpener starts one epoch earlier to finish within the window.
        start = self.warmup_epochs if self.per == "batch" else max(self.warmup_epochs - 1, 0)
        return SimpleSharpener(start_epoch=start, steps=steps, per=self.per, mode=self.mode)

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (0-based)."""
        epoch = check_int(epoch, "epoch", minimum=0)
        lr = OPTIMIZERS[self.optimizer.lower()] if self.learning_rate is None \
            else self.learning_rate
        if epoch < self.warmup_epochs:
            return lr
        if self.sharpen_learning_rate is not None:
            lr = self.sharpen_learning_rate
        if epoch < self.finetune_start:
            return lr
        if self.finetune_learning_rate is not None:
            lr = self.finetune_learning_rate
        end = self.finetune_learning_rate_end
        if end is None or self.finetune_epochs < 2:
            return lr
        done = min((epoch - self.finetune_start) / (self.finetune_epochs - 1), 1.0)
        return lr * (end / lr) ** done

    def describe(self) -> str:
        """The recipe in one sentence, for reports."""
        rates = [self.learning_rate_at(e) for e in range(self.epochs)]
        text = (f"{self.epochs} epochs, batch {self.batch_size}, {self.optimizer}: "
                f"{self.warmup_epochs} float epochs at lr {rates[0]:g}, {self.sharpen_epochs} "
                f"epochs sharpening {self.mode.replace('_', '-')} per {self.per}")
        if self.warmup_epochs < self.epochs:
            text += f" at lr {rates[self.warmup_epochs]:g}"
        if self.sharp_epochs:
            text += f", {self.sharp_epochs} fully sharp epochs"
        if self.finetune_epochs:
            text += (f", {self.finetune_epochs} fully sharp straight-through epochs at lr "
                     f"{rates[self.finetune_start]:g}")
            if self.finetune_learning_rate_end is not None and self.finetune_epochs > 1:
                text += f" decaying to {rates[-1]:g}"
        return text

    def as_dict(self) -> dict:
        """The fields as a plain dict (for results files)."""
        return asdict(self)


#: The named recipes. Where a recipe was chosen on a validation split, the comment says where.
RECIPES: dict[str, Recipe] = {
    # The 2018 reference recipe: sharpen one layer a fifth at a time, once per epoch.
    "simple_2018": Recipe("simple_2018", warmup_epochs=6, sharpen_epochs=15, per="epoch",
                          learning_rate=1e-3),
    # The lessons' recipe: the same schedule, for the builders' decoder temperature; longer
    # per-batch schedules and a straight-through fine-tune did not beat it on the validation
    # split there (notebooks/README.md, Recipe study), so the shortest wins.
    "lesson": Recipe("lesson", warmup_epochs=6, sharpen_epochs=15, per="epoch",
                     learning_rate=1e-3),
    # Per-batch sharpening and a straight-through fine-tune, which still pays for the
    # BatchNorm conv net of lesson 03 (notebooks/README.md).
    "straight_through": Recipe("straight_through", warmup_epochs=10, sharpen_epochs=15,
                               finetune_epochs=10, per="batch", learning_rate=1e-3),
    # The recipes of the retention benchmark (benchmarks/results/retention.md), chosen on a
    # validation split carved from the training data (its notes list what was tried).
    # Dense: slow per-epoch sharpening (15 epochs per layer), no fine-tune (the README's
    # SimpleSharpener(start_epoch=10, steps=15)): the best of some sixty variants
    # cross-validated (the notes).
    "digits_dense": Recipe("digits_dense", warmup_epochs=11, sharpen_epochs=45, per="epoch",
                           learning_rate=1e-3),
    "digits_conv": Recipe("digits_conv", warmup_epochs=8, sharpen_epochs=10,
                          finetune_epochs=12, learning_rate=1e-3, sharpen_learning_rate=1e-3,
                          finetune_learning_rate=1e-3),
    "digits_autoencoder": Recipe("digits_autoencoder", warmup_epochs=10, sharpen_epochs=15,
                                 finetune_epochs=15, learning_rate=1e-3,
                                 sharpen_learning_rate=1e-3, finetune_learning_rate=1e-3),
    "segmentation": Recipe("segmentation", warmup_epochs=3, sharpen_epochs=7,
                           finetune_epochs=4, learning_rate=3e-3, sharpen_learning_rate=1e-3,
                           finetune_learning_rate=1e-3, batch_size=16),
    # Digit scenes (11 mask values): a longer straight-through fine-tune, 30 epochs instead of
    # 4, narrowed the test gap from 25.2 to 12.0 points of mean IoU (14 epochs: 14.8), and to
    # 7.3 with 32/64/128 channels (benchmarks/results/segmentation.md).
    "digit_scenes": Recipe("digit_scenes", warmup_epochs=3, sharpen_epochs=7,
                           finetune_epochs=30, learning_rate=3e-3, sharpen_learning_rate=1e-3,
                           finetune_learning_rate=1e-3, batch_size=16),
}


def recipe(name: str = "lesson", *, fast: bool | None = None) -> Recipe:
    """A named recipe from :data:`RECIPES`, shortened in fast mode.

    Args:
        name: ``"simple_2018"`` (the paper's recipe: Adam 1e-3, batch 32, Simple schedule
            starting after epoch 5, 5 steps per layer, one per epoch, bottom-up; 21 epochs),
            ``"lesson"`` (the same schedule, for classifiers with the builders' decoder
            temperature ``whetstone_lab.models.TEMPERATURE``), ``"straight_through"`` (10 float
            epochs, 15 epochs of per-batch bottom-up sharpening, 10 straight-through epochs;
            35 epochs), or one of the retention benchmark's: ``"digits_dense"``,
            ``"digits_conv"``, ``"digits_autoencoder"``, ``"segmentation"``, ``"digit_scenes"``.
        fast: at most 3 warm-up and 3 per-batch sharpening epochs and 1 fine-tune epoch (for
            CI); default: ``whetstone_lab.fast_mode()``.

    Example:
        >>> recipe("simple_2018").epochs
        21
    """
    check_choice(name, "recipe name", tuple(RECIPES))
    if fast is None:
        from . import fast_mode

        fast = fast_mode()
    r = RECIPES[name]
    if check_bool(fast, "fast"):
        r = r.with_(warmup_epochs=min(r.warmup_epochs, 3), sharpen_epochs=3, sharp_epochs=0,
                    finetune_epochs=min(r.finetune_epochs, 1), per="batch")
    return r


# ----------------------------------------------------------------------------------------
# Callbacks
# ----------------------------------------------------------------------------------------
class LearningRates(keras.callbacks.Callback):
    """Set the optimizer's learning rate to ``recipe.learning_rate_at(epoch)`` each epoch."""

    def __init__(self, recipe: Recipe):
        super().__init__()
        if not isinstance(recipe, Recipe):
            raise TypeError(f"recipe must be a Recipe, got {type(recipe).__name__}.")
        self.recipe = recipe

    def on_epoch_begin(self, epoch, logs=None):
        self.model.optimizer.learning_rate.assign(self.recipe.learning_rate_at(epoch))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.recipe.learning_rate_at(epoch))


class StraightThroughFinetune(keras.callbacks.Callback):
    """From epoch ``start_epoch`` on, fully sharp layers pass a straight-through gradient.

    At sharpness 1 the step passes no gradient, so a fully sharp network cannot learn. Once
    the model is fully sharp and ``epoch >= start_epoch``, every spiking layer's forward pass
    stays the binary step while its backward pass is the gradient of ``clip(x, 0, 1)``, so the
    network adapts to its own binary forward pass. Switched off again when training ends, so
    the trained model behaves as the paper's. Not in the paper: this project's addition.

    Args:
        start_epoch: first epoch (0-based) of the fine-tune.

    Example:
        >>> model.fit(x, y, epochs=30, callbacks=[
        ...     wl.SimpleSharpener(start_epoch=5, steps=5), StraightThroughFinetune(20)])
    """

    def __init__(self, start_epoch: int):
        super().__init__()
        self.start_epoch = check_int(start_epoch, "start_epoch", minimum=0)

    def _set(self, enabled: bool):
        for layer in spiking_layers(self.model):
            layer.straight_through = enabled

    def on_epoch_begin(self, epoch, logs=None):
        if epoch >= self.start_epoch and is_fully_sharp(self.model):
            self._set(True)

    def on_train_end(self, logs=None):
        self._set(False)


class FloatSnapshot(keras.callbacks.Callback):
    """Keep the weights of the last epoch trained entirely at sharpness 0.

    That is the float network just before sharpening began, whatever the schedule (fixed or
    adaptive). :meth:`float_model` rebuilds it. (For a fair float reference train the float
    twin for as long as the spiking network instead: ``fit(..., sharpen=False)``.)

    Example:
        >>> snap = FloatSnapshot()
        >>> fit(model, x, y, recipe, callbacks=[snap])
        >>> before = snap.float_model()   # same architecture, float weights, sharpness 0
    """

    def __init__(self):
        super().__init__()
        self.weights: list[np.ndarray] | None = None
        self.epoch: int | None = None

    def _all_float(self) -> bool:
        return not any(layer.get_sharpness() > 0 for layer in spiking_layers(self.model))

    def on_train_begin(self, logs=None):
        # Schedules never lower a layer within an epoch: an epoch starting at 0 is float iff
        # its last batch ran at 0. One look per epoch (on JAX a look syncs the trainer's state
        # into the variables); every call is looked at when the batch count is unknown.
        steps = (self.params or {}).get("steps")
        per_call = getattr(self.model, "steps_per_execution", 1)
        self._look_at = steps - 1 if steps and per_call == 1 else None

    def on_epoch_begin(self, epoch, logs=None):
        self._float = self._all_float()

    def on_train_batch_begin(self, batch, logs=None):
        if self._float and (self._look_at is None or batch >= self._look_at) \
                and not self._all_float():
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
        twin = float_twin(self.model)
        twin.set_weights(self.weights)
        set_sharpness(twin, 0.0)
        return twin


class _Progress(keras.callbacks.Callback):
    """A line every ``every`` epochs (or every ~10 s when ``every`` is 0) and a summary."""

    def __init__(self, every: int, total: int, seconds: float = 10.0):
        super().__init__()
        self.every, self.total, self.seconds = every, total, seconds

    def on_train_begin(self, logs=None):
        self.start = self.last_line = time.perf_counter()
        self.last: dict = {}
        self.epochs_run = 0

    def on_epoch_end(self, epoch, logs=None):
        self.last = dict(logs or {})
        self.epochs_run = epoch + 1
        now = time.perf_counter()
        due = ((epoch + 1) % self.every == 0) if self.every else \
            (now - self.last_line >= self.seconds)
        if due and epoch + 1 < self.total:
            self.last_line = now
            print(f"epoch {epoch + 1:3d}/{self.total}  {_format_logs(self.last)}", flush=True)

    def on_train_end(self, logs=None):
        seconds = time.perf_counter() - self.start
        print(f"trained {self.epochs_run} epochs in {seconds:.1f} s  {_format_logs(self.last)}")


def _format_logs(logs: Mapping[str, float]) -> str:
    names = [k for k in ("loss", "accuracy", "val_accuracy", "spiking_accuracy", "sharpness")
             if k in logs]
    return "  ".join(f"{k} {float(logs[k]):.3f}" for k in names)


# ----------------------------------------------------------------------------------------
# Compile and fit
# ----------------------------------------------------------------------------------------
def _default_loss(task: str):
    if task == "autoencoder":
        return "mse"
    tf = keras.backend.backend() == "tensorflow"
    return "sparse_categorical_crossentropy" if tf else DecoderCrossEntropy()


def seed_everything(seed: int) -> None:
    """Seed as ``keras.utils.set_random_seed`` does, without importing TensorFlow (and its
    stderr lines) off TensorFlow: Python's generator (Keras draws unseeded layers' seeds from
    it), NumPy's (it shuffles arrays off TensorFlow) and torch's."""
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return keras.utils.set_random_seed(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - Keras shuffles with NumPy's global generator
    if keras.backend.backend() == "torch":
        __import__("torch").manual_seed(seed)


def compile_model(model: keras.Model, recipe: Recipe | None = None, *, loss=None,
                  optimizer: keras.optimizers.Optimizer | None = None,
                  task: str = "auto") -> keras.Model:
    """Compile ``model`` with the recipe's optimizer (or ``optimizer``) and its task's loss.

    Classifiers and segmenters (integer labels) get sparse categorical cross-entropy (off
    TensorFlow :class:`~whetstone_lab.layers.DecoderCrossEntropy`, the same loss from the
    decoder's logits), classifiers an ``accuracy`` metric too; autoencoders the MSE.

    Example:
        >>> compile_model(model, recipe("lesson"))
    """
    r = globals()["recipe"]() if recipe is None else recipe
    if not isinstance(r, Recipe):
        raise TypeError(f"recipe must be a Recipe (see training.recipe()), got {r!r}.")
    if optimizer is not None and not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError("optimizer must be a Keras optimizer instance (or None: the "
                        f"recipe's), got {type(optimizer).__name__}.")
    task = detect_task(check_model(model), None, task)
    metrics = ["accuracy"] if task == "classification" else None
    model.compile(optimizer=optimizer or make_optimizer(r.optimizer, r.learning_rate_at(0)),
                  loss=_default_loss(task) if loss is None else loss, metrics=metrics)
    return model


def fit(model: keras.Model, x, y=None, recipe: Recipe | None = None, *, loss=None,
        optimizer: keras.optimizers.Optimizer | None = None, sample_weight=None,
        validation_data=None, callbacks: Iterable = (), progress: bool | int = True,
        epochs: int | None = None, sharpen: bool = True, spiking_evaluator: bool = False,
        seed: int | None = 0, task: str = "auto") -> keras.callbacks.History:
    """Compile and train a lesson network with a recipe: the one training loop of the lab.

    Args:
        model: a network from :mod:`whetstone_lab.models` (classifier, segmenter, autoencoder).
        x: training inputs.
        y: integer labels or masks; None for an autoencoder (it learns to reproduce ``x``).
        recipe: the :class:`Recipe` (default ``recipe("lesson")``).
        loss: a Keras loss replacing the task's default.
        optimizer: a fresh Keras optimizer replacing the recipe's (which sets its rates).
        sample_weight: loss weights per sample, or per pixel for a segmenter (see
            :func:`whetstone_lab.data.pixel_weights`).
        validation_data: ``(x, y)`` for ``val_*`` logs (and the spiking evaluator).
        callbacks: more Keras callbacks.
        progress: True: a line every ~10 s of training and a summary; an int n: a line every
            n epochs and a summary; False: silent.
        epochs: override the recipe's total epochs.
        sharpen: False trains the float twin: no sharpener and no fine-tune, but the same
            epochs and the same learning rate in each epoch.
        spiking_evaluator: add :class:`~whetstone_lab.sharpening.SpikingEvaluator` on
            ``validation_data`` (or the training data): the ``spiking_*`` curves.
        seed: seeds Python, NumPy and the backend before training (weights already built
            are not re-drawn; None leaves the random state alone).
        task: ``"auto"`` or the task (see :func:`whetstone_lab.metrics.detect_task`).

    Returns:
        The Keras ``History``; ``history.history["sharpness"]`` holds the schedule and
        ``["learning_rate"]`` the learning rates.

    Example:
        >>> history = fit(model, x, y, recipe("simple_2018"), progress=5)
    """
    check_model(model)
    r = globals()["recipe"]() if recipe is None else recipe
    if not isinstance(r, Recipe):
        raise TypeError(f"recipe must be a Recipe (see training.recipe()), got {r!r}.")
    task = detect_task(model, None, task)
    x = check_array(x, "x")
    if y is None:
        if task != "autoencoder":
            raise ValueError(f"fit needs labels y for a {task} model; only an autoencoder "
                             "trains without them.")
        y = x
    y = check_array(y, "y")
    check_same_length(x, y, ("x", "y"))
    total = r.epochs if epochs is None else check_int(epochs, "epochs", minimum=1)
    sharpen = check_bool(sharpen, "sharpen")
    if isinstance(progress, bool):
        every = 0 if progress else None
    else:
        every = check_int(progress, "progress", minimum=1)
    if sample_weight is not None:
        sample_weight = check_array(sample_weight, "sample_weight", dtype=np.float32)
        if sample_weight.shape != y.shape[:sample_weight.ndim] or sample_weight.ndim == 0:
            raise ValueError(f"sample_weight must match y's leading shape {y.shape}, got "
                             f"shape {sample_weight.shape}.")
    if validation_data is not None and (not isinstance(validation_data, (tuple, list))
                                        or len(validation_data) != 2):
        raise TypeError("validation_data must be an (x, y) pair, got "
                        f"{type(validation_data).__name__}.")
    if seed is not None:
        seed_everything(check_int(seed, "seed", minimum=0))
    compile_model(model, r, loss=loss, optimizer=optimizer, task=task)
    cbs = [LearningRates(r)]
    if sharpen:
        cbs.insert(0, r.sharpener(len(x), len(spiking_layers(model))))
        if r.finetune_epochs:
            cbs.append(StraightThroughFinetune(r.finetune_start))
    cbs += list(callbacks)
    if spiking_evaluator:
        cbs.append(SpikingEvaluator(validation_data if validation_data is not None else (x, y)))
    if every is not None:
        cbs.append(_Progress(every, total))
    return model.fit(x, y, batch_size=r.batch_size, epochs=total, verbose=0,
                     sample_weight=sample_weight, validation_data=validation_data,
                     callbacks=cbs)


def validation_split(x, y, fraction: float = 0.2, seed: int = 0, *, stratify=None):
    """Carve a validation split from the training data (stratified by ``stratify``).

    Args:
        x, y: training inputs and targets.
        fraction: share held out, strictly between 0 and 1.
        seed: seed of the split.
        stratify: labels to stratify by; default ``y`` when it holds one label per sample,
            else no stratification (pass e.g. a segmenter's per-scene labels).

    Returns:
        ``(x_train, y_train, x_val, y_val)``.
    """
    from sklearn.model_selection import train_test_split

    x, y = check_array(x, "x"), check_array(y, "y")
    check_same_length(x, y, ("x", "y"))
    fraction = check_probability(fraction, "fraction")
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be strictly between 0 and 1, got {fraction!r}.")
    if stratify is None and y.ndim == 1:
        stratify = y
    x_tr, x_val, y_tr, y_val = train_test_split(
        x, y, test_size=fraction, random_state=check_int(seed, "seed", minimum=0),
        stratify=stratify)
    return x_tr, y_tr, x_val, y_val
