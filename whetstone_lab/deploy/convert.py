"""From a fully sharp Keras model to a network of threshold neurons.

:func:`to_spiking` walks the model's chain of layers, refuses what threshold neurons cannot
compute (naming the layers), folds BatchNorm into the layer before it and builds the
stages of a :class:`~whetstone_lab.deploy.SpikingNetwork`, each Dense/Conv2D with
its kernel as an (inputs of one neuron, channels) matrix and the fan-out of every input
neuron. See docs/design.md, "Deployment".
"""

from __future__ import annotations

import keras
import numpy as np

from ..grouped import GroupedDense
from ..layers import SHARP_TOLERANCE, SoftmaxDecode, SpikingActivation, SpikingSigmoid
from ..sharpening import spiking_layers
from ..transforms import fold_batchnorm, layer_chain
from ..validation import describe
from .exactness import check_batch_size, lowest_bit
from .products import conv_taps
from .simulate import (
    FlattenStage,
    PoolStage,
    ReadoutStage,
    SpikingNetwork,
    SynapseStage,
    UpsampleStage,
)

__all__ = ["to_spiking", "same_pads"]

_SUPPORTED = ("Dense, Conv2D, MaxPooling2D, UpSampling2D (nearest), Flatten, "
              "BatchNormalization (folded), Dropout, GaussianNoise, RandomTranslation, "
              "RandomRotation, RandomZoom, RandomFlip, SpikingBReLU, SpikingSigmoid, "
              "SoftmaxDecode, a final Dense/Conv2D read-out and Reshape")
#: Layers that are the identity at inference: noise, and the augmentations that move the
#: training images (``benchmarks/paper_scale.py`` trains behind a RandomTranslation).
_IDENTITY = (keras.layers.Dropout, keras.layers.GaussianNoise, keras.layers.RandomTranslation,
             keras.layers.RandomRotation, keras.layers.RandomZoom, keras.layers.RandomFlip)


def to_spiking(model: keras.Model, *, batch_size: int | None = 32) -> SpikingNetwork:
    """Convert a fully sharp Keras model into a :class:`SpikingNetwork` of threshold neurons.

    Supported: Sequential or Functional chains of Dense, Conv2D, MaxPooling2D (after spikes:
    an OR), UpSampling2D (nearest, after spikes: a copy), Flatten, Dropout, GaussianNoise and
    the augmentations RandomTranslation, RandomRotation, RandomZoom and RandomFlip (identity at
    inference), BatchNormalization (folded into the layer before it with
    :func:`whetstone_lab.transforms.fold_batchnorm`), SpikingBReLU (fires iff ``W·x + b >= 0.5``)
    and SpikingSigmoid (iff ``W·x + b >= 0``) at sharpness 1. The chain may end in a
    SoftmaxDecode whose key decodes the output spikes, or in a *read-out*: a Dense or
    Conv2D on the last spikes with a non-spiking activation (an autoencoder's sigmoid),
    optionally followed by a Reshape. The read-out runs on the host
    (:class:`~whetstone_lab.deploy.simulate.ReadoutStage`), as a decoder does.

    Args:
        model: a fully sharp Keras model.
        batch_size: the ``model.predict`` batch size that rare near-ties are resolved against
            (see :class:`SpikingNetwork`); None for one call on the whole batch.

    Raises:
        TypeError: if ``model`` is not a Keras model or ``batch_size`` not an integer.
        ValueError: naming the layers, for layers that cannot be converted, a model without
            spiking layers, spiking layers that are not fully sharp, or an arrangement that
            is not threshold neurons.

    Example:
        >>> net = to_spiking(model)
        >>> net.run(x).classes[:5]
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {describe(model)}.")
    batch_size = check_batch_size(batch_size)
    layers = layer_chain(model, "to_spiking")
    _check_layers(model, layers)
    if any(isinstance(ly, keras.layers.BatchNormalization) for ly in layers):
        model = fold_batchnorm(model)
        layers = layer_chain(model, "to_spiking")
    input_shape = tuple(model.input_shape[1:])
    if any(d is None for d in input_shape):
        raise ValueError(f"the model's input shape must be fully known, got {input_shape}.")
    stages, key = _build_stages(layers, input_shape)
    return SpikingNetwork(stages, key, model, input_shape, batch_size)


# ----------------------------------------------------------------------------------------
# Walking and checking the layers
# ----------------------------------------------------------------------------------------
def _check_layers(model: keras.Model, layers) -> None:
    bad = [ly for ly in layers if not isinstance(ly, (
        keras.layers.Dense, keras.layers.Conv2D, keras.layers.MaxPooling2D,
        keras.layers.UpSampling2D, keras.layers.Flatten, keras.layers.Reshape,
        keras.layers.BatchNormalization, *_IDENTITY, SpikingActivation, SoftmaxDecode))]
    bad += [ly for ly in layers if isinstance(ly, keras.layers.Conv2D)
            and type(ly) is not keras.layers.Conv2D]  # e.g. Conv2DTranspose, depthwise
    if bad:
        listed = ", ".join(f"{ly.name!r} ({type(ly).__name__})" for ly in bad)
        raise ValueError(f"to_spiking cannot convert these layers: {listed}. "
                         f"Supported: {_SUPPORTED}.")
    spiking = spiking_layers(model)
    if not spiking:
        raise ValueError(f"model {model.name!r} has no spiking layers (SpikingBReLU or "
                         "SpikingSigmoid); to_spiking converts Dense/Conv2D layers followed "
                         "by one into threshold neurons.")
    blunt = [ly for ly in spiking if ly.get_sharpness() < 1.0 - SHARP_TOLERANCE]
    if blunt:
        listed = ", ".join(f"{ly.name!r} (sharpness {ly.get_sharpness():.3g})" for ly in blunt)
        raise ValueError(
            f"to_spiking needs a fully sharp model, but these spiking layers are not sharp: "
            f"{listed}. Finish sharpening (e.g. wl.SimpleSharpener) or set "
            "wl.set_sharpness(model, 1.0) and fine-tune."
        )


# ----------------------------------------------------------------------------------------
# Building the stages
# ----------------------------------------------------------------------------------------
def same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """Keras/TF 'same' padding: (output size, pad before, pad after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


def _valid_out(size: int, kernel: int, stride: int, dilation: int) -> int:
    return (size - (kernel - 1) * dilation - 1) // stride + 1


def _build_stages(layers, input_shape):
    stages, key = [], None
    shape, binary = tuple(input_shape), False  # binary: the current activity is spikes
    i = 0
    while i < len(layers):
        layer = layers[i]
        if key is not None:
            raise ValueError(f"SoftmaxDecode {key[0]!r} must be the last layer; "
                             f"{layer.name!r} follows it.")
        if isinstance(layer, _IDENTITY):
            i += 1
        elif isinstance(layer, keras.layers.Flatten):
            new = (int(np.prod(shape)),)
            stages.append(FlattenStage(layer.name, shape, new))
            shape, i = new, i + 1
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            act = layers[i + 1] if i + 1 < len(layers) else None
            if binary and _is_readout(layers[i + 1:]):
                stages.append(_readout_stage(layer, layers[i + 1:], shape))
                break
            if not isinstance(act, SpikingActivation):
                nxt = "nothing" if act is None else repr(act.name)
                raise ValueError(
                    f"{type(layer).__name__} {layer.name!r} is followed by {nxt}; every "
                    "Dense/Conv2D must feed a spiking activation (SpikingBReLU or "
                    "SpikingSigmoid) to become threshold neurons; only the last one, on "
                    "spikes, may be a read-out."
                )
            stage = _synapse_stage(layer, act, shape)
            stages.append(stage)
            shape, binary, i = stage.out_shape, True, i + 2
        elif isinstance(layer, (keras.layers.MaxPooling2D, keras.layers.UpSampling2D)):
            pool = isinstance(layer, keras.layers.MaxPooling2D)
            if not binary:
                what = "max-pooling is an OR" if pool else "up-sampling copies them"
                raise ValueError(f"{type(layer).__name__} {layer.name!r} must follow a spiking "
                                 f"layer (on spikes, {what}).")
            stage = _pool_stage(layer, shape) if pool else _upsample_stage(layer, shape)
            stages.append(stage)
            shape, i = stage.out_shape, i + 1
        elif isinstance(layer, keras.layers.Reshape):
            raise ValueError(f"Reshape {layer.name!r} is supported only after the read-out "
                             "(the last Dense/Conv2D); use Flatten between layers.")
        elif isinstance(layer, SoftmaxDecode):
            if not binary or not isinstance(stages[-1], SynapseStage):
                raise ValueError(f"SoftmaxDecode {layer.name!r} must directly follow a "
                                 "spiking layer.")
            key = (layer.name, layer.key)
            i += 1
        elif isinstance(layer, SpikingActivation):
            raise ValueError(f"spiking layer {layer.name!r} must directly follow a Dense or "
                             "Conv2D layer (it thresholds that layer's pre-activations).")
        else:  # pragma: no cover - _check_layers refused it already
            raise ValueError(f"cannot convert layer {layer.name!r}.")
    if not any(isinstance(s, SynapseStage) for s in stages):
        raise ValueError("the model has no Dense/Conv2D + spiking layer to convert.")
    return stages, (None if key is None else key[1])


def _synapse_stage(layer, act, in_shape) -> SynapseStage:
    if layer.activation not in (None, keras.activations.linear):
        raise ValueError(
            f"layer {layer.name!r} has activation {layer.activation.__name__!r}; a threshold "
            "neuron needs a linear Dense/Conv2D followed by a spiking activation."
        )
    kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel), np.float32)
    if isinstance(layer, GroupedDense):  # what its forward pass uses, whatever was loaded
        kernel = kernel * layer.kernel_mask
    bias = (np.asarray(keras.ops.convert_to_numpy(layer.bias), np.float32) if layer.use_bias
            else np.zeros(kernel.shape[-1], np.float32))
    threshold = 0.0 if isinstance(act, SpikingSigmoid) else 0.5
    common = dict(name=act.name, linear_name=layer.name, kernel=kernel, bias=bias,
                  threshold=threshold, in_shape=in_shape, keras_layer=layer)
    if isinstance(layer, keras.layers.Dense):
        if len(in_shape) != 1:
            raise ValueError(
                f"Dense layer {layer.name!r} receives inputs of shape {in_shape}; put a "
                "Flatten before it (only Dense on flat vectors is supported)."
            )
        stage = SynapseStage(kind="dense", out_shape=(kernel.shape[1],), **common)
        groups = layer.groups if isinstance(layer, GroupedDense) else 1  # fan-out per block
        stage.fan_out = np.full(kernel.shape[0], kernel.shape[1] // groups, np.int64)
        return _finish(stage)
    if layer.data_format != "channels_last" or layer.groups != 1:
        raise ValueError(f"Conv2D {layer.name!r}: only channels_last with groups=1 is supported.")
    kh, kw = kernel.shape[:2]
    (sh, sw), (dh, dw) = tuple(layer.strides), tuple(layer.dilation_rate)
    h, w, _ = in_shape
    if layer.padding == "same":
        ho, top, bottom = same_pads(h, kh, sh, dh)
        wo, left, right = same_pads(w, kw, sw, dw)
    else:
        ho, wo = _valid_out(h, kh, sh, dh), _valid_out(w, kw, sw, dw)
        top = bottom = left = right = 0
    stage = SynapseStage(kind="conv2d", out_shape=(ho, wo, kernel.shape[3]), strides=(sh, sw),
                         padding=layer.padding, dilation=(dh, dw),
                         pads=(top, bottom, left, right), **common)
    stage.tap_targets, stage.fan_out = conv_taps(stage)
    return _finish(stage)


def _finish(stage: SynapseStage) -> SynapseStage:
    """Fill in what the simulator reads besides the fan-out."""
    stage.weights = np.ascontiguousarray(stage.kernel.reshape(-1, stage.kernel.shape[-1]))
    stage.weights64 = stage.weights.astype(np.float64)
    if stage.kind == "dense":  # per neuron: a Dense neuron may sum thousands of inputs
        stage.w_max, stage.b_max = np.abs(stage.weights).max(axis=0), np.abs(stage.bias)
    else:  # a conv layer's outputs are many: one bound for the layer keeps the screen cheap
        stage.w_max = float(np.abs(stage.kernel).max())
        stage.b_max = float(np.abs(stage.bias).max())
    stage.grid_w, stage.grid_b = lowest_bit(stage.kernel), lowest_bit(stage.bias)
    return stage


def _is_readout(rest) -> bool:
    """Whether a Dense/Conv2D followed by ``rest`` is the read-out: nothing but a Reshape
    and layers that are the identity at inference come after it."""
    return all(isinstance(ly, (keras.layers.Reshape, *_IDENTITY)) for ly in rest)


def _readout_stage(layer, rest, in_shape) -> ReadoutStage:
    if isinstance(layer, keras.layers.Dense) and len(in_shape) != 1:
        raise ValueError(f"Dense read-out {layer.name!r} receives inputs of shape {in_shape}; "
                         "put a Flatten before it.")
    shape = layer.compute_output_shape((None, *in_shape))
    for reshape in (ly for ly in rest if isinstance(ly, keras.layers.Reshape)):
        shape = reshape.compute_output_shape(shape)
    return ReadoutStage(name=layer.name, layer=layer, in_shape=in_shape,
                        out_shape=tuple(int(d) for d in shape[1:]))


def _upsample_stage(layer, in_shape) -> UpsampleStage:
    if layer.interpolation != "nearest" or layer.data_format != "channels_last":
        raise ValueError(f"UpSampling2D {layer.name!r}: only interpolation='nearest' and "
                         "channels_last are supported (nearest up-sampling copies spikes).")
    (sh, sw), (h, w, c) = tuple(layer.size), in_shape
    return UpsampleStage(name=layer.name, size=(sh, sw), in_shape=in_shape,
                         out_shape=(h * sh, w * sw, c))


def _pool_stage(layer, in_shape) -> PoolStage:
    if layer.padding != "valid" or layer.data_format != "channels_last":
        raise ValueError(f"MaxPooling2D {layer.name!r}: only padding='valid' and "
                         "channels_last are supported.")
    (ph, pw), (sh, sw) = tuple(layer.pool_size), tuple(layer.strides)
    h, w, c = in_shape
    return PoolStage(name=layer.name, pool=(ph, pw), strides=(sh, sw), in_shape=in_shape,
                     out_shape=((h - ph) // sh + 1, (w - pw) // sw + 1, c))
