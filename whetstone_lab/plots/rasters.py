"""Spikes of one layer, from a recording: a samples × neurons raster, or feature maps."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from ..validation import check_array, check_int
from .figure import bare, binary_note, grid_shape, spike_image, target_ax, target_fig

__all__ = ["spike_raster", "spike_maps"]


def spike_raster(spikes, *, ax=None, title: str | None = None) -> Figure:
    """Spikes of a layer as a samples × neurons image (white 0, black 1, grey between).

    Args:
        spikes: array ``(samples, neurons)``; one sample ``(neurons,)`` gives one row;
            higher-rank outputs are flattened per sample.
        ax: an Axes to draw into.
        title: axes title (e.g. the layer name).

    Example:
        >>> fig = spike_raster(record(model, x[:50])["spikes_0"], title="spikes_0")
    """
    a = check_array(spikes, "spikes", min_samples=1, finite=False, dtype=np.float32)
    a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(a.shape[0], -1)
    if a.size == 0:
        raise ValueError(f"spikes must hold at least one neuron per sample, got shape "
                         f"{np.shape(spikes)}.")
    fig, ax = target_ax(ax, (6.0, 3.2))
    spike_image(ax, a, aspect="auto")
    ax.set_xlabel("neuron")
    ax.set_ylabel("sample")
    ax.set_title(title or f"spikes: {binary_note(a)}s")
    return fig


def spike_maps(maps, *, max_channels: int = 16, fig: Figure | None = None,
               title: str | None = None) -> Figure:
    """A convolutional layer's feature maps ``(h, w, channels)`` for one sample, one panel each.

    Args:
        maps: array ``(h, w, c)`` (or ``(1, h, w, c)``).
        max_channels: show at most this many channels (the first ones).
        fig: a Figure to draw into (cleared first).
        title: figure title (e.g. the layer name).

    Example:
        >>> fig = spike_maps(record(model, x[:1])["conv_spikes_0"][0], title="conv_spikes_0")
    """
    m = check_array(maps, "maps", ndim=(3, 4), min_samples=1, finite=False, dtype=np.float32)
    if m.ndim == 4:
        if m.shape[0] != 1:
            raise ValueError(f"maps must have shape (height, width, channels) for one sample, "
                             f"got {m.shape}.")
        m = m[0]
    if m.size == 0:
        raise ValueError(f"maps must have shape (height, width, channels) with no empty axis, "
                         f"got {m.shape}.")
    k = min(m.shape[-1], check_int(max_channels, "max_channels", minimum=1))
    rows, cols = grid_shape(k)
    fig = target_fig(fig, (1.5 * cols + 0.4, 1.5 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i < k:
            spike_image(ax, m[..., i])
            ax.set_title(f"channel {i}", fontsize=8)
            bare(ax)
        else:
            ax.remove()
    shown = f"{k} of {m.shape[-1]} channels" if k < m.shape[-1] else f"{k} channels"
    fig.suptitle(f"{title + ': ' if title else ''}{shown}, {binary_note(m[..., :k])}s")
    return fig
