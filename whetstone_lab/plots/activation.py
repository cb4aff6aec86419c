"""The sharpenable activation: its shape and gradient at one sharpness, or a family of them."""

from __future__ import annotations

from collections.abc import Sequence

import keras
import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..layers import LAMBDA, SHARP_TOLERANCE, SpikingBReLU
from ..validation import check_bool, check_sharpness, describe
from .figure import ACCENT, new_figure, target_ax

__all__ = ["ActivationPlot", "activation", "activation_family", "ramp_gradient"]


def ramp_gradient(x, sharpness: float) -> np.ndarray:
    """The derivative of the bounded ReLU at ``sharpness``, in closed form (docs/design.md).

    ``1 / (1 − s + λ)`` inside the band (where the unclipped ramp is in [0, 1], knees
    included, as automatic differentiation of ``clip`` gives it) and 0 outside; fully sharp
    (``s ≥ 1 − 1e-6``) the step has no gradient, 0 everywhere.
    """
    s = check_sharpness(sharpness)
    x = np.asarray(x, dtype=np.float32)
    if s >= 1.0 - SHARP_TOLERANCE:
        return np.zeros_like(x)
    band = np.float32(1.0 - s + LAMBDA)
    ramp = (x - np.float32(0.5)) / band + np.float32(0.5)
    inside = (ramp >= 0.0) & (ramp <= 1.0)
    return np.where(inside, np.float32(1.0) / band, np.float32(0.0)).astype(np.float32)


class ActivationPlot:
    """The sharpenable bounded ReLU and its gradient at one sharpness, updatable in place.

    Values come from a real :class:`~whetstone_lab.layers.SpikingBReLU` layer, the gradient
    from its closed form (:func:`ramp_gradient`), so the plot runs on every Keras backend.

    Args:
        sharpness: sharpness in [0, 1].
        gradient: add a second panel with the gradient.
        ax: draw the activation into this Axes (needs ``gradient=False``: the gradient
            needs a panel of its own).

    Example:
        >>> view = ActivationPlot(0.0)
        >>> view.update(0.9)
        >>> view.figure
    """

    def __init__(self, sharpness: float = 0.0, *, gradient: bool = True, ax=None):
        gradient = check_bool(gradient, "gradient")
        self._layer = SpikingBReLU(name="activation_plot")
        if ax is None:
            self.figure = new_figure((8.0 if gradient else 4.2, 3.2))
            axes = self.figure.subplots(1, 2 if gradient else 1, squeeze=False)[0]
        else:
            if gradient:
                raise ValueError("gradient must be False when drawing into a given ax, got "
                                 "True: pass gradient=False (the gradient needs a panel of "
                                 "its own).")
            self.figure, axes = target_ax(ax, None)[0], [ax]
        self.ax = axes[0]
        self.grad_ax = axes[1] if gradient else None
        x, y, g = self.curves(sharpness)
        for a in axes:
            a.axvline(0.5, color=ACCENT, lw=0.8, ls=":")
            a.set_xlabel("pre-activation  x = W·a + b")
            a.grid(alpha=0.3)
        self.ax.axhline(0.5, color=ACCENT, lw=0.8, ls=":")
        (self.line,) = self.ax.plot(x, y, lw=2, color="black")
        self.ax.set_ylim(-0.05, 1.05)
        self.ax.set_ylabel("output (spike)")
        self.ax.text(0.52, 0.03, "threshold 0.5", color=ACCENT, fontsize=8)
        if self.grad_ax is not None:
            (self.grad_line,) = self.grad_ax.plot(x, g, lw=2, color="#2c7fb8")
            self.grad_ax.set_ylabel("gradient  d output / dx")
        self.update(sharpness)

    def curves(self, sharpness: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(x, activation(x), gradient(x))`` of the layer at ``sharpness``."""
        s = check_sharpness(sharpness)
        band = 1.0 - s + 1e-3
        knees = [0.5 - band / 2, 0.5 + band / 2]
        # The knees and both sides of the threshold are sampled exactly, so a narrow ramp
        # is drawn with its true shape.
        x = np.unique(np.concatenate([np.linspace(-0.5, 1.5, 801), knees,
                                      [np.nextafter(0.5, -1.0), 0.5]])).astype(np.float32)
        self._layer.set_sharpness(s)
        y = keras.ops.convert_to_numpy(self._layer(x))
        return x, y, ramp_gradient(x, s)

    def update(self, sharpness: float) -> None:
        """Redraw the curves for ``sharpness`` (same artists, new data)."""
        s = check_sharpness(sharpness)
        x, y, g = self.curves(s)
        self.line.set_data(x, y)
        sharp = s >= 1.0 - SHARP_TOLERANCE
        shape = "step" if sharp else f"ramp {1.0 - s + 1e-3:.3g} wide"
        self.ax.set_title(f"activation, sharpness {s:.3f}: {shape}")
        if self.grad_ax is not None:
            self.grad_line.set_data(x, g)
            top = float(np.max(g)) if np.max(g) > 0 else 1.0
            self.grad_ax.set_ylim(-0.05 * top, 1.1 * top)
            self.grad_ax.set_title("no gradient (fully sharp)" if sharp
                                   else f"gradient: {np.max(g):.3g} inside the ramp, 0 outside")


def activation(sharpness: float = 0.0, *, gradient: bool = True, ax=None) -> Figure:
    """The Whetstone activation (and its gradient) at one sharpness.

    Args:
        sharpness: sharpness in [0, 1]; 1 is the step.
        gradient: add a panel with the gradient (needs ``ax=None``).
        ax: an Axes to draw the activation into.

    Example:
        >>> fig = activation(0.8)
    """
    return ActivationPlot(sharpness, gradient=gradient, ax=ax).figure


def activation_family(values: Sequence[float] = (0.0, 0.5, 0.8, 0.95, 1.0), *,
                      ax=None) -> Figure:
    """The activation at several sharpness values on one axes, from ramp to step.

    Example:
        >>> fig = activation_family((0.0, 0.9, 1.0))
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"values must be a sequence of sharpness values in [0, 1], got "
                        f"{describe(values)}.")
    values = [check_sharpness(v, f"values[{i}]") for i, v in enumerate(values)]
    if not values:
        raise ValueError("values must hold at least one sharpness in [0, 1], got an empty "
                         "sequence.")
    fig, ax = target_ax(ax, (5.2, 3.6))
    view = ActivationPlot(values[0], gradient=False, ax=ax)
    view.line.remove()
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.8, len(values)))
    for v, color in zip(values, colors, strict=True):
        x, y, _ = view.curves(v)
        sharp = v >= 1.0 - SHARP_TOLERANCE  # the step itself stands out in black
        ax.plot(x, y, lw=2.5 if sharp else 2, color="black" if sharp else color,
                label=f"s = {v:g}" + (" (step)" if sharp else ""))
    ax.set_title("sharpening: bounded ReLU → step")
    ax.legend(title="sharpness", loc="upper left", fontsize=8, title_fontsize=8)
    return fig
