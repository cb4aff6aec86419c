"""Setting sharpness on a model, and the sharpening schedules (docs/design.md, "Schedules").

The global sharpness ``g ∈ [0, 1]`` of a model with N spiking layers maps onto its layers:

* ``"uniform"``: every layer gets ``g``.
* ``"bottom_up"``: with ``p = 1/N``, layers ``0..k-1`` are at 1 where ``k = floor(g/p)``,
  layer ``k`` at ``(g mod p)/p``, the rest at 0.

Both mappings have the mean of the layers' sharpness equal to ``g``, so
:func:`global_sharpness` (the mean) reads back what :func:`set_sharpness` wrote and every
schedule can start from the sharpness a model already has.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import keras
import numpy as np

from .layers import SHARP_TOLERANCE, SpikingActivation, find_decoder, loss_targets, walk_layers
from .validation import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_model,
    check_number,
    check_output_targets,
    check_same_length,
    check_samples,
    check_sharpness,
)

__all__ = [
    "MODES",
    "spiking_layers",
    "get_sharpness",
    "global_sharpness",
    "set_sharpness",
    "layer_sharpness",
    "is_fully_sharp",
    "fully_sharp",
    "Sharpener",
    "SimpleSharpener",
    "ScheduledSharpener",
    "AdaptiveSharpener",
    "SpikingEvaluator",
]

MODES = ("bottom_up", "uniform")


# ----------------------------------------------------------------------------------------
# Reading and writing the sharpness of a model
# ----------------------------------------------------------------------------------------
def spiking_layers(model) -> list[SpikingActivation]:
    """The spiking activation layers of ``model`` in input-to-output order.

    The one enumerator of spiking layers in the library. Nested models are searched
    recursively; a layer used twice is listed once.

    Raises:
        TypeError: if ``model`` is not a Keras model or layer.
    """
    check_model(model)
    if isinstance(model, SpikingActivation):
        return [model]
    return [layer for layer in walk_layers(model) if isinstance(layer, SpikingActivation)]


def _require_spiking(model) -> list[SpikingActivation]:
    layers = spiking_layers(model)
    if not layers:
        name = getattr(model, "name", type(model).__name__)
        raise ValueError(f"model {name!r} has no spiking layers (SpikingBReLU or "
                         "SpikingSigmoid); sharpness applies only to models built with them.")
    return layers


def get_sharpness(model) -> list[float]:
    """The sharpness of every spiking layer, input to output."""
    return [layer.get_sharpness() for layer in _require_spiking(model)]


def global_sharpness(model) -> float:
    """The model's global sharpness ``g``: the mean over its spiking layers."""
    values = get_sharpness(model)
    g = float(np.mean(values))
    return 1.0 if g >= 1.0 - SHARP_TOLERANCE else g


def is_fully_sharp(model) -> bool:
    """True when every spiking layer is fully sharp."""
    return all(s >= 1.0 - SHARP_TOLERANCE for s in get_sharpness(model))


def layer_sharpness(g: float, num_layers: int, mode: str = "bottom_up") -> list[float]:
    """Map a global sharpness ``g`` onto ``num_layers`` layers (uniform or bottom-up)."""
    g = check_sharpness(g, "global sharpness")
    check_choice(mode, "mode", MODES)
    num_layers = check_int(num_layers, "num_layers", minimum=1)
    if mode == "uniform":
        return [g] * num_layers
    if g >= 1.0 - SHARP_TOLERANCE:  # guard the rounding: g = 1 means every layer at 1
        return [1.0] * num_layers
    scaled = g * num_layers
    k = min(int(math.floor(scaled + 1e-9)), num_layers - 1)
    frac = min(max(scaled - k, 0.0), 1.0)
    if frac < 1e-9:
        frac = 0.0
    return [1.0] * k + [frac] + [0.0] * (num_layers - k - 1)


def set_sharpness(model, value, mode: str = "bottom_up") -> list[float]:
    """Set the sharpness of ``model``'s spiking layers.

    Args:
        model: a Keras model (nested models included) or a single spiking layer.
        value: a global sharpness in [0, 1], mapped with ``mode``; or a sequence with one
            value per spiking layer (input to output).
        mode: ``"bottom_up"`` or ``"uniform"`` (ignored for a per-layer sequence).

    Returns:
        The per-layer sharpness now set.
    """
    layers = _require_spiking(model)
    if isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str):
        values = [check_sharpness(v, f"sharpness[{i}]") for i, v in enumerate(value)]
        if len(values) != len(layers):
            raise ValueError(f"got {len(values)} per-layer sharpness values but the model "
                             f"has {len(layers)} spiking layers.")
    else:
        values = layer_sharpness(value, len(layers), mode)
    for layer, v in zip(layers, values):
        layer.set_sharpness(v)
    return values


class fully_sharp:
    """Context manager: every spiking layer at 1 inside, the previous sharpness restored after.

    Example:
        >>> with fully_sharp(model):
        ...     model.evaluate(x, y)
    """

    def __init__(self, model, value=1.0):
        self.model = model
        self.value = value

    def __enter__(self):
        self._saved = get_sharpness(self.model)
        set_sharpness(self.model, self.value, mode="uniform")
        return self.model

    def __exit__(self, *exc):
        set_sharpness(self.model, self._saved)
        return False


# ----------------------------------------------------------------------------------------
# Schedules
# ----------------------------------------------------------------------------------------
class Sharpener(keras.callbacks.Callback):
    """The base of every schedule (Simple, Scheduled, Adaptive): finds the layers, logs the
    sharpness, stops when everything is sharp. ``fit`` refuses a second one next to its
    recipe's, which would fight it."""

    def __init__(self, *, stop_after_sharp: int | None = None, verbose: int = 0):
        super().__init__()
        if stop_after_sharp is not None:
            stop_after_sharp = check_int(stop_after_sharp, "stop_after_sharp", minimum=0)
        self.stop_after_sharp = stop_after_sharp
        self.verbose = verbose
        self._sharp_epochs = 0
        self._layers: list[SpikingActivation] = []

    @property
    def layers(self) -> list[SpikingActivation]:
        return self._layers

    def on_train_begin(self, logs=None):
        self._layers = _require_spiking(self.model)
        self._sharp_epochs = 0

    def on_train_end(self, logs=None):
        # An in-graph schedule belongs to this fit only: afterwards the layers hold still.
        for layer in self._layers:
            layer.stop_schedule()

    def _batches_per_epoch(self) -> int | None:
        steps = (self.params or {}).get("steps")
        return int(steps) if steps else None

    def _log(self, logs):
        if logs is not None:
            logs["sharpness"] = global_sharpness(self.model)

    def _maybe_stop(self, epoch_was_sharp: bool):
        if epoch_was_sharp:
            self._sharp_epochs += 1
        if (self.stop_after_sharp is not None and is_fully_sharp(self.model)
                and self._sharp_epochs >= self.stop_after_sharp):
            self.model.stop_training = True
            if self.verbose:
                print(f"{type(self).__name__}: every layer is sharp; training stops.")


class SimpleSharpener(Sharpener):
    """Raise the global sharpness by a fixed amount at regular step points.

    After epoch ``start_epoch`` (0-based, as Keras counts), at the end of every epoch
    (``per="epoch"``) or every batch (``per="batch"``), the global sharpness grows by
    ``1/(steps·N)`` (bottom-up, N spiking layers: each layer takes ``steps`` step points) or
    ``1/steps`` (uniform), and snaps to exactly 1 at the last step.

    Worked example (3 layers, ``start_epoch=5, steps=5``, per epoch, bottom-up): layer 0 is
    sharp after epoch 9, layer 1 after 14, layer 2 after 19, epoch 20 trains fully sharp;
    21 epochs in all.

    A model that is already partly sharp (resumed, or reloaded) continues from its own
    sharpness, without waiting for ``start_epoch`` again, and no layer is ever lowered.

    Per batch, the steps run inside the compiled train step (each layer's
    :meth:`~whetstone_lab.layers.SpikingActivation.start_schedule`): the callback sets the
    ramps once, when sharpening starts, and reads the sharpness once per epoch for the logs,
    so sharpening per batch costs no Python per batch. Bottom-up, layer ``i`` follows
    ``clip((taken + k − i·steps) / steps, 0, 1)`` after ``k`` batches, uniform every layer
    ``clip((taken + k) / steps, 0, 1)``, where ``taken`` counts the steps the model had
    already taken. The ramps are switched off when training ends; a fit interrupted before
    that leaves them on, and a later ``fit`` without a sharpener would continue them (call
    each layer's ``stop_schedule()``, or train with a sharpener, which sets them anew).

    The defaults (10 float epochs, then 15 steps per layer, one per epoch: fully sharp after
    epoch 54 for 3 layers, 56 epochs in all) are the digits dense recipe chosen on a
    validation split (``whetstone_lab.recipes.RECIPES["digits_dense"]``); the paper's worked
    example above is ``SimpleSharpener(start_epoch=5, steps=5)``.

    Args:
        start_epoch: the first epoch at whose end (or during which, per batch) sharpening starts.
        steps: step points per layer (bottom-up) or in total (uniform).
        per: ``"epoch"`` or ``"batch"``: what a step point is.
        mode: ``"bottom_up"`` or ``"uniform"``.
        stop_after_sharp: stop training after this many fully sharp epochs (None: never).
    """

    def __init__(self, start_epoch: int = 10, steps: int = 15, per: str = "epoch",
                 mode: str = "bottom_up", *, stop_after_sharp: int | None = None,
                 verbose: int = 0):
        super().__init__(stop_after_sharp=stop_after_sharp, verbose=verbose)
        self.start_epoch = check_int(start_epoch, "start_epoch", minimum=0)
        self.steps = check_int(steps, "steps", minimum=1)
        self.per = check_choice(per, "per", ("epoch", "batch"))
        self.mode = check_choice(mode, "mode", MODES)
        self._epoch = 0

    def total_steps(self, num_layers: int) -> int:
        return self.steps * num_layers if self.mode == "bottom_up" else self.steps

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._total = self.total_steps(len(self._layers))
        # Count whole steps already taken, so a resumed model continues on the same grid.
        self._taken = int(round(global_sharpness(self.model) * self._total))
        self._resumed = self._taken > 0
        self._values = get_sharpness(self.model)
        self._scheduled = False

    def _start_schedule(self):
        """Per batch: hand the remaining steps to the layers' in-graph ramps."""
        for i, layer in enumerate(self._layers):
            offset = (i * self.steps if self.mode == "bottom_up" else 0) - self._taken
            layer.start_schedule(offset, self.steps, floor=self._values[i])
        self._scheduled = True

    def _step(self):
        if self._taken >= self._total:
            return
        self._taken += 1
        g = 1.0 if self._taken >= self._total else self._taken / self._total
        values = layer_sharpness(g, len(self._layers), self.mode)
        # Assign only what rises (one layer per step bottom-up): this runs every batch. A
        # layer is never lowered, so a model resumed from another mode keeps what it has.
        for i, (layer, v) in enumerate(zip(self._layers, values)):
            if v > self._values[i]:
                layer.sharpness.assign(v)
                self._values[i] = v

    def _active(self, epoch: int) -> bool:
        return self._resumed or epoch >= self.start_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._sharp_at_begin = is_fully_sharp(self.model)
        if self.per == "batch" and not self._scheduled and self._active(epoch) \
                and self._taken < self._total:
            self._start_schedule()

    def on_epoch_end(self, epoch, logs=None):
        self._log(logs)
        if self.per == "epoch" and self._active(epoch):
            self._step()
        self._maybe_stop(self._sharp_at_begin)


class ScheduledSharpener(Sharpener):
    """One ``(start_epoch, stop_epoch)`` window per spiking layer, linear ramps inside.

    Layer ``i`` is at 0 before epoch ``start_i``, rises linearly batch by batch through
    epochs ``start_i .. stop_i - 1`` (reaching exactly 1 at the end of epoch ``stop_i - 1``)
    and is 1 from epoch ``stop_i`` on. After the batch ``b`` (0-based) of ``B`` in epoch
    ``e`` inside the window its sharpness is ``(e - start + (b + 1)/B) / (stop - start)``.
    Windows must not overlap and must be in input-to-output order.

    Args:
        schedule: ``[(start, stop), ...]``, one pair per spiking layer, ``0 <= start < stop``.
        stop_after_sharp: stop training after this many fully sharp epochs (None: never).
    """

    def __init__(self, schedule: Sequence[tuple[int, int]], *,
                 stop_after_sharp: int | None = None, verbose: int = 0):
        super().__init__(stop_after_sharp=stop_after_sharp, verbose=verbose)
        windows = []
        try:
            pairs = [tuple(p) for p in schedule]
        except TypeError as err:
            raise TypeError("schedule must be a list of (start_epoch, stop_epoch) pairs, got "
                            f"{schedule!r}.") from err
        if not pairs:
            raise ValueError("schedule must have one (start_epoch, stop_epoch) pair per layer.")
        for i, pair in enumerate(pairs):
            if len(pair) != 2:
                raise ValueError(f"schedule[{i}] must be a (start_epoch, stop_epoch) pair, "
                                 f"got {pair!r}.")
            start = check_int(pair[0], f"schedule[{i}] start", minimum=0)
            stop = check_int(pair[1], f"schedule[{i}] stop", minimum=0)
            if stop <= start:
                raise ValueError(f"schedule[{i}] = {pair!r}: stop_epoch must be greater than "
                                 "start_epoch.")
            if windows and start < windows[-1][1]:
                raise ValueError(f"schedule windows overlap or are out of order: {windows[-1]} "
                                 f"and {(start, stop)}; each layer's window must start at or "
                                 "after the previous layer's stop.")
            windows.append((start, stop))
        self.schedule = windows
        self._epoch = 0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if len(self.schedule) != len(self._layers):
            raise ValueError(f"schedule has {len(self.schedule)} windows but the model has "
                             f"{len(self._layers)} spiking layers; give one (start, stop) pair "
                             "per layer.")
        self._scheduled = False

    def _start_schedule(self, epoch: int, steps: int):
        """Hand the per-batch ramps to the layers: batch ``k`` from now is epoch
        ``epoch + k / steps``, so layer ``i`` ramps from ``(start_i − epoch)·steps`` over
        ``(stop_i − start_i)·steps`` train steps."""
        for layer, (start, stop) in zip(self._layers, self.schedule, strict=True):
            layer.start_schedule((start - epoch) * steps, (stop - start) * steps)
        self._scheduled = True

    def sharpness_at(self, epoch: int, progress: float) -> list[float]:
        """Per-layer sharpness after ``progress`` ∈ [0, 1] of epoch ``epoch``."""
        values = []
        for start, stop in self.schedule:
            t = (epoch - start + progress) / (stop - start)
            values.append(float(min(max(t, 0.0), 1.0)))
        return values

    def _apply(self, epoch: int, progress: float):
        target = self.sharpness_at(epoch, progress)
        # Never lower a layer below what it already has (a resumed model keeps its state).
        for layer, t in zip(self._layers, target):
            if t > layer.get_sharpness():
                layer.set_sharpness(t)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._sharp_at_begin = is_fully_sharp(self.model)
        self._apply(epoch, 0.0)
        steps = self._batches_per_epoch()
        if steps and not self._scheduled:  # batches per epoch known: ramps run in-graph
            self._start_schedule(epoch, steps)

    def on_epoch_end(self, epoch, logs=None):
        self._apply(epoch, 1.0)  # whatever the batch count, the epoch ends on its target
        self._log(logs)
        self._maybe_stop(self._sharp_at_begin)


class AdaptiveSharpener(Sharpener):
    """Plateau-driven sharpening, bottom-up (the paper's adaptive schedule).

    * Warm-up: no sharpening before ``min_init_epochs`` epochs have been trained.
    * A *significant improvement* is a loss below ``(1 - sig_decrease)·reference``; it becomes
      the new reference. Otherwise the epoch counts towards a plateau.
    * After the warm-up, once more than ``patience`` epochs in a row brought no significant
      improvement, sharpening starts (the reference becomes that epoch's loss).
    * While sharpening, each batch adds ``rate / B`` (``B`` batches per epoch) to the lowest
      layer that is not yet sharp, or ``cz_rate / B`` once that layer is past ``critical``.
      A layer that reaches 1 ends sharpening for the rest of that epoch.
    * An epoch whose loss is ``>= (1 + sig_increase)·reference`` pauses sharpening; it resumes
      after the next plateau.
    * When every layer is sharp, training stops after ``extra_epochs`` more epochs.

    Per epoch, ``logs["sharpness"]`` holds the global sharpness and
    ``logs["sharpening"]`` 1.0 while sharpening is on, else 0.0.

    Args:
        min_init_epochs: warm-up epochs before sharpening may start.
        rate: sharpness added per epoch to the current layer below ``critical``.
        critical: sharpness past which a layer sharpens at ``cz_rate``.
        cz_rate: sharpness per epoch in the critical zone.
        patience: epochs without significant improvement tolerated before sharpening.
        sig_increase: relative rise of the loss that pauses sharpening.
        sig_decrease: relative fall of the loss that counts as an improvement.
        monitor: the log entry to watch (``"loss"`` or e.g. ``"val_loss"``).
        extra_epochs: fully sharp epochs to train before stopping (None: never stop).
    """

    def __init__(self, min_init_epochs: int = 10, rate: float = 0.25, critical: float = 0.75,
                 cz_rate: float = 0.126, patience: int = 1, sig_increase: float = 0.15,
                 sig_decrease: float = 0.15, monitor: str = "loss",
                 extra_epochs: int | None = 0, verbose: int = 0):
        super().__init__(stop_after_sharp=extra_epochs, verbose=verbose)
        self.min_init_epochs = check_int(min_init_epochs, "min_init_epochs", minimum=0)
        self.rate = check_number(rate, "rate", minimum=0, maximum=1, min_open=True)
        self.critical = check_number(critical, "critical", minimum=0, maximum=1)
        self.cz_rate = check_number(cz_rate, "cz_rate", minimum=0, maximum=1, min_open=True)
        self.patience = check_int(patience, "patience", minimum=0)
        self.sig_increase = check_number(sig_increase, "sig_increase", minimum=0,
                                         min_open=True)
        self.sig_decrease = check_number(sig_decrease, "sig_decrease", minimum=0, maximum=1,
                                         min_open=True)
        if not isinstance(monitor, str) or not monitor:
            raise TypeError(f"monitor must be the name of a logged metric, got {monitor!r}.")
        self.monitor = monitor
        self.extra_epochs = extra_epochs
        self.reset()

    def reset(self):
        self.sharpening = False
        self.reference = math.inf
        self.wait = 0
        self.epochs_seen = 0
        self._layer_done_this_epoch = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.reset()
        self._values = get_sharpness(self.model)

    def _current_layer(self) -> int | None:
        for i, value in enumerate(self._values):
            if value < 1.0 - SHARP_TOLERANCE:
                return i
        return None

    def on_epoch_begin(self, epoch, logs=None):
        self._layer_done_this_epoch = False
        self._values = get_sharpness(self.model)  # read once; batches update this copy
        self._sharp_at_begin = is_fully_sharp(self.model)

    def sharpen(self, fraction: float):
        """Sharpen the lowest unfinished layer by ``fraction`` of an epoch's worth."""
        i = self._current_layer()
        if i is None or self._layer_done_this_epoch:
            return
        value = self._values[i]
        rate = self.cz_rate if value >= self.critical else self.rate
        value = value + rate * fraction
        if value >= 1.0 - SHARP_TOLERANCE:
            value = 1.0
            self._layer_done_this_epoch = True
        self._values[i] = value
        # Mid-epoch, Keras' JAX trainer holds the variables' values itself: reading the
        # callback's public ``model`` hands them back to the variables and makes the trainer
        # read them again before the next batch, so the new sharpness reaches the train step
        # (on TensorFlow the read costs nothing).
        self.model  # noqa: B018
        self._layers[i].sharpness.assign(value)

    def on_train_batch_end(self, batch, logs=None):
        if self.sharpening:
            steps = self._batches_per_epoch() or 1
            self.sharpen(1.0 / steps)

    def on_epoch_end(self, epoch, logs=None):
        logs = {} if logs is None else logs
        if self.monitor not in logs:
            raise KeyError(f"AdaptiveSharpener monitors {self.monitor!r} but the epoch logs "
                           f"only have {sorted(logs)}; pass monitor= one of those.")
        loss = float(logs[self.monitor])
        self.epochs_seen += 1
        if not math.isfinite(loss):
            # A NaN or infinite loss is no plateau: the weights have diverged. Sharpening
            # stops, training stops, and the user is told why.
            self.sharpening = False
            self.model.stop_training = True
            warnings.warn(f"AdaptiveSharpener: {self.monitor} is {loss} at epoch {epoch}; "
                          "training stopped without sharpening further (lower the learning "
                          "rate).", RuntimeWarning, stacklevel=2)
            self._log(logs)
            logs["sharpening"] = 0.0
            return
        if self.sharpening:
            if loss >= (1.0 + self.sig_increase) * self.reference:
                self.sharpening = False  # pause; loss must settle on a new plateau first
                self.reference = loss
                self.wait = 0
        else:
            if loss < (1.0 - self.sig_decrease) * self.reference:
                self.reference = loss
                self.wait = 0
            else:
                self.wait += 1
            if (self.epochs_seen >= self.min_init_epochs and self.wait > self.patience
                    and not is_fully_sharp(self.model)):
                self.sharpening = True
                self.reference = loss
                self.wait = 0
        if is_fully_sharp(self.model):
            self.sharpening = False
        self._log(logs)
        logs["sharpening"] = 1.0 if self.sharpening else 0.0
        self._maybe_stop(self._sharp_at_begin)


class SpikingEvaluator(keras.callbacks.Callback):
    """Each epoch, score the network as if it were fully sharp right now.

    Sets every spiking layer to 1, evaluates on ``validation_data``, restores the sharpness
    and adds ``spiking_<metric>`` entries (e.g. ``spiking_loss``, ``spiking_accuracy``) to
    the epoch logs, so ``History`` holds the curve.

    Args:
        validation_data: ``(x, y)`` arrays (or a dataset yielding them): finite, as many ``y``
            as ``x``; before training ``x`` of the model's input, ``y`` labels of its classes
            (a decoder with a loss taking labels, or none yet), else of its output's shape.
        prefix: prefix of the log entries.
        batch_size: evaluation batch size.
    """

    def __init__(self, validation_data, prefix: str = "spiking_", batch_size: int = 256):
        super().__init__()
        if isinstance(validation_data, (tuple, list)):
            if len(validation_data) != 2:
                raise ValueError("validation_data must be an (x, y) pair, got "
                                 f"{len(validation_data)} items.")
            x = check_array(validation_data[0], "validation_data[0] (x)")
            y = check_array(validation_data[1], "validation_data[1] (y)")
            check_same_length(x, y, ("validation_data x", "validation_data y"))
            validation_data = (x, y)
        elif validation_data is None or not hasattr(validation_data, "__iter__") \
                or isinstance(validation_data, (str, bytes, dict, np.ndarray)):
            raise TypeError("validation_data must be an (x, y) pair of arrays or a dataset "
                            f"yielding (x, y) batches, got {type(validation_data).__name__}.")
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(f"prefix must be a non-empty string, got {prefix!r}.")
        self.validation_data = validation_data
        self.prefix = prefix
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)

    def set_model(self, model):
        """Check ``(x, y)`` against ``model`` before any epoch, as ``fit`` checks its data."""
        super().set_model(model)
        try:  # a dataset (read batch by batch) or a model not built yet: Keras checks them
            x, y = self.validation_data if isinstance(self.validation_data, tuple) else None
            in_shape, out_shape = (tuple(t.shape[1:]) for t in (model.inputs[0], model.outputs[0]))
        except (AttributeError, ValueError, TypeError, IndexError):
            return
        x = check_samples(x, in_shape, "validation_data[0] (x)")
        decoder = find_decoder(model)
        takes = loss_targets(model.loss) if getattr(model, "compiled", False) else "labels"
        if decoder is not None and takes == "labels":
            y = check_labels(y, "validation_data[1] (y)", classes=decoder.num_classes,
                             shape=(len(x), *out_shape[:-1]))
        elif takes == "outputs":
            check_output_targets(y, "validation_data[1] (y)", out_shape, "for its Keras loss")
        self.validation_data = (x, y)

    def scores(self) -> dict[str, float]:
        """Evaluate fully sharp now (sharpness restored afterwards)."""
        data = self.validation_data
        with fully_sharp(self.model):
            if isinstance(data, (tuple, list)):
                result = self.model.evaluate(data[0], data[1], batch_size=self.batch_size,
                                             verbose=0, return_dict=True)
            else:
                result = self.model.evaluate(data, verbose=0, return_dict=True)
        return {f"{self.prefix}{k}": float(v) for k, v in result.items()}

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs.update(self.scores())
