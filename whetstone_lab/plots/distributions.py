"""Figures of how activity is spread: activation histograms, Lorenz curves.

Both take recordings (``{layer name: outputs}`` from :func:`whetstone_lab.spikes.record`)
and never run a model.

Example:
    >>> from whetstone_lab import plots, spikes
    >>> stages = {"before": spikes.record(float_net, x), "after": spikes.record(net, x)}
    >>> fig = plots.distributions.activation_histograms(stages, title="dense 64-256-64-100")
    >>> fig = plots.distributions.lorenz({"after": spikes.record(net, x)["spikes_0"]})
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from ..stats import gini
from ..validation import check_array, check_int, describe
from .figure import target_ax, target_fig

__all__ = ["activation_histograms", "lorenz", "lorenz_points"]


def _check_mapping(value, name: str, what: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of {what}, got {describe(value)}.")
    if not value:
        raise ValueError(f"{name} must hold at least one entry ({what}), got an empty dict.")
    return value


def activation_histograms(stages: Mapping[str, Mapping[str, np.ndarray]], *, bins: int = 20,
                          title: str | None = None, fig: Figure | None = None) -> Figure:
    """Histograms of every spiking layer's outputs, one panel per stage of sharpening.

    Outputs exactly 0 and exactly 1 (spikes, or clipped ramps) get their own bars at the
    ends; the outputs strictly inside the ramp (``0 < a < 1``) are spread over ``bins``
    bins between them. The y axis is the fraction of all outputs of the layer (log scale),
    so a fully sharp layer shows two bars and nothing between them.

    Args:
        stages: ``{stage label: recording}``, e.g. ``{"before (s = 0)": ..., "midway": ...,
            "after (s = 1)": ...}``; each recording ``{layer name: outputs}`` with the same
            layers (from :func:`whetstone_lab.spikes.record`).
        bins: bins strictly between 0 and 1.
        title: the figure's title; say which network it shows.
        fig: a Figure to draw into (cleared first).

    Returns:
        The Figure, one panel per stage.

    Example:
        >>> fig = activation_histograms({"before": spikes.record(before, x),
        ...                              "after": spikes.record(after, x)}, title="dense net")
    """
    stages = _check_mapping(stages, "stages", "stage label → recording")
    bins = check_int(bins, "bins", minimum=1)
    layers = None
    for label, recording in stages.items():
        recording = _check_mapping(recording, f"stages[{label!r}]", "layer name → outputs")
        if layers is None:
            layers = list(recording)
        elif list(recording) != layers:
            raise ValueError(f"every stage must record the same layers; {label!r} has "
                             f"{list(recording)}, the first stage {layers}.")
    fig = target_fig(fig, (3.6 * len(stages) + 0.8, 3.3))
    axes = fig.subplots(1, len(stages), sharey=True, squeeze=False)[0]
    edges = np.linspace(0.0, 1.0, bins + 1)
    width = 1.0 / bins
    for ax, (label, recording) in zip(axes, stages.items(), strict=True):
        ramp_total = 0.0
        for i, name in enumerate(layers):
            a = check_array(recording[name], f"stages[{label!r}][{name!r}]", min_samples=1,
                            dtype=np.float64).ravel()
            inner = a[(a > 0.0) & (a < 1.0)]
            counts = np.histogram(inner, bins=edges)[0] / a.size
            ramp_total += inner.size / a.size / len(layers)
            color = f"C{i % 10}"
            ax.stairs(np.where(counts > 0, counts, np.nan), edges, color=color, lw=1.5,
                      label=name)
            ends = [np.mean(a == 0.0), np.mean(a == 1.0)]
            offset = (i - (len(layers) - 1) / 2) * width / max(len(layers), 1)
            ax.bar([-width + offset, 1.0 + width + offset], ends, width=width / len(layers),
                   color=color, alpha=0.8)
        ax.set_yscale("log")
        ax.set_xlim(-2.2 * width, 1.0 + 2.2 * width)
        ax.set_xticks([-width, 0.25, 0.5, 0.75, 1.0 + width], ["= 0", "0.25", "0.5", "0.75",
                                                                 "= 1"])
        ax.set_xlabel("output")
        ax.set_title(f"{label}\n{100 * ramp_total:.1f}% of outputs inside the ramp",
                     fontsize=9)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("fraction of the layer's outputs")
    axes[-1].legend(fontsize=8, loc="upper center")
    if title:
        fig.suptitle(title)
    return fig


def lorenz_points(values) -> tuple[np.ndarray, np.ndarray]:
    """The Lorenz curve of non-negative ``values``: cumulative shares, starting at (0, 0).

    Sorted ascending, ``x[k] = k / n`` is the share of the least active neurons and ``y[k]``
    their share of all activity. The area between the diagonal and the curve is half the
    Gini coefficient (:func:`whetstone_lab.stats.gini`).

    Example:
        >>> lorenz_points([0, 0, 0, 1])[1].tolist()
        [0.0, 0.0, 0.0, 0.0, 1.0]
    """
    r = np.sort(check_array(values, "values", min_samples=1, dtype=np.float64).ravel())
    if np.any(r < 0) or not np.all(np.isfinite(r)):
        raise ValueError("lorenz needs finite, non-negative values (activity levels).")
    if r.sum() == 0:
        raise ValueError("lorenz needs some activity; every value is 0 (a silent layer).")
    x = np.arange(r.size + 1) / r.size
    y = np.concatenate([[0.0], np.cumsum(r) / r.sum()])
    return x, y


def lorenz(curves: Mapping[str, np.ndarray], *, title: str | None = None,
           ax=None) -> Figure:
    """Lorenz curves of per-neuron activity, one per entry, with their Gini coefficients.

    Each neuron's activity is its mean output over the samples, as in
    :func:`whetstone_lab.stats.activity`: for a recording ``(samples, ...)`` the mean over
    axis 0; a 1-D array is taken as per-neuron activity already. The diagonal is a layer
    whose neurons all fire equally often (Gini 0); the further below it a curve sags, the
    fewer neurons do the firing.

    Args:
        curves: ``{label: outputs or per-neuron activity}``.
        title: the axes' title; say which network it shows.
        ax: an Axes to draw into.

    Returns:
        The Figure.

    Example:
        >>> rec = spikes.record(net, x_test)
        >>> fig = lorenz({"spikes_0": rec["spikes_0"], "spikes_1": rec["spikes_1"]})
    """
    curves = _check_mapping(curves, "curves", "label → outputs")
    fig, ax = target_ax(ax, (4.6, 4.2))
    ax.plot([0, 1], [0, 1], color="0.5", ls=":", lw=1, label="equal activity (Gini 0)")
    for i, (label, values) in enumerate(curves.items()):
        a = check_array(values, f"curves[{label!r}]", min_samples=1, dtype=np.float64)
        per_neuron = a.reshape(a.shape[0], -1).mean(axis=0) if a.ndim > 1 else a
        x, y = lorenz_points(per_neuron)
        ax.plot(x, y, color=f"C{i % 10}", lw=1.8,
                label=f"{label} (Gini {gini(per_neuron):.2f})")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_aspect("equal")
    ax.set_xlabel("share of neurons, least active first")
    ax.set_ylabel("share of all activity")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title(title or "Lorenz curves of per-neuron activity", fontsize=10)
    return fig
