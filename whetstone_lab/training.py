"""The one way to train a lesson network: :func:`fit` with a recipe, and its callbacks.

A recipe (:class:`~whetstone_lab.recipes.Recipe`, named ones from
:func:`~whetstone_lab.recipes.recipe`) has four phases, in epochs
(docs/design.md, "Training")::

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
    >>> wl.training.fit(model, data.x_train, data.y_train, wl.recipe("lesson"))
    >>> wl.metrics.evaluate(model, data.x_test, data.y_test)  # fully sharp after the recipe
"""

from __future__ import annotations

import logging
import random
import sys
import time
from collections.abc import Iterable, Mapping

import keras
import numpy as np

from . import recipes
from .deprecation import moved
from .layers import DecoderCrossEntropy, loss_targets
from .metrics import check_targets, detect_task
from .sharpening import (
    Sharpener,
    SpikingEvaluator,
    get_sharpness,
    is_fully_sharp,
    set_sharpness,
    spiking_layers,
)
from .transforms import float_twin
from .validation import (
    check_array,
    check_bool,
    check_int,
    check_loss,
    check_model,
    check_output_targets,
    check_probability,
    check_same_length,
    check_samples,
    describe,
)

# TensorFlow's Python logger warns about re-traced functions when a lesson evaluates
# differently sized splits; fit prints its own one-line summaries instead.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

__all__ = [
    "compile_model",
    "fit",
    "validation_split",
    "seed_everything",
    "StraightThroughFinetune",
    "FloatSnapshot",
    "LearningRates",
]

# recipes' names were re-exported here until 0.1; their home is whetstone_lab.recipes.
__getattr__ = moved(__name__, dict.fromkeys(
    ("OPTIMIZERS", "Recipe", "RECIPES", "recipe", "make_optimizer"), recipes.__name__))


# ----------------------------------------------------------------------------------------
# Callbacks
# ----------------------------------------------------------------------------------------
class LearningRates(keras.callbacks.Callback):
    """Set the optimizer's learning rate to ``recipe.learning_rate_at(epoch)`` each epoch."""

    def __init__(self, recipe: recipes.Recipe):
        super().__init__()
        if not isinstance(recipe, recipes.Recipe):
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
    seed = check_int(seed, "seed", minimum=0)
    if keras.backend.backend() == "tensorflow" or "tensorflow" in sys.modules:
        return keras.utils.set_random_seed(seed)
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - Keras shuffles with NumPy's global generator
    if keras.backend.backend() == "torch":
        __import__("torch").manual_seed(seed)


def compile_model(model: keras.Model, recipe: recipes.Recipe | None = None, *, loss=None,
                  optimizer: keras.optimizers.Optimizer | None = None,
                  task: str = "auto") -> keras.Model:
    """Compile ``model`` with the recipe's optimizer (or ``optimizer``) and its task's loss.

    Classifiers and segmenters (integer labels) get sparse categorical cross-entropy (off
    TensorFlow :class:`~whetstone_lab.layers.DecoderCrossEntropy`, the same loss from the
    decoder's logits), classifiers an ``accuracy`` metric too; autoencoders the MSE.

    Example:
        >>> compile_model(model, recipes.recipe("lesson"))
    """
    r = recipes.recipe() if recipe is None else recipe
    if not isinstance(r, recipes.Recipe):
        raise TypeError(f"recipe must be a Recipe (see recipes.recipe()), got {r!r}.")
    if optimizer is not None and not isinstance(optimizer, keras.optimizers.Optimizer):
        raise TypeError("optimizer must be a Keras optimizer instance (or None: the "
                        f"recipe's), got {type(optimizer).__name__}.")
    loss = check_loss(loss)
    task = detect_task(check_model(model), None, task)
    metrics = ["accuracy"] if task == "classification" else None
    optimizer = optimizer or recipes.make_optimizer(r.optimizer, r.learning_rate_at(0))
    model.compile(optimizer=optimizer,
                  loss=_default_loss(task) if loss is None else loss, metrics=metrics)
    return model


def fit(model: keras.Model, x, y=None, recipe: recipes.Recipe | None = None, *, loss=None,
        optimizer: keras.optimizers.Optimizer | None = None, sample_weight=None,
        validation_data=None, callbacks: Iterable[keras.callbacks.Callback] | None = (),
        progress: bool | int = True,
        epochs: int | None = None, sharpen: bool = True, spiking_evaluator: bool = False,
        seed: int | None = 0, task: str = "auto") -> keras.callbacks.History:
    """Compile and train a lesson network with a recipe: the one training loop of the lab.

    Args:
        model: a network from :mod:`whetstone_lab.models` (classifier, segmenter, autoencoder).
        x: training inputs (finite), of the model's input shape.
        y: integer labels in ``[0, classes)``, one per sample (classifier) or per pixel
            (segmenter); None for an autoencoder (it learns to reproduce ``x``). Checked
            against the model's task and classes before training (with the default loss).
        recipe: the :class:`~whetstone_lab.recipes.Recipe` (default
            ``recipes.recipe("lesson")``).
        loss: a Keras loss (name, object or callable) replacing the task's default. ``y`` is
            checked for what the loss takes (:func:`whetstone_lab.layers.loss_targets`):
            a sparse loss takes labels, checked as with the default; Keras' other losses take
            targets of the model's output shape (one-hot or soft labels for a classifier); a
            loss of your own only finite targets as long as ``x``, since only its code knows
            what it takes.
        optimizer: a fresh Keras optimizer replacing the recipe's (which sets its rates).
        sample_weight: loss weights (finite, >= 0) per sample, or per pixel for a segmenter
            (see :func:`whetstone_lab.data.pixel_weights`).
        validation_data: ``(x, y)`` for ``val_*`` logs (and the spiking evaluator), checked
            as ``x`` and ``y`` are.
        callbacks: more Keras callbacks (None: none). With ``sharpen=True`` no sharpener
            (:class:`~whetstone_lab.sharpening.Sharpener`): it would fight the recipe's;
            pass ``sharpen=False`` to sharpen with your own.
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

    Interrupted (Jupyter's stop button, Ctrl-C), ``fit`` ends the sharpening schedule and the
    straight-through fine-tune as a finished fit does, prints how many epochs finished and
    the sharpness reached, and re-raises: the model keeps its weights, and
    ``model.history`` the logs of the finished epochs.

    Example:
        >>> history = fit(model, x, y, recipes.recipe("simple_2018"), progress=5)
    """
    check_model(model)
    r = recipes.recipe() if recipe is None else recipe  # the parameter shadows no function
    if not isinstance(r, recipes.Recipe):
        raise TypeError(f"recipe must be a Recipe (see recipes.recipe()), got {r!r}.")
    task = detect_task(model, None, task)
    loss = check_loss(loss)
    x, y = _check_data(model, task, x, y, loss, "")
    total = r.epochs if epochs is None else check_int(epochs, "epochs", minimum=1)
    sharpen = check_bool(sharpen, "sharpen")
    spiking_evaluator = check_bool(spiking_evaluator, "spiking_evaluator")
    callbacks = _check_callbacks(callbacks, sharpen)
    if isinstance(progress, bool):
        every = 0 if progress else None
    else:
        every = check_int(progress, "progress", minimum=1)
    if sample_weight is not None:
        sample_weight = check_array(sample_weight, "sample_weight", dtype=np.float32)
        if sample_weight.shape != y.shape[:sample_weight.ndim] or sample_weight.ndim == 0:
            raise ValueError(f"sample_weight must match y's leading shape {y.shape}, got "
                             f"shape {sample_weight.shape}.")
        if sample_weight.size and sample_weight.min() < 0:  # a negative loss is no weight
            raise ValueError(f"sample_weight must be >= 0, got {float(sample_weight.min())!r}.")
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be an (x, y) pair, got "
                            f"{describe(validation_data)}.")
        validation_data = _check_data(model, task, *validation_data, loss, "validation_data ")
    if seed is not None:
        seed_everything(check_int(seed, "seed", minimum=0))
    compile_model(model, r, loss=loss, optimizer=optimizer, task=task)
    schedule = []
    if sharpen:
        schedule.append(r.sharpener(len(x), len(spiking_layers(model))))
        if r.finetune_epochs:
            schedule.append(StraightThroughFinetune(r.finetune_start))
    cbs = [*schedule[:1], LearningRates(r), *schedule[1:], *callbacks]
    if spiking_evaluator:
        cbs.append(SpikingEvaluator(validation_data if validation_data is not None else (x, y)))
    if every is not None:
        cbs.append(_Progress(every, total))
    finished = _EpochsFinished()
    try:
        return model.fit(x, y, batch_size=r.batch_size, epochs=total, verbose=0,
                         sample_weight=sample_weight, validation_data=validation_data,
                         callbacks=[*cbs, finished])
    except KeyboardInterrupt:
        # Keras skips on_train_end when interrupted: end the in-graph schedule and the
        # straight-through gradient as a finished fit does, say what the model holds, and
        # stop the cell.
        for cb in schedule:
            cb.on_train_end()
        _say_interrupted(model, finished.epochs, total)
        raise


def _check_data(model: keras.Model, task: str, x, y, loss, where: str
                ) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` for training, checked against the model before any step runs."""
    x = check_samples(x, tuple(model.inputs[0].shape[1:]), f"{where}x")
    if y is None:
        if task != "autoencoder":
            raise ValueError(f"fit needs labels {where}y for a {task} model; only an "
                             "autoencoder trains without them.")
        return x, x
    takes = "labels" if loss is None else loss_targets(loss)
    if takes == "labels":
        return x, check_targets(model, task, x, y, f"{where}y")
    y = check_array(y, f"{where}y")  # a loss of the user's own: only its code knows more
    check_same_length(x, y, (f"{where}x", f"{where}y"))
    if takes == "outputs":
        named = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(
            loss, "__name__", type(loss).__name__)
        check_output_targets(y, f"{where}y", model.outputs[0].shape[1:], (
            f"for loss {named!r}, which compares them with the output (one-hot or soft labels "
            "for a classifier; integer labels take the default loss or "
            "'sparse_categorical_crossentropy')"))
    return x, y


def _check_callbacks(callbacks, sharpen: bool) -> list[keras.callbacks.Callback]:
    """``fit``'s extra callbacks as a list; a sharpener next to the recipe's is refused."""
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    if isinstance(callbacks, (str, bytes, dict)) or not isinstance(callbacks, Iterable):
        raise TypeError("callbacks must be a list of keras.callbacks.Callback (or None), got "
                        f"{describe(callbacks)}.")
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, keras.callbacks.Callback):
            raise TypeError(f"callbacks[{i}] must be a keras.callbacks.Callback, got "
                            f"{describe(cb)}.")
        if sharpen and isinstance(cb, Sharpener):
            raise ValueError(f"callbacks[{i}] ({type(cb).__name__}) is a sharpener, but the "
                             "recipe already sharpens (sharpen=True) and two schedules would "
                             "fight over the sharpness; pass sharpen=False to sharpen with "
                             "your own.")
    return callbacks


class _EpochsFinished(keras.callbacks.Callback):
    """Counts the epochs a ``fit`` call finished, for the message when it is interrupted."""

    epochs = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def _say_interrupted(model: keras.Model, epochs: int, total: int) -> None:
    sharpness = ", ".join(f"{s:.2f}" for s in get_sharpness(model))
    kept = (f"the {epochs} finished epochs' logs are in model.history.history" if epochs
            else "no epoch finished, so model.history is not this run's")
    print(f"Interrupted after {epochs} of {total} epochs. The model keeps the weights of its "
          f"last training step and sharpness [{sharpness}]; {kept}. Calling fit again runs "
          "the recipe from its first epoch on these weights; build a new model to start "
          "afresh.", flush=True)


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
    elif stratify is not None:  # labels of any kind (names too), one per sample
        if isinstance(stratify, (str, bytes)) or np.ndim(stratify) == 0:
            raise TypeError("stratify must be an array of one label per sample, got "
                            f"{describe(stratify)}.")
        check_same_length(x, np.asarray(stratify), ("x", "stratify"))
    x_tr, x_val, y_tr, y_val = train_test_split(
        x, y, test_size=fraction, random_state=check_int(seed, "seed", minimum=0),
        stratify=stratify)
    return x_tr, y_tr, x_val, y_val
