"""Curves of training and evaluation: the history per epoch and the score against sharpness.

:class:`ScoreCurve` is the small live version the dashboards show beside their picture: the
sweep drawn once, a marker that follows the sharpness slider.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..validation import check_array, check_number, describe
from .figure import ACCENT, SHARPNESS_COLOR, in_words, target_ax, target_fig

__all__ = ["history", "score_vs_sharpness", "ScoreCurve"]


def _history_dict(history) -> dict[str, list[float]]:
    hist = getattr(history, "history", history)
    if not isinstance(hist, Mapping):
        raise TypeError("history must be a keras History (what fit() returns) or its "
                        f".history dict, got {describe(history)}.")
    if not hist or not any(len(v) for v in hist.values()):
        raise ValueError(f"history must hold at least one epoch, got {dict(hist)!r}.")
    curves = {str(k): [float(v) for v in vals] for k, vals in hist.items()}
    # A diverged epoch logs NaN and is drawn as a gap; with nothing finite there is no picture.
    if not np.isfinite([v for vals in curves.values() for v in vals]).any():
        raise ValueError(f"history holds no finite value to draw, got {describe(dict(hist))}.")
    return curves


def _overlay_sharpness(ax, epochs, sharpness):
    twin = ax.twinx()
    twin.fill_between(epochs, sharpness, color=SHARPNESS_COLOR, alpha=0.15, lw=0)
    twin.plot(epochs, sharpness, color=SHARPNESS_COLOR, lw=1)
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("global sharpness (0 ramp, 1 step)", color=SHARPNESS_COLOR)
    twin.tick_params(axis="y", colors=SHARPNESS_COLOR)
    ax.set_zorder(twin.get_zorder() + 1)  # curves above the shading
    ax.patch.set_visible(False)
    return twin


def _loss_words(history) -> str:
    """The loss in words, from the model a ``History`` remembers (a dict remembers none)."""
    loss = getattr(getattr(history, "model", None), "loss", None)
    name = loss if isinstance(loss, str) else getattr(loss, "name", None)
    words = in_words(name) if isinstance(name, str) and name != "loss" else None
    return f"loss: {words}" if words else in_words("loss")


def history(history, *, fig: Figure | None = None) -> Figure:
    """Loss and accuracy per epoch with the sharpness schedule shaded behind them.

    Plots ``loss``/``val_loss``/``spiking_loss`` on the left and
    ``accuracy``/``val_accuracy``/``spiking_accuracy`` (the fully sharp score from
    :class:`~whetstone_lab.sharpening.SpikingEvaluator`) on the right, when present; the
    logged ``sharpness`` goes on a twin axis of each panel.

    Args:
        history: a keras ``History`` or its ``.history`` dict.
        fig: a Figure to draw into (cleared first).

    Example:
        >>> fig = history(model.fit(..., callbacks=[wl.SimpleSharpener(5, 5)]))
    """
    hist = _history_dict(history)
    groups = [("loss", [k for k in ("loss", "val_loss", "spiking_loss") if hist.get(k)]),
              ("accuracy", [k for k in ("accuracy", "val_accuracy", "spiking_accuracy")
                            if hist.get(k)])]
    groups = [(name, keys) for name, keys in groups if keys]
    if not groups:
        raise ValueError(f"history has no loss or accuracy entries to plot; it has "
                         f"{sorted(hist)}.")
    fig = target_fig(fig, (5.0 * len(groups), 3.4))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    n = max(len(v) for v in hist.values())
    epochs = np.arange(1, n + 1)
    styles = {"val_": dict(ls="--"), "spiking_": dict(ls="-", marker="o", ms=3,
                                                       color=ACCENT)}
    loss_words = _loss_words(history)
    for ax, (name, keys) in zip(axes, groups, strict=True):
        if hist.get("sharpness"):
            _overlay_sharpness(ax, epochs[: len(hist["sharpness"])], hist["sharpness"])
        for k in keys:
            style = next((s for p, s in styles.items() if k.startswith(p)), {})
            label = ("fully sharp (spiking), validation" if k.startswith("spiking_") else
                     "validation" if k.startswith("val_") else "training")
            ax.plot(epochs[: len(hist[k])], hist[k], lw=1.8, label=label,
                    **({"color": "black"} | style))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(loss_words if name == "loss" else in_words(name))
        ax.set_title(f"{name} per epoch")
        ax.grid(alpha=0.3)
        if name == "accuracy":
            ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8, loc="lower right" if name == "accuracy" else "upper right")
    return fig


def _sweep_scores(sweep) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(values, {mode: scores})`` of a :func:`metrics.sharpness_sweep` result, checked."""
    if not isinstance(sweep, Mapping) or "values" not in sweep:
        raise TypeError("sweep must be the dict sharpness_sweep() returns, with 'values' "
                        f"and one entry per mode, got {describe(sweep)}.")
    modes = [m for m in ("bottom_up", "uniform") if m in sweep]
    if not modes:
        raise ValueError(f"sweep has no 'bottom_up' or 'uniform' scores; it has "
                         f"{sorted(sweep)}.")
    values = check_array(sweep["values"], "sweep['values']", ndim=1, min_samples=1)
    scores = {}
    for mode in modes:
        scores[mode] = check_array(sweep[mode], f"sweep[{mode!r}]", ndim=1, min_samples=1,
                                   finite=False)
        if not np.isfinite(scores[mode]).any():  # NaN scores are gaps; all NaN, no curve
            raise ValueError(f"sweep[{mode!r}] holds no finite score to draw.")
        if len(scores[mode]) != len(values):
            raise ValueError(f"sweep[{mode!r}] must hold one score per sharpness value "
                             f"({len(values)}), got {len(scores[mode])}.")
    return values, scores


def score_vs_sharpness(sweep: Mapping, *, ax=None, label: str | None = None) -> Figure:
    """Score against global sharpness, one line per mode, from :func:`metrics.sharpness_sweep`.

    Call it again with the same ``ax`` and another ``label`` to compare models.

    Example:
        >>> fig = score_vs_sharpness(sharpness_sweep(model, x, y), label="sharpened")
    """
    values, scores = _sweep_scores(sweep)
    modes = list(scores)
    fig, ax = target_ax(ax, (5.2, 3.6))
    # One colour per sweep drawn on this axes (both modes share it), from the public lines.
    color = f"C{len({line.get_color() for line in ax.get_lines()}) % 10}"
    for mode, ls in zip(modes, ("-", "--"), strict=False):
        text = mode.replace("_", "-")
        ax.plot(values, scores[mode], ls=ls, marker="o", ms=4, color=color,
                label=f"{label}, {text}" if label else text)
    metric = sweep.get("metric", "score")
    ax.set_xlabel("global sharpness")
    ax.set_ylabel(in_words(metric))
    ax.set_xlim(-0.02, 1.02)
    if metric == "accuracy":
        ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"{metric} as the network is sharpened")
    ax.legend(fontsize=8)
    return fig


class ScoreCurve:
    """A small score-against-sharpness plot with a marker at the current setting.

    The sweep (from :func:`metrics.sharpness_sweep`) is drawn once, one line per mode;
    :meth:`update` moves the marker (a dot at the current sharpness and score, a dotted
    line at the score) and rewrites the title. Every text is at least 9 pt.

    Args:
        sweep: ``{"values": ..., "<mode>": scores, "metric": name}``.
        sharpness: where the marker starts (the x of the dot).
        score: the score there (the y of the dot and of the dotted line).
        samples: how many samples the scores are computed on (said in the title).
        fig: a Figure to draw into (cleared first).

    Example:
        >>> curve = ScoreCurve(sharpness_sweep(model, x, y), 0.0, 0.93, samples=len(x))
        >>> curve.update(0.5, 0.91)
    """

    def __init__(self, sweep: Mapping, sharpness: float, score: float, *,
                 samples: int | None = None, fig: Figure | None = None):
        values, scores = _sweep_scores(sweep)
        self.metric = str(sweep.get("metric", "score"))
        self.samples = samples
        self.figure = target_fig(fig, (3.7, 2.7))
        ax = self.ax = self.figure.add_subplot()
        for (mode, ys), ls in zip(scores.items(), ("-", "--"), strict=False):
            ax.plot(values, ys, ls=ls, color="#34495e", lw=1.5, marker="o", ms=3,
                    label=mode.replace("_", "-"))
        ax.set_xlim(-0.04, 1.04)
        finite = np.concatenate([ys[np.isfinite(ys)] for ys in scores.values()] + [[0.0]])
        bounded = self.metric == "accuracy" or "IoU" in self.metric  # a score of 0 to 1
        if bounded:
            ax.set_ylim(-0.02, 1.02)
        else:
            ax.set_ylim(0.0, max(1e-6, float(finite.max())) * 1.1)
        ax.set_xlabel("global sharpness", fontsize=9)
        ax.set_ylabel(in_words(self.metric), fontsize=9)
        ax.tick_params(labelsize=9)
        ax.grid(alpha=0.3)
        # A score of 0 to 1 runs along the top: its legend goes below, clear of the curve.
        ax.legend(fontsize=9, loc="lower right" if bounded else "best", labelcolor="#111111")
        self.hline = ax.axhline(score, color=ACCENT, lw=1, ls=":")
        (self.marker,) = ax.plot([sharpness], [score], "o", color=ACCENT, ms=8, zorder=5)
        self.update(sharpness, score)

    def update(self, sharpness: float, score: float, *, note: str | None = None) -> None:
        """Move the marker to ``(sharpness, score)``; ``note`` ends the title."""
        sharpness = check_number(sharpness, "sharpness", minimum=0.0, maximum=1.0)
        score = float(score)
        self.marker.set_data([sharpness], [score])
        self.hline.set_ydata([score, score])
        on = f" on {self.samples} samples" if self.samples else ""
        self.ax.set_title(f"{self.metric}{on}: {score:.3f}" + (f" {note}" if note else ""),
                          fontsize=10, color="black")

    def dynamic_artists(self) -> list:
        """The artists :meth:`update` changes (for :class:`BlitRenderer`)."""
        return [self.hline, self.marker, self.ax.title]
