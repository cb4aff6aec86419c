"""The lesson networks.

Every builder returns an uncompiled Keras model whose hidden activations are all
:class:`~whetstone_lab.layers.SpikingBReLU`; classifiers end in an N-hot spiking layer and
:class:`~whetstone_lab.layers.SoftmaxDecode`. No layer may be wider than
:data:`~whetstone_lab.validation.MAX_UNITS` neurons (filters, units) or hold more than
:data:`~whetstone_lab.validation.MAX_WEIGHTS` weights: such a layer is refused by name before
any weight is allocated.

A saved model (``model.save("net.keras")``) loads with ``keras.saving.load_model`` once
``whetstone_lab`` is imported: importing it registers the layers, and in a fresh kernel
without it Keras reports "Could not locate class 'SpikingBReLU'".
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np

from . import transforms
from .deprecation import moved
from .grouped import GroupedDense
from .layers import SoftmaxDecode, SpikingBReLU, make_key
from .validation import (
    MAX_UNITS,
    MAX_WEIGHTS,
    check_bool,
    check_choice,
    check_int,
    check_number,
    check_shape,
)

__all__ = [
    "TEMPERATURE",
    "TOWERS",
    "dense_classifier",
    "conv_classifier",
    "autoencoder",
    "dense_autoencoder",
    "segmenter",
]

# transforms' names were re-exported here until 0.1; their home is whetstone_lab.transforms.
__getattr__ = moved(__name__, dict.fromkeys(transforms.__all__, transforms.__name__))

#: Momentum of every BatchNorm here. With Keras' default 0.99 the moving statistics take
#: hundreds of updates to forget their start (mean 0, variance 1); the lessons' small
#: datasets give a few dozen batches an epoch, and a step function after BN is unforgiving
#: of stale statistics.
BN_MOMENTUM = 0.9

#: Decoder temperature of the classifiers' defaults. Dividing the N-hot logits by 20 (twice
#: the 10 output neurons per class) keeps the cross-entropy from vanishing once the right class
#: leads by a vote or two, so every output neuron keeps learning; it never changes which class
#: wins. Not in the paper (its decoder is T = 1): this lab's addition, measured in
#: benchmarks/results/retention.md and benchmarks/results/defaults.md.
TEMPERATURE: float = 20.0

#: Towers of the dense classifier's default: three copies of the paper's network side by side,
#: voting through one decoder. Fully sharp networks err on different digits, so the vote is
#: right more often than each tower alone. Not in the paper (its network is one tower): this
#: lab's addition, measured in benchmarks/results/defaults.md and benchmarks/results/towers.md.
TOWERS: int = 3


def _check_common(num_classes, neurons_per_class, batchnorm, key_seed, temperature) -> None:
    """The arguments every classifier builder shares."""
    check_int(num_classes, "num_classes", minimum=2)
    check_int(neurons_per_class, "neurons_per_class", minimum=1)
    if num_classes * neurons_per_class > MAX_UNITS:  # the output layer's width
        raise ValueError(f"num_classes × neurons_per_class must be at most {MAX_UNITS:,} output "
                         f"neurons (validation.MAX_UNITS), got {num_classes} × "
                         f"{neurons_per_class}; pass a smaller neurons_per_class.")
    check_bool(batchnorm, "batchnorm")
    check_int(key_seed, "key_seed", minimum=0)
    check_number(temperature, "temperature", minimum=0.0, min_open=True)


def dense_classifier(
    input_shape: Sequence[int] = (8, 8, 1),
    num_classes: int = 10,
    hidden: Sequence[int] = (256, 64),
    neurons_per_class: int = 10,
    *,
    towers: int = TOWERS,
    batchnorm: bool = False,
    key_seed: int = 0,
    temperature: float = TEMPERATURE,
    name: str = "dense_classifier",
) -> keras.Model:
    """A dense spiking classifier: ``input → [Dense → (BN) → SpikingBReLU]* → N-hot → decode``.

    One tower is the network of the paper's digits benchmark, 64→256→64→100 with 10 output
    neurons per class, for the 8×8 digits of :func:`whetstone_lab.data.load`; image inputs
    are flattened first. The defaults are the best measured for it: :data:`TOWERS` copies of
    that network voting through one decoder (64→768→192→300), decoder temperature
    :data:`TEMPERATURE`. The paper's exact setting is one argument away for each choice:
    ``towers=1`` is its single network (the one the lessons take apart), ``temperature=1``
    its decoder.

    Args:
        input_shape: shape of one sample (e.g. ``(8, 8, 1)`` or ``(64,)``).
        num_classes: number of classes.
        hidden: widths of the hidden spiking layers, per tower.
        neurons_per_class: output neurons per class (the N of N-hot), per tower.
        towers: independent copies of the network side by side, voting through one decoder
            (:mod:`whetstone_lab.grouped`): every layer ``towers`` times as wide, the layers
            after the first block-diagonal, the key giving each tower ``neurons_per_class``
            neurons per class. Three cost three times the synaptic operations of one
            (benchmarks/results/towers.md); 1: the paper's network.
        batchnorm: put a BatchNorm between each Dense and its activation.
        key_seed: seed of the N-hot key.
        temperature: divides the decoder's logits (1.0: the paper's decoder). About
            ``neurons_per_class`` or twice that keeps every output neuron learning and makes
            the fully sharp network markedly more accurate (see :class:`SoftmaxDecode`).

    Example:
        >>> model = dense_classifier()                   # this lab's defaults: 64-768-192-300
        >>> single = dense_classifier(towers=1)          # the paper's network: 64-256-64-100
        >>> paper = dense_classifier(towers=1, temperature=1.0)  # ... and its decoder
    """
    shape = check_shape(input_shape, "input_shape")
    hidden = check_shape(hidden, "hidden", allow_empty=True, maximum=MAX_UNITS)
    _check_common(num_classes, neurons_per_class, batchnorm, key_seed, temperature)
    towers = check_int(towers, "towers", minimum=1)
    check_shape([units * towers for units in hidden], "hidden × towers", allow_empty=True,
                maximum=MAX_UNITS)
    key = make_key(num_classes, num_classes * neurons_per_class * towers, seed=key_seed,
                   groups=towers)
    inputs = keras.Input(shape)
    x = keras.layers.Flatten(name="flatten")(inputs) if len(shape) > 1 else inputs
    outputs = _spiking_head(x, [units * towers for units in hidden], key, batchnorm,
                            temperature, towers)
    return keras.Model(inputs, outputs, name=name)


def conv_classifier(
    input_shape: Sequence[int] = (8, 8, 1),
    num_classes: int = 10,
    filters: Sequence[int] = (32, 64),
    dense: Sequence[int] = (128,),
    neurons_per_class: int = 10,
    *,
    kernel_size: int = 3,
    pool: bool = False,
    batchnorm: bool = False,
    key_seed: int = 0,
    temperature: float = TEMPERATURE,
    name: str = "conv_classifier",
) -> keras.Model:
    """A convolutional spiking classifier.

    ``[Conv2D → (BN) → SpikingBReLU → (MaxPool 2×2)]* → Flatten → [Dense → (BN) →
    SpikingBReLU]* → N-hot → decode``. Max-pooling follows the activation, so on spikes it
    is an OR. ``temperature`` divides the decoder's logits, as in :func:`dense_classifier`.

    The defaults are the best setting measured here (benchmarks/results/retention.md): no
    pooling (an OR over spikes drops how many neurons fired, and 8×8 inputs are small enough
    to keep every position), no BatchNorm (its moving statistics lag behind a network whose
    activations keep changing shape), decoder temperature :data:`TEMPERATURE`. The paper's
    setting is one argument away: ``pool=True, batchnorm=True, temperature=1.0``.

    Example:
        >>> model = conv_classifier()                                        # this lab's
        >>> paper = conv_classifier(pool=True, batchnorm=True, temperature=1.0)
    """
    shape = check_shape(input_shape, "input_shape", rank=3)
    filters = check_shape(filters, "filters", maximum=MAX_UNITS)
    dense = check_shape(dense, "dense", allow_empty=True, maximum=MAX_UNITS)
    check_int(kernel_size, "kernel_size", minimum=1)
    check_bool(pool, "pool")
    _check_common(num_classes, neurons_per_class, batchnorm, key_seed, temperature)
    key = make_key(num_classes, num_classes * neurons_per_class, seed=key_seed)
    inputs = keras.Input(shape)
    x = inputs
    for i, f in enumerate(filters):
        _check_weights(x, f, f"conv_{i}", kernel_size)
        x = keras.layers.Conv2D(f, kernel_size, padding="same", use_bias=not batchnorm,
                                name=f"conv_{i}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"conv_bn_{i}")(x)
        x = SpikingBReLU(name=f"conv_spikes_{i}")(x)
        if pool and min(x.shape[1], x.shape[2]) >= 2:
            x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = _spiking_head(x, dense, key, batchnorm, temperature)
    return keras.Model(inputs, outputs, name=name)


def _spiking_head(x, hidden: Sequence[int], key, batchnorm: bool, temperature: float,
                  towers: int = 1):
    """``[Dense → (BN) → SpikingBReLU]*`` through ``hidden`` and the N-hot output layer, then
    the decoder: the classifiers' common top. With ``towers`` > 1 every layer after the first
    is a block-diagonal :class:`~whetstone_lab.grouped.GroupedDense`."""
    for i, units in enumerate([*hidden, key.shape[1]]):
        _check_weights(x, units, f"dense_{i}")
        if i and towers > 1:
            x = GroupedDense(units, groups=towers, use_bias=not batchnorm, name=f"dense_{i}")(x)
        else:
            x = keras.layers.Dense(units, use_bias=not batchnorm, name=f"dense_{i}")(x)
        if batchnorm:
            x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"bn_{i}")(x)
        x = SpikingBReLU(name=f"spikes_{i}")(x)
    return SoftmaxDecode(key, temperature=temperature, name="decode")(x)


def _check_weights(x, units: int, name: str, kernel_size: int = 1) -> None:
    """Refuse a Dense/Conv2D layer with more than MAX_WEIGHTS weights before Keras draws them
    (a huge input or kernel would otherwise end in an out-of-memory error after trying)."""
    count = kernel_size**2 * int(x.shape[-1]) * units
    if count > MAX_WEIGHTS:
        raise ValueError(f"layer {name!r} would have {count:,} weights ({kernel_size}×"
                         f"{kernel_size} kernel × {int(x.shape[-1]):,} inputs × {units:,} units), "
                         f"more than validation.MAX_WEIGHTS = {MAX_WEIGHTS:,}; use a smaller "
                         "input_shape, kernel_size or layer.")


def _conv_spikes(x, filters: int, name: str, *, kernel_size: int = 3, batchnorm: bool = False,
                 strides: int = 1):
    """Conv2D → (BN) → SpikingBReLU, the unit every convolutional builder is made of."""
    _check_weights(x, filters, f"{name}_conv", kernel_size)
    x = keras.layers.Conv2D(filters, kernel_size, strides=strides, padding="same",
                            use_bias=not batchnorm, name=f"{name}_conv")(x)
    if batchnorm:
        x = keras.layers.BatchNormalization(momentum=BN_MOMENTUM, name=f"{name}_bn")(x)
    return SpikingBReLU(name=f"{name}_spikes")(x)


def autoencoder(
    input_shape: Sequence[int] = (8, 8, 1),
    filters: Sequence[int] = (32, 32),
    code_channels: int = 16,
    *,
    kernel_size: int = 3,
    batchnorm: bool = False,
    downsample: str = "pool",
    name: str = "autoencoder",
) -> keras.Model:
    """A convolutional autoencoder whose every hidden layer, the code included, spikes.

    ``[Conv → SpikingBReLU → MaxPool 2×2]* → Conv 1×1 → SpikingBReLU (the binary code) →
    [UpSample 2×2 → Conv → SpikingBReLU]* → Conv → sigmoid``. The code is
    ``(h / 2^L, w / 2^L, code_channels)`` spikes for ``L = len(filters)`` levels. The
    output layer is a continuous read-out (a sigmoid giving pixel intensities in [0, 1]);
    it is not a spiking layer and is not sharpened. Train with ``"mse"`` on images in [0, 1].

    Args:
        input_shape: ``(height, width, channels)``; height and width divisible by 2^L.
        filters: channels of each encoder level (the decoder mirrors them).
        code_channels: channels of the binary code.
        kernel_size: size of the convolution kernels.
        batchnorm: a BatchNorm between each hidden convolution and its activation.
        downsample: ``"pool"`` (a 2×2 max-pool after each encoder level: an OR over spikes)
            or ``"stride"`` (each encoder convolution strides by 2 instead). On digits,
            ``filters=(128, 128), downsample="stride"`` trained with batch 16 more than
            halves the spiking MSE of the default network (benchmarks/results/autoencoder.md),
            though the float twin gains even more; :func:`dense_autoencoder` does better
            still there.

    Example:
        >>> model = autoencoder((8, 8, 1))
        >>> model.get_layer("code_spikes").output.shape
        (None, 2, 2, 16)
    """
    shape = check_shape(input_shape, "input_shape", rank=3)
    filters = check_shape(filters, "filters", maximum=MAX_UNITS)
    code_channels = check_int(code_channels, "code_channels", minimum=1, maximum=MAX_UNITS)
    check_int(kernel_size, "kernel_size", minimum=1)
    check_bool(batchnorm, "batchnorm")
    check_choice(downsample, "downsample", ("pool", "stride"))
    _check_divisible(shape, len(filters), "autoencoder")
    inputs = keras.Input(shape)
    x = inputs
    for i, f in enumerate(filters):
        x = _conv_spikes(x, f, f"enc_{i}", kernel_size=kernel_size, batchnorm=batchnorm,
                         strides=2 if downsample == "stride" else 1)
        if downsample == "pool":
            x = keras.layers.MaxPooling2D(2, name=f"enc_{i}_pool")(x)
    x = _conv_spikes(x, code_channels, "code", kernel_size=1, batchnorm=batchnorm)
    for i, f in enumerate(reversed(filters)):
        x = keras.layers.UpSampling2D(2, name=f"dec_{i}_up")(x)
        x = _conv_spikes(x, f, f"dec_{i}", kernel_size=kernel_size, batchnorm=batchnorm)
    _check_weights(x, shape[-1], "reconstruction", kernel_size)
    outputs = keras.layers.Conv2D(shape[-1], kernel_size, padding="same", activation="sigmoid",
                                  name="reconstruction")(x)
    return keras.Model(inputs, outputs, name=name)


def dense_autoencoder(
    input_shape: Sequence[int] = (8, 8, 1),
    code_bits: int = 64,
    decoder: Sequence[int] = (2048,),
    *,
    encoder: Sequence[int] = (),
    input_noise: float = 0.1,
    name: str = "dense_autoencoder",
) -> keras.Model:
    """A dense autoencoder whose every hidden layer, the code included, spikes.

    ``pixels → [Dense → SpikingBReLU]* (encoder) → Dense → SpikingBReLU (the binary code) →
    [Dense → SpikingBReLU]* (decoder) → Dense → sigmoid``, reshaped to ``input_shape``. With
    the defaults the code's neurons read the pixels directly and one wide spiking layer
    reads the code. ``GaussianNoise(input_noise)`` on the pixels while training (off at
    inference) keeps the binary code from over-fitting a small training set. On 8×8 digits
    this is the best 64-bit spiking autoencoder of ``benchmarks/results/autoencoder.md``,
    well below the convolutional networks there, trained with
    ``recipes.recipe("digits_dense_autoencoder")`` (2 float epochs, 8 sharpening, 90
    straight-through epochs whose rate decays from 1e-3 to 1e-4; batch 16).

    Args:
        input_shape: the image's shape, e.g. ``(8, 8, 1)``.
        code_bits: neurons (bits) of the binary code.
        decoder: widths of the spiking layers between the code and the read-out.
        encoder: widths of the spiking layers between the pixels and the code.
        input_noise: standard deviation of the Gaussian noise on the pixels while training
            (0: none).
        name: the model's name.

    Example:
        >>> model = dense_autoencoder((8, 8, 1), code_bits=32)
        >>> model.get_layer("code_spikes").output.shape
        (None, 32)
    """
    shape = check_shape(input_shape, "input_shape")
    code_bits = check_int(code_bits, "code_bits", minimum=1, maximum=MAX_UNITS)
    encoder = check_shape(encoder, "encoder", allow_empty=True, maximum=MAX_UNITS)
    decoder = check_shape(decoder, "decoder", allow_empty=True, maximum=MAX_UNITS)
    input_noise = check_number(input_noise, "input_noise", minimum=0.0)
    inputs = keras.Input(shape)
    x = keras.layers.GaussianNoise(input_noise, name="input_noise")(inputs) if input_noise \
        else inputs
    x = keras.layers.Flatten(name="pixels")(x)
    stack = ([(f"enc_{i}", w) for i, w in enumerate(encoder)] + [("code", code_bits)]
             + [(f"dec_{i}", w) for i, w in enumerate(decoder)])
    for layer_name, units in stack:
        _check_weights(x, units, f"{layer_name}_dense")
        x = keras.layers.Dense(units, name=f"{layer_name}_dense")(x)
        x = SpikingBReLU(name=f"{layer_name}_spikes")(x)
    _check_weights(x, int(np.prod(shape)), "reconstruction")
    x = keras.layers.Dense(int(np.prod(shape)), activation="sigmoid", name="reconstruction")(x)
    return keras.Model(inputs, keras.layers.Reshape(shape, name="image")(x), name=name)


def _check_divisible(shape: tuple[int, ...], levels: int, name: str) -> None:
    step = 2**levels
    if shape[0] % step or shape[1] % step:
        raise ValueError(
            f"{name}: height and width must be divisible by 2^{levels} = {step} for "
            f"{levels} pooling levels, got {shape[:2]}; use fewer levels or pad the images."
        )


def segmenter(
    input_shape: Sequence[int] = (32, 32, 1),
    num_classes: int = 4,
    filters: Sequence[int] = (16, 32),
    neurons_per_class: int = 4,
    *,
    kernel_size: int = 3,
    skips: bool = True,
    batchnorm: bool = False,
    key_seed: int = 0,
    temperature: float = 1.0,
    name: str = "segmenter",
) -> keras.Model:
    """A fully convolutional spiking encoder–decoder that labels every pixel.

    Encoder: per level ``Conv → SpikingBReLU → MaxPool 2×2``; a bottom ``Conv →
    SpikingBReLU``; decoder: per level ``UpSample 2×2 → (concatenate the encoder's spikes of
    that resolution, U-Net style, when skips=True) → Conv → SpikingBReLU``; head: a 1×1
    ``Conv → SpikingBReLU`` with ``num_classes · neurons_per_class`` spiking channels and a
    per-pixel N-hot :class:`~whetstone_lab.layers.SoftmaxDecode`. Concatenating spikes is
    still spikes, so every hidden layer communicates in binary spikes once sharp.

    The output is ``(height, width, num_classes)`` class probabilities; train with
    ``"sparse_categorical_crossentropy"`` on integer masks ``(n, height, width)`` (on JAX or
    PyTorch :class:`~whetstone_lab.layers.DecoderCrossEntropy`, the same loss from the
    decoder's logits, which ``training.fit`` picks by itself), weighting
    the pixels with ``sample_weight=data.pixel_weights(masks)``: unweighted, background
    (most of a scene) wins the loss and the foreground output neurons stop learning.

    Args:
        input_shape: ``(height, width, channels)``; height and width divisible by 2^L.
        num_classes: mask values, background included.
        filters: channels per encoder level (``L = len(filters)`` levels); the bottom layer
            has ``2 · filters[-1]`` channels.
        neurons_per_class: output neurons per class per pixel (the N of N-hot).
        kernel_size: size of the convolution kernels.
        skips: concatenate encoder spikes into the decoder.
        batchnorm: a BatchNorm between each convolution and its activation.
        key_seed: seed of the N-hot key.
        temperature: divides the decoder's logits (1.0: the paper's decoder). In the
            retention benchmark T = 2 did no better than T = 1 on shapes, and T = 8 without
            pixel weights left the float segmenter predicting only background.

    Example:
        >>> segmenter((32, 32, 1), num_classes=4).output.shape
        (None, 32, 32, 4)
    """
    shape = check_shape(input_shape, "input_shape", rank=3)
    filters = check_shape(filters, "filters", maximum=MAX_UNITS)
    check_int(kernel_size, "kernel_size", minimum=1)
    check_bool(skips, "skips")
    _check_common(num_classes, neurons_per_class, batchnorm, key_seed, temperature)
    _check_divisible(shape, len(filters), "segmenter")
    key = make_key(num_classes, num_classes * neurons_per_class, seed=key_seed)
    unit = dict(kernel_size=kernel_size, batchnorm=batchnorm)
    inputs = keras.Input(shape)
    x = inputs
    skip_tensors = []
    for i, f in enumerate(filters):
        x = _conv_spikes(x, f, f"enc_{i}", **unit)
        skip_tensors.append(x)
        x = keras.layers.MaxPooling2D(2, name=f"enc_{i}_pool")(x)
    x = _conv_spikes(x, 2 * filters[-1], "bottom", **unit)
    for i, f in enumerate(reversed(filters)):
        x = keras.layers.UpSampling2D(2, name=f"dec_{i}_up")(x)
        if skips:
            x = keras.layers.Concatenate(name=f"dec_{i}_skip")([x, skip_tensors[-1 - i]])
        x = _conv_spikes(x, f, f"dec_{i}", **unit)
    x = _conv_spikes(x, key.shape[1], "head", kernel_size=1, batchnorm=batchnorm)
    outputs = SoftmaxDecode(key, temperature=temperature, name="decode")(x)
    return keras.Model(inputs, outputs, name=name)
