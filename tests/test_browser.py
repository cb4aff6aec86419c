"""The first two lessons in a real JupyterLab, in headless Chromium, as an attendee uses them.

Headless widget tests cannot show that the widget front-end extension is installed, that a
slider reaches the kernel and that the new picture reaches the page. Here JupyterLab runs
from this environment on a copy of the notebooks (fast mode, isolated Jupyter directories),
each notebook is run from the *Run* menu, and the sharpness slider of lesson 01 is moved
from the keyboard.

Screenshots land in ``test-artifacts/browser/``. With ``WHETSTONE_DOCS_SCREENSHOT=1`` the
picture of the lab in use is also written to ``docs/images/lab_screenshot.png``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from browser_helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    browser_unavailable_reason,
    cell_durations,
    changed_pixel_fraction,
    copy_notebooks,
    lab_server,
    move_slider_with_keyboard,
    output_with_slider,
    run_all_cells,
    save_notebook,
    scroll_to_cell_of,
    slider_value,
    visible_errors,
    wait_for_new_image,
    wait_for_notebook,
)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
WELCOME = "00_welcome.ipynb"
ACTIVATION = "01_the_sharpening_activation.ipynb"
ARTIFACTS = REPO / "test-artifacts" / "browser"
DOCS_SCREENSHOT = REPO / "docs" / "images" / "lab_screenshot.png"
VIEWPORT = {"width": 1400, "height": 900}

# Bounded waits (seconds); the whole module stays well under two minutes on two cores.
OPEN_TIMEOUT_S = 60
RUN_TIMEOUT_S = 90
REDRAW_TIMEOUT_S = 30


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a temporary copy of lessons 00 and 01, stopped at the end of the module."""
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lab")
    root = copy_notebooks(NOTEBOOKS, tmp / "notebooks", [WELCOME, ACTIVATION])
    with lab_server(root, tmp / "jupyter", env={"WHETSTONE_FAST": "1"}) as server:
        yield server


@pytest.fixture(scope="module")
def browser_context(lab):
    """One headless Chromium for the module; pages share its cache of the lab's scripts."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser.new_context(viewport=VIEWPORT)
        finally:
            browser.close()


@pytest.fixture
def page(lab, browser_context, request):
    """A fresh tab; its last state is saved as a screenshot, which helps when a test fails.

    Its kernels are shut down afterwards so the next notebook has the CPUs to itself.
    """
    tab = browser_context.new_page()
    try:
        yield tab
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            tab.screenshot(path=ARTIFACTS / f"{request.node.name}-last.png")
        finally:
            tab.close()
            lab.shut_down_kernels()


def write_timing(name: str, notebook: dict) -> None:
    """Per-cell run times into the artifacts: where the time of a slow lesson goes."""
    timed = cell_durations(notebook)
    lines = [f"{name}: {sum(t for t, _ in timed):.1f} s in {len(timed)} timed code cells"]
    lines += [f"{seconds:7.1f} s  {line}" for seconds, line in timed]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{Path(name).stem}-timing.txt").write_text("\n".join(lines) + "\n")


def open_and_run(page, lab, name: str) -> None:
    """Open notebook ``name``, Run → Run All Cells, and check that every cell ran cleanly."""
    page.goto(lab.notebook_url(name))
    wait_for_notebook(page, timeout_s=OPEN_TIMEOUT_S)
    executed = run_all_cells(page, timeout_s=RUN_TIMEOUT_S)
    assert visible_errors(page) == [], f"{name} shows errors"
    # What the lab itself recorded: every code cell has an execution count, none an error.
    saved = save_notebook(page, lab.root / name)
    write_timing(name, saved)
    code = [c for c in saved["cells"] if c["cell_type"] == "code"]
    assert executed == len(code), f"{name}: ran {executed} of {len(code)} code cells"
    assert all(isinstance(c["execution_count"], int) for c in code)
    assert [o for c in code for o in c["outputs"] if o["output_type"] == "error"] == []


def test_welcome_notebook_runs_in_the_lab(lab, page):
    open_and_run(page, lab, WELCOME)
    # The lesson's figures (inline matplotlib) reached the page.
    assert page.locator(".jp-Notebook .jp-RenderedImage img").count() >= 1


def test_sharpness_slider_redraws_the_activation_plot(lab, page):
    open_and_run(page, lab, ACTIVATION)
    output = output_with_slider(page, "sharpness")
    slider = output.locator(".widget-slider").first
    image = output.locator("img.widget-image").first
    image.scroll_into_view_if_needed()
    before = image.screenshot()
    # The comparison can fail: an untouched picture screenshots identically.
    assert changed_pixel_fraction(before, image.screenshot()) == 0.0

    old_src = image.get_attribute("src")
    old_value, new_value = move_slider_with_keyboard(page, slider)
    wait_for_new_image(page, image, old_src, timeout_s=REDRAW_TIMEOUT_S)
    after = image.screenshot()

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "slider_before.png").write_bytes(before)
    (ARTIFACTS / "slider_after.png").write_bytes(after)
    scroll_to_cell_of(output)
    page.wait_for_timeout(300)  # let the scrolled cells paint
    page.screenshot(path=ARTIFACTS / "lab_in_use.png")
    if os.environ.get("WHETSTONE_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ARTIFACTS / "lab_in_use.png", DOCS_SCREENSHOT)

    assert slider_value(slider) == new_value != old_value
    assert changed_pixel_fraction(before, after) > 0.0, "the plot did not change"
    assert visible_errors(page) == []
