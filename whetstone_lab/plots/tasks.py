"""Results per task: reconstructions, segmentation masks, and per-layer activity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..stats import LayerActivity
from ..validation import check_array, check_int, describe
from .figure import INPUT_CMAP, as_image, bare, class_colors, target_fig

__all__ = ["reconstructions", "segmentation", "activity_bars"]


def reconstructions(x, float_out, spiking_out, *, n: int = 8,
                    fig: Figure | None = None) -> Figure:
    """Inputs and their reconstructions by the float (``s = 0``) and spiking (``s = 1``) net.

    Args:
        x, float_out, spiking_out: arrays of images of the same shape ``(m, h, w[, c])``.
        n: how many of the first samples to show.
        fig: a Figure to draw into (cleared first).

    Example:
        >>> with wl.fully_sharp(autoencoder):
        ...     sharp = autoencoder.predict(x)
        >>> fig = reconstructions(x, float_twin.predict(x), sharp)
    """
    arrays = [check_array(a, name, min_samples=1, dtype=np.float32)
              for a, name in ((x, "x"), (float_out, "float_out"), (spiking_out, "spiking_out"))]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError("x, float_out and spiking_out must have the same shape, got "
                         f"{[a.shape for a in arrays]}.")
    n = min(check_int(n, "n", minimum=1), len(arrays[0]))
    fig = target_fig(fig, (1.2 * n + 1.0, 4.0))
    axes = fig.subplots(3, n, squeeze=False)
    rows = ("input", "float (s=0)", "spiking (s=1)")
    for r, (a, name) in enumerate(zip(arrays, rows, strict=True)):
        for c in range(n):
            axes[r, c].imshow(as_image(a[c]), cmap=INPUT_CMAP, vmin=0, vmax=1,
                              interpolation="nearest")
            bare(axes[r, c])
        axes[r, 0].set_ylabel(name)
    fig.suptitle("reconstructions")
    return fig


def segmentation(images, true_masks, pred_masks, *, n: int = 4,
                 class_names: Sequence[str] | None = None, fig: Figure | None = None) -> Figure:
    """Images with their true and predicted per-pixel classes (class 0 drawn near-black).

    Args:
        images: ``(m, h, w[, c])``.
        true_masks: integer masks ``(m, h, w)``.
        pred_masks: integer masks ``(m, h, w)`` or class probabilities ``(m, h, w, classes)``.
        n: how many of the first samples to show.
        class_names: legend names; their number sets the colours.
        fig: a Figure to draw into (cleared first).

    Example:
        >>> fig = segmentation(x, masks, segmenter.predict(x), class_names=data.class_names)
    """
    images = check_array(images, "images", ndim=(3, 4), min_samples=1, dtype=np.float32)
    true_masks = check_array(true_masks, "true_masks", ndim=3, min_samples=1, integer=True)
    pred = check_array(pred_masks, "pred_masks", ndim=(3, 4), min_samples=1)
    if pred.ndim == 4:
        pred = np.argmax(pred, axis=-1)
    else:
        pred = check_array(pred, "pred_masks", integer=True)
    if true_masks.shape != pred.shape or true_masks.shape[:3] != images.shape[:3]:
        raise ValueError(
            "images (m, h, w[, c]), true_masks (m, h, w) and pred_masks (m, h, w[, classes]) "
            f"must agree; got {images.shape}, {true_masks.shape}, {np.shape(pred_masks)}."
        )
    if class_names is not None and (isinstance(class_names, str)
                                    or not isinstance(class_names, Sequence)):
        raise TypeError(f"class_names must be a sequence of names, got "
                        f"{describe(class_names)}.")
    classes = len(class_names) if class_names else int(max(true_masks.max(), pred.max())) + 1
    cmap, norm = class_colors(classes)
    n = min(check_int(n, "n", minimum=1), len(images))
    fig = target_fig(fig, (1.7 * n + 1.6, 5.2))
    axes = fig.subplots(3, n, squeeze=False)
    for c in range(n):
        axes[0, c].imshow(as_image(images[c]), cmap=INPUT_CMAP, vmin=0, vmax=1,
                          interpolation="nearest")
        axes[1, c].imshow(true_masks[c], cmap=cmap, norm=norm, interpolation="nearest")
        axes[2, c].imshow(pred[c], cmap=cmap, norm=norm, interpolation="nearest")
        for r in range(3):
            bare(axes[r, c])
    for r, name in enumerate(("image", "true", "predicted")):
        axes[r, 0].set_ylabel(name)
    names = class_names or [str(i) for i in range(classes)]
    fig.legend(handles=[Patch(color=cmap(i), label=str(nm)) for i, nm in enumerate(names)],
               loc="outside right center", fontsize=8, title="class")
    fig.suptitle("segmentation")
    return fig


def activity_bars(activity: Mapping, *, fig: Figure | None = None) -> Figure:
    """Firing rate and Gini coefficient per layer, from :func:`stats.activity`.

    Example:
        >>> fig = activity_bars(activity(record(model, x_test)))
    """
    if not isinstance(activity, Mapping):
        raise TypeError(f"activity must be the dict stats.activity() returns, got "
                        f"{describe(activity)}.")
    if not activity:
        raise ValueError("activity must hold at least one layer, got an empty dict.")
    stats = list(activity.values())
    if not all(isinstance(s, LayerActivity) for s in stats):
        bad = next(s for s in stats if not isinstance(s, LayerActivity))
        raise TypeError(f"activity values must be LayerActivity (from stats.activity()), "
                        f"got {describe(bad)}.")
    names = [s.name for s in stats]
    fig = target_fig(fig, (max(6.0, 1.3 * len(names) + 3.0), 3.2))
    axes = fig.subplots(1, 2)
    pos = np.arange(len(names))
    for ax, field, title in ((axes[0], "firing_rate", "firing rate (mean output)"),
                             (axes[1], "gini", "Gini of per-neuron activity")):
        vals = [getattr(s, field) for s in stats]
        ax.bar(pos, vals, color="#34495e")
        for p, v in zip(pos, vals, strict=True):
            ax.text(p, (0 if np.isnan(v) else v) + 0.01, "n/a" if np.isnan(v) else f"{v:.2f}",
                    ha="center", va="bottom", fontsize=8)
        ax.set_xticks(pos, names, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("spiking layer")
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("Gini" if field == "gini" else "firing rate")
        ax.set_title(title)
    return fig
