"""Interactive dashboards for JupyterLab 4 / ipywidgets 8: thin wiring over plots and spikes.

The plots (:mod:`whetstone_lab.plots`) only draw data; this module runs the models: it
records their spikes (:mod:`whetstone_lab.spikes`), scores them (:mod:`whetstone_lab.metrics`)
and hands the recordings to the plots. :func:`network_overview` does the same once, for a
static picture of a model.

Every dashboard keeps one matplotlib Figure per view. A control change updates the
artists' data in place, renders the Figure with Agg and puts the PNG bytes into an
``ipywidgets.Image``: that works in any front-end and is testable without a kernel.
Sharpness changes only assign the layers' sharpness variables, and the model is run through
the cached compiled function of :func:`whetstone_lab.spikes.recorder`, so nothing is
re-traced while a slider moves. Sliders report on release (``continuous_update=False``), so
dragging never queues a backlog of forward passes.

Static fallback: a stored notebook opened where widgets cannot run (GitHub, nbviewer, a
notebook without its kernel) still needs a picture. Each dashboard therefore adds an
``image/png`` of its current view to its display data, next to the widget view; JupyterLab
shows the live widget, renderers without widget support show the PNG. That PNG is the view
at the moment the cell displayed the widget; to keep a later state in the stored notebook,
end a cell with ``explorer.snapshot()``, which returns the current view as an independent
Figure.

Example:
    >>> explorer = wl.widgets.sharpness_explorer(model, data.x_test[:256],
    ...                                          data.y_test[:256], class_names=data.class_names)
    >>> explorer                 # live in JupyterLab, a PNG on GitHub
    >>> explorer.slider.value = 1.0
    >>> explorer.snapshot()      # a static picture of the fully sharp network
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import ipywidgets as widgets
import keras
import numpy as np
from matplotlib.figure import Figure

from . import metrics, plots, spikes
from .layers import find_decoder
from .sharpening import MODES, get_sharpness, global_sharpness, set_sharpness
from .validation import (
    check_bool,
    check_int,
    check_model,
    check_number,
    check_same_length,
    check_samples,
    check_sharpness,
)

__all__ = [
    "network_overview",
    "ActivationExplorer",
    "activation_explorer",
    "SharpnessExplorer",
    "sharpness_explorer",
    "LiveTraining",
    "TASKS",
]

TASKS = ("auto", *metrics.TASKS)
_DPI = 80  # small PNGs render and travel faster; the figures are sized for it


class _PngFallback:
    """Adds a PNG of the widget's current image to its display data (see module docs)."""

    image: widgets.Image

    def _repr_mimebundle_(self, **kwargs):
        data = super()._repr_mimebundle_(**kwargs)
        if data is not None and self.image.value:
            data["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return data


def _slider(description: str, value: float, step: float) -> widgets.FloatSlider:
    step = check_number(step, "step", minimum=0.0, maximum=1.0, min_open=True)
    return widgets.FloatSlider(
        value=value, min=0.0, max=1.0, step=step, description=description,
        continuous_update=False, readout_format=".3f",
        style={"description_width": "initial"}, layout=widgets.Layout(width="420px"),
    )


def _decoder(model: keras.Model) -> tuple[np.ndarray | None, float]:
    """``(key, temperature)`` of the model's SoftmaxDecode, or ``(None, 1.0)``."""
    layer = find_decoder(model)
    return (None, 1.0) if layer is None else (layer.key, layer.temperature)


def _targets(y, x: np.ndarray) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(y)
    check_same_length(x, y, ("x", "y"))
    return y


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
    y = _targets(y, x)
    i = check_int(index, "index", minimum=-len(x), maximum=len(x) - 1) % len(x)
    names = spikes.select_layers(model, layers)
    recording, output = rec(x[i: i + 1])
    key, temperature = _decoder(model)
    view = plots.NetworkOverview(x[i: i + 1], recording, output, key=key,
                                 temperature=temperature, class_names=class_names,
                                 y=None if y is None else y[i: i + 1], layers=names,
                                 max_channels=max_channels, fig=fig)
    title = view.input_ax.get_title()  # "input #0 ...": number it as in x
    view.input_ax.set_title(f"input #{i}{title[len('input #0'):]}")
    return view.figure


# ----------------------------------------------------------------------------------------
# The activation on its own
# ----------------------------------------------------------------------------------------
class ActivationExplorer(_PngFallback, widgets.VBox):
    """A sharpness slider driving the activation and its gradient.

    Attributes:
        slider: the sharpness slider.
        image: the rendered plot (PNG bytes in ``image.value``).
        view: the :class:`~whetstone_lab.plots.ActivationPlot` behind it.
    """

    def __init__(self, sharpness: float = 0.0, *, step: float = 0.01):
        self.view = plots.ActivationPlot(sharpness)
        self.view.figure.set_dpi(_DPI)
        plots.freeze_layout(self.view.figure)
        self.slider = _slider("sharpness", check_sharpness(sharpness), step)
        self.image = widgets.Image(format="png")
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
# A model's spikes and score against sharpness
# ----------------------------------------------------------------------------------------
class SharpnessExplorer(_PngFallback, widgets.VBox):
    """Move the sharpness of a model and watch its spikes and its score change.

    Shows :class:`~whetstone_lab.plots.NetworkOverview` for the chosen sample (input, every
    spiking layer, the output: class code and probabilities, a reconstruction, or a mask)
    and the score on all of ``x`` at the current sharpness.

    Attributes:
        slider: global sharpness (bottom-up or uniform, see ``mode``).
        mode: toggle between ``"bottom_up"`` and ``"uniform"``.
        sample: which sample of ``x`` to show.
        layer_sliders: ``{layer name: slider}`` when ``per_layer=True``, else empty.
        score: text with the current score.
        image: the rendered overview (PNG bytes in ``image.value``).
        view: the :class:`~whetstone_lab.plots.NetworkOverview` behind it.

    The model's sharpness when the explorer was made is kept: :meth:`restore` puts it back,
    and :meth:`close` restores before closing.
    """

    def __init__(self, model: keras.Model, x, y=None, *, task: str = "auto",
                 per_layer: bool = False, class_names: Sequence[str] | None = None,
                 layers: Sequence[str] | None = None, step: float = 0.05):
        self.model = check_model(model)
        self._rec = spikes.recorder(model)  # raises for models without spiking layers
        self.x = check_samples(x, self._rec.input_shape)
        self.y = _targets(y, self.x)
        per_layer = check_bool(per_layer, "per_layer")
        self.task = metrics.detect_task(model, self.x, task)
        self._key, self._temperature = _decoder(model)
        names = spikes.select_layers(model, layers)
        self._original = get_sharpness(model)
        self._busy = False

        self.slider = _slider("global sharpness", global_sharpness(model), step)
        self.mode = widgets.ToggleButtons(
            options=[("bottom-up", "bottom_up"), ("uniform", "uniform")], value=MODES[0],
            description="mode", style={"button_width": "90px"},
        )
        self.sample = widgets.IntSlider(value=0, min=0, max=len(self.x) - 1,
                                        description="sample", continuous_update=False)
        self.layer_sliders = {}
        if per_layer:
            for name, s in zip(self._rec.layer_names, self._original, strict=True):
                self.layer_sliders[name] = _slider(name, s, step)
        self.score = widgets.HTML()
        self.image = widgets.Image(format="png")

        self._run()
        self.view = plots.NetworkOverview(
            self.x, self._record, self._output, key=self._key, temperature=self._temperature,
            class_names=class_names, y=self.y, layers=names,
        )
        self.view.figure.set_dpi(_DPI)
        self._renderer = plots.BlitRenderer(self.view.figure, self.view.dynamic_artists())
        controls = [widgets.HBox([self.slider, self.mode]), self.sample,
                    *self.layer_sliders.values(), self.score]
        super().__init__([*controls, self.image])
        self.slider.observe(self._on_global, names="value")
        self.mode.observe(self._on_global, names="value")
        self.sample.observe(lambda _: self._refresh(run=False), names="value")
        for name, sl in self.layer_sliders.items():
            sl.observe(lambda change, n=name: self._on_layer(n, change), names="value")
        self._refresh(run=False)

    # -- model side ------------------------------------------------------------------
    def _run(self) -> None:
        self._record, self._output = self._rec(self.x)
        self.score.value = self._score_text()

    def current_score(self) -> tuple[str, float] | None:
        """``(metric, value)`` on all of ``x`` at the current sharpness, or None."""
        target = self.y
        if self.task == "autoencoder" and target is None:
            target = self.x
        if target is None:
            return None
        return (metrics.metric_name(self.task),
                metrics.score(self.task, target, self._output))

    def _score_text(self) -> str:
        layers = ", ".join(f"{s:.2f}" for s in get_sharpness(self.model))
        score = self.current_score()
        text = f"layer sharpness [{layers}]"
        if score is not None:
            text = f"<b>{score[0]} {score[1]:.3f}</b> on {len(self.x)} samples &nbsp; {text}"
        return text

    # -- events ----------------------------------------------------------------------
    def _on_global(self, _change=None) -> None:
        if self._busy:
            return
        values = set_sharpness(self.model, float(self.slider.value), mode=self.mode.value)
        self._sync(layer_values=values)
        self._refresh(run=True)

    def _on_layer(self, name: str, change) -> None:
        if self._busy:
            return
        i = self._rec.layer_names.index(name)
        values = get_sharpness(self.model)
        values[i] = float(change["new"])
        set_sharpness(self.model, values)
        self._sync(global_value=global_sharpness(self.model))
        self._refresh(run=True)

    def _sync(self, *, layer_values=None, global_value=None) -> None:
        """Move the other sliders to match without triggering their handlers."""
        self._busy = True
        try:
            if layer_values is not None:
                for sl, v in zip(self.layer_sliders.values(), layer_values, strict=False):
                    sl.value = v
            if global_value is not None:
                self.slider.value = global_value
        finally:
            self._busy = False

    def _refresh(self, *, run: bool) -> None:
        if run:
            self._run()
        self.view.update(self.sample.value, spikes=self._record, output=self._output)
        self.image.value = self._renderer.png()

    # -- public ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the model (e.g. after more training) and redraw; the sliders follow it."""
        values = get_sharpness(self.model)
        self._sync(layer_values=values, global_value=global_sharpness(self.model))
        self._refresh(run=True)

    def restore(self) -> None:
        """Put back the sharpness the model had when the explorer was made."""
        set_sharpness(self.model, self._original)
        self._sync(layer_values=self._original, global_value=global_sharpness(self.model))
        if self.image.value:
            self._refresh(run=True)

    def close(self) -> None:
        """Restore the model's original sharpness, then close the widget."""
        self.restore()
        super().close()

    def __del__(self):
        # Garbage collection closes widgets too; it must not reset a model the user has
        # moved on with, so only an explicit close() restores.
        widgets.VBox.close(self)

    def snapshot(self) -> Figure:
        """The current view as a new, independent Figure (for static pages and files)."""
        fig = plots.network_overview(self.x, self._record, self._output, key=self._key,
                                     temperature=self._temperature, index=self.sample.value,
                                     class_names=self.view.class_names, y=self.y,
                                     layers=self.view.layer_names)
        score = self.current_score()
        if score is not None:
            fig.suptitle(f"global sharpness {global_sharpness(self.model):.2f} "
                         f"({self.mode.value.replace('_', '-')}): {score[0]} {score[1]:.3f}")
        return fig


def sharpness_explorer(model: keras.Model, x, y=None, *, task: str = "auto",
                       per_layer: bool = False,
                       class_names: Sequence[str] | None = None,
                       layers: Sequence[str] | None = None) -> SharpnessExplorer:
    """A dashboard: sharpness slider, bottom-up/uniform toggle, sample picker, spikes, score.

    Args:
        model: a model with spiking layers.
        x: inputs; the score is computed on all of them at each change (256 keep it snappy).
        y: labels (classification), masks (segmentation) or targets (autoencoder; default x).
        task: ``"auto"`` (from the model's output), ``"classification"``, ``"autoencoder"``
            or ``"segmentation"``.
        per_layer: add one slider per spiking layer.
        class_names: names of the classes.
        layers: spiking layers to draw (default: all; every layer is still sharpened).

    Example:
        >>> explorer = wl.widgets.sharpness_explorer(model, data.x_test[:256],
        ...                                          data.y_test[:256])
        >>> explorer            # live in JupyterLab, a PNG elsewhere
        >>> explorer.restore()  # the trained sharpness again
    """
    return SharpnessExplorer(model, x, y, task=task, per_layer=per_layer,
                             class_names=class_names, layers=layers)


# ----------------------------------------------------------------------------------------
# Watching training
# ----------------------------------------------------------------------------------------
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

    Attributes:
        widget: the ``VBox`` with the spikes image and the history image.
        history: the epoch logs collected so far (``{name: [value per epoch]}``).

    Example:
        >>> model.fit(x, y, epochs=20, callbacks=[wl.SimpleSharpener(5, 3),
        ...           wl.widgets.LiveTraining(data.x_test[:1])])
    """

    def __init__(self, x_sample, *, index: int = 0, class_names: Sequence[str] | None = None,
                 layers: Sequence[str] | None = None, every: int = 1, display: bool = True):
        super().__init__()
        self.every = check_int(every, "every", minimum=1)
        self.index = check_int(index, "index")
        self.display = check_bool(display, "display")
        self.x_sample = x_sample
        self.class_names = class_names
        self.layers = layers
        self.spikes_image = widgets.Image(format="png")
        self.history_image = widgets.Image(format="png")
        self.widget = widgets.VBox([self.spikes_image, self.history_image])
        self.history: dict[str, list[float]] = {}
        self.view: plots.NetworkOverview | None = None
        self._history_fig = plots.new_figure((10.0, 3.4))
        self._history_fig.set_dpi(_DPI)

    def on_train_begin(self, logs=None):
        self._rec = spikes.recorder(self.model)
        self.x_sample = check_samples(self.x_sample, self._rec.input_shape, "x_sample")
        n = len(self.x_sample)
        i = check_int(self.index, "index", minimum=-n, maximum=n - 1) % n
        self._shown = self.x_sample[i: i + 1]  # only this sample is recorded each epoch
        recording, output = self._rec(self._shown)
        key, temperature = _decoder(self.model)
        self.view = plots.NetworkOverview(
            self._shown, recording, output, key=key, temperature=temperature,
            class_names=self.class_names,
            layers=spikes.select_layers(self.model, self.layers),
        )
        self.index = i
        self.view.input_ax.set_title(f"input #{i}")
        self.view.figure.set_dpi(_DPI)
        self._renderer = plots.BlitRenderer(self.view.figure, self.view.dynamic_artists())
        self.spikes_image.value = self._renderer.png()
        if self.display:
            _show(self.widget)

    def on_epoch_end(self, epoch, logs=None):
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(float(v))
        if (epoch + 1) % self.every:
            return
        recording, output = self._rec(self._shown)
        self.view.update(0, spikes=recording, output=output)
        self.view.input_ax.set_title(f"epoch {epoch + 1}, input #{self.index}")
        self.spikes_image.value = self._renderer.png()
        if self.history:
            plots.history(self.history, fig=self._history_fig)
            self.history_image.value = plots.to_png(self._history_fig)


def _show(widget) -> None:
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    if get_ipython() is not None:
        display(widget)
