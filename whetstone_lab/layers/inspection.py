"""Finding layers inside a model through Keras' public ``layers`` attribute only."""

from __future__ import annotations

import keras

from ..validation import check_model
from .nhot import SoftmaxDecode

__all__ = ["walk_layers", "find_decoder"]


def walk_layers(model) -> list[keras.layers.Layer]:
    """Every layer inside ``model``, nested models searched recursively, each listed once.

    Uses only the public ``layers`` attribute, in the order Keras keeps it (input to output
    for Functional and Sequential models).
    """
    check_model(model)  # anything else has no layers: [] would be a silent wrong answer
    found: list[keras.layers.Layer] = []
    seen: set[int] = set()

    def visit(layer):
        for sub in getattr(layer, "layers", None) or []:
            if id(sub) not in seen:
                seen.add(id(sub))
                found.append(sub)
                visit(sub)

    visit(model)
    return found


def find_decoder(model) -> SoftmaxDecode | None:
    """The last :class:`SoftmaxDecode` inside ``model`` (its key and temperature), or None."""
    decoders = [layer for layer in walk_layers(model) if isinstance(layer, SoftmaxDecode)]
    return decoders[-1] if decoders else None
