"""The sharpenable spiking activations (docs/design.md, "The sharpenable activation").

They are ordinary Keras 3 layers. Their sharpness lives in a non-trainable scalar variable,
so a callback can change it between batches and the compiled train and predict functions
see the new value without being re-traced.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from ..validation import (
    check_bool,
    check_float_inputs,
    check_number,
    check_sharpness,
)

__all__ = ["LAMBDA", "SHARP_TOLERANCE", "SpikingActivation", "SpikingBReLU", "SpikingSigmoid"]

#: Width of the ramp at full sharpness, the λ of the paper: the band is ``1 - s + LAMBDA`` wide.
LAMBDA = 1e-3
#: A layer counts as fully sharp once ``s >= 1 - SHARP_TOLERANCE`` (never float equality).
SHARP_TOLERANCE = 1e-6


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

    A per-batch schedule runs inside the compiled train step: :meth:`start_schedule` sets a
    linear ramp ``s(k) = max(floor, clip((k − offset) / duration, 0, 1))`` over the train
    steps ``k`` counted from then on. Each training call uses ``s(k)`` (``floor`` at
    ``k = 0``), stores ``s(k + 1)`` in the sharpness variable (what the layer holds after the
    batch, as a per-batch callback would leave it) and counts the step, so per-batch
    sharpening costs no Python per batch and works on every backend (the variables are
    updated as BatchNormalization updates its statistics). Inference calls only read the
    sharpness variable.
    """

    def __init__(self, sharpness: float = 0.0, straight_through: bool = False, **kwargs):
        super().__init__(**kwargs)
        sharpness = check_sharpness(sharpness)
        straight_through = check_bool(straight_through, "straight_through")
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
        # The in-graph schedule: [offset, duration, floor] (duration 0: off) and the train
        # steps counted since it started.
        self.schedule = self.add_weight(shape=(3,), initializer="zeros", trainable=False,
                                        autocast=False, name="schedule", dtype="float32")
        self.schedule_step = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                             autocast=False, name="schedule_step",
                                             dtype="float32")

    # -- sharpness -------------------------------------------------------------------
    def get_sharpness(self) -> float:
        """The current sharpness as a Python float, as the layer reads it (see :meth:`call`)."""
        value = float(keras.ops.convert_to_numpy(self.sharpness))
        return 0.0 if math.isnan(value) else min(max(value, 0.0), 1.0)

    def set_sharpness(self, value: float) -> None:
        """Set the sharpness to ``value`` in [0, 1] (takes effect in compiled functions)."""
        self.sharpness.assign(check_sharpness(value))

    def raise_sharpness(self, amount: float) -> float:
        """Add ``amount`` (≥ 0) to the sharpness, capped at 1; return the new value."""
        amount = check_number(amount, "amount", minimum=0.0)
        new = min(1.0, self.get_sharpness() + amount)
        if new >= 1.0 - SHARP_TOLERANCE:
            new = 1.0
        self.set_sharpness(new)
        return new

    def start_schedule(self, offset: float, duration: float, floor: float | None = None) -> None:
        """Ramp the sharpness inside the train step (see the class docstring).

        Args:
            offset: the train step (counted from now, from 0) at which the ramp is at 0.
            duration: train steps from 0 to 1 (> 0).
            floor: the ramp never goes below it (default: the current sharpness, so a
                schedule never lowers a layer).
        """
        offset = check_number(offset, "offset")
        duration = check_number(duration, "duration", minimum=0.0, min_open=True)
        floor = self.get_sharpness() if floor is None else check_sharpness(floor, "floor")
        self.schedule.assign(np.array([offset, duration, floor], dtype=np.float32))
        self.schedule_step.assign(0.0)

    def stop_schedule(self) -> None:
        """Switch the in-graph schedule off; the sharpness stays where the schedule left it."""
        self.schedule.assign(np.zeros(3, dtype=np.float32))

    @property
    def scheduled(self) -> bool:
        """Whether an in-graph schedule drives the sharpness during training."""
        return bool(keras.ops.convert_to_numpy(self.schedule)[1] > 0)

    @property
    def straight_through(self) -> bool:
        """Whether a fully sharp layer passes the ``s = 0`` gradient through its step."""
        return bool(keras.ops.convert_to_numpy(self._straight_through) > 0.5)

    @straight_through.setter
    def straight_through(self, value: bool) -> None:
        self._straight_through.assign(float(check_bool(value, "straight_through")))

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

    def _scheduled_sharpness(self):
        """During training: the sharpness of this step, and the variables' updates."""
        offset, duration, floor = (self.schedule[i] for i in range(3))
        on = ops.greater(duration, 0.0)
        k = self.schedule_step

        def ramp(step):
            value = ops.clip((step - offset) / ops.where(on, duration, 1.0), 0.0, 1.0)
            return ops.maximum(floor, value)

        now = ops.where(ops.logical_and(on, ops.greater(k, 0.0)), ramp(k), floor)
        current = ops.convert_to_tensor(self.sharpness)
        self.sharpness.assign(ops.where(on, ramp(k + 1.0), current))
        self.schedule_step.assign(k + 1.0)
        return ops.where(on, now, current)

    def call(self, inputs, training=None):
        """The activation at the current sharpness.

        The sharpness variable is read clamped to [0, 1] (NaN read as 0), so a value written
        behind the layer's back (``model.set_weights``) can never leave the method's range;
        :meth:`set_sharpness` and :meth:`load_own_variables` refuse such values outright.
        """
        x = check_float_inputs(inputs, self)
        s = self._scheduled_sharpness() if training else self.sharpness
        s = ops.cast(s, x.dtype)
        s = ops.where(ops.isnan(s), ops.zeros_like(s), ops.clip(s, 0.0, 1.0))
        hard = ops.stop_gradient(self._hard(x))
        # Forward this adds exactly 0; backward it passes st · (the s = 0 gradient).
        surrogate = self._surrogate(x)
        st = ops.cast(ops.greater(self._straight_through, 0.5), x.dtype)
        hard = hard + st * (surrogate - ops.stop_gradient(surrogate))
        # Both branches are cheap element-wise maps; `where` keeps one graph for every s,
        # and its gradient reaches the soft branch only while s < 1.
        sharp = ops.greater_equal(s, 1.0 - SHARP_TOLERANCE)
        return ops.where(sharp, hard, self._soft(x, s))

    def compute_output_shape(self, input_shape):
        return input_shape

    def load_own_variables(self, store):
        """Load the saved variables, refusing a sharpness outside [0, 1] or NaN."""
        super().load_own_variables(store)
        raw = float(keras.ops.convert_to_numpy(self.sharpness))
        if not 0.0 <= raw <= 1.0:  # also False for NaN
            self.sharpness.assign(0.0)
            raise ValueError(f"layer {self.name!r}: the saved sharpness must be in [0, 1], got "
                             f"{raw!r}; the file is damaged or was not written by this layer.")

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
