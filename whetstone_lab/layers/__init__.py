"""Spiking activations and the N-hot output code (docs/design.md, "The method"), by topic:

* :mod:`~whetstone_lab.layers.activations`: the sharpenable activations
  (:class:`SpikingBReLU`, :class:`SpikingSigmoid`, their base :class:`SpikingActivation`);
* :mod:`~whetstone_lab.layers.nhot`: the N-hot key, the decoder function, layer and loss,
  the towers' votes;
* :mod:`~whetstone_lab.layers.inspection`: :func:`walk_layers`, :func:`find_decoder`.

Every name is used from here (``wl.layers.X``, ``from whetstone_lab.layers import X``); the
modules are the package's own.
"""

from .activations import (
    LAMBDA,
    SHARP_TOLERANCE,
    SpikingActivation,
    SpikingBReLU,
    SpikingSigmoid,
)
from .inspection import find_decoder, walk_layers
from .nhot import (
    DecoderCrossEntropy,
    SoftmaxDecode,
    check_key,
    decode,
    decode_towers,
    decoder_logits,
    decoder_probabilities,
    loss_targets,
    make_key,
    tower_blocks,
)

__all__ = [
    "LAMBDA", "SHARP_TOLERANCE", "SpikingActivation", "SpikingBReLU", "SpikingSigmoid",
    "SoftmaxDecode", "DecoderCrossEntropy", "loss_targets", "make_key", "decode",
    "decode_towers", "tower_blocks", "decoder_logits", "decoder_probabilities", "check_key",
    "walk_layers", "find_decoder",
]
