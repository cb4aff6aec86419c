"""Spiking activations and the N-hot output code (DESIGN.md §1.1–1.2).

The layers here are ordinary Keras 3 layers. Their sharpness lives in a non-trainable
scalar variable, so a callback can change it between batches and the compiled train and
predict functions see the new value without being re-traced.
"""

from __future__ import annotations

import math
import numbers

import keras
import numpy as np
from keras import ops

__all__ = [
    "LAMBDA",
    "SHARP_TOLERANCE",
    "SpikingActivation",
    "SpikingBReLU",
    "SpikingSigmoid",
    "SoftmaxDecode",
    "make_key",
    "decode",
    "check_sharpness",
]

#: Width of the ramp at full sharpness, the λ of the paper: the band is ``1 - s + LAMBDA`` wide.
LAMBDA = 1e-3
#: A layer counts as fully sharp once ``s >= 1 - SHARP_TOLERANCE`` (never float equality).
SHARP_TOLERANCE = 1e-6


def check_sharpness(value: object, name: str = "sharpness") -> float:
    """Return ``value`` as a float in [0, 1] or raise a clear error.

    Raises:
        TypeError: if ``value`` is not a real number (bools and strings are refused).
        ValueError: if ``value`` is NaN or outside [0, 1].
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.generic)):
        raise TypeError(
            f"{name} must be a real number in [0, 1], got {value!r} of type {type(value).__name__}."
        )
    value = float(value)
    if math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}.")
    return value


class SpikingActivation(keras.layers.Layer):
    """Base class of the sharpenable activations.

    Holds the sharpness ``s`` in a non-trainable scalar variable ``self.sharpness``
    (created at construction, so it can be set before the layer is built) and offers
    ``set_sharpness`` / ``raise_sharpness``. Subclasses implement ``_soft(x, s)`` (the
    activation for ``s < 1``) and ``_hard(x)`` (the step at ``s = 1``).

    Args:
        sharpness: initial sharpness in [0, 1].
        straight_through: when fully sharp, pass the gradient of the ``s = 0`` activation
            through the step instead of no gradient (off by default, as in the paper). Held
            in a non-trainable variable too, so it can be switched for a fine-tune without
            recompiling (``layer.straight_through = True``).
    """

    def __init__(self, sharpness: float = 0.0, straight_through: bool = False, **kwargs):
        super().__init__(**kwargs)
        sharpness = check_sharpness(sharpness)
        if not isinstance(straight_through, (bool, np.bool_)):
            raise TypeError(f"straight_through must be True or False, got {straight_through!r}.")
        self.supports_masking = True
        self.sharpness = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(sharpness),
            trainable=False,
            autocast=False,
            name="sharpness",
            dtype="float32",
        )
        # A variable too (0 or 1), so switching it on for a fine-tune reaches compiled steps.
        self._straight_through = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(float(straight_through)),
            trainable=False,
            autocast=False,
            name="straight_through",
            dtype="float32",
        )

    # -- sharpness -------------------------------------------------------------------
    def get_sharpness(self) -> float:
        """The current sharpness as a Python float."""
        return float(self.sharpness.numpy())

    def set_sharpness(self, value: float) -> None:
        """Set the sharpness to ``value`` in [0, 1] (takes effect in compiled functions)."""
        self.sharpness.assign(check_sharpness(value))

    def raise_sharpness(self, amount: float) -> float:
        """Add ``amount`` (≥ 0) to the sharpness, capped at 1; return the new value."""
        if isinstance(amount, bool) or not isinstance(amount, (numbers.Real, np.generic)):
            raise TypeError(f"amount must be a non-negative number, got {amount!r}.")
        if not amount >= 0:
            raise ValueError(f"amount must be >= 0, got {amount!r}.")
        new = min(1.0, self.get_sharpness() + float(amount))
        if new >= 1.0 - SHARP_TOLERANCE:
            new = 1.0
        self.set_sharpness(new)
        return new

    @property
    def straight_through(self) -> bool:
        """Whether a fully sharp layer passes the ``s = 0`` gradient through its step."""
        return bool(self._straight_through.numpy() > 0.5)

    @straight_through.setter
    def straight_through(self, value: bool) -> None:
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"straight_through must be True or False, got {value!r}.")
        self._straight_through.assign(float(value))

    @property
    def is_sharp(self) -> bool:
        """True once the layer is fully sharp (``s >= 1 - 1e-6``)."""
        return self.get_sharpness() >= 1.0 - SHARP_TOLERANCE

    # -- forward ---------------------------------------------------------------------
    def _soft(self, x, s):  # pragma: no cover - abstract
        raise NotImplementedError

    def _hard(self, x):  # pragma: no cover - abstract
        raise NotImplementedError

    def _surrogate(self, x):
        return self._soft(x, ops.zeros((), dtype=x.dtype))

    def call(self, inputs):
        x = inputs
        s = ops.cast(self.sharpness, x.dtype)
        hard = ops.stop_gradient(self._hard(x))
        # Forward this adds exactly 0; backward it passes st · (the s = 0 gradient).
        surrogate = self._surrogate(x)
        st = ops.cast(self._straight_through, x.dtype)
        hard = hard + st * (surrogate - ops.stop_gradient(surrogate))
        # Both branches are cheap element-wise maps; `where` keeps one graph for every s,
        # and its gradient reaches the soft branch only while s < 1.
        sharp = ops.greater_equal(s, 1.0 - SHARP_TOLERANCE)
        return ops.where(sharp, hard, self._soft(x, s))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {"sharpness": self.get_sharpness(), "straight_through": self.straight_through}
        )
        return config


@keras.saving.register_keras_serializable(package="whetstone_lab")
class SpikingBReLU(SpikingActivation):
    """Sharpenable bounded ReLU: a ramp that becomes a step (the Whetstone activation).

    With sharpness ``s`` and ``λ = 0.001``::

        ramp_s(x) = clip((x - 0.5) / (1 - s + λ) + 0.5, 0, 1)     for s < 1
        step(x)   = 1 if x >= 0.5 else 0                           for s = 1

    The ramp passes through (0.5, 0.5) with knees at ``0.5 ± (1 - s + λ) / 2``; at ``s = 0``
    it is ``clip(x, 0, 1)`` up to λ. Its derivative is ``1 / (1 - s + λ)`` inside the band and
    0 outside. Fully sharp (``s >= 1 - 1e-6``, decided inside the graph) the output is the
    inclusive step and the gradient is exactly 0, unless ``straight_through=True``, in which
    case the gradient of ``clip(x, 0, 1)`` is passed through.

    Args:
        sharpness: initial sharpness in [0, 1]; stored in a non-trainable variable.
        straight_through: gradient of ``clip(x, 0, 1)`` through the step when fully sharp.

    Example:
        >>> layer = SpikingBReLU(sharpness=1.0)
        >>> layer(np.array([0.4999, 0.5, 2.0])).numpy().tolist()
        [0.0, 1.0, 1.0]
    """

    def _soft(self, x, s):
        return ops.clip((x - 0.5) / (1.0 - s + LAMBDA) + 0.5, 0.0, 1.0)

    def _hard(self, x):
        return ops.cast(ops.greater_equal(x, 0.5), x.dtype)


#: Makes the sigmoid's slope at 0 match the ramp: k = 4·ln(2+√3) / (1 - s + λ).
_SIGMOID_GAIN = 4.0 * math.log(2.0 + math.sqrt(3.0))


@keras.saving.register_keras_serializable(package="whetstone_lab")
class SpikingSigmoid(SpikingActivation):
    """Sharpenable sigmoid, the rarely used variant of the paper.

    ``σ_s(x) = 1 / (1 + exp(-k·x))`` with ``k = 4·ln(2+√3) / (1 - s + λ)``; the exponent is
    clipped to ±40. Fully sharp it is the inclusive step ``1 if x >= 0 else 0`` with no
    gradient (or a straight-through gradient of ``σ_0`` on request).

    Args:
        sharpness: initial sharpness in [0, 1].
        straight_through: gradient of ``σ_0`` through the step when fully sharp.

    Example:
        >>> SpikingSigmoid(sharpness=1.0)(np.array([-0.1, 0.0])).numpy().tolist()
        [0.0, 1.0]
    """

    def _soft(self, x, s):
        k = _SIGMOID_GAIN / (1.0 - s + LAMBDA)
        return ops.sigmoid(ops.clip(k * x, -40.0, 40.0))

    def _hard(self, x):
        return ops.cast(ops.greater_equal(x, 0.0), x.dtype)


# ----------------------------------------------------------------------------------------
# N-hot output code
# ----------------------------------------------------------------------------------------
def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}.")
    return int(value)


def make_key(
    num_classes: int, width: int, *, overlapping: bool = False, seed: int = 0
) -> np.ndarray:
    """The N-hot key: which of ``width`` output neurons stand for which class.

    Each class gets ``n = width // num_classes`` neurons. Disjoint (default): a seeded
    permutation of the neurons is cut into ``num_classes`` groups of ``n`` (left-over neurons
    belong to no class). Overlapping: each class draws its own ``n`` neurons, so classes may
    share neurons; codewords are redrawn until they are distinct.

    Args:
        num_classes: number of classes (≥ 2).
        width: number of output neurons (≥ ``num_classes``).
        overlapping: let classes share neurons.
        seed: seed of the random assignment; the same seed gives the same key.

    Returns:
        ``int8`` array of shape ``(num_classes, width)`` with ``n`` ones per row.

    Example:
        >>> make_key(2, 4, seed=0).sum(axis=1).tolist()
        [2, 2]
    """
    num_classes = _check_int(num_classes, "num_classes", 2)
    width = _check_int(width, "width", 1)
    if width < num_classes:
        raise ValueError(
            f"width must be at least num_classes: a key of width {width} cannot give each of "
            f"{num_classes} classes its own output neuron."
        )
    rng = np.random.default_rng(seed)
    n = width // num_classes
    key = np.zeros((num_classes, width), dtype=np.int8)
    if not overlapping:
        order = rng.permutation(width)
        for c in range(num_classes):
            key[c, order[c * n : (c + 1) * n]] = 1
        return key
    for _ in range(1000):
        key[:] = 0
        for c in range(num_classes):
            key[c, rng.choice(width, size=n, replace=False)] = 1
        if len({row.tobytes() for row in key}) == num_classes:
            return key
    raise ValueError(  # pragma: no cover - only for tiny widths
        f"could not draw {num_classes} distinct overlapping codewords of width {width}."
    )


def _as_key(key: object) -> np.ndarray:
    arr = np.asarray(key)
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(
            f"key must be a 2-D 0/1 array of shape (num_classes, width), got shape {arr.shape}."
        )
    if not np.isin(arr, (0, 1)).all():
        raise ValueError("key must contain only 0 and 1.")
    if arr.shape[0] < 2:
        raise ValueError(f"key must have at least 2 classes (rows), got {arr.shape[0]}.")
    if arr.shape[1] < arr.shape[0]:
        raise ValueError(
            f"key of width {arr.shape[1]} is narrower than its {arr.shape[0]} classes; "
            "width must be at least num_classes."
        )
    return arr.astype(np.int8)


def _signed_key(key: np.ndarray) -> np.ndarray:
    """``2Kᵀ - 1``: +1 where a neuron belongs to a class, -1 elsewhere, shape (width, classes)."""
    return (2.0 * key.T - 1.0).astype(np.float32)


@keras.saving.register_keras_serializable(package="whetstone_lab")
class SoftmaxDecode(keras.layers.Layer):
    """Decode N-hot spikes into class probabilities: ``softmax((2a − 1)·(2Kᵀ − 1))``.

    For binary ``a`` the logit of class ``c`` is ``width − 2·Hamming(a, K_c)``, so the most
    probable class is the nearest codeword. The key is a constant of the layer (saved in its
    config, never trained). Works on any leading shape: ``(..., width) → (..., classes)``, so
    it also decodes per-pixel outputs.

    A ``temperature`` T divides the logits: ``softmax((2a − 1)·(2Kᵀ − 1) / T)``. The paper's
    decoder is T = 1. With n neurons per class its logits differ by 4 per vote, so the
    cross-entropy is already ≈ 0 once the right class leads by a couple of votes and the
    remaining output neurons stop learning; ties and one-vote wins then appear when the
    network is made binary. T ≈ n keeps every output neuron learning (on the digits benchmark,
    fully sharp accuracy rises by several points). The temperature never changes which class
    wins, so decoding (:func:`decode`, a spiking simulator) is the same for every T.

    Args:
        key: 0/1 array of shape ``(num_classes, width)``, e.g. from :func:`make_key`.
        temperature: positive number dividing the logits (1.0: the paper's decoder).

    Example:
        >>> key = make_key(3, 6)
        >>> SoftmaxDecode(key)(np.asarray(key, "float32")).numpy().argmax(-1).tolist()
        [0, 1, 2]
    """

    def __init__(self, key, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.key = _as_key(key)
        self._signed = _signed_key(self.key)
        if (isinstance(temperature, bool) or not isinstance(temperature, (numbers.Real, np.generic))
                or not math.isfinite(float(temperature)) or temperature <= 0):
            raise ValueError(f"temperature must be a positive number, got {temperature!r}.")
        self.temperature = float(temperature)

    @property
    def num_classes(self) -> int:
        return int(self.key.shape[0])

    @property
    def width(self) -> int:
        return int(self.key.shape[1])

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.width:
            raise ValueError(
                f"SoftmaxDecode: its key has width {self.width} but its input has "
                f"{input_shape[-1]} features; the last spiking layer must have exactly "
                f"{self.width} units."
            )

    def call(self, inputs):
        signed = ops.convert_to_tensor(self._signed, dtype=inputs.dtype)
        logits = ops.einsum("...w,wc->...c", 2.0 * inputs - 1.0, signed)
        if self.temperature != 1.0:
            logits = logits / self.temperature
        return ops.softmax(logits, axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self) -> dict:
        config = super().get_config()
        config["key"] = self.key.tolist()
        config["temperature"] = self.temperature
        return config


def decode(spikes, key) -> np.ndarray:
    """Nearest-codeword decoding in NumPy: class indices for spikes of shape ``(..., width)``.

    Same rule as :class:`SoftmaxDecode` (argmax of ``(2a − 1)·(2Kᵀ − 1)``); ties go to the
    lower class index.
    """
    key = _as_key(key)
    spikes = np.asarray(spikes, dtype=np.float32)
    if spikes.shape[-1] != key.shape[1]:
        raise ValueError(
            f"decode: spikes have {spikes.shape[-1]} features but the key has width "
            f"{key.shape[1]}."
        )
    return np.argmax((2.0 * spikes - 1.0) @ _signed_key(key), axis=-1)


def is_spiking(layer: object) -> bool:
    """True for the sharpenable activation layers of this module."""
    return isinstance(layer, SpikingActivation)
