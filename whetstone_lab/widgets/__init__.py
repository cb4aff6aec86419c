"""Interactive dashboards for JupyterLab 4 / ipywidgets 8: thin wiring over plots and spikes.

The plots (:mod:`whetstone_lab.plots`) only draw data; this package runs the models: it
records their spikes (:mod:`whetstone_lab.spikes`), scores them (:mod:`whetstone_lab.metrics`)
and hands the recordings to the plots. :func:`network_overview` does the same once, for a
static picture of a model.

Every dashboard keeps one matplotlib Figure per view. A control change updates the
artists' data in place, renders the Figure with Agg and puts the PNG bytes into an
``ipywidgets.Image``: that works in any front-end and is testable without a kernel. The
pictures are laid out for a notebook cell (about 950 px wide at 80 dpi, texts of 10 px or
more). Sharpness changes only assign the layers' sharpness variables, and the model is run
through the cached compiled function of :func:`whetstone_lab.spikes.recorder`, so nothing is
re-traced while a slider moves.

Live while dragging: the sharpness sliders report every move (``continuous_update=True``)
and a ``Play`` control sweeps the sharpness 0 → 1 → 0. Updates never pile up: the
ipywidgets front-end keeps at most one change per control in flight and, while the kernel
is busy, replaces the waiting change by the newest one, so each redraw shows the latest
value and a slow kernel skips values instead of queueing them; the dashboards also skip a
redraw when nothing changed.

Static fallback: a stored notebook opened where widgets cannot run (GitHub, nbviewer, a
notebook without its kernel) still needs a picture. Each dashboard therefore adds an
``image/png`` of its current view to its display data, next to the widget view; JupyterLab
shows the live widget, renderers without widget support show the PNG. The sharpness
dashboard's PNG is complete: the network picture and the score curve with its marker under a
caption (sharpness and mode, score, the sample's verdict). The stored notebooks carry no
saved widget state, which would make a renderer wait for a widget manager instead of showing
the PNG (``scripts/execute_notebooks.py`` strips it; ``tests/test_stored_outputs.py``
checks). To keep a later
state in the stored notebook, end a cell with ``explorer.snapshot()``, which returns the
current view as an independent Figure captioned "snapshot".

Example:
    >>> explorer = wl.widgets.sharpness_explorer(model, data.x_test[:256],
    ...                                          data.y_test[:256], class_names=data.class_names)
    >>> explorer                 # live in JupyterLab, a PNG on GitHub
    >>> explorer.slider.value = 1.0
    >>> explorer.snapshot()      # a static picture of the fully sharp network
"""

from .common import TASKS
from .overview import ActivationExplorer, LiveTraining, activation_explorer, network_overview
from .sharpness import SharpnessExplorer, sharpness_explorer

__all__ = [
    "network_overview",
    "ActivationExplorer",
    "activation_explorer",
    "SharpnessExplorer",
    "sharpness_explorer",
    "LiveTraining",
    "TASKS",
]
