"""The lesson networks, and folding BatchNorm into the layer before it (DESIGN.md §1.4).

Every builder returns an uncompiled Keras model whose hidden activations are all
:class:`~whetstone_lab.layers.SpikingBReLU`; classifiers end in an N-hot spiking layer and
:class:`~whetstone_lab.layers.SoftmaxDecode`.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from .layers import SoftmaxDecode, SpikingBReLU, make_key

__all__ = ["dense_classifier", "conv_classifier", "fold_batchnorm"]


def _check_shape(input_shape, rank: int | None, name: str) -> tuple[int, ...]:
    shape = tuple(int(d) for d in input_shape)
    if rank is not None and len(shape) != rank:
        raise ValueError(f"{name}: input_shape must have {rank} dimensions, got {shape}.")
    if any(d < 1 for d in shape):
        raise ValueError(f"{name}: input_shape must be positive, got {shape}.")
    return shape


def dense_classifier(
    input_shape: Sequence[int] = (64,),
    num_classes: int = 10,
    hidden: Sequence[int] = (256, 64),
    neurons_per_class: int = 10,
    *,
    batchnorm: bool = False,
    key_seed: int = 0,
    name: str = "dense_classifier",
) -> keras.Model:
    """A dense spiking classifier: ``input → [Dense → (BN) → SpikingBReLU]* → N-hot → decode``.

    The default is the network of the paper's digits benchmark, 64→256→64→100 with 10 output
    neurons per class. Image inputs are flattened first.

    Args:
        input_shape: shape of one sample (e.g. ``(64,)`` or ``(8, 8, 1)``).
        num_classes: number of classes.
        hidden: widths of the hidden spiking layers.
        neurons_per_class: output neurons per class (the N of N-hot).
        batchnorm: put a BatchNorm between each Dense and its activation.
        key_seed: seed of the N-hot key.
    """
    shape = _check_shape(input_shape, None, "dense_classifier")
    key = make_key(num_classes, num_classes * neurons_per_class, seed=key_seed)
    inputs = keras.Input(shape)
    x = keras.layers.Flatten(name="flatten")(inputs) if len(shape) > 1 else inputs
    for i, units in enumerate([*hidden, key.shape[1]]):
        x = keras.layers.Dense(units, use_bias=not batchnorm, name=f"dense_{i}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = SpikingBReLU(name=f"spikes_{i}")(x)
    outputs = SoftmaxDecode(key, name="decode")(x)
    return keras.Model(inputs, outputs, name=name)


def conv_classifier(
    input_shape: Sequence[int] = (8, 8, 1),
    num_classes: int = 10,
    filters: Sequence[int] = (32, 64),
    dense: Sequence[int] = (128,),
    neurons_per_class: int = 10,
    *,
    kernel_size: int = 3,
    pool: bool = True,
    batchnorm: bool = True,
    key_seed: int = 0,
    name: str = "conv_classifier",
) -> keras.Model:
    """A convolutional spiking classifier.

    ``[Conv2D → (BN) → SpikingBReLU → (MaxPool 2×2)]* → Flatten → [Dense → (BN) →
    SpikingBReLU]* → N-hot → decode``. Max-pooling follows the activation, so on spikes it
    is an OR.
    """
    shape = _check_shape(input_shape, 3, "conv_classifier")
    key = make_key(num_classes, num_classes * neurons_per_class, seed=key_seed)
    inputs = keras.Input(shape)
    x = inputs
    for i, f in enumerate(filters):
        x = keras.layers.Conv2D(f, kernel_size, padding="same", use_bias=not batchnorm,
                                name=f"conv_{i}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(name=f"conv_bn_{i}")(x)
        x = SpikingBReLU(name=f"conv_spikes_{i}")(x)
        if pool and min(x.shape[1], x.shape[2]) >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate([*dense, key.shape[1]]):
        x = keras.layers.Dense(units, use_bias=not batchnorm, name=f"dense_{i}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = SpikingBReLU(name=f"spikes_{i}")(x)
    outputs = SoftmaxDecode(key, name="decode")(x)
    return keras.Model(inputs, outputs, name=name)


# ----------------------------------------------------------------------------------------
# BatchNorm folding
# ----------------------------------------------------------------------------------------
_FOLDABLE = (keras.layers.Dense, keras.layers.Conv2D)


def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    """The layers of a single-input single-output chain, input to output."""
    if isinstance(model, keras.Sequential):
        return list(model.layers)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for layer in layers:
        if len(layer._inbound_nodes) != 1 or len(keras.tree.flatten(
                layer._inbound_nodes[0].input_tensors)) != 1:
            raise ValueError(
                f"fold_batchnorm handles single-input chains of layers; layer {layer.name!r} "
                "is shared or has several inputs."
            )
    return layers


def _fold(layer: keras.layers.Layer, bn: keras.layers.BatchNormalization):
    """Folded (kernel, bias) of ``layer`` followed by ``bn``, computed in float64."""
    axis = bn.axis if isinstance(bn.axis, int) else bn.axis[0]
    if axis not in (-1, len(bn.input.shape) - 1):
        raise ValueError(
            f"BatchNormalization {bn.name!r} normalizes axis {bn.axis}; only the last "
            "(channels) axis can be folded."
        )
    if layer.activation not in (None, keras.activations.linear):
        raise ValueError(
            f"cannot fold {bn.name!r} into {layer.name!r}: that layer has activation "
            f"{layer.activation.__name__!r}; only a linear Dense/Conv2D folds exactly."
        )
    kernel = np.asarray(layer.kernel.numpy(), np.float64)
    bias = np.asarray(layer.bias.numpy(), np.float64) if layer.use_bias else 0.0
    mean = np.asarray(bn.moving_mean.numpy(), np.float64)
    var = np.asarray(bn.moving_variance.numpy(), np.float64)
    gamma = np.asarray(bn.gamma.numpy(), np.float64) if bn.scale else 1.0
    beta = np.asarray(bn.beta.numpy(), np.float64) if bn.center else 0.0
    factor = gamma / np.sqrt(var + bn.epsilon)  # one factor per output channel (last axis)
    return (kernel * factor).astype(np.float32), ((bias - mean) * factor + beta).astype(
        np.float32
    )


def fold_batchnorm(model: keras.Model) -> keras.Model:
    """A new model without BatchNorm, each BN folded exactly into the Dense/Conv2D before it.

    ``W' = W·γ/√(var+ε)`` and ``b' = (b − μ)·γ/√(var+ε) + β`` with the BN layer's own ε
    (computed in float64, stored in float32). Other layers are copied with their weights
    (spiking layers keep their sharpness). The result computes the same function as
    ``model`` in inference mode, up to float32 rounding.

    Args:
        model: a Sequential or Functional chain of layers in which every BatchNormalization
            directly follows a linear Dense or Conv2D.

    Raises:
        ValueError: for a BN that does not follow a Dense/Conv2D, a non-chain model, or a
            BN over a non-channel axis.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"fold_batchnorm expects a Keras model, got {type(model).__name__}.")
    layers = _chain(model)
    inputs = keras.Input(model.input_shape[1:], name="input")
    x = inputs
    i = 0
    while i < len(layers):
        layer = layers[i]
        nxt = layers[i + 1] if i + 1 < len(layers) else None
        if isinstance(layer, keras.layers.BatchNormalization):
            prev = layers[i - 1].name if i else "the input"
            raise ValueError(
                f"BatchNormalization {layer.name!r} follows {prev!r}; it can only be folded "
                "when it directly follows a Dense or Conv2D layer."
            )
        config = layer.get_config()
        if isinstance(layer, _FOLDABLE) and isinstance(nxt, keras.layers.BatchNormalization):
            kernel, bias = _fold(layer, nxt)
            config["use_bias"] = True
            clone = type(layer).from_config(config)
            clone.build(layer.input.shape)
            clone.set_weights([kernel, bias])
            i += 2
        else:
            clone = type(layer).from_config(config)
            clone.build(layer.input.shape)
            clone.set_weights(layer.get_weights())
            i += 1
        x = clone(x)
    return keras.Model(inputs, x, name=f"{model.name}_folded")
