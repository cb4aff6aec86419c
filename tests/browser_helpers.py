"""Drive the lessons in JupyterLab with headless Chromium, the way a workshop attendee does.

Two halves:

* ``lab_server(root, workdir)`` starts JupyterLab from this environment's Python on
  127.0.0.1 with a fresh token, a free port and throw-away Jupyter directories, so nothing
  of the user's own set-up leaks in, and always stops it again by its process handle.
* Page helpers open a notebook, run it from the *Run* menu, wait for every cell to finish,
  move a slider from the keyboard and collect the errors a person would see.

Example::

    with lab_server(notebooks_copy, tmp_dir) as server:
        page.goto(server.notebook_url("00_welcome.ipynb"))
        wait_for_notebook(page)
        run_all_cells(page, timeout_s=60)
        assert visible_errors(page) == []
"""

from __future__ import annotations

import io
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CHROMIUM = Path("/usr/bin/chromium")
#: Screenshots and measurements of the browser tests (test_browser.py, test_site.py).
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
#: What a lesson's sharpness dashboard cell calls.
DASHBOARD_CALL = "sharpness_explorer("

# Headless and quiet: without the networking flags Chromium keeps dialling Google
# services, which only time out on a closed network and slow everything else down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# What an error looks like in the rendered notebook.
STDERR_SELECTOR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
WIDGET_ERROR_TEXTS = ("Error displaying widget", "model not found")

# Variables of the calling environment that would change how the server or kernel behaves.
_LEAKY_ENV = ("MPLBACKEND", "JUPYTER_PATH", "JUPYTER_CONFIG_PATH", "PYTHONSTARTUP")


def browser_unavailable_reason() -> str | None:
    """Why the browser test cannot run here, or ``None`` when it can.

    Example::

        reason = browser_unavailable_reason()
        if reason:
            pytest.skip(reason)
    """
    if not CHROMIUM.exists():
        return (
            f"{CHROMIUM} is missing; run `bash scripts/install_browser.sh` "
            "(installs Debian's chromium with apt-get)"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"the Python package 'playwright' is not importable: {exc}"
    return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now.

    Example::

        port = free_port()
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LabServer:
    """A running JupyterLab: where it listens, how to log in, where it writes its log."""

    port: int
    token: str
    root: Path
    log_path: Path
    process: subprocess.Popen

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, name: str) -> str:
        """The URL that opens notebook ``name`` (relative to the root) in JupyterLab.

        ``reset`` starts from an empty workspace, so tabs of earlier pages do not reopen.
        """
        return f"{self.base_url}/lab/tree/{name}?reset&token={self.token}"

    def shut_down_kernels(self) -> int:
        """Shut down every running kernel (frees CPU and memory between notebooks).

        Returns how many were running.
        """
        kernels = json.loads(self._api("GET", "/api/kernels"))
        # Each shutdown waits for its kernel to exit: ask all of them at once.
        with ThreadPoolExecutor(max_workers=max(1, len(kernels))) as pool:
            list(pool.map(lambda k: self._api("DELETE", f"/api/kernels/{k['id']}"), kernels))
        return len(kernels)

    def _api(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(
            f"{self.base_url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server's log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as exc:
            return f"(no server log: {exc})"
        return "\n".join(text.splitlines()[-lines:])


# No "fetch Jupyter news?" prompt: it would cover the notebook and the network is closed.
# Timing per cell goes into the saved notebook, so a slow lesson can be pinned to its cell.
_USER_SETTINGS = {
    "apputils-extension/notification": {"fetchNews": "false"},
    "notebook-extension/tracker": {"recordTiming": True},
}


def _write_user_settings(settings_dir: Path) -> None:
    for plugin, values in _USER_SETTINGS.items():
        target = settings_dir / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


def isolated_environment(workdir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: this one, minus anything that would leak the user's set-up.

    Jupyter's config, data, runtime, settings and workspace directories, and IPython's and
    matplotlib's, all point inside ``workdir``.

    Example::

        env = isolated_environment(tmp_path, {"WHETSTONE_FAST": "1"})
    """
    env = {k: v for k, v in os.environ.items() if k not in _LEAKY_ENV}
    dirs = {
        "JUPYTER_CONFIG_DIR": workdir / "config",
        "JUPYTER_DATA_DIR": workdir / "data",
        "JUPYTER_RUNTIME_DIR": workdir / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": workdir / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": workdir / "lab-workspaces",
        "IPYTHONDIR": workdir / "ipython",
        "MPLCONFIGDIR": workdir / "matplotlib",
    }
    for name, path in dirs.items():
        path.mkdir(parents=True, exist_ok=True)
        env[name] = str(path)
    _write_user_settings(dirs["JUPYTERLAB_SETTINGS_DIR"])
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    env.update(extra or {})
    return env


def _wait_until_up(server: LabServer, timeout_s: float) -> None:
    url = f"{server.base_url}/api/status?token={server.token}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"JupyterLab exited with code {server.process.returncode} before it was "
                f"ready. Log:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(
        f"JupyterLab did not answer on {server.base_url} within {timeout_s:.0f} s. "
        f"Log:\n{server.log_tail()}"
    )


def stop_process(process: subprocess.Popen, grace_s: float = 10.0) -> None:
    """Terminate ``process``, wait, and kill it if it does not go; never raises if it is gone.

    Example::

        stop_process(server.process)
    """
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=grace_s)


@contextmanager
def lab_server(
    root: Path,
    workdir: Path,
    *,
    env: dict[str, str] | None = None,
    startup_timeout_s: float = 60.0,
) -> Iterator[LabServer]:
    """Run JupyterLab on ``root`` for the duration of the ``with`` block.

    Args:
        root: directory the lab shows (its file browser root).
        workdir: scratch directory for Jupyter's own files and the server log.
        env: extra environment variables for the server and its kernels.
        startup_timeout_s: how long to wait for the server to answer.

    Example::

        with lab_server(Path("notebooks"), tmp_path, env={"WHETSTONE_FAST": "1"}) as lab:
            print(lab.notebook_url("00_welcome.ipynb"))
    """
    root = Path(root).resolve()
    if not root.is_dir():
        raise ValueError(f"root must be an existing directory, got {root}")
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(24)
    port = free_port()
    cmd = [
        sys.executable, "-m", "jupyter", "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log_path = workdir / "jupyterlab.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=root,
            env=isolated_environment(workdir, env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LabServer(port=port, token=token, root=root, log_path=log_path, process=process)
    try:
        _wait_until_up(server, startup_timeout_s)
        yield server
    finally:
        stop_process(process)


def copy_notebooks(source: Path, target: Path, names: list[str]) -> Path:
    """Copy the named notebooks (and nothing of the user's checkpoints) into ``target``.

    The lab then runs on the copy, so the committed notebooks are never modified.

    Example::

        root = copy_notebooks(Path("notebooks"), tmp_path / "nb", ["00_welcome.ipynb"])
    """
    missing = [name for name in names if not (source / name).is_file()]
    if missing:
        raise FileNotFoundError(f"notebooks missing in {source}: {', '.join(missing)}")
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy2(source / name, target / name)
    return target


# ---------------------------------------------------------------------------------------------
# Page helpers (Playwright's sync API). Every wait is bounded and says what it waited for.

_KERNEL_IDLE_JS = """() => {
    const status = document.querySelector('#jp-main-statusbar');
    return status !== null && /\\|\\s*Idle/.test(status.innerText);
}"""

# The notebook toolbar's execution indicator is "busy" while any cell is queued or running and
# afterwards reads "Executed N cells". Cells whose input is collapsed show no prompt, so the
# prompts alone cannot tell when a run is over.
_INDICATOR = ".jp-NotebookPanel-toolbar .jp-Notebook-ExecutionIndicator"

_RUN_FINISHED_JS = """(indicatorSelector) => {
    const indicator = document.querySelector(indicatorSelector);
    if (indicator === null || indicator.getAttribute('data-status') !== 'idle') return false;
    return /Executed \\d+ cells?/.test(indicator.textContent);
}"""


def collect_console_errors(page: Page) -> list[str]:
    """A list that fills with the page's console errors and uncaught exceptions.

    The widget manager reports views it cannot create there, even when the page shows
    nothing.

    Example::

        errors = collect_console_errors(page)
        ...
        assert errors == []
    """
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and not _kernel_listing_race(msg) else None)
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    return errors


def _kernel_listing_race(msg) -> bool:
    """Whether a console error is the lab's poll of the running kernels answered with a 500:
    jupyter_server's listing fails while another window's kernel is still starting (its
    ``last_activity`` not yet set: a TraitError in the server's log); the lab polls again and
    shows nothing. Every other failed resource still counts."""
    url = (msg.location or {}).get("url", "")
    return "status of 500" in msg.text and urllib.parse.urlsplit(url).path.endswith(
        "/api/kernels")


def wait_for_notebook(page: Page, timeout_s: float = 60.0) -> None:
    """Wait until the notebook is shown and its kernel has started and gone idle.

    Example::

        page.goto(server.notebook_url("00_welcome.ipynb"))
        wait_for_notebook(page)
    """
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout_s * 1000)
    try:
        page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_s * 1000)
    except Exception as exc:
        raise TimeoutError(
            f"the kernel did not report Idle within {timeout_s:.0f} s "
            f"(status bar: {_status_bar(page)!r})"
        ) from exc


def _status_bar(page: Page) -> str:
    return page.evaluate(
        "() => (document.querySelector('#jp-main-statusbar') || {innerText: ''}).innerText"
    ).replace("\n", " ")


def click_menu(page: Page, menu: str, item: str) -> None:
    """Click ``menu`` in the lab's menu bar, then its entry ``item``.

    Example::

        click_menu(page, "Run", "Run All Cells")
    """
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    entry = page.locator(".lm-Menu-content .lm-Menu-itemLabel").get_by_text(item, exact=True)
    entry.first.click()


def start_run_all(page: Page) -> None:
    """Run → Run All Cells, without waiting (see :func:`wait_for_run`).

    Example::

        start_run_all(page)
    """
    click_menu(page, "Run", "Run All Cells")


def wait_for_run(page: Page, timeout_s: float = 90.0) -> int:
    """Wait until the notebook's run is over and the kernel idle; return how many cells ran.

    The count is the notebook toolbar's "Executed N cells".

    Args:
        page: a page showing one notebook whose run was started.
        timeout_s: how long the run may take.

    Example::

        start_run_all(page)
        executed = wait_for_run(page, timeout_s=60)
    """
    try:
        page.wait_for_function(_RUN_FINISHED_JS, arg=_INDICATOR, timeout=timeout_s * 1000)
        page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_s * 1000)
    except Exception as exc:
        raise TimeoutError(
            f"the notebook was still running after {timeout_s:.0f} s: toolbar "
            f"{page.locator(_INDICATOR).first.text_content()!r}, status bar "
            f"{_status_bar(page)!r}, errors so far {visible_errors(page)}"
        ) from exc
    text = page.locator(_INDICATOR).first.text_content()
    return int(re.search(r"Executed (\d+) cells?", text).group(1))


def run_all_cells(page: Page, timeout_s: float = 90.0) -> int:
    """Run → Run All Cells and wait for the run to finish; return how many cells ran.

    Example::

        executed = run_all_cells(page, timeout_s=60)
    """
    start_run_all(page)
    return wait_for_run(page, timeout_s)


def save_notebook(page: Page, path: Path, timeout_s: float = 30.0) -> dict:
    """File → Save Notebook, and return the notebook's JSON once ``path`` has changed.

    Example::

        saved = save_notebook(page, server.root / "00_welcome.ipynb")
    """
    before = path.stat().st_mtime_ns
    click_menu(page, "File", "Save Notebook")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.stat().st_mtime_ns != before:
            try:
                return json.loads(path.read_text())
            except json.JSONDecodeError:
                pass  # caught mid-write
        time.sleep(0.2)
    raise TimeoutError(f"{path.name} was not saved within {timeout_s:.0f} s")


def visible_errors(page: Page) -> list[str]:
    """Error messages a reader would see in the open notebook: tracebacks, broken widgets.

    Example::

        assert visible_errors(page) == []
    """
    # Exceptions render as stderr outputs holding a traceback; warnings on stderr are fine.
    errors = [
        text.strip()[:2000]
        for text in page.locator(f".jp-Notebook {STDERR_SELECTOR}").all_text_contents()
        if "Traceback" in text
    ]
    # A widget whose model the front-end cannot find renders as an error message instead.
    errors += [
        text.strip()[:2000]
        for text in page.locator(".jp-Notebook .jp-OutputArea-output").all_text_contents()
        if any(marker in text for marker in WIDGET_ERROR_TEXTS)
    ]
    return errors


def output_with_slider(page: Page, label: str) -> Locator:
    """The output area holding the slider whose description is ``label`` (exactly one).

    Example::

        output = output_with_slider(page, "sharpness")
        image = output.locator("img.widget-image").first
    """
    # Locators passed as ``has`` match inside the outer element, so they stay unanchored.
    slider = page.locator(".widget-slider").filter(
        has=page.locator(".widget-label").get_by_text(label, exact=True)
    )
    count = page.locator(".jp-Notebook").locator(slider).count()
    if count != 1:
        labels = page.locator(".jp-Notebook .widget-slider .widget-label").all_text_contents()
        raise LookupError(
            f"expected one slider labelled {label!r}, found {count}; slider labels on the "
            f"page: {labels}"
        )
    return page.locator(".jp-Notebook .jp-OutputArea-output").filter(has=slider)


def slider_value(slider: Locator) -> float:
    """The value the slider shows: its readout, else its handle's ``aria-valuenow``.

    The readout comes first because ``aria-valuenow`` is rounded to one decimal.

    Example::

        assert slider_value(slider) == 0.75
    """
    readout = slider.locator(".widget-readout")
    if readout.count() and readout.first.is_visible():
        text = readout.first.text_content().strip()
        try:
            return float(text)
        except ValueError:
            pass  # a custom readout format such as "75%": fall back to the handle
    return float(slider.locator(".noUi-handle").get_attribute("aria-valuenow"))


def scroll_to_cell_of(element: Locator, margin_px: int = 120) -> None:
    """Scroll the notebook so the cell holding ``element`` is near the top, with the text
    just above it (``margin_px``) still in view: the framing a reader would choose.

    Example::

        scroll_to_cell_of(output_with_slider(page, "sharpness"))
    """
    element.evaluate(
        """(el, margin) => {
            const cell = el.closest('.jp-Cell');
            cell.scrollIntoView({block: 'start'});
            const scroller = cell.closest('.jp-WindowedPanel-outer');
            if (scroller) scroller.scrollBy(0, -margin);
        }""",
        margin_px,
    )


def move_slider_with_keyboard(
    page: Page, slider: Locator, fraction: float = 0.25, max_presses: int = 40
) -> tuple[float, float]:
    """Focus the slider's handle and press Page Up/Down until it moved ``fraction`` of its range.

    Each press moves five steps, as in any keyboard-driven slider, so a visible change
    costs a few redraws rather than dozens.

    Args:
        page: the page holding the slider.
        slider: an ipywidgets slider (``.widget-slider``).
        fraction: how far to move, as a fraction of the slider's range, in (0, 1].
        max_presses: give up after this many key presses.

    Returns:
        ``(old_value, new_value)``; it moves towards the farther end of the range.

    Example::

        old, new = move_slider_with_keyboard(page, output.locator(".widget-slider"))
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    handle = slider.locator(".noUi-handle")
    low = float(handle.get_attribute("aria-valuemin"))
    high = float(handle.get_attribute("aria-valuemax"))
    start = slider_value(slider)
    key = "PageUp" if start - low <= high - start else "PageDown"
    handle.focus()
    value = start
    for _ in range(max_presses):
        page.keyboard.press(key)
        value = slider_value(slider)
        if abs(value - start) >= fraction * (high - low):
            break
    if value == start:
        raise AssertionError(f"the slider did not move with {key} (stuck at {start})")
    return start, value


def wait_for_new_image(
    page: Page, image: Locator, old_src: str, timeout_s: float = 30.0, settle_s: float = 1.0
) -> str:
    """Wait until ``image`` shows a new picture and has stopped changing; return its ``src``.

    Each key press may trigger its own redraw, so the last one counts: the picture must
    keep the same source for ``settle_s`` with the kernel idle.

    Args:
        page: the page holding the image.
        image: an ``<img>`` (an ipywidgets ``Image`` shows its PNG as a blob URL).
        old_src: its ``src`` before the change.
        timeout_s: bound for the change and, again, for it to settle.
        settle_s: how long the picture must stay the same.

    Example::

        src = wait_for_new_image(page, image, image.get_attribute("src"))
    """
    try:
        page.wait_for_function(
            "([el, old]) => el.getAttribute('src') !== old",
            arg=[image.element_handle(), old_src],
            timeout=timeout_s * 1000,
        )
    except Exception as exc:
        raise TimeoutError(
            f"the image did not change within {timeout_s:.0f} s after moving the slider "
            f"(status bar {_status_bar(page)!r})"
        ) from exc
    deadline = time.monotonic() + timeout_s
    last, stable_since = image.get_attribute("src"), time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(200)
        current = image.get_attribute("src")
        if current != last:
            last, stable_since = current, time.monotonic()
        elif time.monotonic() - stable_since >= settle_s and page.evaluate(_KERNEL_IDLE_JS):
            return current
    raise TimeoutError(f"the image kept changing for {timeout_s:.0f} s after the slider moved")


def changed_pixel_fraction(png_a: bytes, png_b: bytes) -> float:
    """Fraction of pixels that differ between two PNG screenshots of the same size.

    Example::

        assert changed_pixel_fraction(before, after) > 0
    """
    a = np.asarray(Image.open(io.BytesIO(png_a)).convert("RGB"), dtype=np.int16)
    b = np.asarray(Image.open(io.BytesIO(png_b)).convert("RGB"), dtype=np.int16)
    if a.shape != b.shape:
        return 1.0  # a resized picture changed by definition
    return float(np.any(a != b, axis=-1).mean())


def cell_durations(notebook: dict) -> list[tuple[float, str]]:
    """``(seconds, first source line)`` of every timed code cell, slowest first.

    Needs the lab's ``recordTiming`` setting, which :func:`lab_server` turns on.

    Example::

        for seconds, line in cell_durations(save_notebook(page, path))[:3]:
            print(f"{seconds:6.1f} s  {line}")
    """
    timed = []
    for cell in notebook["cells"]:
        stamps = cell.get("metadata", {}).get("execution", {})
        start, end = stamps.get("iopub.execute_input"), stamps.get("shell.execute_reply")
        if cell["cell_type"] != "code" or not (start and end):
            continue
        seconds = (
            datetime.fromisoformat(end.replace("Z", "+00:00"))
            - datetime.fromisoformat(start.replace("Z", "+00:00"))
        ).total_seconds()
        source = "".join(cell["source"]).strip().splitlines() or [""]
        timed.append((seconds, source[0][:80]))
    return sorted(timed, reverse=True)


# ---------------------------------------------------------------------------------------------
# Dashboards: run a lesson up to its dashboard and drive the dashboard's controls.


def first_cell_calling(notebook_path: Path, call: str) -> int:
    """Index (among all cells) of the first code cell whose source contains ``call``.

    The lessons change while they are being written, so the dashboard is found by what its
    cell calls, never by a fixed position.

    Example::

        index = first_cell_calling(root / "02_dense_classifier.ipynb", "sharpness_explorer(")
    """
    index = cell_calling(notebook_path, call)
    if index is None:
        raise LookupError(f"no code cell of {Path(notebook_path).name} calls {call!r}")
    return index


def cell_calling(notebook_path: Path, call: str) -> int | None:
    """Like :func:`first_cell_calling`, but None where no code cell calls ``call``."""
    cells = json.loads(Path(notebook_path).read_text())["cells"]
    return next((i for i, cell in enumerate(cells)
                 if cell["cell_type"] == "code" and call in "".join(cell["source"])), None)


def notebook_cell(page: Page, index: int) -> Locator:
    """The ``index``-th cell (markdown and code alike) of the open notebook."""
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def select_cell(page: Page, index: int) -> Locator:
    """Select cell ``index`` in command mode (a click on its prompt) and return it."""
    cell = notebook_cell(page, index)
    cell.scroll_into_view_if_needed()
    cell.locator(".jp-InputPrompt").first.click()
    return cell


def start_run_above(page: Page, index: int) -> None:
    """Select cell ``index`` and start *Run All Above Selected Cell*, without waiting.

    Example::

        start_run_above(page, index)
        cell = finish_through_cell(page, index)
    """
    select_cell(page, index)
    click_menu(page, "Run", "Run All Above Selected Cell")


def finish_through_cell(page: Page, index: int, timeout_s: float = 240.0) -> Locator:
    """Wait for the run started by :func:`start_run_above`, then run cell ``index`` itself.

    Returns the cell once its widget is shown and the kernel is idle. Cells below it never
    run, so a lesson's later, slower cells cost no time.
    """
    wait_for_run(page, timeout_s=timeout_s)
    errors = visible_errors(page)
    if errors:
        raise AssertionError(f"a cell above cell {index} failed: {errors}")
    cell = select_cell(page, index)
    page.keyboard.press("Control+Enter")  # run the selected cell, stay on it
    cell.locator(".widget-slider").first.wait_for(state="visible", timeout=timeout_s * 1000)
    page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout_s * 1000)
    return cell


def run_through_cell(page: Page, index: int, timeout_s: float = 240.0) -> Locator:
    """Run every cell above cell ``index``, then that cell; return the cell once it is shown.

    Example::

        cell = run_through_cell(page, first_cell_calling(path, "sharpness_explorer("))
    """
    start_run_above(page, index)
    return finish_through_cell(page, index, timeout_s)


def play_for(page: Page, output: Locator, seconds: float) -> None:
    """Press the ``Play`` control of ``output``, let it run ``seconds``, then pause it.

    Example::

        play_for(page, cell.locator(".jp-OutputArea-output").first, 3)
    """
    play = play_button(output)  # play, and pause when playing
    play.click()
    page.wait_for_timeout(seconds * 1000)
    play.click()


def play_button(output: Locator) -> Locator:
    """The dashboard's play/pause button (the one whose tooltip starts "play")."""
    return output.locator("button[title^='play']").first


# ---------------------------------------------------------------------------------------------
# Dashboards as a learner meets them: a real mouse drag, what fits on the screen, timings.


def slider_labelled(scope: Locator, label: str) -> Locator:
    """The ipywidgets slider inside ``scope`` whose description is ``label``.

    Example::

        global_slider = slider_labelled(output, "all layers")
    """
    return scope.locator(".widget-slider").filter(
        has=scope.page.locator(".widget-label").get_by_text(label, exact=True)
    )


def drag_slider(page: Page, slider: Locator, to_fraction: float, steps: int = 40,
                pause_ms: int = 25) -> float:
    """Drag the slider's handle with the mouse, as a person does: press on the handle, move
    in ``steps`` small moves to ``to_fraction`` of the track (0 = left end, 1 = right end;
    beyond either end overshoots, as a hand does), release. Returns the readout at release.

    Example::

        released = drag_slider(page, slider, 1.0)
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    track = slider.locator(".noUi-target").first.bounding_box()
    box = handle.bounding_box()
    x0, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    x1 = track["x"] + to_fraction * track["width"]
    page.mouse.move(x0, y)
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * k / steps, y)
        page.wait_for_timeout(pause_ms)
    released = slider_value(slider)
    page.mouse.up()
    return released


def settled_values(page: Page, sliders: list[Locator], quiet_s: float = 3.0,
                   timeout_s: float = 60.0) -> list[float]:
    """The sliders' readouts once they have not changed for ``quiet_s`` with the kernel idle.

    Example::

        assert settled_values(page, [slider]) == [1.0]
    """
    deadline = time.monotonic() + timeout_s
    last, since = None, time.monotonic()
    while time.monotonic() < deadline:
        values = [slider_value(s) for s in sliders]
        if values != last:
            last, since = values, time.monotonic()
        elif time.monotonic() - since >= quiet_s and page.evaluate(_KERNEL_IDLE_JS):
            return values
        page.wait_for_timeout(200)
    raise TimeoutError(f"the sliders kept moving for {timeout_s:.0f} s (last {last})")


_LAYOUT_JS = """el => {
    const box = el.getBoundingClientRect();
    return {
        height: box.height, width: box.width, right: box.right,
        images: [...el.querySelectorAll('img')].map(i => {
            const b = i.getBoundingClientRect();
            return {width: b.width, height: b.height, right: b.right,
                    natural_width: i.naturalWidth, natural_height: i.naturalHeight};
        }),
    };
}"""


def output_layout(output: Locator) -> dict:
    """Size of an output area and of every picture in it, as the browser lays them out:
    ``{"height", "width", "right", "images": [{"width", "height", "right",
    "natural_width", "natural_height"}]}`` in CSS pixels.

    Example::

        layout = output_layout(cell.locator(".jp-OutputArea-output").first)
    """
    return output.evaluate(_LAYOUT_JS)


def picture_problems(layout: dict, where: str) -> list[str]:
    """What is wrong with the pictures of ``layout`` (see :func:`output_layout`): shown
    wider than their natural size (stretched, blurry), wider than the column, or with
    their aspect ratio changed.

    Example::

        assert picture_problems(output_layout(output), "lesson 02") == []
    """
    problems = []
    for k, im in enumerate(layout["images"]):
        name = f"{where}: picture {k} ({im['natural_width']} × {im['natural_height']} px)"
        if not im["natural_width"]:
            problems.append(f"{name} not loaded")
            continue
        if im["width"] > im["natural_width"] + 1:
            problems.append(f"{name} stretched to {im['width']:.0f} px wide")
        if im["right"] > layout["right"] + 1:
            problems.append(f"{name} runs {im['right'] - layout['right']:.0f} px past "
                            "the column")
        natural = im["natural_width"] / im["natural_height"]
        shown = im["width"] / max(im["height"], 1e-9)
        if abs(shown / natural - 1) > 0.02:
            problems.append(f"{name} shown {im['width']:.0f} × {im['height']:.0f} px: "
                            "aspect ratio changed")
    return problems


_RECORD_JS = """([root, readout]) => {
    const rec = {changes: [], moves: [], readouts: [], clicks: []};
    window.__dashboardTimes = rec;
    const seen = new MutationObserver(() => rec.changes.push(performance.now()));
    root.querySelectorAll('img').forEach(
        i => seen.observe(i, {attributes: true, attributeFilter: ['src']}));
    if (readout) new MutationObserver(() => rec.readouts.push(
        [performance.now(), readout.textContent.trim()])).observe(
        readout, {childList: true, characterData: true, subtree: true});
    document.addEventListener('pointermove', () => rec.moves.push(performance.now()), true);
    document.addEventListener('click', () => rec.clicks.push(performance.now()), true);
}"""


def record_dashboard_times(output: Locator, readout: Locator | None = None) -> None:
    """Start recording, in the page, when ``output``'s pictures change, when the mouse
    moves, when anything is clicked and what ``readout`` shows (``performance.now()``
    milliseconds; read them with :func:`dashboard_times`).
    """
    output.page.evaluate(_RECORD_JS, [output.element_handle(),
                                      None if readout is None else readout.element_handle()])


def dashboard_times(page: Page) -> dict:
    """What :func:`record_dashboard_times` recorded so far."""
    return page.evaluate("() => window.__dashboardTimes")


def drag_and_time(page: Page, output: Locator, slider: Locator, steps: int = 20,
                  timeout_s: float = 30.0, quiet_ms: float = 150.0) -> list[float | None]:
    """Drag ``slider`` from its left end to its right end in ``steps`` mouse moves, each one
    slider step, waiting after each move until ``output``'s pictures have changed and then
    stayed the same for ``quiet_ms``; return the milliseconds from each move to the last
    picture change of that wait, when the step's pictures have all arrived (None: no
    change within ``timeout_s``).

    The slider should start at its left end (press Home on its handle first).
    """
    record_dashboard_times(output)
    handle = slider.locator(".noUi-handle").first
    handle.scroll_into_view_if_needed()
    track = slider.locator(".noUi-target").first.bounding_box()
    box = handle.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    latencies: list[float | None] = []
    for k in range(1, steps + 1):
        page.mouse.move(track["x"] + track["width"] * k / steps, y)
        try:
            page.wait_for_function(
                "(quiet) => { const r = window.__dashboardTimes,"
                " m = r.moves[r.moves.length - 1], after = r.changes.filter(t => t > m);"
                " return after.length > 0 && performance.now() - after[after.length - 1]"
                " > quiet; }",
                arg=quiet_ms, timeout=timeout_s * 1000, polling=10)
        except Exception:
            latencies.append(None)
            continue
        rec = dashboard_times(page)
        moved = rec["moves"][-1]
        latencies.append(max(t for t in rec["changes"] if t > moved) - moved)
    page.mouse.up()
    return latencies


_MESSAGES_JS = """() => {
    window.__widgetMessages = [];
    if (window.__widgetMessagesHooked) return;
    window.__widgetMessagesHooked = true;
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        try {
            const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
            const found = /"comm_id":\\s*"([^"]+)"[\\s\\S]*?"state":\\s*\\{"value":\\s*([^,}]+)/
                .exec(text);
            if (text.includes('comm_msg') && found)
                window.__widgetMessages.push([performance.now(), found[1], found[2]]);
        } catch (error) { /* not a message of ours */ }
        return send.call(this, data);
    };
}"""


def record_widget_messages(page: Page) -> None:
    """Start (again) recording every ``value`` the page sends to the kernel: read them with
    :func:`widget_messages` as ``[ms, comm id, value]``, in the order they were sent."""
    page.evaluate(_MESSAGES_JS)


def widget_messages(page: Page) -> list[list]:
    """What :func:`record_widget_messages` recorded since it was last called."""
    return page.evaluate("() => window.__widgetMessages")
