"""Copies and transforms of a network: twins for fair comparisons, straight-through and
quantized copies, and folding BatchNorm into the layer before it.

See docs/design.md ("Deployment") for the folding formula. ``whetstone_lab.models`` re-exports
every public name here.
"""

from __future__ import annotations

import keras
import numpy as np

from .layers import SpikingActivation, walk_layers
from .sharpening import spiking_layers
from .validation import check_bool, check_int, check_model, check_number

__all__ = [
    "float_twin",
    "hard_copy",
    "with_straight_through",
    "set_batchnorm_momentum",
    "quantize_weights",
    "layer_chain",
    "fold_batchnorm",
]


# ----------------------------------------------------------------------------------------
# Twins for fair comparisons
# ----------------------------------------------------------------------------------------
def _clone(model: keras.Model, *, copy_weights: bool, sharpness: float | None = None,
           straight_through: bool | None = None) -> keras.Model:
    check_model(model)

    def clone_layer(layer):
        config = layer.get_config()
        if isinstance(layer, SpikingActivation):
            if sharpness is not None:
                config["sharpness"] = sharpness
            if straight_through is not None:
                config["straight_through"] = straight_through
        return type(layer).from_config(config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    if copy_weights:
        # A spiking layer's sharpness and straight-through flag are among its weights:
        # restore what the clone was built with after copying.
        saved = [(layer, layer.get_sharpness(), layer.straight_through)
                 for layer in spiking_layers(clone)]
        clone.set_weights(model.get_weights())
        for layer, value, flag in saved:
            layer.set_sharpness(value)
            layer.straight_through = flag
    return clone


def float_twin(model: keras.Model, *, copy_weights: bool = False) -> keras.Model:
    """The same architecture as ``model``, as a float network: every spiking layer at sharpness 0.

    "Float" means each :class:`~whetstone_lab.layers.SpikingBReLU` is the bounded ReLU
    ``clip(x, 0, 1)`` (sharpness 0, up to λ = 0.001): continuous activations, the reference a
    spiking network is compared with. Train it without any sharpening callback and it stays
    float. With ``copy_weights=False`` (default) the twin gets freshly initialised weights
    (seed with ``keras.utils.set_random_seed`` first to make them reproducible).

    Args:
        model: a model built from spiking layers (e.g. by any builder here).
        copy_weights: copy ``model``'s weights (not its sharpness) into the twin.

    Example:
        >>> twin = float_twin(dense_classifier())
        >>> wl.get_sharpness(twin)
        [0.0, 0.0, 0.0]
    """
    return _clone(model, copy_weights=check_bool(copy_weights, "copy_weights"), sharpness=0.0)


def hard_copy(model: keras.Model) -> keras.Model:
    """Naive conversion: a copy of ``model`` with every activation replaced by the hard step.

    Same weights, every spiking layer at sharpness 1 (``1 if x ≥ 0.5 else 0``), no
    retraining. Applied to a float network this is the conversion that Whetstone
    improves on; ``model`` itself is left unchanged.

    Example:
        >>> spiking = hard_copy(float_network)
        >>> wl.is_fully_sharp(spiking)
        True
    """
    return _clone(model, copy_weights=True, sharpness=1.0)


def with_straight_through(model: keras.Model, enabled: bool = True) -> keras.Model:
    """A copy of ``model`` (weights and sharpness kept) whose spiking layers pass, or do not
    pass, a straight-through gradient once fully sharp.

    For a short fine-tune of a fully sharp network: at sharpness 1 the step passes no
    gradient, so nothing below the output can learn; with ``enabled=True`` the gradient of
    ``clip(x, 0, 1)`` flows through the step while the forward pass stays binary. (To
    switch a model in place instead, set ``layer.straight_through`` on each spiking layer.)

    Example:
        >>> tuned = with_straight_through(sharp_model)
        >>> tuned.compile("adam", "sparse_categorical_crossentropy")
    """
    return _clone(model, copy_weights=True, straight_through=check_bool(enabled, "enabled"))


def set_batchnorm_momentum(model: keras.Model, momentum: float = 0.9) -> int:
    """Set the momentum of every BatchNormalization layer; return how many were changed.

    Keras' default 0.99 averages the batch statistics over ~100 batches. Digits has only
    ~36 batches per epoch and sharpening keeps shifting the statistics, so the running
    averages that inference (and BN folding) uses would lag behind the network. Call this
    before training.

    Args:
        momentum: in [0, 1); smaller follows the recent batches more closely.
    """
    check_model(model)
    momentum = check_number(momentum, "momentum", minimum=0.0, maximum=1.0, max_open=True)
    changed = 0
    for layer in walk_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.momentum = momentum
            changed += 1
    return changed


def quantize_weights(model: keras.Model, bits: int) -> keras.Model:
    """A copy of ``model`` whose Dense/Conv2D weights are rounded to ``bits`` bits.

    Symmetric uniform rounding per layer: kernel and bias share one step
    ``max|w| / (2**(bits-1) - 1)``, so a layer keeps ``2**bits - 1`` distinct values
    (zero included). The spiking layers keep their sharpness.

    Args:
        bits: 2 to 32 (32 returns the weights unchanged).

    Example:
        >>> wl.metrics.evaluate(quantize_weights(model, 4), x_test, y_test)
    """
    check_model(model)
    bits = check_int(bits, "bits", minimum=2, maximum=32)
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


# ----------------------------------------------------------------------------------------
# BatchNorm folding
# ----------------------------------------------------------------------------------------
_FOLDABLE = (keras.layers.Dense, keras.layers.Conv2D)


def layer_chain(model: keras.Model, purpose: str = "this") -> list[keras.layers.Layer]:
    """The layers of a single-input, single-output chain, input to output (no InputLayer).

    Each layer must take exactly the previous layer's output (the model's input for the
    first), read through the public ``layer.input`` / ``layer.output``; a Sequential model is
    a chain by construction.

    Args:
        model: a Keras model.
        purpose: the name of the caller, used in the error messages.

    Raises:
        ValueError: naming the layer, for a branch, a layer with several inputs or outputs,
            or a layer used twice.
    """
    check_model(model)
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    refuse = f"{purpose} handles single-input chains of layers;"
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ValueError(f"{refuse} model {model.name!r} has {len(model.inputs)} inputs and "
                         f"{len(model.outputs)} outputs.")
    # ``layer.input``/``.output`` are those of the layer's first call, so a layer used twice
    # breaks the chain below (or, shared between models, makes ``input`` raise).
    previous, previous_name = model.inputs[0], "the model's input"
    for layer in layers:
        try:
            taken = layer.input
        except (AttributeError, ValueError):
            taken = None
        if isinstance(taken, (list, tuple, dict)):
            raise ValueError(f"{refuse} layer {layer.name!r} has {len(taken)} inputs.")
        if taken is not previous:  # None too: the model input is never None
            raise ValueError(f"{refuse} layer {layer.name!r} does not take the output of "
                             f"{previous_name} (a branch, or a layer shared with another "
                             "model).")
        if isinstance(layer.output, (list, tuple, dict)):
            raise ValueError(f"{refuse} layer {layer.name!r} has several outputs.")
        previous, previous_name = layer.output, repr(layer.name)
    if model.outputs[0] is not previous:
        raise ValueError(f"{refuse} the output of model {model.name!r} is not the output of "
                         f"its last layer {previous_name} (a layer is used twice?).")
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
    layers = layer_chain(model, "fold_batchnorm")
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
