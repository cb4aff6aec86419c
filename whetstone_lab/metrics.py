"""Scores, one name and one meaning each: accuracy, mean IoU, MSE, decoder ties, the task.

The score functions take arrays (``y_true``, ``y_pred``) and nothing else. Two functions take a
model, because they have to run it: :func:`evaluate` (the score of a model on data, at its
current sharpness or fully sharp) and :func:`sharpness_sweep` (that score across sharpness
values). Both run through the model's cached recorder (:mod:`whetstone_lab.spikes`), so
scoring splits of different sizes or at different sharpness never re-traces.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import keras
import numpy as np

from .layers import decoder_logits, find_decoder
from .sharpening import MODES, fully_sharp, get_sharpness, set_sharpness
from .spikes import record_with_output, recorder
from .validation import (
    check_array,
    check_bool,
    check_callable,
    check_choice,
    check_int,
    check_labels,
    check_model,
    check_same_length,
    check_samples,
)

__all__ = [
    "TASKS",
    "accuracy",
    "mse",
    "mean_iou",
    "Ties",
    "ties",
    "detect_task",
    "check_targets",
    "score",
    "metric_name",
    "evaluate",
    "sharpness_sweep",
]

#: The tasks of the lesson networks.
TASKS = ("classification", "autoencoder", "segmentation")


def _labels(y_true, y_pred, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer labels and predicted labels; ``y_pred`` may hold class probabilities.

    Labels must be class indices: with probabilities in ``[0, classes)``, else ``>= 0`` (a
    label no prediction can equal would silently count as a miss).
    """
    t = check_array(y_true, "y_true", integer=True, min_samples=0)
    p = check_array(y_pred, "y_pred", min_samples=0)
    if p.shape == t.shape + p.shape[-1:] and p.ndim == t.ndim + 1:
        t = check_labels(t, "y_true", classes=p.shape[-1])
        p = np.argmax(p, axis=-1)  # probabilities (or logits) over the last axis
    elif p.shape == t.shape:
        p = check_array(p, "y_pred", integer=True, min_samples=0)
        for arr, label in ((t, "y_true"), (p, "y_pred")):
            if arr.size and arr.min() < 0:
                raise ValueError(f"{name}: {label} must hold class labels >= 0, got "
                                 f"{arr.min()}.")
    elif t.ndim == p.ndim + 1 and t.shape[:-1] == p.shape:
        raise ValueError(f"{name}: y_true looks one-hot (shape {t.shape}); pass integer labels "
                         f"of shape {p.shape}, e.g. y_true.argmax(axis=-1).")
    else:
        raise ValueError(f"{name}: y_pred must be class probabilities of shape {t.shape} + "
                         f"(classes,) or labels of shape {t.shape}, got shape {p.shape}.")
    if t.size == 0:
        raise ValueError(f"{name}: y_true is empty; there is nothing to score.")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of correct predictions (per sample, or per pixel for masks).

    Args:
        y_true: integer labels, any shape ``S``.
        y_pred: class probabilities of shape ``S + (classes,)`` (argmax taken) or labels ``S``.

    Example:
        >>> accuracy([0, 1, 1], [[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
        0.6666666666666666
    """
    t, p = _labels(y_true, y_pred, "accuracy")
    return float(np.mean(t == p))


def mse(y_true, y_pred) -> float:
    """Mean squared error over every element (e.g. of an autoencoder's reconstructions)."""
    t = check_array(y_true, "y_true", dtype=np.float64)
    p = check_array(y_pred, "y_pred", dtype=np.float64)
    if t.shape != p.shape:
        raise ValueError(f"mse needs y_true and y_pred of the same shape, got {t.shape} and "
                         f"{p.shape}.")
    return float(np.mean((t - p) ** 2))


def mean_iou(y_true, y_pred, num_classes: int | None = None) -> float:
    """Mean intersection-over-union of integer masks.

    For each class ``c`` (background included), ``IoU_c = |true = c ∧ pred = c| /
    |true = c ∨ pred = c|`` over all pixels of all images; the mean is over the classes
    present in the truth or the prediction (a class absent from both is skipped, not counted
    as 0 or 1).

    Args:
        y_true: integer masks, e.g. ``(n, h, w)``.
        y_pred: integer masks of the same shape, or class probabilities ``(n, h, w, classes)``.
        num_classes: number of classes; default: the probabilities' last axis, or for two
            masks one more than the largest label.

    Example:
        >>> mean_iou(np.array([0, 1, 1]), np.array([0, 1, 0]), 2)
        0.5
    """
    probabilities = np.ndim(y_pred) == np.ndim(y_true) + 1
    t, p = _labels(y_true, y_pred, "mean_iou")
    if num_classes is None:
        num_classes = np.shape(y_pred)[-1] if probabilities else int(max(t.max(), p.max())) + 1
    num_classes = check_int(num_classes, "num_classes", minimum=1)
    for arr, label in ((t, "y_true"), (p, "y_pred")):
        if arr.min() < 0 or arr.max() >= num_classes:
            raise ValueError(f"{label} has labels outside [0, {num_classes}): "
                             f"min {arr.min()}, max {arr.max()}.")
    # One confusion matrix via bincount: row = truth, column = prediction.
    conf = np.bincount(t.ravel() * num_classes + p.ravel(),
                       minlength=num_classes**2).reshape(num_classes, num_classes)
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    present = union > 0
    return float(np.mean(inter[present] / union[present]))


@dataclass(frozen=True)
class Ties:
    """How many nearest-codeword decisions are exact ties (see :func:`ties`)."""

    samples: int
    tied: int
    tied_wrong: int

    @property
    def fraction(self) -> float:
        """Fraction of the samples whose top class is tied."""
        return self.tied / self.samples


def ties(spikes, key, y_true) -> Ties:
    """Count exact ties of the nearest-codeword decision on binary output spikes.

    With binary output spikes two classes can be at the same Hamming distance from the
    output; the decoder then picks the lower class index, which is often wrong.

    Args:
        spikes: the last spiking layer's output, ``(n, width)``, fully sharp.
        key: the decoder's key ``(classes, width)``.
        y_true: integer labels ``(n,)``.

    Example:
        >>> t = ties(wl.spikes.record(model, x)["spikes_2"], key, y)
        >>> print(f"{t.tied} ties, {t.tied_wrong} of them wrong")
    """
    spikes = check_array(spikes, "spikes", ndim=2)
    y = check_array(y_true, "y_true", ndim=1, integer=True)
    check_same_length(spikes, y, ("spikes", "y_true"))
    logits = decoder_logits(spikes, key)
    y = check_labels(y, "y_true", classes=logits.shape[1])  # a class the key cannot decode
    tied = np.sum(logits == logits.max(axis=1, keepdims=True), axis=1) > 1
    wrong = np.argmax(logits, axis=1) != y
    return Ties(len(y), int(tied.sum()), int((tied & wrong).sum()))


def detect_task(model: keras.Model, x=None, task: str = "auto") -> str:
    """What a lesson network does: ``"classification"``, ``"segmentation"`` or ``"autoencoder"``.

    A model ending in a decoder (:class:`~whetstone_lab.layers.SoftmaxDecode`) classifies
    (one output per sample) or segments (one per pixel); a model whose output has the shape
    of its input is an autoencoder. ``task`` other than ``"auto"`` is checked against the
    model instead.

    Args:
        model: a Keras model.
        x: inputs (optional): their sample shape is compared with the output's.
        task: ``"auto"`` or one of :data:`TASKS`.
    """
    check_model(model)
    check_choice(task, "task", ("auto", *TASKS))
    has_decoder = find_decoder(model) is not None
    out_shape = tuple(model.outputs[0].shape[1:])
    in_shape = tuple(np.shape(x)[1:]) if x is not None else tuple(model.inputs[0].shape[1:])
    if task == "auto":
        if has_decoder and len(out_shape) == 1:
            return "classification"
        if has_decoder and len(out_shape) == 3:
            return "segmentation"
        if out_shape == in_shape:
            return "autoencoder"
        raise ValueError(f"cannot tell the task of model {model.name!r} (output shape "
                         f"{out_shape}, input shape {in_shape}); pass task= one of {TASKS}.")
    if task in ("classification", "segmentation") and not has_decoder:
        raise ValueError(f"task={task!r} needs a model ending in SoftmaxDecode (an N-hot "
                         f"classifier); {model.name!r} has none.")
    rank = {"classification": 1, "segmentation": 3}.get(task)
    if rank is not None and len(out_shape) != rank:  # one decision per sample, or per pixel
        raise ValueError(f"task={task!r} needs an output of shape "
                         f"{'(classes,)' if rank == 1 else '(height, width, classes)'} per "
                         f"sample; {model.name!r} outputs {out_shape}.")
    if task == "autoencoder" and out_shape != in_shape:
        raise ValueError(f"task='autoencoder' needs the output shape {out_shape} to equal the "
                         f"input shape {in_shape}.")
    return task


def check_targets(model: keras.Model, task: str, x: np.ndarray, y, name: str = "y"
                  ) -> np.ndarray:
    """``y`` checked against what ``model`` predicts for ``x`` in ``task``, before any run.

    A classifier takes one integer label per sample in ``[0, classes)`` (the decoder's key
    tells the classes), a segmenter one per pixel of its output's shape, an autoencoder
    finite targets of its output's shape. Used by :func:`evaluate` and
    :func:`whetstone_lab.training.fit`, so a wrong label is refused by name instead of
    failing inside the backend or scoring as a plain miss.

    Args:
        model: the network.
        task: its task (:func:`detect_task`).
        x: the inputs, already checked (their length is the number of samples).
        y: the targets to check.
        name: the argument's name in messages.
    """
    y = check_array(y, name, min_samples=0)
    check_same_length(x, y, ("x", name))
    out_shape = tuple(model.outputs[0].shape[1:])
    if task == "autoencoder":
        if len(y.shape[1:]) != len(out_shape) or any(
                o is not None and o != g for g, o in zip(y.shape[1:], out_shape, strict=True)):
            raise ValueError(f"{name} must have the model's output shape (n, "
                             f"{', '.join(map(str, out_shape))}) for an autoencoder, got "
                             f"shape {y.shape}.")
        return y
    classes = find_decoder(model).num_classes
    return check_labels(y, name, classes=classes, shape=(len(x), *out_shape[:-1]))


_SCORES: dict[str, tuple[str, Callable]] = {
    "classification": ("accuracy", accuracy),
    "segmentation": ("mean IoU", mean_iou),
    "autoencoder": ("MSE", mse),
}


def metric_name(task: str) -> str:
    """The score of a task: ``"accuracy"``, ``"mean IoU"`` or ``"MSE"``."""
    return _SCORES[check_choice(task, "task", TASKS)][0]


def score(task: str, y_true, y_pred) -> float:
    """The task's score (:func:`metric_name`) of predictions ``y_pred`` against ``y_true``."""
    return float(_SCORES[check_choice(task, "task", TASKS)][1](y_true, y_pred))


def evaluate(model: keras.Model, x, y=None, *, sharp: bool = False, task: str = "auto",
             batch_size: int = 256) -> float:
    """The score of ``model`` on ``(x, y)``: accuracy, mean IoU or MSE, by task.

    Args:
        model: a lesson network (classifier, segmenter or autoencoder).
        x: inputs.
        y: labels or masks; None for an autoencoder (compared with ``x``).
        sharp: score with every spiking layer at 1 (the sharpness is restored afterwards).
        task: ``"auto"`` (see :func:`detect_task`) or the task.
        batch_size: samples per forward pass.

    Example:
        >>> evaluate(model, data.x_test, data.y_test, sharp=True)  # accuracy fully sharp
    """
    task = detect_task(model, None, task)
    sharp = check_bool(sharp, "sharp")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    x = check_samples(x, recorder(model).input_shape)
    target = x if (y is None and task == "autoencoder") else y
    if target is None:
        raise ValueError(f"evaluate needs labels y for a {task} model.")
    target = check_targets(model, task, x, target)
    if sharp:
        with fully_sharp(model):
            output = record_with_output(model, x, batch_size=batch_size)[1]
    else:
        output = record_with_output(model, x, batch_size=batch_size)[1]
    return score(task, target, output)


def sharpness_sweep(
    model: keras.Model,
    x,
    y=None,
    *,
    values: Sequence[float] | None = None,
    modes: Sequence[str] = MODES,
    score: Callable | None = None,
    batch_size: int = 256,
) -> dict:
    """Score ``model`` at each global sharpness in ``values`` for each mode.

    The model's own sharpness is restored afterwards, even on error.

    Args:
        model: a model with spiking layers.
        x: inputs.
        y: targets. Labels (or masks) → accuracy by default; None → the output is
            compared with ``x`` by mean squared error (autoencoders).
        values: global sharpness values in [0, 1] (default: 0, 0.1, …, 1).
        modes: any of ``"bottom_up"``, ``"uniform"``.
        score: ``callable(y_true, y_pred) -> float`` replacing the default (e.g.
            :func:`mse`, :func:`mean_iou`).
        batch_size: samples per forward pass.

    Returns:
        ``{"values": array, "<mode>": array of scores per value, "metric": name}``.

    Example:
        >>> sweep = sharpness_sweep(model, data.x_test, data.y_test)
        >>> sweep["bottom_up"][-1]  # accuracy fully sharp
    """
    values = np.linspace(0.0, 1.0, 11) if values is None else check_array(
        values, "values", ndim=1, dtype=np.float64)
    if values.min() < 0 or values.max() > 1:
        raise ValueError(f"values must lie in [0, 1], got {values.tolist()}.")
    modes = (modes,) if isinstance(modes, str) else tuple(modes)
    for mode in modes:
        check_choice(mode, "modes[i]", MODES)
    custom = score
    if custom is not None:
        check_callable(custom, "score")
    check_int(batch_size, "batch_size", minimum=1)
    rec = recorder(model)
    x = check_samples(x, rec.input_shape)
    if y is not None and custom is None and find_decoder(model) is not None:
        y = check_targets(model, detect_task(model), x, y)  # labels, as evaluate checks them
    elif y is not None:  # what y holds is the score's to check; how many, the sweep's
        check_same_length(x, check_array(y, "y", min_samples=0, finite=False), ("x", "y"))
    if y is None:
        fn, name = mse, "mse"
        if tuple(model.outputs[0].shape[1:]) != x.shape[1:]:
            raise ValueError(
                "sharpness_sweep without y compares the output with the input (an "
                f"autoencoder), but the output shape {tuple(model.outputs[0].shape[1:])} "
                f"differs from the input shape {x.shape[1:]}; pass y, or "
                "score=callable(y_true, y_pred).")
    else:
        fn, name = accuracy, "accuracy"
    if custom is not None:
        fn, name = custom, getattr(custom, "__name__", "score")
    target = x if y is None else y
    saved = get_sharpness(model)
    result: dict = {"values": values, "metric": name}
    try:
        for mode in modes:
            scores = []
            for v in values:
                set_sharpness(model, float(v), mode=mode)
                scores.append(float(fn(target, rec(x, batch_size)[1])))
            result[mode] = np.asarray(scores)
    finally:
        set_sharpness(model, saved)
    return result
