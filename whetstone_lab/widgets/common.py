"""What the dashboards share: PNG fallback, sliders of one label width, small helpers."""

from __future__ import annotations

import base64

import ipywidgets as widgets
import keras
import numpy as np

from .. import metrics
from ..layers import find_decoder
from ..validation import check_number, check_same_length

__all__ = ["TASKS", "DPI", "LABEL_WIDTH", "PngFallback", "compose_png", "sharpness_slider",
           "grid_steps", "on_grid", "picture", "picture_layout", "OVERVIEW_HEIGHT_SCALE",
           "decoder_of", "targets_for", "show"]

TASKS = ("auto", *metrics.TASKS)
#: Resolution of the dashboards' PNGs: small PNGs render and travel faster, and the
#: figures are sized for it (the overview is 944 px wide, its smallest text 10 px).
DPI = 80
#: Width of every slider's label, so the slider tracks line up.
LABEL_WIDTH = "130px"
#: The dashboards draw the network overview at this fraction of the static figure's height
#: (:func:`whetstone_lab.plots.network_overview`, which lessons store, keeps its size), so
#: that a whole dashboard fits a laptop's screen (1366 × 768).
OVERVIEW_HEIGHT_SCALE = 0.85


class PngFallback:
    """Adds a PNG of the widget's current view to its display data (see the package docs)."""

    image: widgets.Image

    def fallback_png(self) -> bytes:
        """The static picture stored next to the widget view: by default its image."""
        return self.image.value

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        png = self.fallback_png() if data is not None else b""
        if png:
            data["image/png"] = base64.b64encode(png).decode("ascii")
        return data


def compose_png(parts: list[bytes], caption: str, *, gap: int = 12) -> bytes:
    """PNGs side by side, top-aligned, at their own pixel size (never resampled), under a
    one-line caption; for the static fallback of a dashboard made of several images."""
    import io

    import matplotlib.image as mpimg
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    images = [mpimg.imread(io.BytesIO(png), format="png") for png in parts if png]
    caption_h = 34
    width = sum(im.shape[1] for im in images) + gap * max(len(images) - 1, 0)
    height = max((im.shape[0] for im in images), default=0) + caption_h
    fig = Figure(figsize=(max(width, 400) / DPI, height / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    left = 0
    for im in images:  # figimage puts pixels at pixel offsets: no scaling
        fig.figimage(im, xo=left, yo=height - caption_h - im.shape[0], origin="upper")
        left += im.shape[1] + gap
    fig.text(0.01, 1 - (caption_h / 2) / height, caption, ha="left", va="center",
             fontsize=11)
    out = io.BytesIO()
    # The caption also goes into the PNG's text chunk, so a test can read what it says.
    fig.savefig(out, format="png", dpi=DPI, facecolor="white",
                metadata={"Description": caption})
    return out.getvalue()


def sharpness_slider(description: str, value: float, step: float, *,
                     width: str = "470px") -> widgets.FloatSlider:
    """A sharpness slider in [0, 1] that reports while dragging, its label 130 px wide
    (``width`` is the whole slider's, label and readout included).

    Example:
        >>> sharpness_slider("global sharpness", 0.0, 0.05).continuous_update
        True
    """
    step = check_number(step, "step", minimum=0.0, maximum=1.0, min_open=True)
    return widgets.FloatSlider(
        value=value, min=0.0, max=1.0, step=step, description=description,
        continuous_update=True, readout_format=".2f", description_allow_html=False,
        style={"description_width": LABEL_WIDTH}, layout=widgets.Layout(width=width),
    )


def grid_steps(step: float) -> int:
    """How many steps of ``step`` a slider on [0, 1] has (at least one)."""
    return max(1, int(round(1.0 / step)))


def on_grid(value: float, step: float) -> float:
    """``value`` rounded to the grid ``k · step`` of a slider on [0, 1], computed as
    ``k / (1 / step)`` so that it is the very float the slider's front-end computes for
    that position.

    A slider's front-end snaps every value the kernel sends to its step and sends the
    snapped value back when it differs (even by a rounding error, 0.7999999999999998
    against 0.8); that echo may reach the kernel after the kernel has moved the slider on,
    and would then pull it back. Values on the grid come back as they went, or not at all.

    Example:
        >>> on_grid(0.95 * 4 - 3, 0.05), on_grid(0.9625, 0.05)
        (0.8, 0.95)
    """
    steps = grid_steps(step)
    return int(round(float(value) * steps)) / steps


def picture_layout(fig) -> widgets.Layout:
    """The layout of an ``Image`` showing ``fig``'s PNGs: at the figure's own pixel width,
    never stretched by the box around it (blurry), never wider than the column (it then
    shrinks, its height with it), its aspect ratio kept.

    Example:
        >>> picture_layout(plots.new_figure((3.7, 2.4))).height
        'auto'
    """
    width = int(round(fig.bbox.width))  # pixels at the figure's dpi: the PNG's width
    # The widgets' margin (2 px a side) comes on top of max-width: keep it inside too.
    return widgets.Layout(width=f"{width}px", max_width="calc(100% - 4px)", height="auto",
                          object_fit="contain", align_self="flex-start", flex="0 1 auto")


def picture(fig) -> widgets.Image:
    """An empty PNG ``Image`` for ``fig``'s frames, laid out by :func:`picture_layout`."""
    return widgets.Image(format="png", layout=picture_layout(fig))


def decoder_of(model: keras.Model) -> tuple[np.ndarray | None, float]:
    """``(key, temperature)`` of the model's SoftmaxDecode, or ``(None, 1.0)``."""
    layer = find_decoder(model)
    return (None, 1.0) if layer is None else (layer.key, layer.temperature)


def targets_for(y, x: np.ndarray, model: keras.Model, task: str | None = None
                ) -> np.ndarray | None:
    """``y`` as the targets of ``x`` (None stays None): checked against the model's task and
    classes (:func:`whetstone_lab.metrics.check_targets`) when the task is known or can be
    told, else only for one target per sample."""
    if y is None:
        return None
    if task is None:
        try:
            task = metrics.detect_task(model, x)
        except ValueError:  # a model of no lesson task: nothing to check the targets against
            y = np.asarray(y)
            check_same_length(x, y, ("x", "y"))
            return y
    return metrics.check_targets(model, task, x, y)


def show(widget) -> None:
    """Display ``widget`` when running inside IPython; do nothing elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    if get_ipython() is not None:
        display(widget)
