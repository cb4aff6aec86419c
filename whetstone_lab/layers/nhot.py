"""The N-hot output code (docs/design.md, "N-hot output code"): the key, the one decoder
function, the decoder layer and its loss, and the towers' votes.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from ..validation import (
    MAX_KEY_ENTRIES,
    MAX_UNITS,
    check_array,
    check_bool,
    check_float_inputs,
    check_int,
    check_number,
)

__all__ = ["make_key", "check_key", "decoder_logits", "decoder_probabilities", "SoftmaxDecode",
           "DecoderCrossEntropy", "loss_targets", "decode", "tower_blocks", "decode_towers"]


def make_key(
    num_classes: int, width: int, *, overlapping: bool = False, seed: int = 0, groups: int = 1
) -> np.ndarray:
    """The N-hot key: which of ``width`` output neurons stand for which class.

    Each class gets ``n = width // num_classes`` neurons. Disjoint (default): a seeded
    permutation of the neurons is cut into ``num_classes`` groups of ``n`` (left-over neurons
    belong to no class). Overlapping: each class draws its own ``n`` neurons, so classes may
    share neurons; codewords are redrawn until they are distinct. With ``groups`` > 1 the
    width is cut into that many equal consecutive blocks, each keyed on its own (seeds
    ``seed``, ``seed + 1``, …): the key of towers voting together
    (:mod:`whetstone_lab.grouped`), each block giving every class its share of neurons.

    Args:
        num_classes: number of classes (≥ 2).
        width: number of output neurons (``num_classes`` to ``validation.MAX_UNITS``).
        overlapping: let classes share neurons.
        seed: seed of the random assignment; the same seed gives the same key.
        groups: number of blocks keyed on their own; ``width`` must be a multiple of it.

    Returns:
        ``int8`` array of shape ``(num_classes, width)`` with ``n`` ones per row.

    Example:
        >>> make_key(2, 4, seed=0).sum(axis=1).tolist()
        [2, 2]
    """
    num_classes = check_int(num_classes, "num_classes", minimum=2, maximum=MAX_UNITS)
    width = check_int(width, "width", minimum=1,  # before allocating: ≤ MAX_KEY_ENTRIES
                      maximum=min(MAX_UNITS, MAX_KEY_ENTRIES // num_classes))
    overlapping = check_bool(overlapping, "overlapping")
    seed = check_int(seed, "seed", minimum=0)
    groups = check_int(groups, "groups", minimum=1)
    if groups > 1:
        if width % groups:
            raise ValueError(f"width ({width}) must be a multiple of groups ({groups}): each "
                             "group keys an equal block of the output neurons.")
        return np.concatenate([make_key(num_classes, width // groups, overlapping=overlapping,
                                        seed=seed + g) for g in range(groups)], axis=1)
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


def check_key(key: object, name: str = "key") -> np.ndarray:
    """``key`` as an ``int8`` N-hot key, or a clear error.

    A key is a 2-D 0/1 array of shape ``(num_classes, width)`` with at least 2 classes,
    ``width >= num_classes``, no all-zero codeword (such a class could only win ties) and no
    two equal codewords (the second could never win).
    """
    if key is None or isinstance(key, (str, bytes, dict)):
        raise TypeError(f"{name} must be a 2-D 0/1 array of shape (num_classes, width), got "
                        f"{type(key).__name__}.")
    try:
        arr = np.asarray(key, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a 2-D 0/1 array of shape (num_classes, width): "
                        f"{err}") from err
    if arr.ndim != 2 or arr.size == 0:
        raise ValueError(f"{name} must be a 2-D 0/1 array of shape (num_classes, width), got "
                         f"shape {arr.shape}.")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"{name} must contain only 0 and 1.")
    if arr.shape[0] < 2:
        raise ValueError(f"{name} must have at least 2 classes (rows), got {arr.shape[0]}.")
    if arr.shape[1] < arr.shape[0]:
        raise ValueError(f"{name} of width {arr.shape[1]} is narrower than its {arr.shape[0]} "
                         "classes; width must be at least num_classes.")
    empty = np.flatnonzero(arr.sum(axis=1) == 0)
    if empty.size:
        raise ValueError(f"{name} has classes with no output neuron (all-zero rows "
                         f"{empty.tolist()}); every class needs at least one.")
    rows = [row.tobytes() for row in arr]
    if len(set(rows)) != len(rows):
        same = [i for i, r in enumerate(rows) if rows.count(r) > 1]
        raise ValueError(f"{name} has equal codewords for classes {same}; each class needs its "
                         "own, or decoding could never tell them apart.")
    return arr.astype(np.int8)


def decoder_logits(spikes, key, temperature: float = 1.0):
    """The decoder's logits ``(2a − 1)·(2Kᵀ − 1) / T``, shape ``(..., width) → (..., classes)``.

    For binary ``a`` the logit of class ``c`` is ``(width − 2·Hamming(a, K_c)) / T``. NumPy
    in, NumPy out; tensor in, tensor out (so it also runs inside a compiled model).
    """
    temperature = check_number(temperature, "temperature", minimum=0.0, min_open=True)
    key = check_key(key)
    as_numpy = not isinstance(spikes, keras.KerasTensor) and not ops.is_tensor(spikes)
    if as_numpy:  # NaN spikes would decode as class 0 without a word
        spikes = check_array(spikes, "spikes", min_samples=0, dtype=np.float32)
    if spikes.shape[-1] != key.shape[1]:
        raise ValueError(f"spikes have {spikes.shape[-1]} features but the key has width "
                         f"{key.shape[1]}; they must match.")
    if as_numpy:
        logits = (2.0 * spikes - 1.0) @ _signed_key(key)
    else:
        signed = ops.convert_to_tensor(_signed_key(key), dtype=spikes.dtype)
        logits = ops.einsum("...w,wc->...c", 2.0 * spikes - 1.0, signed)
    return logits / temperature if temperature != 1.0 else logits


def decoder_probabilities(spikes, key, temperature: float = 1.0):
    """Class probabilities of N-hot outputs: ``softmax((2a − 1)·(2Kᵀ − 1) / T)``.

    The one definition of the decoder: :class:`SoftmaxDecode` calls it inside the model, and
    anything that decodes recorded spikes (plots, simulators) calls it on NumPy arrays.
    Works on any leading shape, ``(..., width) → (..., classes)``; NumPy in, NumPy out.

    Args:
        spikes: outputs of the last spiking layer, shape ``(..., width)``.
        key: 0/1 array ``(num_classes, width)``.
        temperature: positive number dividing the logits (1: the paper's decoder).

    Example:
        >>> decoder_probabilities(np.array([1.0, 0.0]), [[1, 0], [0, 1]]).round(3).tolist()
        [0.982, 0.018]
    """
    logits = decoder_logits(spikes, key, temperature)
    if isinstance(logits, np.ndarray):
        shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)
    return ops.softmax(logits, axis=-1)


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

    The layer returns probabilities on every backend; a loss that needs logits takes
    ``log p``, logits of the same softmax (:class:`DecoderCrossEntropy`, which training uses
    off TensorFlow).

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
        self.key = check_key(key)
        self.temperature = check_number(temperature, "temperature", minimum=0.0, min_open=True)

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
        return decoder_probabilities(check_float_inputs(inputs, self), self.key, self.temperature)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self) -> dict:
        config = super().get_config()
        config["key"] = self.key.tolist()
        config["temperature"] = self.temperature
        return config


@keras.saving.register_keras_serializable(package="whetstone_lab")
class DecoderCrossEntropy(keras.losses.Loss):
    """Sparse categorical cross-entropy of the decoder's probabilities, taken from logits.

    The model keeps returning probabilities ``p = softmax(z)``
    (:class:`~whetstone_lab.layers.SoftmaxDecode`); the loss hands Keras ``log p`` with
    ``from_logits=True``. ``log p = z − logsumexp(z)`` are logits of the same softmax
    (``softmax(log p) = p``), so the loss is the same cross-entropy ``−log p_y``.

    Why: Keras' TensorFlow backend already computes the probability loss from the softmax's
    logits; on JAX and PyTorch it takes the log of probabilities clipped to
    ``[1e-7, 1 − 1e-7]``, and on PyTorch (Keras 3.15.1) its backward pass fails for per-pixel
    targets of shape ``(n, h, w)`` ("grad_input must be contiguous"), so segmenters could not
    train. :func:`whetstone_lab.training.compile_model` uses it for classifiers and
    segmenters on every backend but TensorFlow, so all three train on the same loss.

    Example:
        >>> model.compile("adam", loss=DecoderCrossEntropy())
    """

    def __init__(self, name: str = "decoder_cross_entropy",
                 reduction: str = "sum_over_batch_size", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)

    def call(self, y_true, y_pred):
        tiny = float(np.finfo(np.float32).tiny)  # log 0 would be -inf
        logits = ops.log(ops.maximum(y_pred, tiny))
        return keras.losses.sparse_categorical_crossentropy(y_true, logits, from_logits=True)

    def get_config(self) -> dict:
        return {"name": self.name, "reduction": self.reduction}


def loss_targets(loss) -> str | None:
    """What targets a loss takes: ``"labels"``, ``"outputs"`` or None (unknown).

    ``"labels"``: integer class labels (:class:`DecoderCrossEntropy`, Keras' sparse losses);
    ``"outputs"``: targets of the model's output shape (Keras' other built-in losses, e.g.
    ``"categorical_crossentropy"`` with one-hot or soft targets, ``"mse"``); None for a loss
    written by the user, whose targets only its code knows. ``loss`` is a Keras loss name,
    a Keras loss object or function, or a callable.
    """
    if isinstance(loss, DecoderCrossEntropy):
        return "labels"
    if isinstance(loss, str):
        try:
            loss = keras.losses.get(loss)
        except ValueError:
            return None
    fn = loss if not isinstance(loss, keras.losses.Loss) else getattr(loss, "fn", loss)
    kind = type(fn) if isinstance(fn, keras.losses.Loss) else fn
    if not str(getattr(kind, "__module__", "")).startswith("keras."):
        return None
    return "labels" if "sparse" in getattr(kind, "__name__", "").lower() else "outputs"


def decode(spikes, key) -> np.ndarray:
    """Nearest-codeword decoding in NumPy: class indices for spikes of shape ``(..., width)``.

    Same rule as :class:`SoftmaxDecode` (argmax of its logits, which no temperature changes);
    ties go to the lower class index.
    """
    return np.argmax(decoder_logits(spikes, key), axis=-1)


def tower_blocks(spikes, key, towers: int, name: str = "spikes"
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The output of towers voting through one key, split tower by tower.

    With ``make_key(..., groups=towers)`` the output is ``towers`` consecutive blocks of
    neurons, each keyed on its own: spikes ``(..., width)`` and key ``(classes, width)`` give
    ``towers`` pairs ``(spikes[..., block], key[:, block])``. ``name`` names ``spikes`` in
    the error.
    """
    towers = check_int(towers, "towers", minimum=1)
    spikes, key = check_array(spikes, name, min_samples=0, dtype=np.float32), check_key(key)
    width = key.shape[1]
    if width % towers or spikes.shape[-1] != width:
        raise ValueError(f"{name}: {spikes.shape[-1]} neurons, the key {width} columns; both "
                         f"must be the same multiple of towers ({towers}).")
    block = width // towers
    return [(spikes[..., g * block:(g + 1) * block], key[:, g * block:(g + 1) * block])
            for g in range(towers)]


def decode_towers(spikes, key, towers: int) -> np.ndarray:
    """Each tower's own decision: :func:`decode` on each block of :func:`tower_blocks`.

    Spikes ``(..., width)`` give class indices ``(..., towers)``, block ``g`` decoded with its
    own columns of the key, as if the other towers were not there.
    """
    return np.stack([decode(s, k) for s, k in tower_blocks(spikes, key, towers)], axis=-1)
