"""Shared figure machinery: bare Agg figures, PNG rendering, blitting, colours and layouts.

Every plot module draws through these helpers, so all figures render without pyplot, use
one spike colormap and lay grids out the same way.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, LinearSegmentedColormap, ListedColormap, Normalize
from matplotlib.figure import Figure

from ..validation import check_number, describe

__all__ = [
    "SPIKE_CMAP",
    "SPIKE_NORM",
    "INPUT_CMAP",
    "ACCENT",
    "SHARPNESS_COLOR",
    "new_figure",
    "to_png",
    "freeze_layout",
    "BlitRenderer",
    "target_ax",
    "target_fig",
    "spike_image",
    "bare",
    "grid_shape",
    "as_grid",
    "mosaic",
    "as_image",
    "binary_note",
    "class_colors",
    "in_words",
    "register_notebook_display",
]

#: Exactly 0 → white (under), exactly 1 → black (over), 0 < a < 1 → light to dark grey.
SPIKE_CMAP = LinearSegmentedColormap.from_list("spikes", ["#dcdcdc", "#6e6e6e"]).with_extremes(
    under="white", over="black", bad="#f3e9d2"
)
#: Pairs with :data:`SPIKE_CMAP`: values outside (0, 1) fall on its under/over colours.
SPIKE_NORM = Normalize(vmin=1e-6, vmax=1.0 - 1e-6, clip=False)
#: Colormap of input images (0 white, 1 black).
INPUT_CMAP = "gray_r"
#: Threshold lines and the decoded class.
ACCENT = "#c0392b"
#: The sharpness schedule shaded behind training curves.
SHARPNESS_COLOR = "#7f8c8d"


# ----------------------------------------------------------------------------------------
# Figures and PNG frames
# ----------------------------------------------------------------------------------------
def new_figure(figsize) -> Figure:
    """A Figure with constrained layout and its own Agg canvas (no pyplot state touched)."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, *, dpi: float | None = None) -> bytes:
    """Render ``fig`` with Agg and return PNG bytes.

    Figures made by this package render straight from their Agg canvas with light PNG
    compression (fast enough for a slider); any other Figure goes through ``savefig``.

    Example:
        >>> png = to_png(activation(0.5))
        >>> png[:4]
        b'\\x89PNG'
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {describe(fig)}.")
    if dpi is not None:
        dpi = check_number(dpi, "dpi", minimum=0.0, min_open=True)
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
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {describe(fig)}.")
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
        fig: a Figure with an Agg canvas (every Figure made by this package has one).
        artists: the artists whose data, text or colour will change.
    """

    def __init__(self, fig: Figure, artists: Sequence):
        if not isinstance(fig, Figure):
            raise TypeError(f"fig must be a matplotlib Figure, got {describe(fig)}.")
        if not isinstance(fig.canvas, FigureCanvasAgg):
            raise TypeError("BlitRenderer needs a Figure with an Agg canvas (made by "
                            "whetstone_lab.plots or new_figure()).")
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


def target_ax(ax, figsize) -> tuple[Figure, Axes]:
    """``(figure, axes)`` to draw into: ``ax`` and its figure, or a new figure's only axes."""
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot()
    if not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes, got {describe(ax)}.")
    return ax.figure, ax


def target_fig(fig, figsize) -> Figure:
    """``fig`` cleared, or a new figure of ``figsize``."""
    if fig is None:
        return new_figure(figsize)
    if not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib Figure, got {describe(fig)}.")
    fig.clear()
    return fig


# ----------------------------------------------------------------------------------------
# Drawing helpers
# ----------------------------------------------------------------------------------------
def spike_image(ax: Axes, data, **kwargs):
    """``imshow`` of spikes in the spike colours (white 0, black 1, grey between)."""
    return ax.imshow(data, cmap=SPIKE_CMAP, norm=SPIKE_NORM, interpolation="nearest", **kwargs)


def bare(ax: Axes) -> None:
    """Remove the ticks of an image panel."""
    ax.set_xticks([])
    ax.set_yticks([])


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of a near-square grid holding ``n ≥ 1`` cells (rows ≤ columns)."""
    if n < 1:
        raise ValueError(f"a grid needs at least one cell, got {n}.")
    rows = int(math.floor(math.sqrt(n)))
    while rows > 1 and n % rows:
        rows -= 1
    if rows == 1 or n // rows > 4 * rows:  # awkward factors (primes): pad instead
        rows = int(math.floor(math.sqrt(n)))
    return rows, int(math.ceil(n / rows))


def as_grid(vector: np.ndarray) -> np.ndarray:
    """A 1-D vector of neurons laid out as a near-square image (padding is NaN)."""
    rows, cols = grid_shape(vector.size)
    grid = np.full(rows * cols, np.nan)
    grid[: vector.size] = vector
    return grid.reshape(rows, cols)


def mosaic(maps: np.ndarray, max_channels: int) -> np.ndarray:
    """The first ``max_channels`` channels of ``(h, w, c)`` tiled into one image (NaN gaps)."""
    h, w, c = maps.shape
    k = min(c, max_channels)
    rows, cols = grid_shape(k)
    out = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), np.nan)
    for i in range(k):
        r, q = divmod(i, cols)
        out[r * (h + 1): r * (h + 1) + h, q * (w + 1): q * (w + 1) + w] = maps[..., i]
    return out


def as_image(x: np.ndarray) -> np.ndarray:
    """An input sample as something ``imshow`` accepts: ``(h, w)`` or ``(h, w, 3)``."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3 and x.shape[-1] == 1:
        return x[..., 0]
    if x.ndim == 3 and x.shape[-1] in (3, 4):
        return np.clip(x, 0.0, 1.0)
    if x.ndim <= 1:
        return as_grid(x.ravel())
    if x.ndim == 2:
        return x
    return x[..., 0]


#: What a metric's or loss's name means, for axis labels (a reader sees no code).
METRIC_WORDS = {
    "accuracy": "accuracy (fraction correct)",
    "mse": "mean squared error per pixel",
    "mean_squared_error": "mean squared error per pixel",
    "mean_iou": "mean IoU (mask overlap, 0 to 1)",
    "iou": "IoU (mask overlap, 0 to 1)",
    "loss": "training loss (lower is better)",
    "sparse_categorical_crossentropy": "cross-entropy (nats)",
    "categorical_crossentropy": "cross-entropy (nats)",
    "binary_crossentropy": "binary cross-entropy (nats)",
}


def in_words(name: str) -> str:
    """``name`` as an axis label: a metric's words from :data:`METRIC_WORDS`, else itself
    with underscores as spaces (``"spiking_accuracy"`` → ``"spiking accuracy"``)."""
    return METRIC_WORDS.get(name, METRIC_WORDS.get(name.lower(), name.replace("_", " ")))


def binary_note(a: np.ndarray) -> str:
    """``"k of n spike"`` for binary spikes, ``"p% in ramp"`` otherwise (append an "s")."""
    a = np.asarray(a)
    if np.all((a == 0) | (a == 1)):
        return f"{int(a.sum())} of {a.size} spike"
    return f"{np.mean((a > 0) & (a < 1)):.0%} in ramp"


def class_colors(num_classes: int):
    """``(cmap, norm)`` giving each of ``num_classes`` integer classes a colour (0 near-black)."""
    base = matplotlib.colormaps["tab10" if num_classes <= 10 else "tab20"].colors
    cmap = ListedColormap(["#111111", *base[1:num_classes]] if num_classes <= 10
                          else base[:num_classes])
    return cmap, BoundaryNorm(np.arange(num_classes + 1) - 0.5, num_classes)


# ----------------------------------------------------------------------------------------
# Notebook display of bare Figures (no pyplot needed)
# ----------------------------------------------------------------------------------------
def register_notebook_display() -> None:
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
