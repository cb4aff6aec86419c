"""Sphinx configuration of the course website (``make site``).

The source folder is the repository itself, so every page keeps the path it has on GitHub
and the links between them work unchanged. The pages: the README (the landing page), the
lessons in order, the workshop kit, the design note, the paper table, the benchmark reports
and the API reference (``docs/api.md``, from the docstrings). The lessons are rendered from
their stored outputs, never executed. Nothing is fetched at build time.

The repository URL lives in one place, ``[project.urls] Repository`` of ``pyproject.toml``:
set, every lesson gets a launch link (Binder, Colab) and a source link; unset, the pages
carry none (no dead buttons).
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from site_pages import (  # noqa: E402
    LANDING,
    include_patterns,
    landing_toctree,
    redirect_index,
    repository_url,
)

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())

project = "whetstone_lab"
author = "whetstone_lab contributors"
copyright = "the whetstone_lab contributors (MIT licence)"
release = PYPROJECT["project"]["version"]

# sphinx-mathjax-offline copies MathJax into the site: Sphinx would load it from a CDN.
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx-mathjax-offline"]
root_doc = LANDING
include_patterns = include_patterns(ROOT)
exclude_patterns = ["_build", ".venv*", "**/.ipynb_checkpoints"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# The stored outputs are what visitors read: never run a lesson here.
nb_execution_mode = "off"
# A dashboard's stored bundle holds a widget view and its PNG; without a kernel the widget
# view shows nothing, so the PNG goes first and the widget view is dropped.
nb_mime_priority_overrides = [
    ("html", "application/vnd.jupyter.widget-view+json", None),
    ("html", "image/png", 1),
]
# No widget manager scripts from a CDN: the site must load with no network.
nb_ipywidgets_js = {}
# README and lessons use ``$…$`` maths and HTML comments around quoted numbers.
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3
suppress_warnings = [
    # A lesson's first heading is its title; later "#" headings inside a lesson are fine.
    "myst.header",
]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "sphinx_book_theme"
html_title = "whetstone_lab: the Whetstone method in notebooks"
html_theme_options: dict = {"show_toc_level": 2, "use_download_button": True}
# The lessons' figures are drawn on white; without a default the theme's script logs an
# error on a reader's first visit ("Got invalid theme mode").
html_context = {"default_mode": "light"}
_url = repository_url(PYPROJECT)
if _url:
    html_theme_options.update({
        "repository_url": _url,
        "repository_branch": "main",
        "path_to_docs": "",
        "use_repository_button": True,
        "use_source_button": True,
        "launch_buttons": {"binderhub_url": "https://mybinder.org",
                           "colab_url": "https://colab.research.google.com",
                           "notebook_interface": "jupyterlab"},
    })
else:
    html_theme_options.update({"use_repository_button": False, "use_source_button": False,
                               "use_issues_button": False, "use_edit_page_button": False,
                               "launch_buttons": {}})


def setup(app) -> None:
    # The README is the landing page; its hidden table of contents lists the other pages.
    app.connect("source-read", landing_toctree)
    app.connect("build-finished", redirect_index)
