"""What the dashboards share: PNG fallback, sliders of one label width, small helpers."""

from __future__ import annotations

import base64

import ipywidgets as widgets
import keras
import numpy as np

from .. import metrics
from ..layers import find_decoder
from ..validation import check_number, check_same_length

__all__ = ["TASKS", "DPI", "LABEL_WIDTH", "PngFallback", "sharpness_slider", "decoder_of",
           "targets_for", "show"]

TASKS = ("auto", *metrics.TASKS)
#: Resolution of the dashboards' PNGs: small PNGs render and travel faster, and the
#: figures are sized for it (the overview is 944 px wide, its smallest text 10 px).
DPI = 80
#: Width of every slider's label, so the slider tracks line up.
LABEL_WIDTH = "130px"


class PngFallback:
    """Adds a PNG of the widget's current image to its display data (see the package docs)."""

    image: widgets.Image

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None and self.image.value:
            data["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return data


def sharpness_slider(description: str, value: float, step: float) -> widgets.FloatSlider:
    """A sharpness slider in [0, 1] that reports while dragging, its label 130 px wide.

    Example:
        >>> sharpness_slider("global sharpness", 0.0, 0.05).continuous_update
        True
    """
    step = check_number(step, "step", minimum=0.0, maximum=1.0, min_open=True)
    return widgets.FloatSlider(
        value=value, min=0.0, max=1.0, step=step, description=description,
        continuous_update=True, readout_format=".2f", description_allow_html=False,
        style={"description_width": LABEL_WIDTH}, layout=widgets.Layout(width="470px"),
    )


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
