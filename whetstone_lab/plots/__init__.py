"""Figures for the lessons: data in, :class:`matplotlib.figure.Figure` out.

Every function builds a new ``Figure`` (or draws into the ``ax``/``fig`` it is given) and
never touches pyplot's global state or calls ``plt.show()``; in a notebook the returned
Figure displays itself. Plots never run a model: they draw recordings and scores (from
:mod:`whetstone_lab.spikes` and :mod:`whetstone_lab.metrics`), and
:mod:`whetstone_lab.widgets` does the recording for the interactive views. Spikes always use
one colormap, :data:`SPIKE_CMAP`: white for exactly 0, black for exactly 1, greys for values
strictly in between (a ramp that is not yet sharp).

Modules, by what they draw:

* :mod:`~whetstone_lab.plots.figure`: shared machinery (new figures, PNG frames, blitting,
  colours);
* :mod:`~whetstone_lab.plots.activation`: the activation and its gradient;
* :mod:`~whetstone_lab.plots.rasters`: one layer's spikes (raster, feature maps, votes of
  towers);
* :mod:`~whetstone_lab.plots.network`: one input through the whole network;
* :mod:`~whetstone_lab.plots.curves`: training history, score against sharpness;
* :mod:`~whetstone_lab.plots.tasks`: reconstructions, segmentation, activity per layer;
* :mod:`~whetstone_lab.plots.schedules`: sharpness during training, layer by layer;
* :mod:`~whetstone_lab.plots.distributions`: activation histograms, Lorenz curves.

Three views keep their artists so the dashboards can update them in place instead of
redrawing: :class:`ActivationPlot`, :class:`NetworkOverview` and :class:`ScoreCurve`.
"""

from . import distributions, schedules
from .activation import ActivationPlot, activation, activation_family
from .curves import ScoreCurve, history, score_vs_sharpness
from .figure import (
    SPIKE_CMAP,
    SPIKE_NORM,
    BlitRenderer,
    freeze_layout,
    new_figure,
    register_notebook_display,
    to_png,
)
from .network import NetworkOverview, network_overview
from .rasters import spike_maps, spike_raster, tower_votes
from .tasks import activity_bars, reconstructions, segmentation

__all__ = [
    "distributions",
    "schedules",
    "SPIKE_CMAP",
    "SPIKE_NORM",
    "new_figure",
    "to_png",
    "freeze_layout",
    "BlitRenderer",
    "ActivationPlot",
    "activation",
    "activation_family",
    "spike_raster",
    "spike_maps",
    "tower_votes",
    "NetworkOverview",
    "network_overview",
    "history",
    "score_vs_sharpness",
    "ScoreCurve",
    "reconstructions",
    "segmentation",
    "activity_bars",
]

register_notebook_display()
