"""Towers: independent spiking sub-networks side by side in one chain of layers.

A network of ``k`` towers is ``k`` copies of one network that see the same input and vote
through one decoder. Written as a chain, its first layer is an ordinary ``Dense`` (every tower
reads the whole input) and every later layer a :class:`GroupedDense` with ``groups=k``: a
block-diagonal kernel, so tower ``g``'s neurons only hear tower ``g``'s. The model stays a
plain chain of Dense layers followed by spiking activations, which the simulator, the
operation counts and NIR export read as they are.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from .validation import MAX_UNITS, check_int

__all__ = ["GroupedDense", "block_mask"]


def block_mask(inputs: int, units: int, groups: int) -> np.ndarray:
    """The 0/1 block-diagonal mask of a ``(inputs, units)`` kernel cut into ``groups`` blocks.

    Block ``g`` joins inputs ``g·inputs/groups … (g+1)·inputs/groups − 1`` to units
    ``g·units/groups … (g+1)·units/groups − 1``; every other entry is 0.

    Example:
        >>> block_mask(4, 2, 2).tolist()
        [[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]]
    """
    groups = check_int(groups, "groups", minimum=1)
    _check_split(inputs, "inputs", groups)
    _check_split(units, "units", groups)
    mask = np.zeros((inputs, units), np.float32)
    a, b = inputs // groups, units // groups
    for g in range(groups):
        mask[g * a:(g + 1) * a, g * b:(g + 1) * b] = 1.0
    return mask


def _check_split(count: int, name: str, groups: int) -> None:
    if count % groups:
        raise ValueError(f"{name} ({count}) must be a multiple of groups ({groups}): each "
                         "group gets an equal block of the kernel.")


@keras.saving.register_keras_serializable(package="whetstone_lab")
class GroupedDense(keras.layers.Dense):
    """A Dense layer cut into ``groups`` independent blocks: ``y = x·(W ⊙ M) + b``.

    ``M`` is :func:`block_mask`: the inputs and the units are split into ``groups`` equal
    consecutive blocks and block ``g`` of the units hears only block ``g`` of the inputs (the
    dense counterpart of ``Conv2D(groups=…)``). The weights outside the blocks are set to 0
    when the layer is built and the mask in the forward pass gives them zero gradient, so
    they stay 0 under any optimizer: the kernel is an ordinary Dense kernel that happens to be
    block-diagonal. With ``groups=1`` the layer is a ``Dense``.

    Args:
        units: output neurons, a multiple of ``groups``.
        groups: number of blocks; the input width must be a multiple of it too.
        **kwargs: the arguments of ``keras.layers.Dense``.

    Example:
        >>> layer = GroupedDense(4, groups=2)
        >>> y = layer(np.ones((1, 6), "float32"))
        >>> (np.asarray(layer.kernel)[:3, 2:] == 0).all()
        np.True_
    """

    def __init__(self, units: int, groups: int = 1, **kwargs):
        super().__init__(check_int(units, "units", minimum=1, maximum=MAX_UNITS), **kwargs)
        self.groups = check_int(groups, "groups", minimum=1)
        _check_split(self.units, "units", self.groups)
        self.kernel_mask: np.ndarray | None = None

    def build(self, input_shape):
        mask = block_mask(int(input_shape[-1]), self.units, self.groups)
        super().build(input_shape)
        self.kernel_mask = mask
        self.kernel.assign(ops.convert_to_numpy(self.kernel) * mask)

    def call(self, inputs, training=None):
        x = ops.matmul(inputs, self.kernel * ops.convert_to_tensor(self.kernel_mask))
        if self.use_bias:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def get_config(self) -> dict:
        return {**super().get_config(), "groups": self.groups}
