"""Spikes of one layer, from a recording: a samples × neurons raster, feature maps, or one
sample's output votes tower by tower."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..layers import decode, tower_blocks
from ..validation import check_array, check_int, describe
from .figure import ACCENT, bare, binary_note, grid_shape, spike_image, target_ax, target_fig

__all__ = ["spike_raster", "spike_maps", "tower_votes"]


def spike_raster(spikes, *, ax=None, title: str | None = None, key=None,
                 neurons_per_group: int | None = None,
                 group_names: Sequence[str] | None = None, ylabel: str = "sample",
                 row_names: Sequence[str] | None = None) -> Figure:
    """Spikes of a layer as a samples × neurons image (white 0, black 1, grey between).

    Output neurons can be grouped by class, so each class's codeword is one block: with
    ``key`` (the N-hot key, whose neurons are spread over the layer) the columns are put
    in class order (class 0's neurons first; neurons of no class last), with
    ``neurons_per_group`` the neurons already sit in consecutive groups of that size.
    Groups are separated by red lines and labelled below with ``group_names``.

    Args:
        spikes: array ``(samples, neurons)``; one sample ``(neurons,)`` gives one row;
            higher-rank outputs are flattened per sample.
        ax: an Axes to draw into.
        title: axes title (e.g. the layer name).
        key: an N-hot key ``(classes, neurons)`` to group the columns by class.
        neurons_per_group: group consecutive neurons, this many per group.
        group_names: a name per group (default: the class numbers).
        ylabel: what a row is: ``"sample"``, or ``"class"`` when plotting a key.
        row_names: a label per row (e.g. class names for a key).

    Example:
        >>> fig = spike_raster(record(model, x[:50])["spikes_0"], title="spikes_0")
        >>> key = wl.make_key(10, 20)
        >>> fig = spike_raster(key, key=key, ylabel="class", title="the key")
    """
    a = check_array(spikes, "spikes", min_samples=1, dtype=np.float32)  # NaN: a blank picture
    a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(a.shape[0], -1)
    if a.size == 0:
        raise ValueError(f"spikes must hold at least one neuron per sample, got shape "
                         f"{np.shape(spikes)}.")
    if not isinstance(ylabel, str):
        raise TypeError(f"ylabel must be a string, got {describe(ylabel)}.")
    order, bounds = _groups(a.shape[1], key, neurons_per_group)
    groups = len(bounds) - 1 if bounds else 0
    named = np.shape(key)[0] if key is not None else groups  # the key's spare neurons: "none"
    names = _names(group_names, named, "group_names") + ["none"] * (groups - named)
    rows = _names(row_names, a.shape[0], "row_names") if row_names is not None else None
    fig, ax = target_ax(ax, (6.0, 3.2))
    spike_image(ax, a[:, order], aspect="auto")
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"spikes: {binary_note(a)}s")
    if rows is not None:
        ax.set_yticks(range(len(rows)), rows[: a.shape[0]])
    elif ylabel == "class" and a.shape[0] <= 30:
        ax.set_yticks(range(a.shape[0]))
    if not bounds:
        ax.set_xlabel("neuron")
        return fig
    for b in bounds[1:-1]:
        ax.axvline(b - 0.5, color=ACCENT, lw=1.2)
    centres = [(lo + hi - 1) / 2 for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]
    ax.set_xticks(centres, names[: len(centres)])
    ax.tick_params(axis="x", length=0)
    ax.set_xlabel("neurons, grouped by class" if key is not None else
                  f"neurons, in groups of {neurons_per_group}")
    return fig


def _groups(width: int, key, per_group) -> tuple[np.ndarray, list[int]]:
    """Column order and group boundaries (``[0, b1, ..., width]``; ``[]``: no groups)."""
    if key is not None and per_group is not None:
        raise ValueError("pass key or neurons_per_group, not both.")
    if key is not None:
        key = check_array(key, "key", ndim=2, integer=True)
        if key.shape[1] != width:
            raise ValueError(f"key must have one column per neuron ({width}), got shape "
                             f"{key.shape}.")
        cols = [np.flatnonzero(row) for row in key]
        rest = np.setdiff1d(np.arange(width), np.concatenate(cols))
        order = np.concatenate(cols + [rest]).astype(int)
        bounds = np.cumsum([0] + [len(c) for c in cols]).tolist()
        return order, bounds + ([width + 0] if len(rest) else [])
    if per_group is None:
        return np.arange(width), []
    n = check_int(per_group, "neurons_per_group", minimum=1, maximum=width)
    return np.arange(width), [*range(0, width, n), width]


_COUNTED = {"row_names": "rows", "class_names": "classes"}


def _names(names, count: int, what: str) -> list[str]:
    if names is None:
        return [str(i) for i in range(count)]
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise TypeError(f"{what} must be a sequence of names, got {describe(names)}.")
    if len(names) < count:
        raise ValueError(f"{what} has {len(names)} names but there are {count} "
                         f"{_COUNTED.get(what, 'groups')}.")
    return [str(n) for n in names]


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
    m = check_array(maps, "maps", ndim=(3, 4), min_samples=1, dtype=np.float32)
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


def tower_votes(output, key, towers: int, *, label: int | None = None,
                class_names: Sequence[str] | None = None, ax=None,
                title: str | None = None) -> Figure:
    """One sample's votes per class, stacked tower by tower.

    The output layer of ``towers`` towers is ``towers`` consecutive blocks of neurons, each
    keyed on its own (``make_key(..., groups=towers)``). Tower ``g``'s votes for class ``c``
    are its spikes on the neurons the key gives ``c`` in block ``g``; the bars stack the
    towers' votes, so a bar's length is the class's total. The title names the decoder's
    class (:func:`whetstone_lab.layers.decode` on the whole output); with a disjoint key of
    ``n`` neurons per class its logit is ``4·votes − 2·|a| − 2n + width``, so it is the
    longest bar.

    Args:
        output: one sample's output spikes, shape ``(width,)``.
        key: the N-hot key, shape ``(classes, width)``.
        towers: number of towers (blocks of the width).
        label: the true class, marked with a red outline.
        class_names: a name per class for the axis.
        ax: an Axes to draw into.
        title: axes title (default: the decoded class, and the true one when given).

    Example:
        >>> out = spikes.record(model, x_test[:1])["spikes_2"][0]
        >>> fig = tower_votes(out, model.get_layer("decode").key, 3, label=int(y_test[0]))
    """
    a = check_array(output, "output", ndim=1, finite=True, dtype=np.float32)
    blocks = tower_blocks(a, key, towers, "output")
    votes = np.array([k @ s for s, k in blocks])  # (towers, classes)
    classes = votes.shape[1]
    names = _names(class_names, classes, "class_names")
    if label is not None:
        label = check_int(label, "label", minimum=0, maximum=classes - 1)
    fig, ax = target_ax(ax, (4.2, 3.2))
    left = np.zeros(classes)
    colors = matplotlib.colormaps["tab10"].colors
    for g, tower in enumerate(votes):
        ax.barh(range(classes), tower, left=left, color=colors[g % 10],
                label=f"tower {g}", edgecolor="white", linewidth=0.5)
        left += tower
    if label is not None:
        ax.barh(label, left[label], fill=False, edgecolor=ACCENT, linewidth=2)
    ax.set_yticks(range(classes), names)
    ax.invert_yaxis()
    ax.set_xlabel("votes (output spikes of the class's neurons)")
    ax.set_ylabel("class")
    ax.legend(fontsize=7, loc="best")
    decoded = int(decode(a, key))
    ax.set_title(title or f"decoded: {names[decoded]}"
                 + ("" if label is None else f" (true: {names[label]})"))
    return fig
