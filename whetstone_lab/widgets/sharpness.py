"""The sharpness dashboard: move a model's sharpness, watch its spikes and its score change."""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as widgets
import keras
import numpy as np
import traitlets
from matplotlib.figure import Figure

from .. import metrics, plots, spikes
from ..plots.network import TEXT_SIZE
from ..sharpening import MODES, get_sharpness, global_sharpness, set_sharpness
from ..validation import check_bool, check_int, check_model, check_samples
from .common import (
    DPI,
    LABEL_WIDTH,
    OVERVIEW_HEIGHT_SCALE,
    PngFallback,
    compose_png,
    decoder_of,
    grid_steps,
    on_grid,
    picture,
    sharpness_slider,
    targets_for,
)

__all__ = ["SharpnessExplorer", "sharpness_explorer", "SampleIndex"]

#: Milliseconds between two frames of the Play sweep (40 frames: 0 → 1 → 0 in 4.4 s).
PLAY_INTERVAL_MS = 110
#: A segmentation sample is judged against this IoU, a stated bar (not the mean, which a
#: poor mask can beat when the others are poorer still).
IOU_BAR = 0.5
#: Global sharpness values of the score curve.
CURVE_VALUES = np.linspace(0.0, 1.0, 11)
#: Size of the score curve in inches: shorter than the static one, so that the dashboard
#: fits a laptop's screen (1366 × 768); the overview is shortened too
#: (:data:`.common.OVERVIEW_HEIGHT_SCALE`).
CURVE_SIZE = (3.7, 2.4)
#: Widths of the global slider and of each layer's slider (two a row), labels included.
SLIDER_WIDTH, LAYER_SLIDER_WIDTH = "420px", "310px"
_BUTTON = widgets.Layout(width="auto")
_PLAY_TIP = "play or pause: sweep the sharpness 0 → 1 → 0, starting from the slider's value"
_STOP_TIP = "stop the sweep and set the sharpness to 0"


class SampleIndex(traitlets.HasTraits):
    """Which sample a dashboard shows: ``value``, a whole number from 0 to ``count - 1``.

    Anything else (a float, a string, a number out of range) is refused with a clear error,
    never rounded or clamped.

    Example:
        >>> shown = SampleIndex(256)
        >>> shown.value = 3
    """

    value = traitlets.Any(0)

    def __init__(self, count: int):
        self.count = check_int(count, "count", minimum=1)
        super().__init__()

    @traitlets.validate("value")
    def _check(self, proposal):
        return check_int(proposal["value"], "sample", minimum=0, maximum=self.count - 1)


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
        play: the Play control (its value counts frames; the slider follows it); its own
            buttons are hidden, ``play_button`` (play/pause) and ``stop_button`` drive it.
        play_button, stop_button: ▶ and ■ beside the slider, each with a tooltip, and the
            label "sweep 0 → 1 → 0".
        sample: which sample of ``x`` is shown (:class:`SampleIndex`: ``sample.value`` is
            an int).
        prev_button, next_button, mistake_button: step through the samples; the last one
            jumps to the next misclassified sample (classification), the next one scoring
            worse than the mean (autoencoder) or under :data:`IOU_BAR` (segmentation).
        sample_box: the box the sample's number is typed in; what is not a whole number in
            range is refused there with a message (``sample_note``), the box showing the
            current sample again.
        verdict: text on the sample shown.
        layer_sliders: ``{layer name: slider}`` when ``per_layer=True``, else empty.
        score: text with the current score and each layer's sharpness by name.
        image: the rendered overview (PNG bytes in ``image.value``).
        curve_image: the score-against-sharpness plot (PNG bytes), None without targets.
        view: the :class:`~whetstone_lab.plots.NetworkOverview` behind ``image``.
        curve: the :class:`~whetstone_lab.plots.ScoreCurve` behind ``curve_image``.

    The model's sharpness when the explorer was made is kept: :meth:`restore` puts it back,
    and :meth:`close` restores before closing.

    The sliders show the layers' values on their step grid (:func:`.common.on_grid`): a
    slider's front-end returns any other value snapped to its step, and such an echo,
    arriving after the kernel has moved on, would pull the slider back.
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
        self._busy_box = False  # True while the kernel writes the sample box
        self._drawn = None

        label = "all layers" if self.per_layer else "global sharpness"
        self.slider = sharpness_slider(label, on_grid(global_sharpness(model), step), step,
                                       width=SLIDER_WIDTH)
        self.mode = widgets.ToggleButtons(
            options=[("bottom-up", "bottom_up"), ("uniform", "uniform")], value=MODES[0],
            tooltips=["layers become steps one after another, from the input up",
                      "every layer at the same sharpness"],
            style={"button_width": "90px"}, layout=widgets.Layout(margin=f"0 0 0 {LABEL_WIDTH}"),
        )
        steps = grid_steps(self.slider.step)
        # The Play model runs the sweep's clock in the browser; its own buttons have no
        # labels, so they are hidden and two labelled buttons drive it.
        self.play = widgets.Play(value=0, min=0, max=2 * steps, step=1, repeat=True,
                                 interval=PLAY_INTERVAL_MS, show_repeat=False,
                                 layout=widgets.Layout(display="none"))
        self.play_button = widgets.Button(description="▶", tooltip=_PLAY_TIP,
                                          layout=widgets.Layout(width="40px"))
        self.stop_button = widgets.Button(description="■", tooltip=_STOP_TIP,
                                          layout=widgets.Layout(width="40px"))
        play_label = widgets.HTML("sweep 0 → 1 → 0")
        self._play_steps = steps
        self.sample = SampleIndex(len(self.x))
        self.sample_box = widgets.Text(
            value="0", description="sample", continuous_update=False,
            placeholder=f"0 to {len(self.x) - 1}",
            tooltip=f"a whole number from 0 to {len(self.x) - 1}, then Enter",
            style={"description_width": LABEL_WIDTH}, layout=widgets.Layout(width="200px"))
        self.sample_note = widgets.HTML()
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
                self.layer_sliders[name] = sharpness_slider(name, on_grid(s, step), step,
                                                            width=LAYER_SLIDER_WIDTH)
        self.score = widgets.HTML()
        self.curve_image = None
        self.curve = None

        self._run()
        self.view = plots.NetworkOverview(
            self.x, self._record, self._output, key=self._key, temperature=self._temperature,
            class_names=class_names, y=self.y, layers=names,
        )
        self.view.figure.set_dpi(DPI)
        width, height = self.view.figure.get_size_inches()
        self.view.figure.set_size_inches(width, height * OVERVIEW_HEIGHT_SCALE)
        self._renderer = plots.BlitRenderer(self.view.figure, self.view.dynamic_artists())
        self.image = picture(self.view.figure)
        self._build_curve()
        controls = widgets.VBox([
            widgets.HBox([self.slider, self.play_button, self.stop_button, play_label,
                          self.play], layout=widgets.Layout(align_items="center")),
            self.mode, *self._layer_rows(),
            widgets.HBox([self.sample_box, self.prev_button, self.next_button,
                          self.mistake_button]),
            self.sample_note, self.verdict, self.score,
        ])
        top = [controls] + ([self.curve_image] if self.curve_image is not None else [])
        super().__init__([widgets.HBox(top), self.image])
        self.slider.observe(self._on_global, names="value")
        self.mode.observe(self._on_global, names="value")
        self.play.observe(self._on_play, names="value")
        self.play.observe(self._on_playing, names="playing")
        self.play_button.on_click(lambda _: self._toggle_play())
        self.stop_button.on_click(lambda _: self.stop())
        self.sample.observe(self._on_sample, names="value")
        self.sample_box.observe(self._on_sample_box, names="value")
        self.prev_button.on_click(lambda _: self._step(-1))
        self.next_button.on_click(lambda _: self._step(1))
        self.mistake_button.on_click(lambda _: self.next_mistake())
        for name, sl in self.layer_sliders.items():
            sl.observe(lambda change, n=name: self._on_layer(n, change), names="value")
        self._refresh(run=False)

    def _layer_rows(self) -> list[widgets.HBox]:
        # Two layer sliders a row: the dashboard stays short enough for a laptop's screen.
        sliders = list(self.layer_sliders.values())
        return [widgets.HBox(sliders[k: k + 2]) for k in range(0, len(sliders), 2)]

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
                                      self.current_score()[1], samples=len(self.x),
                                      fig=plots.new_figure(CURVE_SIZE))
        if self.per_layer:  # the layers need not follow a schedule: x is their mean
            self.curve.ax.set_xlabel("mean sharpness of the layers", fontsize=9)
        self.curve.figure.set_dpi(DPI)
        self._curve_renderer = plots.BlitRenderer(self.curve.figure,
                                                  self.curve.dynamic_artists())
        self.curve_image = picture(self.curve.figure)

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
        try:  # k / n: on the slider's grid (see on_grid), the rising leg then the falling
            self.slider.value = (k if k <= n else 2 * n - k) / n
        finally:
            self._from_play = False

    def _on_playing(self, change) -> None:
        # Play starts where the slider is: the frame of the rising leg at its value.
        self.play_button.description = "❚❚" if change["new"] else "▶"
        if change["new"]:
            self._from_play = True
            try:
                self.play.value = int(round(float(self.slider.value) * self._play_steps))
            finally:
                self._from_play = False

    def _toggle_play(self) -> None:
        self.play.playing = not self.play.playing

    def stop(self) -> None:
        """Stop the Play sweep and set the global sharpness to 0 (the ■ button)."""
        self.play.playing = False
        self.slider.value = 0.0

    def _on_sample(self, change) -> None:
        self._set_box(str(change["new"]))
        self.sample_note.value = ""
        self._refresh(run=False)

    def _set_box(self, text: str) -> None:
        self._busy_box = True
        try:
            self.sample_box.value = text
        finally:
            self._busy_box = False

    def _on_sample_box(self, change) -> None:
        if self._busy_box:
            return
        typed = str(change["new"]).strip()
        last = len(self.x) - 1
        number = int(typed) if typed.isdigit() and typed.isascii() else None
        if number is not None and number <= last:
            if number == self.sample.value:
                self._set_box(str(number))
                self.sample_note.value = ""
            else:
                self.sample.value = number
            return
        self._set_box(str(self.sample.value))  # the box shows the current sample again
        self.sample_note.value = (
            f"<span style='color:#c0392b'>“{html.escape(typed)}” is not a sample: type a "
            f"whole number from 0 to {last} (still showing sample #{self.sample.value})</span>")

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
        if abs(float(change["new"]) - values[i]) < 1e-9:
            return  # the layer's own value: nothing to change
        values[i] = float(change["new"])
        set_sharpness(self.model, values)
        self._sync(global_value=global_sharpness(self.model))
        self._refresh(run=True)

    def _sync(self, *, layer_values=None, global_value=None) -> None:
        """Move the other sliders to match without triggering their handlers, each to a
        value on its grid, which its front-end keeps as it is (see :func:`.common.on_grid`)."""
        self._busy = True
        try:
            if layer_values is not None:
                for sl, v in zip(self.layer_sliders.values(), layer_values, strict=False):
                    sl.value = on_grid(v, sl.step)
            if global_value is not None:
                self.slider.value = on_grid(global_value, self.slider.step)
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
