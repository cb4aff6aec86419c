"""Statistics of recorded activity: per-layer firing rates, how binary the outputs are,
silent neurons, the Gini coefficient of activity, and their table.

Arrays in, numbers out: a recording (``{layer name: outputs}`` from
:func:`whetstone_lab.spikes.record`) is all they need, so plots use them without recording.

Example:
    >>> from whetstone_lab import spikes, stats
    >>> print(stats.activity_table(stats.activity(spikes.record(model, x_test))))
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np

from .validation import check_array

__all__ = ["gini", "LayerActivity", "activity", "activity_table"]


def gini(values) -> float:
    """Gini coefficient of non-negative ``values`` (0: all equal; → 1: one holds everything).

    ``G = Σ_i Σ_j |r_i − r_j| / (2 n² r̄)`` for the ``n`` values ``r`` with mean ``r̄``.
    Equal values give 0; one non-zero value among ``n`` gives ``(n − 1)/n``. All zeros
    (nothing to share) give NaN.

    Example:
        >>> gini([1, 1, 1, 1])
        0.0
        >>> gini([0, 0, 0, 1])
        0.75
    """
    r = np.sort(check_array(values, "values", min_samples=0, dtype=np.float64).ravel())
    if r.size == 0:
        raise ValueError("gini needs at least one value, got an empty array.")
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("gini needs finite, non-negative values (activity levels).")
    total = r.sum()
    if total == 0:
        return math.nan
    n = r.size
    # Sorted form of the double sum: Σ_i (2i − n − 1)·r_(i) / (n·Σr), i = 1..n.
    ranks = np.arange(1, n + 1)
    return float(np.sum((2 * ranks - n - 1) * r) / (n * total))


@dataclass(frozen=True)
class LayerActivity:
    """Activity of one spiking layer over a batch of ``samples`` inputs.

    A *neuron* is one output unit; in a convolutional layer every (row, column, channel)
    position is its own neuron, as on neuromorphic hardware.

    Attributes:
        name: layer name.
        samples: number of inputs recorded.
        neurons: number of neurons.
        firing_rate: mean output over samples and neurons (for binary spikes: the fraction
            of neurons that fire).
        binary_fraction: fraction of outputs exactly 0 or exactly 1.
        ramp_fraction: fraction of outputs strictly inside the ramp band, ``0 < a < 1``.
        silent_fraction: fraction of neurons whose output is 0 for every sample.
        always_on_fraction: fraction of neurons whose output is exactly 1 for every sample.
        gini: Gini coefficient (see :func:`gini`) of the per-neuron mean outputs: 0 when
            every neuron is equally active, near 1 when a few neurons do all the firing;
            NaN for a layer that never fires.
        spikes_per_inference: sum of the layer's outputs per sample, averaged over samples.
    """

    name: str
    samples: int
    neurons: int
    firing_rate: float
    binary_fraction: float
    ramp_fraction: float
    silent_fraction: float
    always_on_fraction: float
    gini: float
    spikes_per_inference: float

    def to_table(self) -> str:
        """This layer as a one-row markdown table."""
        return activity_table({self.name: self})


def _layer_activity(name: str, outputs) -> LayerActivity:
    a = np.asarray(outputs, dtype=np.float64)
    if a.ndim < 2 or a.shape[0] == 0:
        raise ValueError(
            f"layer {name!r}: expected outputs of shape (samples, ...features) with at least "
            f"one sample, got shape {a.shape}."
        )
    a = a.reshape(a.shape[0], -1)
    per_neuron = a.mean(axis=0)
    return LayerActivity(
        name=name,
        samples=int(a.shape[0]),
        neurons=int(a.shape[1]),
        firing_rate=float(a.mean()),
        binary_fraction=float(np.mean((a == 0.0) | (a == 1.0))),
        ramp_fraction=float(np.mean((a > 0.0) & (a < 1.0))),
        silent_fraction=float(np.mean(np.all(a == 0.0, axis=0))),
        always_on_fraction=float(np.mean(np.all(a == 1.0, axis=0))),
        gini=gini(per_neuron),
        spikes_per_inference=float(a.sum(axis=1).mean()),
    )


def activity(recording: Mapping[str, np.ndarray]) -> dict[str, LayerActivity]:
    """Per-layer activity statistics of a recording from :func:`whetstone_lab.spikes.record`.

    Args:
        recording: ``{layer name: outputs of shape (samples, ...)}``.

    Returns:
        ``{layer name: LayerActivity}`` in the same order.

    Example:
        >>> stats = activity(spikes.record(model, x_test))
        >>> print(activity_table(stats))
    """
    if not isinstance(recording, Mapping):
        raise TypeError("recording must be the {layer name: outputs} dict that "
                        f"spikes.record() returns, got {type(recording).__name__}.")
    if not recording:
        raise ValueError("recording must be the non-empty {layer name: outputs} dict that "
                         "spikes.record() returns, got an empty one.")
    return {name: _layer_activity(name, out) for name, out in recording.items()}


_COLUMNS = [
    ("layer", "name", "{}"),
    ("neurons", "neurons", "{:d}"),
    ("firing rate", "firing_rate", "{:.3f}"),
    ("binary", "binary_fraction", "{:.1%}"),
    ("in ramp", "ramp_fraction", "{:.1%}"),
    ("silent", "silent_fraction", "{:.1%}"),
    ("always on", "always_on_fraction", "{:.1%}"),
    ("Gini", "gini", "{:.3f}"),
    ("spikes/inference", "spikes_per_inference", "{:.1f}"),
]


def activity_table(stats: Mapping[str, LayerActivity]) -> str:
    """A markdown table (also readable as plain text) of :func:`activity` results."""
    rows = [[fmt.format(asdict(s)[field]) for _, field, fmt in _COLUMNS] for s in stats.values()]
    header = [title for title, _, _ in _COLUMNS]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    def line(cells):
        return "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])
