"""Figures for the lessons: data in, :class:`matplotlib.figure.Figure` out.

Every function builds a new ``Figure`` (or draws into the ``ax``/``fig`` it is given) and
never touches pyplot's global state or calls ``plt.show()``; in a notebook the returned
Figure displays itself. Spikes always use one colormap, :data:`SPIKE_CMAP`: white for
exactly 0, black for exactly 1, greys for values strictly in between (a ramp that is not
yet sharp).

Two views keep their artists so the dashboards can update them in place instead of
redrawing: :class:`ActivationPlot` and :class:`NetworkOverview`.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import keras
import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, LinearSegmentedColormap, ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from . import spikes as _spikes
from .layers import SHARP_TOLERANCE, SpikingBReLU, check_sharpness

__all__ = [
    "SPIKE_CMAP",
    "SPIKE_NORM",
    "to_png",
    "freeze_layout",
    "BlitRenderer",
    "ActivationPlot",
    "activation",
    "activation_family",
    "spike_raster",
    "spike_maps",
    "NetworkOverview",
    "network_overview",
    "history",
    "score_vs_sharpness",
    "reconstructions",
    "segmentation",
    "activity_bars",
]

#: Exactly 0 → white (under), exactly 1 → black (over), 0 < a < 1 → light to dark grey.
SPIKE_CMAP = LinearSegmentedColormap.from_list("spikes", ["#dcdcdc", "#6e6e6e"]).with_extremes(
    under="white", over="black", bad="#f3e9d2"
)
#: Pairs with :data:`SPIKE_CMAP`: values outside (0, 1) fall on its under/over colours.
SPIKE_NORM = Normalize(vmin=1e-6, vmax=1.0 - 1e-6, clip=False)
_INPUT_CMAP = "gray_r"
_ACCENT = "#c0392b"  # threshold lines and the decoded class
_SHARPNESS_COLOR = "#7f8c8d"


# ----------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------
def _new_figure(figsize) -> Figure:
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)  # render without pyplot
    return fig


def to_png(fig: Figure, *, dpi: float | None = None) -> bytes:
    """Render ``fig`` with Agg and return PNG bytes.

    Figures made by this module render straight from their Agg canvas with light PNG
    compression (fast enough for a slider); any other Figure goes through ``savefig``.

    Example:
        >>> png = to_png(activation(0.5))
        >>> png[:4]
        b'\\x89PNG'
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"to_png expects a matplotlib Figure, got {type(fig).__name__}.")
    if not isinstance(fig.canvas, FigureCanvasAgg):
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi)
        return buf.getvalue()
    saved = fig.dpi
    if dpi is not None:
        fig.set_dpi(dpi)
    try:
        fig.canvas.draw()
        return _encode_png(fig.canvas.buffer_rgba())
    finally:
        fig.set_dpi(saved)


def freeze_layout(fig: Figure) -> Figure:
    """Lay ``fig`` out once, then keep the axes where they are.

    Constrained layout is re-solved at every draw, which costs more than drawing a small
    figure; a view whose panels never move (only their data and titles change) solves it
    once.
    """
    if fig.get_layout_engine() is not None:
        fig.canvas.draw()
        fig.set_layout_engine("none")
    return fig


def _encode_png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.asarray(rgba)[..., :3]).save(buf, format="png", compress_level=1)
    return buf.getvalue()


class BlitRenderer:
    """Fast PNG frames of a figure in which only known artists change.

    Everything else (axes, ticks, labels, legends) is drawn once into a cached background;
    each frame restores that background and draws just the changing artists. The layout is
    frozen first (see :func:`freeze_layout`). The artists are marked animated, so a plain
    ``savefig`` of the same figure would leave them out: render frames through :meth:`png`.

    Args:
        fig: a Figure with an Agg canvas (every Figure made by this module has one).
        artists: the artists whose data, text or colour will change.
    """

    def __init__(self, fig: Figure, artists: Sequence):
        if not isinstance(fig.canvas, FigureCanvasAgg):
            raise TypeError("BlitRenderer needs a Figure with an Agg canvas (made by "
                            "whetstone_lab.plots).")
        self.figure = fig
        self.artists = list(artists)
        freeze_layout(fig)
        for artist in self.artists:
            artist.set_animated(True)
        fig.canvas.draw()
        self._background = fig.canvas.copy_from_bbox(fig.bbox)

    def png(self) -> bytes:
        """The current frame as PNG bytes."""
        canvas = self.figure.canvas
        canvas.restore_region(self._background)
        for artist in self.artists:
            self.figure.draw_artist(artist)
        return _encode_png(canvas.buffer_rgba())


def _target_ax(ax, figsize):
    if ax is None:
        fig = _new_figure(figsize)
        return fig, fig.add_subplot()
    if not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {type(ax).__name__}.")
    return ax.figure, ax


def _target_fig(fig, figsize) -> Figure:
    if fig is None:
        return _new_figure(figsize)
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}.")
    fig.clear()
    return fig


def _spike_image(ax, data, **kwargs):
    return ax.imshow(data, cmap=SPIKE_CMAP, norm=SPIKE_NORM, interpolation="nearest", **kwargs)


def _bare(ax):
    ax.set_xticks([])
    ax.set_yticks([])


def _grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid holding ``n`` cells (rows ≤ columns)."""
    rows = int(math.floor(math.sqrt(n)))
    while rows > 1 and n % rows:
        rows -= 1
    if rows == 1 or n // rows > 4 * rows:  # awkward factors (primes): pad instead
        rows = int(math.floor(math.sqrt(n)))
    return rows, int(math.ceil(n / rows))


def _as_grid(vector: np.ndarray) -> np.ndarray:
    """A 1-D vector of neurons laid out as a near-square image (padding is NaN)."""
    rows, cols = _grid_shape(vector.size)
    grid = np.full(rows * cols, np.nan)
    grid[: vector.size] = vector
    return grid.reshape(rows, cols)


def _mosaic(maps: np.ndarray, max_channels: int) -> np.ndarray:
    """The first ``max_channels`` channels of ``(h, w, c)`` tiled into one image (NaN gaps)."""
    h, w, c = maps.shape
    k = min(c, max_channels)
    rows, cols = _grid_shape(k)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(k):
        r, q = divmod(i, cols)
        out[r * (h + 1): r * (h + 1) + h, q * (w + 1): q * (w + 1) + w] = maps[..., i]
    return out


def _image(x: np.ndarray) -> np.ndarray:
    """An input sample as something imshow accepts: (h, w) or (h, w, 3)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3 and x.shape[-1] == 1:
        return x[..., 0]
    if x.ndim == 3 and x.shape[-1] in (3, 4):
        return np.clip(x, 0.0, 1.0)
    if x.ndim == 1:
        return _as_grid(x)
    if x.ndim == 2:
        return x
    return x[..., 0]


def _binary_note(a: np.ndarray) -> str:
    a = np.asarray(a)
    if np.all((a == 0) | (a == 1)):
        return f"{int(a.sum())} of {a.size} spike"
    return f"{np.mean((a > 0) & (a < 1)):.0%} in ramp"


# ----------------------------------------------------------------------------------------
# The activation
# ----------------------------------------------------------------------------------------
class ActivationPlot:
    """The sharpenable bounded ReLU and its gradient at one sharpness, updatable in place.

    Values come from a real :class:`~whetstone_lab.layers.SpikingBReLU` layer, the gradient
    from automatic differentiation of that layer.

    Args:
        sharpness: sharpness in [0, 1].
        gradient: add a second panel with the gradient.
        ax: draw the activation into this Axes (the gradient panel then shares its figure
            only when ``gradient`` is False).

    Example:
        >>> view = ActivationPlot(0.0)
        >>> view.update(0.9)
        >>> view.figure
    """

    def __init__(self, sharpness: float = 0.0, *, gradient: bool = True, ax=None):
        if not isinstance(gradient, bool):
            raise TypeError(f"gradient must be True or False, got {gradient!r}.")
        self._layer = SpikingBReLU(name="activation_plot")
        if ax is None:
            self.figure = _new_figure((8.0 if gradient else 4.2, 3.2))
            axes = self.figure.subplots(1, 2 if gradient else 1, squeeze=False)[0]
        else:
            if gradient:
                raise ValueError("pass gradient=False when drawing into a given ax; the "
                                 "gradient needs a panel of its own.")
            self.figure, axes = _target_ax(ax, None)[0], [ax]
        self.ax = axes[0]
        self.grad_ax = axes[1] if gradient else None
        x, y, g = self._curves(sharpness)
        for a in axes:
            a.axvline(0.5, color=_ACCENT, lw=0.8, ls=":")
            a.set_xlabel("pre-activation  x = W·a + b")
            a.grid(alpha=0.3)
        self.ax.axhline(0.5, color=_ACCENT, lw=0.8, ls=":")
        (self.line,) = self.ax.plot(x, y, lw=2, color="black")
        self.ax.set_ylim(-0.05, 1.05)
        self.ax.set_ylabel("output (spike)")
        self.ax.text(0.52, 0.03, "threshold 0.5", color=_ACCENT, fontsize=8)
        if self.grad_ax is not None:
            (self.grad_line,) = self.grad_ax.plot(x, g, lw=2, color="#2c7fb8")
            self.grad_ax.set_ylabel("gradient  d output / dx")
        self.update(sharpness)

    def _curves(self, sharpness: float):
        s = check_sharpness(sharpness)
        band = 1.0 - s + 1e-3
        knees = [0.5 - band / 2, 0.5 + band / 2]
        # The knees and both sides of the threshold are sampled exactly, so a narrow ramp
        # is drawn with its true shape.
        x = np.unique(np.concatenate([np.linspace(-0.5, 1.5, 801), knees,
                                      [np.nextafter(0.5, -1.0), 0.5]])).astype(np.float32)
        self._layer.set_sharpness(s)
        import tensorflow as tf

        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = self._layer(xt)
        g = tape.gradient(y, xt)
        g = np.zeros_like(x) if g is None else keras.ops.convert_to_numpy(g)
        return x, keras.ops.convert_to_numpy(y), g

    def update(self, sharpness: float) -> None:
        """Redraw the curves for ``sharpness`` (same artists, new data)."""
        s = check_sharpness(sharpness)
        x, y, g = self._curves(s)
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
    values = [check_sharpness(v, "values[i]") for v in values]
    if not values:
        raise ValueError("values must hold at least one sharpness in [0, 1].")
    fig, ax = _target_ax(ax, (5.2, 3.6))
    view = ActivationPlot(values[0], gradient=False, ax=ax)
    view.line.remove()
    colors = matplotlib.colormaps["viridis"](np.linspace(0.0, 0.8, len(values)))
    for v, color in zip(values, colors, strict=True):
        x, y, _ = view._curves(v)
        sharp = v >= 1.0 - SHARP_TOLERANCE  # the step itself stands out in black
        ax.plot(x, y, lw=2.5 if sharp else 2, color="black" if sharp else color,
                label=f"s = {v:g}" + (" (step)" if sharp else ""))
    ax.set_title("sharpening: bounded ReLU → step")
    ax.legend(title="sharpness", loc="upper left", fontsize=8, title_fontsize=8)
    return fig


# ----------------------------------------------------------------------------------------
# Spikes
# ----------------------------------------------------------------------------------------
def spike_raster(spikes, *, ax=None, title: str | None = None) -> Figure:
    """Spikes of a layer as a samples × neurons image (white 0, black 1, grey between).

    Args:
        spikes: array ``(samples, neurons)``; one sample ``(neurons,)`` gives one row;
            higher-rank outputs are flattened per sample.
        ax: an Axes to draw into.
        title: axes title (e.g. the layer name).

    Example:
        >>> fig = spike_raster(record(model, x[:50])["spikes_0"], title="spikes_0")
    """
    a = np.asarray(spikes, dtype=np.float32)
    if a.ndim == 0 or a.size == 0:
        raise ValueError(f"spikes must be a non-empty array (samples, neurons), got {a.shape}.")
    a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(a.shape[0], -1)
    fig, ax = _target_ax(ax, (6.0, 3.2))
    _spike_image(ax, a, aspect="auto")
    ax.set_xlabel("neuron")
    ax.set_ylabel("sample")
    ax.set_title(title or f"spikes: {_binary_note(a)}s")
    return fig


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
    m = np.asarray(maps, dtype=np.float32)
    if m.ndim == 4 and m.shape[0] == 1:
        m = m[0]
    if m.ndim != 3:
        raise ValueError(f"maps must have shape (height, width, channels) for one sample, "
                         f"got {m.shape}.")
    if isinstance(max_channels, bool) or not isinstance(max_channels, (int, np.integer)) \
            or max_channels < 1:
        raise ValueError(f"max_channels must be a positive integer, got {max_channels!r}.")
    k = min(m.shape[-1], int(max_channels))
    rows, cols = _grid_shape(k)
    fig = _target_fig(fig, (1.5 * cols + 0.4, 1.5 * rows + 0.5))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        if i < k:
            _spike_image(ax, m[..., i])
            ax.set_title(f"channel {i}", fontsize=8)
            _bare(ax)
        else:
            ax.remove()
    shown = f"{k} of {m.shape[-1]} channels" if k < m.shape[-1] else f"{k} channels"
    fig.suptitle(f"{title + ': ' if title else ''}{shown}, {_binary_note(m[..., :k])}s")
    return fig


class NetworkOverview:
    """One input travelling through the network: input, every spiking layer, the output.

    Dense layers are drawn as a grid of neurons, convolutional layers as a mosaic of their
    first channels (one-pixel gaps between channels). The output panel depends on the
    model: for an N-hot classifier, the output code arranged by class (row c holds the
    neurons of class c in the key) and the class probabilities, decoded class in red;
    for an image-to-image model, the output image (a class mask for per-pixel classes).

    The artists are kept: :meth:`update` swaps in a new sample or recording.

    Args:
        model: a model with spiking layers.
        x: inputs ``(n, ...)``.
        index: which sample to show.
        record: a recording of ``x`` (from :func:`whetstone_lab.spikes.record`) to reuse.
        output: the model's output for ``x`` matching ``record`` (optional).
        class_names: names of the classes.
        y: targets for ``x`` (labels, or masks for segmentation), shown when given.
        max_channels: channels per convolutional layer.
        layers: names of the spiking layers to draw (default: all).
        fig: a Figure to draw into (cleared first).
    """

    def __init__(self, model, x, *, index: int = 0, record=None, output=None,
                 class_names: Sequence[str] | None = None, y=None, max_channels: int = 8,
                 layers: Sequence[str] | None = None, fig: Figure | None = None):
        self.model = model
        self._rec = _spikes.recorder(model)
        self.layer_names = _spikes.select_layers(model, layers)
        self.x = _spikes._check_input(x, self._rec.input_shape)
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and len(self.y) != len(self.x):
            raise ValueError(f"y has {len(self.y)} entries but x has {len(self.x)} samples.")
        self.key = _spikes.find_key(model)
        self.max_channels = max_channels
        self.class_names = None if class_names is None else [str(c) for c in class_names]
        rec, out, code = self._sample(index, record, output)
        self.kind = self._output_kind(out)
        if (self.class_names is not None and self.key is not None
                and len(self.class_names) != self.key.shape[0]):
            raise ValueError(f"class_names has {len(self.class_names)} names but the model "
                             f"decodes {self.key.shape[0]} classes.")
        self._build(fig, rec, out, code)
        self.figure.supxlabel("spikes: white = 0, black = 1, grey = inside the ramp (0 < a < 1)",
                              fontsize=8, color="#555555")
        self.update(index, record=record, output=output)

    # -- data ------------------------------------------------------------------------
    def _check_index(self, index) -> int:
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"index must be an integer, got {index!r}.")
        if not -len(self.x) <= index < len(self.x):
            raise IndexError(f"index {index} is out of range for {len(self.x)} samples.")
        return int(index) % len(self.x)

    def _sample(self, index, record, output):
        """``({layer: spikes}, output, output code)`` of sample ``index``.

        The output code (the last spiking layer, for the class panel) is kept even when
        ``layers`` leaves that layer out of the picture.
        """
        i = self._check_index(index)
        last = self._rec.layer_names[-1]
        if record is None:
            rec, out = self._rec(self.x[i: i + 1])
            return {n: rec[n][0] for n in self.layer_names}, out[0], rec[last][0]
        missing = [n for n in self.layer_names if n not in record]
        if missing:
            raise ValueError(f"record lacks the spiking layers {missing}; pass the dict "
                             "record() returned for this model.")
        rec = {n: np.asarray(record[n])[i] for n in self.layer_names}
        code = np.asarray(record[last])[i] if last in record else None
        if code is None or (output is None and not self._is_classifier()):
            full, out = self._rec(self.x[i: i + 1])
            code, out = full[last][0], out[0]
        elif output is None:
            out = _probabilities(code, self.key)
        if output is not None:
            out = np.asarray(output)[i]
        return rec, out, code

    def _is_classifier(self) -> bool:
        return self.key is not None and len(self.model.outputs[0].shape) == 2

    def _output_kind(self, out) -> str:
        if self.key is not None and out.ndim == 1:
            return "classes"
        if self.key is not None and out.ndim == 3:
            return "mask"
        return "image"

    # -- drawing ---------------------------------------------------------------------
    def _build(self, fig, rec, out, code):
        names = list(rec)
        n_out = 2 if self.kind == "classes" else (2 if self.y is not None else 1)
        panels = 1 + len(names) + n_out
        ratios = [1.0] * panels
        self.figure = _target_fig(fig, (2.15 * panels, 2.9))
        axes = self.figure.subplots(1, panels, gridspec_kw={"width_ratios": ratios})
        self.input_ax = axes[0]
        self.layer_axes = dict(zip(names, axes[1:1 + len(names)], strict=True))
        self.out_axes = list(axes[1 + len(names):])
        self.input_im = self.input_ax.imshow(_image(self.x[0]), cmap=_INPUT_CMAP,
                                             vmin=0.0, vmax=1.0, interpolation="nearest")
        _bare(self.input_ax)
        self.layer_ims = {}
        for name in names:
            ax = self.layer_axes[name]
            self.layer_ims[name] = _spike_image(ax, self._layer_image(rec[name]))
            _bare(ax)
        if self.kind == "classes":
            self._build_classes(code, out)
        else:
            self._build_image_output(out)

    def _layer_image(self, a: np.ndarray) -> np.ndarray:
        if a.ndim == 3:
            return _mosaic(a, self.max_channels)
        return _as_grid(a.ravel())

    def _code_grid(self, code: np.ndarray) -> np.ndarray:
        n = int(self.key.sum(axis=1).max())
        grid = np.full((self.key.shape[0], n), np.nan)
        for c, row in enumerate(self.key):
            grid[c, : row.sum()] = code[row == 1]
        return grid

    def _names(self) -> list[str]:
        return self.class_names or [str(c) for c in range(self.key.shape[0])]

    def _build_classes(self, code, probs):
        code_ax, prob_ax = self.out_axes
        self.code_im = _spike_image(code_ax, self._code_grid(code), aspect="auto")
        code_ax.set_yticks(range(self.key.shape[0]), self._names(), fontsize=7)
        code_ax.set_xticks([])
        code_ax.set_xlabel("neurons of each class")
        code_ax.set_title("output code vs key")
        ticks = np.arange(self.key.shape[0])
        self.bars = prob_ax.barh(ticks, probs, color="#95a5a6")
        prob_ax.set_yticks(ticks, self._names(), fontsize=7)
        prob_ax.invert_yaxis()
        prob_ax.set_xlim(0, 1)
        prob_ax.set_xlabel("probability")

    def _mask_image(self, out):
        return np.argmax(out, axis=-1) if self.kind == "mask" else _image(out)

    def _build_image_output(self, out):
        ax = self.out_axes[0]
        if self.kind == "mask":
            classes = out.shape[-1]
            cmap, norm = _class_colors(classes)
            self.out_im = ax.imshow(self._mask_image(out), cmap=cmap, norm=norm,
                                    interpolation="nearest")
            ax.set_title("predicted classes")
        else:
            self.out_im = ax.imshow(self._mask_image(out), cmap=_INPUT_CMAP, vmin=0, vmax=1,
                                    interpolation="nearest")
            ax.set_title("output")
        _bare(ax)
        if self.y is not None:
            tax = self.out_axes[1]
            if self.kind == "mask":
                self.target_im = tax.imshow(self.y[0], cmap=cmap, norm=norm,
                                            interpolation="nearest")
                tax.set_title("true classes")
            else:
                self.target_im = tax.imshow(_image(self.y[0]), cmap=_INPUT_CMAP, vmin=0,
                                            vmax=1, interpolation="nearest")
                tax.set_title("target")
            _bare(tax)

    def update(self, index: int = 0, *, record=None, output=None) -> None:
        """Show sample ``index``; ``record``/``output`` are those of all of ``x`` (optional)."""
        i = self._check_index(index)
        rec, out, code = self._sample(i, record, output)
        self.index = i
        self.input_im.set_data(_image(self.x[i]))
        label = ""
        if self.y is not None and self.kind == "classes":
            label = f" (label {self._names()[int(self.y[i])]})"
        self.input_ax.set_title(f"input #{i}{label}")
        for name, a in rec.items():
            self.layer_ims[name].set_data(self._layer_image(a))
            self.layer_axes[name].set_title(f"{name}\n{_binary_note(a)}s", fontsize=9)
        if self.kind == "classes":
            self.code_im.set_data(self._code_grid(code))
            winner = int(np.argmax(out))
            for c, bar in enumerate(self.bars):
                bar.set_width(float(out[c]))
                bar.set_color(_ACCENT if c == winner else "#95a5a6")
            self.out_axes[1].set_title(f"decoded: {self._names()[winner]}")
        else:
            self.out_im.set_data(self._mask_image(out))
            if self.y is not None:
                self.target_im.set_data(self.y[i] if self.kind == "mask" else _image(self.y[i]))

    def dynamic_artists(self) -> list:
        """The artists :meth:`update` changes (for :class:`BlitRenderer`)."""
        images = [self.input_im, *self.layer_ims.values()]
        titles = [self.input_ax.title, *(ax.title for ax in self.layer_axes.values())]
        if self.kind == "classes":
            images.append(self.code_im)
            titles.append(self.out_axes[1].title)
            extra = list(self.bars)
        else:
            images += [self.out_im] + ([self.target_im] if self.y is not None else [])
            extra = []
        # An image covers its axes' frame, so the frame is redrawn after it.
        frames = [sp for im in images for sp in im.axes.spines.values()]
        return [*images, *frames, *titles, *extra]

    def spike_images(self) -> dict[str, np.ndarray]:
        """The arrays currently shown for each spiking layer (NaN marks gaps)."""
        shown = {n: np.asarray(im.get_array()) for n, im in self.layer_ims.items()}
        if self.kind == "classes":
            shown["output code"] = np.asarray(self.code_im.get_array())
        return shown


def _probabilities(code: np.ndarray, key: np.ndarray) -> np.ndarray:
    logits = (2.0 * np.asarray(code, np.float64) - 1.0) @ (2.0 * key.T - 1.0)
    e = np.exp(logits - logits.max())
    return e / e.sum()


def network_overview(model, x, *, index: int = 0, record=None,
                     class_names: Sequence[str] | None = None, fig: Figure | None = None,
                     **kwargs) -> Figure:
    """One input through the whole network: input, spikes of every layer, output and class.

    See :class:`NetworkOverview` for the panels and the other keyword arguments.

    Example:
        >>> fig = network_overview(model, data.x_test, index=3, class_names=data.class_names)
    """
    return NetworkOverview(model, x, index=index, record=record, class_names=class_names,
                           fig=fig, **kwargs).figure


# ----------------------------------------------------------------------------------------
# Training and evaluation
# ----------------------------------------------------------------------------------------
def _history_dict(history) -> dict[str, list[float]]:
    hist = getattr(history, "history", history)
    if not isinstance(hist, Mapping) or not hist:
        raise TypeError("history must be a keras History (what fit() returns) or its "
                        f"non-empty .history dict, got {type(history).__name__}.")
    return {k: [float(v) for v in vals] for k, vals in hist.items()}


def _overlay_sharpness(ax, epochs, sharpness):
    twin = ax.twinx()
    twin.fill_between(epochs, sharpness, color=_SHARPNESS_COLOR, alpha=0.15, lw=0)
    twin.plot(epochs, sharpness, color=_SHARPNESS_COLOR, lw=1)
    twin.set_ylim(0, 1.05)
    twin.set_ylabel("sharpness", color=_SHARPNESS_COLOR)
    twin.tick_params(axis="y", colors=_SHARPNESS_COLOR)
    ax.set_zorder(twin.get_zorder() + 1)  # curves above the shading
    ax.patch.set_visible(False)
    return twin


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
    groups = [("loss", [k for k in ("loss", "val_loss", "spiking_loss") if k in hist]),
              ("accuracy", [k for k in ("accuracy", "val_accuracy", "spiking_accuracy")
                            if k in hist])]
    groups = [(name, keys) for name, keys in groups if keys]
    if not groups:
        raise ValueError(f"history has no loss or accuracy entries to plot; it has "
                         f"{sorted(hist)}.")
    fig = _target_fig(fig, (5.0 * len(groups), 3.4))
    axes = fig.subplots(1, len(groups), squeeze=False)[0]
    n = max(len(v) for v in hist.values())
    epochs = np.arange(1, n + 1)
    styles = {"val_": dict(ls="--"), "spiking_": dict(ls="-", marker="o", ms=3,
                                                       color=_ACCENT)}
    for ax, (name, keys) in zip(axes, groups, strict=True):
        if "sharpness" in hist:
            _overlay_sharpness(ax, epochs[: len(hist["sharpness"])], hist["sharpness"])
        for k in keys:
            style = next((s for p, s in styles.items() if k.startswith(p)), {})
            label = {"spiking_accuracy": "fully sharp (spiking)",
                     "spiking_loss": "fully sharp (spiking)"}.get(k, k)
            ax.plot(epochs[: len(hist[k])], hist[k], lw=1.8, label=label,
                    **({"color": "black"} | style))
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(alpha=0.3)
        if name == "accuracy":
            ax.set_ylim(0, 1.02)
        ax.legend(fontsize=8, loc="lower right" if name == "accuracy" else "upper right")
    return fig


def score_vs_sharpness(sweep: Mapping, *, ax=None, label: str | None = None) -> Figure:
    """Score against global sharpness, one line per mode, from :func:`spikes.sharpness_sweep`.

    Call it again with the same ``ax`` and another ``label`` to compare models.

    Example:
        >>> fig = score_vs_sharpness(sharpness_sweep(model, x, y), label="sharpened")
    """
    if not isinstance(sweep, Mapping) or "values" not in sweep:
        raise TypeError("sweep must be the dict sharpness_sweep() returns, with 'values' "
                        "and one entry per mode.")
    modes = [m for m in ("bottom_up", "uniform") if m in sweep]
    if not modes:
        raise ValueError("sweep has no 'bottom_up' or 'uniform' scores.")
    fig, ax = _target_ax(ax, (5.2, 3.6))
    color = ax._get_lines.get_next_color()
    for mode, ls in zip(modes, ("-", "--"), strict=False):
        text = mode.replace("_", "-")
        ax.plot(sweep["values"], sweep[mode], ls=ls, marker="o", ms=4, color=color,
                label=f"{label}, {text}" if label else text)
    metric = sweep.get("metric", "score")
    ax.set_xlabel("global sharpness")
    ax.set_ylabel(metric)
    ax.set_xlim(-0.02, 1.02)
    if metric == "accuracy":
        ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.set_title(f"{metric} as the network is sharpened")
    ax.legend(fontsize=8)
    return fig


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
    arrays = [np.asarray(a, dtype=np.float32) for a in (x, float_out, spiking_out)]
    if len({a.shape for a in arrays}) != 1:
        raise ValueError("x, float_out and spiking_out must have the same shape, got "
                         f"{[a.shape for a in arrays]}.")
    n = min(_positive(n, "n"), len(arrays[0]))
    fig = _target_fig(fig, (1.2 * n + 1.0, 4.0))
    axes = fig.subplots(3, n, squeeze=False)
    rows = ("input", "float (s=0)", "spiking (s=1)")
    for r, (a, name) in enumerate(zip(arrays, rows, strict=True)):
        for c in range(n):
            axes[r, c].imshow(_image(a[c]), cmap=_INPUT_CMAP, vmin=0, vmax=1,
                              interpolation="nearest")
            _bare(axes[r, c])
        axes[r, 0].set_ylabel(name)
    fig.suptitle("reconstructions")
    return fig


def _positive(n, name: str) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{name} must be a positive integer, got {n!r}.")
    return int(n)


def _class_colors(num_classes: int):
    base = matplotlib.colormaps["tab10" if num_classes <= 10 else "tab20"].colors
    cmap = ListedColormap(["#111111", *base[1:num_classes]] if num_classes <= 10
                          else base[:num_classes])
    return cmap, BoundaryNorm(np.arange(num_classes + 1) - 0.5, num_classes)


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
    images = np.asarray(images, dtype=np.float32)
    true_masks = np.asarray(true_masks)
    pred = np.asarray(pred_masks)
    if pred.ndim == true_masks.ndim + 1:
        pred = np.argmax(pred, axis=-1)
    if true_masks.shape != pred.shape or true_masks.shape[:3] != images.shape[:3]:
        raise ValueError(
            "images (m, h, w[, c]), true_masks (m, h, w) and pred_masks (m, h, w[, classes]) "
            f"must agree; got {images.shape}, {true_masks.shape}, {np.shape(pred_masks)}."
        )
    classes = len(class_names) if class_names else int(max(true_masks.max(), pred.max())) + 1
    cmap, norm = _class_colors(classes)
    n = min(_positive(n, "n"), len(images))
    fig = _target_fig(fig, (1.7 * n + 1.6, 5.2))
    axes = fig.subplots(3, n, squeeze=False)
    for c in range(n):
        axes[0, c].imshow(_image(images[c]), cmap=_INPUT_CMAP, vmin=0, vmax=1,
                          interpolation="nearest")
        axes[1, c].imshow(true_masks[c], cmap=cmap, norm=norm, interpolation="nearest")
        axes[2, c].imshow(pred[c], cmap=cmap, norm=norm, interpolation="nearest")
        for r in range(3):
            _bare(axes[r, c])
    for r, name in enumerate(("image", "true", "predicted")):
        axes[r, 0].set_ylabel(name)
    names = class_names or [str(i) for i in range(classes)]
    fig.legend(handles=[Patch(color=cmap(i), label=str(nm)) for i, nm in enumerate(names)],
               loc="outside right center", fontsize=8, title="class")
    fig.suptitle("segmentation")
    return fig


def activity_bars(activity: Mapping, *, fig: Figure | None = None) -> Figure:
    """Firing rate and Gini coefficient per layer, from :func:`spikes.activity`.

    Example:
        >>> fig = activity_bars(activity(record(model, x_test)))
    """
    if not isinstance(activity, Mapping) or not activity:
        raise TypeError("activity must be the non-empty dict spikes.activity() returns.")
    stats = list(activity.values())
    if not all(isinstance(s, _spikes.LayerActivity) for s in stats):
        raise TypeError("activity values must be LayerActivity (from spikes.activity()).")
    names = [s.name for s in stats]
    fig = _target_fig(fig, (max(6.0, 1.3 * len(names) + 3.0), 3.2))
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
        ax.set_ylim(0, 1.1)
        ax.set_ylabel("Gini" if field == "gini" else "firing rate")
        ax.set_title(title)
    return fig


# ----------------------------------------------------------------------------------------
# Notebook display of bare Figures (no pyplot needed)
# ----------------------------------------------------------------------------------------
def _register_notebook_display() -> None:
    """Let IPython show a returned Figure as a PNG even if pyplot was never imported."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency of ipywidgets
        return
    shell = get_ipython()
    if shell is None:
        return
    formatter = shell.display_formatter.formatters["image/png"]
    try:
        formatter.lookup_by_type(Figure)
    except KeyError:
        formatter.for_type(Figure, to_png)


_register_notebook_display()
