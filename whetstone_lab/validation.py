"""Argument checks shared by the whole library: one place, one style of message.

Every check raises ``TypeError`` for a value of the wrong type and ``ValueError`` for a value
of the right type that is out of range, and its message names the argument, the value
received and what is accepted::

    >>> check_int(2.5, "epochs", minimum=1)
    Traceback (most recent call last):
    TypeError: epochs must be an integer >= 1, got 2.5 (float).

Checks return the value converted to a plain Python type (``int``, ``float``, ``tuple``), so
callers can use what they get back and never re-convert.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "check_bool",
    "check_choice",
    "check_int",
    "check_number",
    "check_probability",
    "check_sharpness",
    "check_shape",
    "check_array",
    "check_same_length",
    "check_model",
    "check_callable",
    "check_loss",
    "check_samples",
    "check_labels",
    "check_output_targets",
    "check_float_inputs",
    "describe",
    "MAX_UNITS",
    "MAX_KEY_ENTRIES",
    "MAX_WEIGHTS",
]

#: The most neurons one layer (or one N-hot key) may have. Wider is refused before anything is
#: allocated: a 10^6-unit layer needs gigabytes and runs out of memory partway through.
MAX_UNITS = 65_536
#: The most entries (classes × width) of an N-hot key: 16 MiB as int8.
MAX_KEY_ENTRIES = 2**24
#: The most weights of one layer the builders make (512 MiB of float32; the largest lesson
#: or benchmark layer has a few million): a huge input or kernel is refused before Keras
#: draws the weights.
MAX_WEIGHTS = 2**27


def describe(value: object) -> str:
    """``repr`` of ``value`` (shortened) and its type, for error messages."""
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{text} ({type(value).__name__})"


def _range_words(minimum, maximum, min_open: bool, max_open: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if min_open else '>='} {minimum:g}")
    if maximum is not None:
        parts.append(f"{'<' if max_open else '<='} {maximum:g}")
    return " and ".join(parts)


def check_bool(value: object, name: str) -> bool:
    """``value`` as a bool; only ``True``/``False`` (or NumPy bools) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {describe(value)}.")
    return bool(value)


def check_int(value: object, name: str, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    """``value`` as an int in ``[minimum, maximum]``; floats (even 3.0) and bools are refused."""
    accepted = "an integer" + (" " + _range_words(minimum, maximum, False, False)
                               if minimum is not None or maximum is not None else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be {accepted}, got {describe(value)}.")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {accepted}, got {value}.")
    return value


def check_number(value: object, name: str, *, minimum: float | None = None,
                 maximum: float | None = None, min_open: bool = False,
                 max_open: bool = False) -> float:
    """``value`` as a finite float in the given range (open or closed at either end).

    NaN and infinities are always refused; bools and strings are not numbers.
    """
    words = _range_words(minimum, maximum, min_open, max_open)
    accepted = "a finite number" + (f" {words}" if words else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.generic)):
        raise TypeError(f"{name} must be {accepted}, got {describe(value)}.")
    try:
        value = float(value)
    except (TypeError, ValueError) as err:  # e.g. a NumPy datetime
        raise TypeError(f"{name} must be {accepted}, got {describe(value)}.") from err
    bad = not math.isfinite(value)
    if minimum is not None:
        bad = bad or (value <= minimum if min_open else value < minimum)
    if maximum is not None:
        bad = bad or (value >= maximum if max_open else value > maximum)
    if bad:
        raise ValueError(f"{name} must be {accepted}, got {value!r}.")
    return value


def check_probability(value: object, name: str) -> float:
    """A number in [0, 1]."""
    return check_number(value, name, minimum=0.0, maximum=1.0)


def check_sharpness(value: object, name: str = "sharpness") -> float:
    """A sharpness: a finite number in [0, 1] (NaN, bools and strings refused)."""
    return check_number(value, name, minimum=0.0, maximum=1.0)


def check_choice(value: object, name: str, choices: Iterable[str]) -> str:
    """One of ``choices`` (strings, compared exactly)."""
    choices = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {choices}, got {describe(value)}.")
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}.")
    return value


def check_shape(value: object, name: str, *, rank: int | Sequence[int] | None = None,
                allow_empty: bool = False, maximum: int | None = None) -> tuple[int, ...]:
    """A shape: a tuple or list of positive ints (no floats, no None), of the given rank(s).

    Also used for lists of layer widths (``allow_empty=True`` accepts ``()``; ``maximum``
    bounds each entry, e.g. :data:`MAX_UNITS`).
    """
    ranks = (rank,) if isinstance(rank, int) else (tuple(rank) if rank is not None else None)
    what = "a tuple of positive integers" + (
        f" of length {' or '.join(map(str, ranks))}" if ranks else "")
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be {what}, got {describe(value)}.")
    dims = list(value)
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must be {what}, got {tuple(dims)!r} "
                            f"(the entry {d!r} is not an integer).")
    if (not dims and not allow_empty) or any(d < 1 for d in dims) or (
            ranks and len(dims) not in ranks):
        raise ValueError(f"{name} must be {what}, got {tuple(int(d) for d in dims)!r}.")
    if maximum is not None and any(d > maximum for d in dims):
        raise ValueError(f"{name} must have entries of at most {maximum:,}, got "
                         f"{tuple(int(d) for d in dims)!r} (validation.MAX_UNITS: wider "
                         "layers are refused before their weights are allocated).")
    return tuple(int(d) for d in dims)


def check_array(value: object, name: str, *, ndim: int | Sequence[int] | None = None,
                min_samples: int = 1, finite: bool = True, integer: bool = False,
                dtype=None) -> np.ndarray:
    """``value`` as a numeric NumPy array.

    Args:
        ndim: the accepted number(s) of dimensions (None: any).
        min_samples: the least length of the first axis (0 accepts empty arrays).
        finite: refuse NaN and infinities.
        integer: require integer values (labels, masks); floats holding whole numbers pass.
        dtype: convert to this dtype at the end (None: keep).
    """
    if value is None or isinstance(value, (str, bytes, dict)):
        raise TypeError(f"{name} must be a numeric array, got {describe(value)}.")
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array (ragged or mixed data cannot be "
                        f"one array): {err}") from err
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a numeric array, got an array of dtype {arr.dtype}.")
    ndims = (ndim,) if isinstance(ndim, int) else (tuple(ndim) if ndim is not None else None)
    if ndims is not None and arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got "
                         f"shape {arr.shape}.")
    if arr.ndim == 0 and min_samples > 0:
        raise ValueError(f"{name} must be an array of samples, got a scalar {arr!r}.")
    if arr.ndim and arr.shape[0] < min_samples:
        raise ValueError(f"{name} must hold at least {min_samples} sample(s), got shape "
                         f"{arr.shape}.")
    if finite and arr.dtype.kind == "f" and arr.size and not np.isfinite(arr).all():
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"{name} must be finite, got {bad} NaN or infinite value(s).")
    if integer and arr.dtype.kind == "f" and arr.size and not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold whole numbers (labels or classes), got fractions "
                         f"such as {arr[arr != np.round(arr)].flat[0]!r}.")
    if integer and arr.dtype.kind == "f":
        arr = arr.astype(np.int64)
    return arr if dtype is None else arr.astype(dtype)


def check_labels(value: object, name: str, *, classes: int,
                 shape: Sequence[int | None] | None = None) -> np.ndarray:
    """Integer class labels in ``[0, classes)``, as an ``int64`` array of ``shape``.

    ``shape`` (None in it accepts any size) is the expected shape of the whole array, e.g.
    ``(n,)`` for a classifier's labels or ``(n, h, w)`` for a segmenter's masks. One-hot
    labels (``shape + (classes,)``) are refused with the way to convert them: a loss given
    them would fail deep inside the backend, a score would compare the wrong things.
    """
    arr = check_array(value, name, min_samples=0)
    if shape is not None:
        want = tuple(shape)

        def fits(got) -> bool:
            return len(got) == len(want) and all(
                w is None or w == g for g, w in zip(got, want, strict=True))

        if not fits(arr.shape):
            words = ", ".join("any" if w is None else str(w) for w in want) + (
                "," if len(want) == 1 else "")
            if fits(arr.shape[:-1]) and arr.shape[-1] == classes:
                raise ValueError(f"{name} looks one-hot (shape {arr.shape}); pass integer "
                                 f"labels of shape ({words}), e.g. {name}.argmax(axis=-1).")
            raise ValueError(f"{name} must be integer labels of shape ({words}), got shape "
                             f"{arr.shape}.")
    arr = check_array(arr, name, min_samples=0, integer=True)
    if arr.size and (arr.min() < 0 or arr.max() >= classes):
        raise ValueError(f"{name} must hold class labels in [0, {classes}) (the model has "
                         f"{classes} classes), got labels from {arr.min()} to {arr.max()}.")
    return arr.astype(np.int64)


def check_output_targets(value: np.ndarray, name: str, shape: Sequence[int | None],
                         why: str) -> np.ndarray:
    """Targets of the model's output ``shape`` per sample (None in it accepts any size), for a
    loss that compares them with the output; ``why`` names that loss in the message."""
    want = tuple(shape)
    if value.ndim != len(want) + 1 or any(
            w is not None and w != g for g, w in zip(value.shape[1:], want, strict=True)):
        words = ", ".join("any" if w is None else str(w) for w in want)
        raise ValueError(f"{name} must have the model's output shape (n, {words}) {why}, got "
                         f"shape {value.shape}.")
    return value


def check_same_length(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    """Both arrays have the same number of samples."""
    if len(a) != len(b):
        raise ValueError(f"{names[0]} and {names[1]} must have the same number of samples, "
                         f"got {len(a)} and {len(b)}.")


def check_model(value: object, name: str = "model"):
    """A Keras model (or layer)."""
    import keras

    if not isinstance(value, keras.layers.Layer):
        raise TypeError(f"{name} must be a Keras model, got {describe(value)}.")
    return value


def check_callable(value: object, name: str):
    """Something callable."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {describe(value)}.")
    return value


def check_loss(value: object, name: str = "loss"):
    """A Keras loss: a loss name Keras knows (``"mse"``), a Keras loss object or a callable
    ``loss(y_true, y_pred)``; None (the default loss) passes. Returned as given."""
    import keras

    accepted = ("a Keras loss name (such as 'sparse_categorical_crossentropy', "
                "'categorical_crossentropy' or 'mse'), a keras.losses.Loss or a callable "
                "loss(y_true, y_pred)")
    if value is None or callable(value):
        return value
    if not isinstance(value, str):
        raise TypeError(f"{name} must be {accepted}, got {describe(value)}.")
    try:
        keras.losses.get(value)
    except ValueError:
        raise ValueError(f"{name} must be {accepted}, got {value!r}, which Keras does not "
                         "know.") from None
    return value


def check_float_inputs(inputs, layer):
    """A layer's ``inputs`` tensor in its float dtype (called inside ``Layer.call``).

    Integers and bools (0/1 spikes, pixel values) are numbers the layer can take, so they
    are cast (Keras casts only float inputs to a layer's dtype, and float constants fail on
    an integer tensor with a backend cast error); strings are refused, naming the layer.
    """
    import keras

    dtype = keras.backend.standardize_dtype(inputs.dtype)
    if dtype.startswith(("int", "uint", "bool")):
        return keras.ops.cast(inputs, layer.compute_dtype)
    if not dtype.startswith(("float", "bfloat")):
        raise TypeError(f"layer {layer.name!r} takes numbers (floats, or integers and bools, "
                        f"cast to {layer.compute_dtype}), got a tensor of dtype {dtype}.")
    return inputs


def check_samples(x: object, input_shape: Sequence[int | None], name: str = "x") -> np.ndarray:
    """``x`` as a float32 batch of samples of ``input_shape`` (None in it accepts any size).

    A single sample without its batch axis is accepted and given one.
    """
    if x is None or isinstance(x, (str, bytes, dict)):
        raise TypeError(f"{name} must be a numeric array of samples, got {describe(x)}.")
    what = "a numeric array of samples (real numbers: floats, integers or bools)"
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:  # ragged lists
        raise TypeError(f"{name} must be {what}, got {describe(x)}.") from err
    if arr.dtype.kind == "O" and all(isinstance(v, numbers.Real) for v in arr.flat):
        arr = arr.astype(np.float64)  # numbers held as Python objects
    if arr.dtype.kind not in "biuf":  # never text read as numbers, nor complex parts dropped
        raise TypeError(f"{name} must be {what}, got an array of dtype {arr.dtype}.")
    x = arr.astype(np.float32)
    expected = tuple(input_shape)

    def fits(shape) -> bool:
        return len(shape) == len(expected) and all(
            e is None or e == d for d, e in zip(shape, expected, strict=True))

    if not fits(x.shape[1:]):
        if fits(x.shape):
            x = x[None]  # one sample without its batch axis
        else:
            want = ", ".join(str(d) for d in expected)
            raise ValueError(f"{name} has shape {x.shape} but the model takes samples of shape "
                             f"{expected}: pass an array of shape (n, {want}).")
    if len(x) == 0:
        raise ValueError(f"{name} is empty: pass at least one sample.")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} must be finite, got {int(np.count_nonzero(~np.isfinite(x)))} "
                         "NaN or infinite value(s).")
    return x
