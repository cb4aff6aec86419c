"""Views of one moment: a model's network overview, the activation on its own, and training.

:func:`network_overview` records one sample and draws it; :class:`ActivationExplorer`
moves the activation's sharpness; :class:`LiveTraining` redraws a sample and the curves
after every epoch.
"""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import keras
import numpy as np
from matplotlib.figure import Figure

from .. import plots, spikes
from ..plots.network import TEXT_SIZE
from ..validation import check_bool, check_int, check_model, check_samples, check_sharpness
from .common import (
    DPI,
    OVERVIEW_HEIGHT_SCALE,
    PngFallback,
    decoder_of,
    picture,
    picture_layout,
    sharpness_slider,
    show,
    targets_for,
)

#: Size in inches of LiveTraining's training curves: with the network picture above them,
#: the view fits a laptop's screen (1366 × 768).
LIVE_HISTORY_SIZE = (10.0, 2.9)

__all__ = ["network_overview", "ActivationExplorer", "activation_explorer", "LiveTraining"]


# ----------------------------------------------------------------------------------------
# A static overview of a model
# ----------------------------------------------------------------------------------------
def network_overview(model: keras.Model, x, *, index: int = 0, y=None,
                     class_names: Sequence[str] | None = None,
                     layers: Sequence[str] | None = None, max_channels: int = 8,
                     fig: Figure | None = None) -> Figure:
    """Record sample ``index`` of ``x`` through ``model`` and draw its network overview.

    Runs only that one sample (at the model's current sharpness), then calls the pure plot
    :func:`whetstone_lab.plots.network_overview` with the recording, the model's output and
    its decoder's key and temperature.

    Args:
        model: a model with spiking layers.
        x: inputs ``(n, ...)`` (one sample without its batch axis is accepted too).
        index: which sample to show.
        y: targets for ``x`` (labels, masks or images), shown when given.
        class_names: names of the classes.
        layers: names of the spiking layers to draw (default: all).
        max_channels: channels per convolutional layer.
        fig: a Figure to draw into (cleared first).

    Example:
        >>> wl.widgets.network_overview(model, data.x_test, index=3,
        ...                             class_names=data.class_names)
    """
    check_model(model)
    rec = spikes.recorder(model)  # raises for models without spiking layers
    x = check_samples(x, rec.input_shape)
    y = targets_for(y, x, model)
    i = check_int(index, "index", minimum=-len(x), maximum=len(x) - 1) % len(x)
    names = spikes.select_layers(model, layers)
    recording, output = rec(x[i: i + 1])
    key, temperature = decoder_of(model)
    view = plots.NetworkOverview(x[i: i + 1], recording, output, key=key,
                                 temperature=temperature, class_names=class_names,
                                 y=None if y is None else y[i: i + 1], layers=names,
                                 max_channels=max_channels, fig=fig)
    title = view.input_ax.get_title()  # "input #0 ...": number it as in x
    view.input_ax.set_title(f"input #{i}{title[len('input #0'):]}", fontsize=TEXT_SIZE + 1)
    return view.figure


# ----------------------------------------------------------------------------------------
# The activation on its own
# ----------------------------------------------------------------------------------------
class ActivationExplorer(PngFallback, widgets.VBox):
    """A sharpness slider driving the activation and its gradient.

    Attributes:
        slider: the sharpness slider.
        image: the rendered plot (PNG bytes in ``image.value``).
        view: the :class:`~whetstone_lab.plots.ActivationPlot` behind it.
    """

    def __init__(self, sharpness: float = 0.0, *, step: float = 0.01):
        self.view = plots.ActivationPlot(sharpness)
        self.view.figure.set_dpi(DPI)
        plots.freeze_layout(self.view.figure)
        self.slider = sharpness_slider("sharpness", check_sharpness(sharpness), step)
        self.slider.readout_format = ".3f"
        self.image = picture(self.view.figure)
        super().__init__([self.slider, self.image])
        self.slider.observe(self._on_change, names="value")
        self._render()

    def _on_change(self, change) -> None:
        self.view.update(change["new"])
        self._render()

    def _render(self) -> None:
        self.image.value = plots.to_png(self.view.figure)

    def snapshot(self) -> Figure:
        """The current view as a new Figure."""
        return plots.activation(self.slider.value)


def activation_explorer(sharpness: float = 0.0) -> ActivationExplorer:
    """A slider from bounded ReLU (0) to step (1) with the activation and its gradient.

    Example:
        >>> wl.widgets.activation_explorer(0.5)
    """
    return ActivationExplorer(sharpness)


# ----------------------------------------------------------------------------------------
# Watching training
# ----------------------------------------------------------------------------------------
class _LiveView(PngFallback, widgets.VBox):
    """LiveTraining's view; outside a widget renderer it shows a short text and a picture
    instead of the images' raw bytes."""

    def __init__(self, image: widgets.Image, history_image: widgets.Image):
        super().__init__([image, history_image])
        self.image = image

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None:
            data["text/plain"] = "LiveTraining: the spikes of one input, redrawn every epoch"
        return data


class LiveTraining(keras.callbacks.Callback):
    """Redraw one sample's spikes and the training curves after every epoch.

    Displays itself once when training begins (inside IPython), then updates two images in
    place. Put it last in the callback list so it sees the ``sharpness`` and
    ``spiking_accuracy`` that sharpeners and the spiking evaluator add to the logs.

    Args:
        x_sample: inputs; sample ``index`` is shown (only that sample is run at each redraw).
        index: which sample of ``x_sample`` to show.
        class_names: names of the classes.
        layers: spiking layers to draw (default: all).
        every: redraw every this many epochs.
        display: show the widget when training begins (False: only build it, e.g. in tests).
        y_sample: the labels of ``x_sample`` (optional): the view then names the shown
            sample's true label and says whether the decoded class is right.

    Attributes:
        widget: the ``VBox`` with the spikes image and the history image.
        history: the epoch logs collected so far (``{name: [value per epoch]}``).

    Example:
        >>> model.fit(x, y, epochs=20, callbacks=[wl.SimpleSharpener(5, 3),
        ...           wl.widgets.LiveTraining(data.x_test[:1])])
    """

    def __init__(self, x_sample, *, index: int = 0, class_names: Sequence[str] | None = None,
                 layers: Sequence[str] | None = None, every: int = 1, display: bool = True,
                 y_sample: np.ndarray | Sequence[int] | None = None):
        super().__init__()
        self.y_sample = y_sample
        self.every = check_int(every, "every", minimum=1)
        self.index = check_int(index, "index")
        self.display = check_bool(display, "display")
        self.x_sample = x_sample
        self.class_names = class_names
        self.layers = layers
        self.spikes_image = widgets.Image(format="png")
        self.history_image = widgets.Image(format="png")
        self.widget = _LiveView(self.spikes_image, self.history_image)
        self.history: dict[str, list[float]] = {}
        self.view: plots.NetworkOverview | None = None
        self._history_fig = plots.new_figure(LIVE_HISTORY_SIZE)
        self._history_fig.set_dpi(DPI)
        self.history_image.layout = picture_layout(self._history_fig)

    def on_train_begin(self, logs=None):
        self._rec = spikes.recorder(self.model)
        self.x_sample = check_samples(self.x_sample, self._rec.input_shape, "x_sample")
        n = len(self.x_sample)
        i = check_int(self.index, "index", minimum=-n, maximum=n - 1) % n
        self._shown = self.x_sample[i: i + 1]  # only this sample is recorded each epoch
        recording, output = self._rec(self._shown)
        key, temperature = decoder_of(self.model)
        y = None if self.y_sample is None else np.asarray(
            targets_for(self.y_sample, self.x_sample, self.model))
        self._label = None if y is None or y.ndim != 1 else int(y[i])
        self.view = plots.NetworkOverview(
            self._shown, recording, output, key=key, temperature=temperature,
            class_names=self.class_names,
            layers=spikes.select_layers(self.model, self.layers),
        )
        self.index = i
        self._title()
        self.view.figure.set_dpi(DPI)
        width, height = self.view.figure.get_size_inches()
        self.view.figure.set_size_inches(width, height * OVERVIEW_HEIGHT_SCALE)
        self.spikes_image.layout = picture_layout(self.view.figure)
        self._renderer = plots.BlitRenderer(self.view.figure, self.view.dynamic_artists())
        self.spikes_image.value = self._renderer.png()
        if self.display:
            show(self.widget)

    def _title(self, prefix: str = "") -> None:
        # With y_sample, the input's title names the true label and the output panel says
        # whether the decoded class is right (green) or wrong (red).
        view, label = self.view, self._label
        names = view.class_names or [str(c) for c in range(view.output.shape[-1])]
        known = label is not None and view.kind == "classes"
        title = f"{prefix}input #{self.index}" + (f" (label {names[label]})" if known else "")
        view.input_ax.set_title(title, fontsize=TEXT_SIZE + 1)
        if known:
            winner = int(np.argmax(view.output[0]))
            view.mark(f"{'correct' if winner == label else 'wrong'}, decoded {names[winner]}",
                      winner == label)

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))
        if (epoch + 1) % self.every:
            return
        recording, output = self._rec(self._shown)
        self.view.update(0, spikes=recording, output=output)
        self._title(f"epoch {epoch + 1}, ")
        self.spikes_image.value = self._renderer.png()
        if self.history:
            plots.history(self.history, fig=self._history_fig)
            self.history_image.value = plots.to_png(self._history_fig)
