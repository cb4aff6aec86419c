"""Does a figure say what it shows? The checks every lesson figure passes.

A reader without the code sees only the picture, so each figure must carry its own words:

* a title: the figure's ``suptitle``, or a title on every panel that holds data;
* both axes labelled, in words, on every panel that draws lines, bars or points with
  visible ticks (an image panel with ticks too: a raster's "neuron" and "sample" axes);
* a legend (on the panel, on a twin of it or on the figure) wherever a panel draws two or
  more lines or point sets, so that no line is left to guess;
* labels in words, not variable names: ``"mse"``, ``"mean_iou"`` or ``"loss"`` alone say
  what the code called a number, not what it is.

:func:`problems` lists what a figure lacks; ``scripts/execute_notebooks.py`` runs it on every
figure a lesson displays (through :func:`install`), so a stored lesson cannot carry a figure
that fails, and the plot tests run it on every helper's figure.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.container import BarContainer, ErrorbarContainer
from matplotlib.figure import Figure, SubFigure
from matplotlib.lines import Line2D

__all__ = ["problems", "install", "AUDIT_ENV"]

#: When set (to anything but "" or "0"), :func:`install` checks every figure rendered.
AUDIT_ENV = "WHETSTONE_AUDIT_FIGURES"

#: Axis labels that are a variable's name rather than words.
_RAW = re.compile(
    r"^(val_)?(loss|mse|mae|rmse|iou|mean_iou|acc|auc|lr|sharp|y|x|value|values|score)$",
    re.IGNORECASE,
)
_IDENTIFIER = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")


def _title(ax: Axes) -> str:
    return " ".join(ax.get_title(loc) for loc in ("left", "center", "right")).strip()


def _lines(ax: Axes) -> list:
    """Data lines and point sets: what a legend would have to name."""
    caps = {id(cap) for c in ax.containers if isinstance(c, ErrorbarContainer)
            for cap in c.lines[1]}  # an error bar's caps belong to its line
    drawn = [line for line in ax.get_lines() if id(line) not in caps and (
        len(line.get_xdata()) > 1 or line.get_marker() not in (None, "", "None", " "))]
    points = [c for c in ax.collections if isinstance(c, PathCollection) and len(c.get_offsets())]
    return drawn + points


def _has_data(ax: Axes) -> bool:
    return bool(_lines(ax) or ax.images or ax.patches or ax.containers or ax.collections)


def _shows_ticks(axis) -> bool:
    return axis.get_visible() and any(label.get_text() for label in axis.get_ticklabels())


def _is_colorbar(ax: Axes) -> bool:
    return getattr(ax, "_colorbar", None) is not None or ax.get_label() == "<colorbar>"


def _twins(ax: Axes, panels: list[Axes]) -> list[Axes]:
    """Panels drawn over the same box (``twinx``/``twiny``), ``ax`` included."""
    box = ax.get_position().bounds
    return [other for other in panels if other.get_position().bounds == box]


def _has_legend(ax: Axes, panels: list[Axes], fig: Figure) -> bool:
    """A legend on the panel or its twin, or one elsewhere naming all of its lines."""
    if fig.legends or any(other.get_legend() is not None for other in _twins(ax, panels)):
        return True
    named = {text.get_text() for other in panels if other.get_legend() is not None
             for text in other.get_legend().get_texts()}
    labels = {str(a.get_label()) for a in _lines(ax)}
    return bool(named) and not any(label.startswith("_") for label in labels) \
        and labels <= named


def _word_problem(text: str) -> str | None:
    text = text.strip()
    if _RAW.match(text) or _IDENTIFIER.match(text):
        return f"{text!r} is a variable's name: say it in words"
    return None


def _all_figures(fig: Figure) -> list[Figure | SubFigure]:
    return [fig, *fig.subfigs] if hasattr(fig, "subfigs") else [fig]


def problems(fig: Figure) -> list[str]:
    """What ``fig`` lacks to say what it shows (an empty list when nothing).

    Example:
        >>> fig = new_figure((3, 2)); ax = fig.add_subplot()
        >>> _ = ax.plot([0, 1], [0, 1])
        >>> problems(fig)[0]
        'no title: give the figure a suptitle or each panel a title'
    """
    panels = [ax for ax in fig.get_axes() if ax.get_visible() and not _is_colorbar(ax)]
    data = [ax for ax in panels if _has_data(ax)]
    if not data:
        return []
    found: list[str] = []
    suptitled = any(part._suptitle is not None and part._suptitle.get_text().strip()
                    for part in _all_figures(fig))
    untitled = [ax for ax in data if not any(_title(t) for t in _twins(ax, panels))]
    if not suptitled and untitled:
        found.append("no title: give the figure a suptitle or each panel a title"
                     if len(untitled) == len(data) else
                     f"{len(untitled)} of {len(data)} panels have no title and the figure no "
                     "suptitle")
    for index, ax in enumerate(data):
        name = _title(ax) or f"panel {index}"
        plotted = bool(_lines(ax) or ax.containers or ax.patches)
        if ax.axison and (plotted or ax.images):
            for axis, label, side in ((ax.xaxis, ax.get_xlabel(), "x"),
                                      (ax.yaxis, ax.get_ylabel(), "y")):
                if not _shows_ticks(axis):
                    continue
                twin_labels = [getattr(t, f"get_{side}label")() for t in _twins(ax, panels)]
                if not any(text.strip() for text in twin_labels):
                    found.append(f"{name!r}: the {side} axis has ticks but no label")
                elif label.strip() and (why := _word_problem(label)):
                    found.append(f"{name!r}: {side} axis {why}")
        many = len([a for a in _lines(ax) if not isinstance(a, Line2D)
                    or not _is_reference(a)]) + sum(
            isinstance(c, BarContainer) for c in ax.containers)
        if many >= 2 and not _has_legend(ax, panels, fig):
            found.append(f"{name!r}: {many} lines or point sets and no legend")
    return found


def _is_reference(line: Line2D) -> bool:
    """An unnamed horizontal or vertical guide: a separator, a threshold, a chance level."""
    xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    flat = np.ptp(xs) == 0 or np.ptp(ys) == 0
    return bool(flat) and str(line.get_label()).startswith("_")


def install() -> None:
    """Warn, naming what is missing, for every figure rendered from now on.

    ``scripts/execute_notebooks.py`` calls this in each lesson's kernel (when
    :data:`AUDIT_ENV` is set), and a stored lesson may carry no warning, so a figure that
    fails :func:`problems` keeps its lesson from being stored.
    """
    from matplotlib.backend_bases import FigureCanvasBase

    if getattr(FigureCanvasBase.print_figure, "_audited", False):
        return
    original = FigureCanvasBase.print_figure

    def print_figure(self, *args, **kwargs):
        found = problems(self.figure)
        if found:
            warnings.warn("figure does not say what it shows: " + "; ".join(found),
                          UserWarning, stacklevel=2)
        return original(self, *args, **kwargs)

    print_figure._audited = True
    FigureCanvasBase.print_figure = print_figure

