"""The lessons in a real JupyterLab, in headless Chromium, as an attendee uses them.

Headless widget tests cannot show that the widget front-end extension is installed, that a
slider reaches the kernel and that the new picture reaches the page. Here JupyterLab runs
from this environment on a copy of the notebooks (fast mode, isolated Jupyter directories),
each notebook is run from the *Run* menu, and the sharpness slider of lesson 01 is moved
from the keyboard. The sharpness dashboards of the classification (02), autoencoder (05)
and segmentation (06) lessons are driven too: each lesson runs up to its first cell calling
``sharpness_explorer``, then the slider is moved and Play pressed, and the picture must
change. Neither the page nor the browser console may show an error.

The dashboards' rough edges each have a test: lesson 03's per-layer dashboard is dragged
with the mouse (press, many small moves, release) and every slider must settle where it
was released, no slider but the dragged one sending values back; ▶ and ■ have tooltips and
a label; a typed "3.7" is refused by the sample box; on a 1920 × 1080 and a 1366 × 768
screen every picture is shown at most at its natural size, within the column and with its
aspect ratio, and each dashboard of lessons 02, 03 (per layer too), 05 and 06 and lesson
00's live training view fits in 600 px of height (the sizes go to dashboard_layout.json).
The time from a slider step to its new picture while dragging and the wall time of a Play
sweep are measured and written to dashboard_timings.json, not asserted.

Screenshots land in ``test-artifacts/browser/``. With ``WHETSTONE_DOCS_SCREENSHOT=1`` the
picture of the lab in use is also written to ``docs/images/lab_screenshot.png`` and each
dashboard to ``docs/images/dashboard_<task>.png``.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from browser_helpers import (
    ARTIFACTS,
    DASHBOARD_CALL,
    browser_unavailable_reason,
    cell_durations,
    changed_pixel_fraction,
    collect_console_errors,
    copy_notebooks,
    dashboard_times,
    drag_and_time,
    drag_slider,
    finish_through_cell,
    first_cell_calling,
    isolated_environment,
    lab_server,
    move_slider_with_keyboard,
    notebook_cell,
    output_layout,
    output_with_slider,
    picture_problems,
    play_button,
    play_for,
    record_dashboard_times,
    record_widget_messages,
    save_notebook,
    scroll_to_cell_of,
    settled_values,
    slider_labelled,
    slider_value,
    start_run_above,
    start_run_all,
    stop_process,
    visible_errors,
    wait_for_new_image,
    wait_for_notebook,
    wait_for_run,
    widget_messages,
)
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
WELCOME = "00_welcome.ipynb"
ACTIVATION = "01_the_sharpening_activation.ipynb"
#: The lessons whose sharpness dashboards are driven, by the task they show.
DASHBOARDS = {
    "classification": "02_dense_classifier.ipynb",
    "autoencoder": "05_spiking_autoencoder.ipynb",
    "segmentation": "06_spiking_segmentation.ipynb",
}
#: Lesson 03 shows a dashboard with one slider per layer too.
PER_LAYER = "03_convolutional_classifier.ipynb"
PER_LAYER_CALL = "per_layer=True"
#: The screens the dashboards must suit: a small laptop's and a full-HD monitor's.
SMALL_SCREEN = {"width": 1366, "height": 768}
WIDE_SCREEN = {"width": 1920, "height": 1080}
#: A dashboard's output (controls, verdict, pictures, curve) fits in this height on the
#: small screen, whose lab shows about 647 px of notebook.
MAX_DASHBOARD_HEIGHT = 600
DOCS_SCREENSHOT = REPO / "docs" / "images" / "lab_screenshot.png"
VIEWPORT = {"width": 1400, "height": 900}

# Bounded waits (seconds), generous enough for a busy two-core machine.
OPEN_TIMEOUT_S = 180
RUN_TIMEOUT_S = 240
REDRAW_TIMEOUT_S = 30


class Phases:
    """Seconds since the module started, per phase, in ``test-artifacts/browser/phases.txt``."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "phases.txt").write_text("")

    def mark(self, what: str) -> None:
        with open(ARTIFACTS / "phases.txt", "a") as out:
            out.write(f"{time.monotonic() - self.start:7.1f} s  {what}\n")


@pytest.fixture(scope="module")
def phases() -> Phases:
    return Phases()


@pytest.fixture(scope="module")
def lab(tmp_path_factory, phases):
    """JupyterLab on a temporary copy of the lessons, stopped at the end of the module."""
    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lab")
    root = copy_notebooks(NOTEBOOKS, tmp / "notebooks",
                          [WELCOME, ACTIVATION, *DASHBOARDS.values(), PER_LAYER])
    with lab_server(root, tmp / "jupyter", env={"WHETSTONE_FAST": "1"}) as server:
        phases.mark("JupyterLab answers")
        yield server
    phases.mark("JupyterLab stopped")


@pytest.fixture(scope="module")
def browser(lab, chromium):
    """The module's Chromium, once JupyterLab answers."""
    return chromium


@pytest.fixture(scope="module")
def lessons(lab, browser, phases):
    """Lessons 00 and 01, each in its own browser window, both started with Run All Cells.

    Both kernels run at once, one per core, which keeps the module within its time budget.
    Each window's last state is saved as a screenshot (what to look at when a test fails),
    and the kernels are shut down at the end.
    """
    pages = {}
    try:
        for name in (WELCOME, ACTIVATION):
            # Separate contexts: each window has its own storage and so its own workspace.
            pages[name] = browser.new_context(viewport=VIEWPORT).new_page()
            pages[name].console_errors = collect_console_errors(pages[name])
            # Only wait for the response: both windows then load the lab at the same time.
            pages[name].goto(lab.notebook_url(name), wait_until="commit")
        for name, page in pages.items():
            wait_for_notebook(page, timeout_s=OPEN_TIMEOUT_S)
            start_run_all(page)
            phases.mark(f"{name}: shown, kernel idle, Run All Cells clicked")
        yield pages
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for name, page in pages.items():
            try:
                (ARTIFACTS / f"{Path(name).stem}-console.txt").write_text(
                    "\n".join(page.console_errors) + "\n"
                )
                page.screenshot(path=ARTIFACTS / f"{Path(name).stem}-last.png")
            finally:
                page.context.close()
        lab.shut_down_kernels()
        phases.mark("kernels shut down")


def write_timing(name: str, notebook: dict) -> None:
    """Per-cell run times into the artifacts: where the time of a slow lesson goes."""
    timed = cell_durations(notebook)
    lines = [f"{name}: {sum(t for t, _ in timed):.1f} s in {len(timed)} timed code cells"]
    lines += [f"{seconds:7.1f} s  {line}" for seconds, line in timed]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"{Path(name).stem}-timing.txt").write_text("\n".join(lines) + "\n")


def check_run(page, lab, name: str, phases: Phases) -> None:
    """Wait for the run of ``name`` to finish, and check that every cell ran cleanly."""
    executed = wait_for_run(page, timeout_s=RUN_TIMEOUT_S)
    phases.mark(f"{name}: run finished")
    assert visible_errors(page) == [], f"{name} shows errors"
    # What the lab itself recorded: every code cell has an execution count, none an error.
    saved = save_notebook(page, lab.root / name)
    write_timing(name, saved)
    # An empty code cell (a learner's exercise cell) is skipped by the lab: not counted.
    code = [c for c in saved["cells"]
            if c["cell_type"] == "code" and "".join(c["source"]).strip()]
    assert executed == len(code), f"{name}: ran {executed} of {len(code)} code cells"
    assert all(isinstance(c["execution_count"], int) for c in code)
    assert [o for c in code for o in c["outputs"] if o["output_type"] == "error"] == []


@pytest.mark.browser
def test_welcome_notebook_runs_in_the_lab(lab, lessons, phases):
    page = lessons[WELCOME]
    check_run(page, lab, WELCOME, phases)
    # The lesson's figures (inline matplotlib) reached the page.
    assert page.locator(".jp-Notebook .jp-RenderedImage img").count() >= 1
    assert page.console_errors == []


@pytest.mark.browser
def test_sharpness_slider_redraws_the_activation_plot(lab, lessons, phases):
    page = lessons[ACTIVATION]
    check_run(page, lab, ACTIVATION, phases)
    output = output_with_slider(page, "sharpness")
    # The live widget is shown, not the static PNG stored next to it for other viewers.
    assert output.locator(".jp-RenderedImage").count() == 0
    assert output.locator("img").count() == 1
    slider = output.locator(".widget-slider").first
    image = output.locator("img.widget-image").first
    image.scroll_into_view_if_needed()
    before = image.screenshot()
    # The comparison can fail: an untouched picture screenshots identically.
    assert changed_pixel_fraction(before, image.screenshot()) == 0.0

    old_src = image.get_attribute("src")
    old_value, new_value = move_slider_with_keyboard(page, slider)
    wait_for_new_image(page, image, old_src, timeout_s=REDRAW_TIMEOUT_S)
    phases.mark(f"slider moved {old_value} -> {new_value}, plot redrawn")
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

    changed = changed_pixel_fraction(before, after)
    (ARTIFACTS / "slider.txt").write_text(
        f"sharpness {old_value} -> {new_value}: {changed:.2%} of the plot's pixels changed\n"
    )
    assert slider_value(slider) == new_value != old_value
    assert changed > 0.0, "the plot did not change"
    assert visible_errors(page) == []
    assert page.console_errors == []


@pytest.fixture(scope="module")
def dashboards(lab, browser, phases):
    """Lessons 02, 05 and 06, each in its own window, run up to their dashboard cell.

    All three run at once (in a full run the first two lessons are idle by then); each
    window's last state is saved as a screenshot.
    """
    pages, cells = {}, {}
    try:
        for task, name in DASHBOARDS.items():
            pages[task] = browser.new_context(viewport=VIEWPORT).new_page()
            pages[task].console_errors = collect_console_errors(pages[task])
            pages[task].goto(lab.notebook_url(name), wait_until="commit")
        index = {task: first_cell_calling(lab.root / name, DASHBOARD_CALL)
                 for task, name in DASHBOARDS.items()}
        for task, page in pages.items():
            wait_for_notebook(page, timeout_s=OPEN_TIMEOUT_S)
            start_run_above(page, index[task])
            phases.mark(f"{DASHBOARDS[task]}: running the cells above {index[task]}")
        for task, page in pages.items():
            cells[task] = finish_through_cell(page, index[task], timeout_s=2 * RUN_TIMEOUT_S)
            phases.mark(f"{DASHBOARDS[task]}: ran through cell {index[task]} (the dashboard)")
        yield {task: (pages[task], cells[task]) for task in pages}
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for task, page in pages.items():
            try:
                (ARTIFACTS / f"dashboard_{task}-console.txt").write_text(
                    "\n".join(page.console_errors) + "\n")
                page.screenshot(path=ARTIFACTS / f"dashboard_{task}-last.png")
            finally:
                page.context.close()


@pytest.mark.browser
@pytest.mark.parametrize("task", list(DASHBOARDS))
def test_dashboard_moves_plays_and_redraws(dashboards, phases, task):
    page, cell = dashboards[task]
    assert visible_errors(page) == [], f"{DASHBOARDS[task]} shows errors"
    output = cell.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-slider"))
    # The live widget: the overview is the last image, the score curve beside the controls.
    images = output.locator("img.widget-image")
    assert images.count() == 2, "expected the score curve and the network overview"
    image = images.last
    image.scroll_into_view_if_needed()
    slider = output.locator(".widget-slider").first
    before = image.screenshot()
    old_src = image.get_attribute("src")
    old_value, new_value = move_slider_with_keyboard(page, slider)
    wait_for_new_image(page, image, old_src, timeout_s=REDRAW_TIMEOUT_S)
    moved = image.screenshot()
    phases.mark(f"{task}: slider {old_value} -> {new_value}, overview redrawn")
    assert changed_pixel_fraction(before, moved) > 0.0, "the slider did not change the picture"

    value_before_play, src_before_play = slider_value(slider), image.get_attribute("src")
    play_for(page, output, seconds=4)
    wait_for_new_image(page, image, src_before_play, timeout_s=REDRAW_TIMEOUT_S)
    played = image.screenshot()
    phases.mark(f"{task}: Play swept {value_before_play} -> {slider_value(slider)}")
    assert slider_value(slider) != value_before_play, "Play did not move the slider"
    assert changed_pixel_fraction(moved, played) > 0.0, "Play did not change the picture"

    scroll_to_cell_of(output, margin_px=0)
    page.wait_for_timeout(300)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"dashboard_{task}.png"
    output.screenshot(path=shot)
    if os.environ.get("WHETSTONE_DOCS_SCREENSHOT") == "1":
        shutil.copyfile(shot, REPO / "docs" / "images" / f"dashboard_{task}.png")
    assert visible_errors(page) == []
    assert page.console_errors == []


def dashboard_output(page, cell):
    """The output of ``cell`` that holds its dashboard (the one with a slider)."""
    return cell.locator(".jp-OutputArea-output").filter(has=page.locator(".widget-slider"))


def record_layout(key: str, value) -> None:
    """Keep a measured layout in ``test-artifacts/browser/dashboard_layout.json``."""
    path = ARTIFACTS / "dashboard_layout.json"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = value
    path.write_text(json.dumps(data, indent=1) + "\n")


def fit_problems(page, output, name: str) -> list[str]:
    """Shown on the wide and the small screen: every picture at most its natural size,
    within the column, its aspect kept; on the small screen the whole output within
    MAX_DASHBOARD_HEIGHT. The measured sizes go into dashboard_layout.json."""
    problems, measured = [], {}
    for screen in (WIDE_SCREEN, SMALL_SCREEN):
        page.set_viewport_size(screen)
        page.wait_for_timeout(800)  # the lab lays its panels out again
        output.scroll_into_view_if_needed()
        layout = output_layout(output)
        where = f"{name} at {screen['width']} × {screen['height']}"
        measured[f"{screen['width']}x{screen['height']}"] = layout
        problems += picture_problems(layout, where)
        if screen is SMALL_SCREEN and layout["height"] > MAX_DASHBOARD_HEIGHT:
            problems.append(f"{where}: {layout['height']:.0f} px high "
                            f"(more than {MAX_DASHBOARD_HEIGHT})")
    record_layout(name, measured)
    return problems


@pytest.mark.browser
def test_play_buttons_are_labelled(dashboards):
    page, cell = dashboards["classification"]
    output = dashboard_output(page, cell)
    titles = {b.text_content().strip(): b.get_attribute("title")
              for b in output.locator("button").all()}
    play = [t for text, t in titles.items() if text.startswith("▶")]
    stop = [t for text, t in titles.items() if text.startswith("■")]
    assert play and play[0] and "sweep" in play[0], f"▶ has no tooltip: {titles}"
    assert stop and stop[0], f"■ has no tooltip: {titles}"
    assert output.get_by_text("sweep 0 → 1 → 0").first.is_visible()
    assert play_button(output).count() == 1


@pytest.mark.browser
def test_sample_box_takes_whole_numbers_only(dashboards):
    page, cell = dashboards["classification"]
    output = dashboard_output(page, cell)
    box = output.locator(".widget-inline-hbox").filter(
        has=page.locator(".widget-label").get_by_text("sample", exact=True)).locator("input")
    box.scroll_into_view_if_needed()
    shown = box.input_value()
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("3.7")  # typed, as a person does: the box must not make it 37
    page.keyboard.press("Enter")
    page.wait_for_timeout(1500)
    page.wait_for_function("() => /\\|\\s*Idle/.test("
                           "document.querySelector('#jp-main-statusbar').innerText)")
    text = output.inner_text()
    assert "sample #37" not in text and "sample #3:" not in text, text
    assert f"sample #{shown}" in text
    assert box.input_value() == shown
    assert "3.7" in text, f"no message names what was typed: {text}"
    box.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("3")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "([el]) => el.innerText.includes('sample #3:')", arg=[output.element_handle()],
        timeout=REDRAW_TIMEOUT_S * 1000)
    assert page.console_errors == []


@pytest.mark.browser
@pytest.mark.parametrize("task", list(DASHBOARDS))
def test_dashboard_fits_the_screen_with_pictures_at_natural_size(dashboards, task):
    page, cell = dashboards[task]
    problems = fit_problems(page, dashboard_output(page, cell), DASHBOARDS[task])
    page.set_viewport_size(VIEWPORT)
    assert problems == []


@pytest.mark.browser
def test_dashboard_timings_are_reported(dashboards, phases):
    """Median time from a slider step to its new picture while dragging, and the wall time
    of one Play sweep 0 → 1 → 0: measured and reported, not asserted (the machine's load
    decides them); written to dashboard_timings.json."""
    page, cell = dashboards["classification"]
    output = dashboard_output(page, cell)
    slider = output.locator(".widget-slider").first
    image = output.locator("img.widget-image").last
    load_before = os.getloadavg()

    def to_left_end():
        src = image.get_attribute("src")
        slider.locator(".noUi-handle").first.focus()
        page.keyboard.press("Home")
        if slider_value(slider) != 0.0:
            raise AssertionError(f"Home left the slider at {slider_value(slider)}")
        try:
            wait_for_new_image(page, image, src, timeout_s=REDRAW_TIMEOUT_S)
        except TimeoutError:
            pass  # it was there already

    to_left_end()
    latencies = drag_and_time(page, output, slider, steps=20)
    settled_values(page, [slider], quiet_s=1.0)
    drag_value = slider_value(slider)
    phases.mark(f"timed a drag of 20 steps to {drag_value}")

    to_left_end()
    readout = slider.locator(".widget-readout").first
    record_dashboard_times(output, readout)
    play_button(output).click()
    page.wait_for_function(
        "() => { const r = window.__dashboardTimes.readouts;"
        " const top = r.findIndex(x => x[1] === '1.00');"
        " return top >= 0 && r.slice(top).some(x => x[1] === '0.00'); }",
        timeout=120_000, polling=20)
    play_button(output).click()  # pause
    rec = dashboard_times(page)
    top = next(k for k, (_, v) in enumerate(rec["readouts"]) if v == "1.00")
    back = next(t for t, v in rec["readouts"][top:] if v == "0.00")
    sweep_s = (back - rec["clicks"][0]) / 1000
    phases.mark(f"timed a Play sweep: {sweep_s:.1f} s")

    done = sorted(x for x in latencies if x is not None)
    report = {
        "what": "lesson 02's dashboard in JupyterLab + headless Chromium: milliseconds from "
                "each mouse move of a 20-step drag (one slider step each) until its new "
                "pictures have arrived (the last change before 150 ms without one), and "
                "seconds of one Play sweep 0 → 1 → 0 (click to the readout back at 0.00)",
        "drag_steps": len(latencies),
        "drag_ms_per_step": [None if x is None else round(x, 1) for x in latencies],
        "drag_median_ms": round(done[len(done) // 2], 1) if done else None,
        "drag_steps_without_new_picture": sum(x is None for x in latencies),
        "drag_ended_at": drag_value,
        "play_sweep_s": round(sweep_s, 2),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "cpus": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "dashboard_timings.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    assert done, "no drag step brought a new picture"
    assert page.console_errors == []


@pytest.fixture(scope="module")
def per_layer_lesson(lab, browser, phases):
    """Lesson 03 on the small screen, run through its per-layer dashboard's cell."""
    page = browser.new_context(viewport=SMALL_SCREEN).new_page()
    page.console_errors = collect_console_errors(page)
    try:
        page.goto(lab.notebook_url(PER_LAYER), wait_until="commit")
        wait_for_notebook(page, timeout_s=OPEN_TIMEOUT_S)
        index = first_cell_calling(lab.root / PER_LAYER, PER_LAYER_CALL)
        start_run_above(page, index)
        cell = finish_through_cell(page, index, timeout_s=2 * RUN_TIMEOUT_S)
        phases.mark(f"{PER_LAYER}: ran through cell {index} (the per-layer dashboard)")
        yield page, cell
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        try:
            (ARTIFACTS / "dashboard_per_layer-console.txt").write_text(
                "\n".join(page.console_errors) + "\n")
            page.screenshot(path=ARTIFACTS / "dashboard_per_layer-last.png")
        finally:
            page.context.close()


@pytest.mark.browser
def test_per_layer_sliders_keep_the_value_where_they_are_released(per_layer_lesson, phases):
    page, cell = per_layer_lesson
    output = dashboard_output(page, cell)
    sliders = output.locator(".widget-slider")
    everything = slider_labelled(output, "all layers")
    layers = [sliders.nth(k) for k in range(1, sliders.count())]
    names = [s.locator(".widget-label").first.text_content().strip() for s in layers]
    assert len(layers) >= 2, names
    score = output.get_by_text("layer sharpness:").first

    def layer_text():  # the kernel's own account: each layer's sharpness by name
        return score.text_content().split("layer sharpness:")[-1]

    readout = everything.locator(".widget-readout").first
    for end in (0.0, 1.0, 0.0, 1.0):  # a real drag, many small moves, past the end
        record_widget_messages(page)
        record_dashboard_times(output, readout)
        drag_slider(page, everything, -0.1 if end == 0.0 else 1.1, steps=60, pause_ms=15)
        values = settled_values(page, [everything, *layers])
        phases.mark(f"per-layer: dragged 'all layers' to {end}, settled at {values}")
        assert values == [end] * (1 + len(layers)), (
            f"dragged to {end}: 'all layers' and {names} settled at {values}")
        assert layer_text().count(f"{end:.2f}") == len(layers), layer_text()
        # Only the dragged slider spoke to the kernel: no layer slider sent back a value
        # the kernel had set (such an echo, arriving late, pulled the sliders back) ...
        sent = widget_messages(page)
        senders = {comm for _, comm, _ in sent}
        assert len(senders) == 1, (
            f"while 'all layers' was dragged to {end}, {len(senders) - 1} other sliders "
            f"sent values back: {[(comm[:6], value) for _, comm, value in sent]}")
        # ... and its number never jumped backwards.
        shown = [float(v) for _, v in dashboard_times(page)["readouts"]]
        backwards = [(a, b) for a, b in zip(shown, shown[1:], strict=False)
                     if (b - a) * (end - 0.5) < -1e-9]
        assert backwards == [], f"dragging to {end}, the readout jumped back: {shown}"

    last = layers[-1]
    released = drag_slider(page, last, 0.4, steps=20)
    values = settled_values(page, [everything, *layers])
    phases.mark(f"per-layer: {names[-1]} released at {released}, settled at {values}")
    assert values[-1] == released, f"{names[-1]} released at {released}, settled at {values}"
    assert values[1:-1] == [1.0] * (len(layers) - 1)
    assert f"{names[-1]} {released:.2f}" in layer_text()
    mean = sum(values[1:]) / len(layers)
    assert abs(values[0] - mean) <= 0.025 + 1e-9, f"'all layers' {values[0]}, mean {mean}"
    assert visible_errors(page) == []
    assert page.console_errors == []


@pytest.mark.browser
def test_lesson_03_dashboards_fit_the_screen(per_layer_lesson, lab):
    page, cell = per_layer_lesson
    first = notebook_cell(page, first_cell_calling(lab.root / PER_LAYER, DASHBOARD_CALL))
    problems = fit_problems(page, dashboard_output(page, first), PER_LAYER)
    problems += fit_problems(page, dashboard_output(page, cell), f"{PER_LAYER} per layer")
    assert problems == []


@pytest.mark.browser
def test_live_training_view_fits_the_screen(lab, lessons):
    page = lessons[WELCOME]
    wait_for_run(page, timeout_s=RUN_TIMEOUT_S)
    cell = notebook_cell(page, first_cell_calling(lab.root / WELCOME, "LiveTraining("))
    output = cell.locator(".jp-OutputArea-output").filter(has=page.locator("img.widget-image"))
    assert output.count() == 1
    problems = fit_problems(page, output, f"{WELCOME} live view")
    page.set_viewport_size(VIEWPORT)
    assert problems == []


# --- The harness itself (no browser needed) -------------------------------------------------


def _png(size=(8, 8), dot=None) -> bytes:
    picture = Image.new("RGB", size, "white")
    if dot is not None:
        picture.putpixel(dot, (0, 0, 0))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def test_changed_pixel_fraction_counts_differing_pixels():
    assert changed_pixel_fraction(_png(), _png()) == 0.0
    assert changed_pixel_fraction(_png(), _png(dot=(3, 4))) == pytest.approx(1 / 64)
    assert changed_pixel_fraction(_png(), _png(size=(8, 9))) == 1.0


def test_isolated_environment_keeps_the_users_setup_out(tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PATH", "/somewhere/else")
    env = isolated_environment(tmp_path, {"WHETSTONE_FAST": "1"})
    assert "MPLBACKEND" not in env and "JUPYTER_PATH" not in env
    assert env["WHETSTONE_FAST"] == "1"
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR",
                 "JUPYTERLAB_SETTINGS_DIR", "JUPYTERLAB_WORKSPACES_DIR", "IPYTHONDIR"):
        assert Path(env[name]).parent == tmp_path, name
    news = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    assert json.loads((news / "notification.jupyterlab-settings").read_text()) == {
        "fetchNews": "false"
    }


def test_stop_process_kills_a_process_that_ignores_terminate():
    stubborn = subprocess.Popen(
        [sys.executable, "-c",
         "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
         "print('ready', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE,
    )
    try:
        assert stubborn.stdout.readline().strip() == b"ready"  # the handler is installed
        stop_process(stubborn, grace_s=0.5)
        assert stubborn.returncode == -signal.SIGKILL
    finally:
        if stubborn.poll() is None:
            stubborn.kill()
        stubborn.stdout.close()
    stop_process(stubborn)  # already gone: nothing to do, no error


def test_bad_input_is_refused_with_a_clear_message(tmp_path):
    with pytest.raises(ValueError, match="root must be an existing directory"):
        with lab_server(tmp_path / "missing", tmp_path):
            pass
    with pytest.raises(FileNotFoundError, match="01_the_sharpening_activation.ipynb"):
        copy_notebooks(tmp_path, tmp_path / "copy", [ACTIVATION])
    with pytest.raises(ValueError, match="fraction"):
        move_slider_with_keyboard(None, None, fraction=0)


def test_cell_durations_reads_the_labs_timing_metadata():
    def cell(source, start=None, end=None, kind="code"):
        timing = {"iopub.execute_input": start, "shell.execute_reply": end} if start else {}
        return {"cell_type": kind, "source": source, "metadata": {"execution": timing}}

    notebook = {"cells": [
        cell("fast()", "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:00.250Z"),
        cell(["slow()\n", "more()"], "2026-01-01T10:00:01.000Z", "2026-01-01T10:00:03.500Z"),
        cell("never_ran()"),
        cell("# a heading", kind="markdown"),
    ]}
    assert cell_durations(notebook) == [(2.5, "slow()"), (0.25, "fast()")]


def test_a_server_that_dies_at_start_is_reported_with_its_log(tmp_path, monkeypatch):
    # Stands in for a broken installation: the "Python" prints a complaint and exits.
    fake_python = tmp_path / "python"
    fake_python.write_text("#!/bin/sh\necho 'No module named jupyterlab' >&2\nexit 3\n")
    fake_python.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake_python))
    with pytest.raises(RuntimeError, match=r"(?s)exited with code 3.*No module named jupyterlab"):
        with lab_server(tmp_path, tmp_path / "jupyter", startup_timeout_s=30):
            pass
