"""The sharpness dashboard: move a model's sharpness, watch its spikes and its score change."""

from __future__ import annotations

from collections.abc import Sequence

import ipywidgets as widgets
import keras
import numpy as np
from matplotlib.figure import Figure

from .. import metrics, plots, spikes
from ..plots.network import TEXT_SIZE
from ..sharpening import MODES, get_sharpness, global_sharpness, set_sharpness
from ..validation import check_bool, check_int, check_model, check_samples
from .common import (
    DPI,
    LABEL_WIDTH,
    PngFallback,
    compose_png,
    decoder_of,
    sharpness_slider,
    targets_for,
)

__all__ = ["SharpnessExplorer", "sharpness_explorer"]

#: Milliseconds between two frames of the Play sweep.
PLAY_INTERVAL_MS = 250
#: A segmentation sample is judged against this IoU, a stated bar (not the mean, which a
#: poor mask can beat when the others are poorer still).
IOU_BAR = 0.5
#: Global sharpness values of the score curve.
CURVE_VALUES = np.linspace(0.0, 1.0, 11)
_BUTTON = widgets.Layout(width="auto")


class SharpnessExplorer(PngFallback, widgets.VBox):
    """Move the sharpness of a model and watch its spikes and its score change.

    Above the picture: the sharpness slider (live while dragging), the bottom-up/uniform
    toggle, a Play control that sweeps the sharpness 0 → 1 → 0, the sample picker with
    prev / next / "next mistake" buttons and the shown sample's verdict (correct or wrong
    with the decoded class, its MSE against the mean, or its IoU against the bar
    :data:`IOU_BAR`), and beside them the score on all of ``x``
    against sharpness (computed once for both modes) with a marker at the current setting.
    Below: :class:`~whetstone_lab.plots.NetworkOverview` of the sample (input, every
    spiking layer, the output).

    Attributes:
        slider: global sharpness (bottom-up or uniform, see ``mode``); with
            ``per_layer=True`` it sets every layer at once and reads their mean.
        mode: toggle between ``"bottom_up"`` and ``"uniform"``.
        play: the Play control (its value counts frames; the slider follows it).
        sample: which sample of ``x`` is shown (a number box).
        prev_button, next_button, mistake_button: step through the samples; the last one
            jumps to the next misclassified sample (classification), the next one scoring
            worse than the mean (autoencoder) or under :data:`IOU_BAR` (segmentation).
        verdict: text on the sample shown.
        layer_sliders: ``{layer name: slider}`` when ``per_layer=True``, else empty.
        score: text with the current score and each layer's sharpness by name.
        image: the rendered overview (PNG bytes in ``image.value``).
        curve_image: the score-against-sharpness plot (PNG bytes), None without targets.
        view: the :class:`~whetstone_lab.plots.NetworkOverview` behind ``image``.
        curve: the :class:`~whetstone_lab.plots.ScoreCurve` behind ``curve_image``.

    The model's sharpness when the explorer was made is kept: :meth:`restore` puts it back,
    and :meth:`close` restores before closing.
    """

    def __init__(self, model: keras.Model, x, y=None, *, task: str = "auto",
                 per_layer: bool = False, class_names: Sequence[str] | None = None,
                 layers: Sequence[str] | None = None, step: float = 0.05):
        self.model = check_model(model)
        self._rec = spikes.recorder(model)  # raises for models without spiking layers
        self.x = check_samples(x, self._rec.input_shape)
        self.per_layer = check_bool(per_layer, "per_layer")
        self.task = metrics.detect_task(model, self.x, task)
        self.y = targets_for(y, self.x, model, self.task)
        self._key, self._temperature = decoder_of(model)
        names = spikes.select_layers(model, layers)
        self._original = get_sharpness(model)
        self._busy = False
        self._from_play = False  # True while Play, not the learner, moves the slider
        self._drawn = None

        label = "all layers" if self.per_layer else "global sharpness"
        self.slider = sharpness_slider(label, global_sharpness(model), step)
        self.mode = widgets.ToggleButtons(
            options=[("bottom-up", "bottom_up"), ("uniform", "uniform")], value=MODES[0],
            tooltips=["layers become steps one after another, from the input up",
                      "every layer at the same sharpness"],
            style={"button_width": "90px"}, layout=widgets.Layout(margin=f"0 0 0 {LABEL_WIDTH}"),
        )
        steps = max(1, int(round(1.0 / self.slider.step)))
        self.play = widgets.Play(value=0, min=0, max=2 * steps, step=1, repeat=True,
                                 interval=PLAY_INTERVAL_MS, show_repeat=False,
                                 description="sweep 0 → 1 → 0",
                                 tooltip="sweep the sharpness 0 → 1 → 0")
        self._play_steps = steps
        self.sample = widgets.BoundedIntText(
            value=0, min=0, max=len(self.x) - 1, description="sample",
            style={"description_width": LABEL_WIDTH}, layout=widgets.Layout(width="230px"))
        self.prev_button = widgets.Button(description="◀ prev", layout=_BUTTON)
        self.next_button = widgets.Button(description="next ▶", layout=_BUTTON)
        self.mistake_button = widgets.Button(
            description={"classification": "next mistake",
                         "segmentation": f"next IoU < {IOU_BAR}"}.get(
                self.task, "next worse than mean"), layout=_BUTTON)
        self.verdict = widgets.HTML()
        self.layer_sliders = {}
        if self.per_layer:
            for name, s in zip(self._rec.layer_names, self._original, strict=True):
                self.layer_sliders[name] = sharpness_slider(name, s, step)
        self.score = widgets.HTML()
        self.image = widgets.Image(format="png")
        self.curve_image = None
        self.curve = None

        self._run()
        self.view = plots.NetworkOverview(
            self.x, self._record, self._output, key=self._key, temperature=self._temperature,
            class_names=class_names, y=self.y, layers=names,
        )
        self.view.figure.set_dpi(DPI)
        self._renderer = plots.BlitRenderer(self.view.figure, self.view.dynamic_artists())
        self._build_curve()
        controls = widgets.VBox([
            widgets.HBox([self.slider, self.play]), self.mode, *self.layer_sliders.values(),
            widgets.HBox([self.sample, self.prev_button, self.next_button,
                          self.mistake_button]),
            self.verdict, self.score,
        ])
        top = [controls] + ([self.curve_image] if self.curve_image is not None else [])
        super().__init__([widgets.HBox(top), self.image])
        self.slider.observe(self._on_global, names="value")
        self.mode.observe(self._on_global, names="value")
        self.play.observe(self._on_play, names="value")
        self.play.observe(self._on_playing, names="playing")
        self.sample.observe(lambda _: self._refresh(run=False), names="value")
        self.prev_button.on_click(lambda _: self._step(-1))
        self.next_button.on_click(lambda _: self._step(1))
        self.mistake_button.on_click(lambda _: self.next_mistake())
        for name, sl in self.layer_sliders.items():
            sl.observe(lambda change, n=name: self._on_layer(n, change), names="value")
        self._refresh(run=False)

    # -- model side ------------------------------------------------------------------
    def _target(self):
        if self.task == "autoencoder" and self.y is None:
            return self.x
        return self.y

    def _run(self) -> None:
        self._record, self._output = self._rec(self.x)
        target = self._target()
        self._score = None if target is None else (
            metrics.metric_name(self.task), metrics.score(self.task, target, self._output))
        self.score.value = self._score_text()

    def current_score(self) -> tuple[str, float] | None:
        """``(metric, value)`` on all of ``x`` at the current sharpness, or None."""
        return self._score

    def layer_text(self) -> str:
        """Each spiking layer's sharpness by name, e.g. ``"spikes_0 1.00 · spikes_1 0.50"``."""
        return " · ".join(f"{n} {s:.2f}" for n, s in
                          zip(self._rec.layer_names, get_sharpness(self.model), strict=True))

    def _score_text(self) -> str:
        text = f"layer sharpness: {self.layer_text()}"
        score = self.current_score()
        if score is not None:
            text = f"<b>{score[0]} {score[1]:.3f}</b> on all {len(self.x)} samples<br>{text}"
        return text

    def _build_curve(self) -> None:
        target = self._target()
        if target is None:
            return
        metric = metrics.metric_name(self.task)
        sweep = metrics.sharpness_sweep(
            self.model, self.x, target, values=CURVE_VALUES,
            score=lambda t, p: metrics.score(self.task, t, p))
        sweep["metric"] = metric
        self.curve = plots.ScoreCurve(sweep, global_sharpness(self.model),
                                      self.current_score()[1], samples=len(self.x))
        if self.per_layer:  # the layers need not follow a schedule: x is their mean
            self.curve.ax.set_xlabel("mean sharpness of the layers", fontsize=9)
        self.curve.figure.set_dpi(DPI)
        self._curve_renderer = plots.BlitRenderer(self.curve.figure,
                                                  self.curve.dynamic_artists())
        self.curve_image = widgets.Image(format="png")

    # -- the sample shown ------------------------------------------------------------
    def sample_verdict(self, index: int | None = None) -> tuple[str, bool | None]:
        """``(text, good)`` on sample ``index`` (default: the one shown) at this sharpness.

        Classification: correct or wrong with the decoded class (ties said); autoencoder:
        its MSE against the mean; segmentation: its IoU against :data:`IOU_BAR`. ``good`` is None
        without targets.
        """
        i = self.sample.value if index is None else check_int(
            index, "index", minimum=0, maximum=len(self.x) - 1)
        target = self._target()
        out = self._output[i]
        if self.task == "classification":
            names = self.view.class_names or [str(c) for c in range(out.shape[-1])]
            winner = int(np.argmax(out))
            tie = int(np.sum(np.isclose(out, out[winner], rtol=0, atol=1e-6))) > 1
            decoded = f"decoded {names[winner]}" + (" (from a tie)" if tie else "")
            if target is None:
                return decoded, None
            label = int(target[i])
            good = label == winner
            return (f"{'correct' if good else 'wrong'}: {decoded}, label {names[label]}",
                    good)
        if target is None:
            return "no targets given", None
        mine, mean = self._sample_score(i), self.current_score()[1]
        name = metrics.metric_name(self.task)
        if self.task == "segmentation":
            good = mine >= IOU_BAR
            return (f"{name} {mine:.3f} ({'≥' if good else '<'} {IOU_BAR} bar; "
                    f"mean {mean:.3f})", good)
        good = mine <= mean
        return f"{name} {mine:.3f} (mean {mean:.3f})", good

    def _sample_score(self, i: int) -> float:
        return metrics.score(self.task, self._target()[i: i + 1], self._output[i: i + 1])

    def _is_mistake(self, i: int) -> bool:
        target = self._target()
        if target is None:
            return False
        if self.task == "classification":
            return int(np.argmax(self._output[i])) != int(target[i])
        mine = self._sample_score(i)
        if self.task == "segmentation":
            return mine < IOU_BAR
        return mine > self.current_score()[1]

    def next_mistake(self) -> int | None:
        """Show the next sample after the current one that is wrong (or worse than the mean).

        Returns its index, or None (and says so) when there is none.
        """
        n = len(self.x)
        for k in range(1, n + 1):
            i = (self.sample.value + k) % n
            if self._is_mistake(i):
                self.sample.value = i
                return i
        self.verdict.value = f"{self.verdict.value} &nbsp; <i>(no other such sample)</i>"
        return None

    def _step(self, delta: int) -> None:
        self.sample.value = (self.sample.value + delta) % len(self.x)

    # -- events ----------------------------------------------------------------------
    def _on_play(self, change) -> None:
        k, n = int(change["new"]), self._play_steps
        self._from_play = True
        try:
            self.slider.value = round(k / n if k <= n else 2.0 - k / n, 6)
        finally:
            self._from_play = False

    def _on_playing(self, change) -> None:
        # Play starts where the slider is: the frame of the rising leg at its value.
        if change["new"]:
            self._from_play = True
            try:
                self.play.value = int(round(float(self.slider.value) * self._play_steps))
            finally:
                self._from_play = False

    def _on_global(self, _change=None) -> None:
        if self._busy:
            return
        if not self._from_play and self.play.playing:
            self.play.playing = False  # the learner took the slider: Play pauses
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
        state = (tuple(get_sharpness(self.model)), self.sample.value)
        if run and state == self._drawn:
            return  # the same picture: nothing to redraw
        if run:
            self._run()
        self._drawn = state
        self.view.update(self.sample.value, spikes=self._record, output=self._output)
        text, good = self.sample_verdict()
        if self.view.out_axes:
            self.view.mark(self._panel_text(text), good)
        color = {True: "#1e7b34", False: "#c0392b", None: "#111111"}[good]
        self.verdict.value = (f"<span style='color:{color}'><b>sample #{self.sample.value}"
                              f"</b>: {text}</span>")
        self.image.value = self._renderer.png()
        if self.curve is not None:
            self.curve.update(global_sharpness(self.model), self.current_score()[1])
            self.curve_image.value = self._curve_renderer.png()

    def _panel_text(self, text: str) -> str:
        if self.task == "classification":
            return text.replace(": decoded", ", decoded").split(", label")[0]
        return f"{'output' if self.task == 'autoencoder' else 'predicted'}: {text.split(' (')[0]}"

    # -- public ----------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the model (e.g. after more training) and redraw; the sliders follow it."""
        values = get_sharpness(self.model)
        self._sync(layer_values=values, global_value=global_sharpness(self.model))
        self._drawn = None
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
        """The current view as a new, independent Figure captioned as a snapshot.

        The caption names the setting (global sharpness and mode, or every layer's
        sharpness in per-layer mode) and the score on all of ``x``.
        """
        fig = plots.network_overview(self.x, self._record, self._output, key=self._key,
                                     temperature=self._temperature, index=self.sample.value,
                                     class_names=self.view.class_names, y=self.y,
                                     layers=self.view.layer_names)
        fig.set_dpi(DPI)
        if self.view.out_axes:  # the verdict, as the live view shows it
            title = self.view.verdict_ax.title
            j = self.view.figure.axes.index(self.view.verdict_ax)
            fig.axes[j].set_title(title.get_text(), color=title.get_color(),
                                  fontsize=title.get_fontsize())
        fig.suptitle(f"snapshot: {self.caption()}", fontsize=TEXT_SIZE + 2)
        return fig

    def caption(self, *, verdict: bool = False) -> str:
        """The setting (global sharpness and mode, or every layer's sharpness in per-layer
        mode) and the score on all of ``x``; with ``verdict``, the shown sample's too."""
        if self.per_layer:
            setting = f"layer sharpness {self.layer_text()}"
        else:
            setting = (f"global sharpness {global_sharpness(self.model):.2f} "
                       f"({self.mode.value.replace('_', '-')})")
        score = self.current_score()
        text = setting
        if score is not None:
            text += f"; {score[0]} {score[1]:.3f} on {len(self.x)} samples"
        if verdict:
            text += f"; sample #{self.sample.value}: {self.sample_verdict()[0]}"
        return text

    def fallback_png(self) -> bytes:
        """What a reader without a kernel sees (GitHub, nbviewer, the course website): the
        network picture and the score curve with its marker, under the caption."""
        if not self.image.value:
            return b""
        parts = [self.image.value]
        if self.curve_image is not None and self.curve_image.value:
            parts.append(self.curve_image.value)
        return compose_png(parts, self.caption(verdict=True))


def sharpness_explorer(model: keras.Model, x, y=None, *, task: str = "auto",
                       per_layer: bool = False,
                       class_names: Sequence[str] | None = None,
                       layers: Sequence[str] | None = None) -> SharpnessExplorer:
    """A dashboard: live sharpness slider and Play sweep, sample verdict, score curve, spikes.

    Args:
        model: a model with spiking layers.
        x: inputs; the score is computed on all of them at each change (256 keep it snappy).
        y: labels (classification), masks (segmentation) or targets (autoencoder; default x).
        task: ``"auto"`` (from the model's output), ``"classification"``, ``"autoencoder"``
            or ``"segmentation"``.
        per_layer: add one slider per spiking layer (the readouts then name each layer's
            sharpness instead of one global value).
        class_names: names of the classes (of the labels, or of the mask values).
        layers: spiking layers to draw (default: all; every layer is still sharpened).

    Example:
        >>> explorer = wl.widgets.sharpness_explorer(model, data.x_test[:256],
        ...                                          data.y_test[:256])
        >>> explorer            # live in JupyterLab, a PNG elsewhere
        >>> explorer.restore()  # the trained sharpness again
    """
    return SharpnessExplorer(model, x, y, task=task, per_layer=per_layer,
                             class_names=class_names, layers=layers)
