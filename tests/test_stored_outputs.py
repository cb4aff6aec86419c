"""The stored lessons read well without a kernel (GitHub, nbviewer, ``nbconvert``, the course
website): every widget output carries a static picture next to its widget view, no saved
widget state makes a renderer wait for a widget manager, and every sharpness dashboard's
picture is the complete one (network, score curve, caption)."""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def widget_outputs(nb: nbformat.NotebookNode) -> list[tuple[int, dict]]:
    return [(i, out) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.outputs if WIDGET_VIEW in out.get("data", {})]


def blank_widget_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Why each widget output of ``nb`` would render blank without a kernel (empty: none)."""
    problems = []
    if WIDGET_STATE in nb.metadata.get("widgets", {}):
        problems.append("saved widget state: renderers try a widget manager, not the PNG")
    for i, out in widget_outputs(nb):
        png = out["data"].get("image/png")
        if not png:
            problems.append(f"cell {i}: a widget view with no image/png beside it")
            continue
        picture = Image.open(io.BytesIO(base64.b64decode(png)))
        flat = all(low == high for low, high in picture.convert("RGB").getextrema())
        if picture.width < 100 or picture.height < 100 or flat:
            problems.append(f"cell {i}: its image/png is an empty picture")
    return problems


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_stored_widget_output_renders_blank(lesson):
    assert blank_widget_outputs(nbformat.read(lesson, as_version=4)) == []


def test_the_check_finds_a_widget_view_without_a_picture():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output(
        "display_data", data={WIDGET_VIEW: {"model_id": "x", "version_major": 2,
                                            "version_minor": 0}, "text/plain": "VBox()"})])]
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {}}}
    assert len(blank_widget_outputs(nb)) == 2


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_each_sharpness_dashboard_stores_its_network_curve_and_caption(lesson):
    nb = nbformat.read(lesson, as_version=4)
    for i, out in widget_outputs(nb):
        if not "".join(out["data"].get("text/plain", "")).startswith("SharpnessExplorer"):
            continue
        picture = Image.open(io.BytesIO(base64.b64decode(out["data"]["image/png"])))
        caption = picture.info.get("Description", "")
        # global sharpness and mode, or each layer's sharpness (per-layer dashboards)
        assert re.search(r"sharpness (\d\.\d\d \((bottom-up|uniform)\)|\w+ \d\.\d\d)", caption), (
            f"{lesson.name} cell {i}: {caption!r}")
        assert re.search(r"(accuracy|mean IoU|MSE) \d", caption), f"{lesson.name} cell {i}"
        assert "sample #" in caption, f"{lesson.name} cell {i}: no sample verdict"


def test_nbconvert_shows_a_picture_for_every_stored_dashboard():
    """``jupyter nbconvert --to html``, offline: each widget output becomes an <img>."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter()
    for lesson in LESSONS:
        nb = nbformat.read(lesson, as_version=4)
        if not widget_outputs(nb):
            continue
        html, _ = exporter.from_notebook_node(nb)
        pngs = sum("image/png" in out.get("data", {}) for cell in nb.cells
                   if cell.cell_type == "code" for out in cell.outputs)
        shown = len(re.findall(r'<img\s[^>]*src="data:image/png;base64,', html))
        assert shown >= pngs, f"{lesson.name}: {shown} of {pngs} pictures in the HTML"
