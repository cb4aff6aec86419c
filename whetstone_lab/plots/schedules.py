"""Figures of how sharpness moves during training (per-layer sharpness staircases)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from ..validation import check_array, describe
from .figure import SHARPNESS_COLOR, target_fig

__all__ = ["staircase"]

#: Background shades of the training phases, in order of appearance.
_PHASE_SHADES = ("#eef3f8", "#ffffff", "#f6efe3", "#eaf5ea")


def staircase(sharpness, *, x=None, layer_names: Sequence[str] | None = None,
              phases: Mapping[str, tuple[float, float]] | None = None,
              xlabel: str = "epoch", title: str | None = None,
              fig: Figure | None = None) -> Figure:
    """Each spiking layer's sharpness over training, one strip per layer, the input at the bottom.

    Bottom-up sharpening draws a staircase: each layer's strip fills from 0 to 1 after the
    one below it. A dashed line in every strip marks the global sharpness (the mean over the
    layers), which is what ``History`` logs as ``sharpness``.

    Args:
        sharpness: array ``(points, layers)`` of sharpness values in [0, 1], one row per time
            point (e.g. per batch or per epoch) and one column per spiking layer, input first.
        x: the time of each point (default ``0, 1, ...``), e.g. fractional epochs.
        layer_names: one name per column (default ``layer 0, layer 1, ...``).
        phases: optional ``{label: (start, stop)}`` in units of ``x``, shaded behind the
            strips and named at the top (e.g. warm-up, sharpening, fine-tune).
        xlabel: the label of the time axis.
        title: the figure title (say which network it shows).
        fig: a Figure to draw into (cleared first).

    Returns:
        The Figure, one axes per layer (the last layer's axes first in ``fig.axes``).

    Example:
        >>> trace = np.array([[0, 0], [0.5, 0], [1, 0], [1, 0.5], [1, 1]])
        >>> fig = staircase(trace, layer_names=["spikes_0", "spikes_1"],
        ...                 title="dense net, bottom-up")
    """
    s = check_array(sharpness, "sharpness", ndim=2, min_samples=1, dtype=np.float64)
    points, layers = s.shape
    if layers < 1:
        raise ValueError(f"sharpness must hold at least one layer (column), got shape {s.shape}.")
    if np.any(s < 0) or np.any(s > 1):
        raise ValueError("sharpness values must lie in [0, 1], got values from "
                         f"{s.min():g} to {s.max():g}.")
    if x is None:
        t = np.arange(points, dtype=np.float64)
    else:
        t = check_array(x, "x", ndim=1, dtype=np.float64)
        if t.shape[0] != points:
            raise ValueError(f"x must hold one time per row of sharpness ({points}), got "
                             f"{t.shape[0]}.")
    if layer_names is None:
        names = [f"layer {i}" for i in range(layers)]
    else:
        names = [str(n) for n in layer_names]
        if len(names) != layers:
            raise ValueError(f"layer_names must name each of the {layers} layers, got "
                             f"{len(names)} names.")
    if phases is not None and not isinstance(phases, Mapping):
        raise TypeError(f"phases must be a dict {{label: (start, stop)}}, got "
                        f"{describe(phases)}.")
    fig = target_fig(fig, (8.0, 0.75 + 0.62 * layers))
    axes = fig.subplots(layers, 1, sharex=True, squeeze=False)[:, 0]
    mean = s.mean(axis=1)
    for row, ax in enumerate(axes):
        i = layers - 1 - row  # the input layer at the bottom
        for k, (label, span) in enumerate((phases or {}).items()):
            start, stop = (float(v) for v in span)
            ax.axvspan(start, stop, color=_PHASE_SHADES[k % len(_PHASE_SHADES)], lw=0, zorder=0)
            if row == 0:
                ax.text((start + stop) / 2, 1.12, label, ha="center", va="bottom",
                        fontsize=8, transform=ax.get_xaxis_transform())
        ax.fill_between(t, 0, s[:, i], step=None, color="#333333", alpha=0.85, lw=0, zorder=2,
                        label="the layer's sharpness")
        ax.plot(t, mean, ls="--", lw=0.9, color=SHARPNESS_COLOR, zorder=3,
                label="global sharpness (mean of the layers)")
        ax.set_ylim(0, 1.05)
        ax.set_yticks([0, 1])
        ax.set_ylabel(f"{names[i]}\nsharpness", rotation=0, ha="right", va="center",
                      fontsize=8)
        ax.tick_params(labelsize=7)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    axes[-1].set_xlabel(xlabel)
    axes[-1].set_xlim(t[0], t[-1] if points > 1 else t[0] + 1)
    fig.suptitle(title or "sharpness per layer (dashed: the global mean)", fontsize=10)
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncols=2,
               fontsize=8, frameon=False)
    return fig
