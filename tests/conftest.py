"""Shared test set-up: quiet TensorFlow, a headless matplotlib, the canonical digits split."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402


@pytest.fixture(scope="session")
def digits():
    import whetstone_lab as wl

    return wl.data.load("digits")


@pytest.fixture(scope="module")
def dense():
    """A small untrained dense classifier (64→32→16→40, 4 output neurons per class)."""
    import keras

    import whetstone_lab as wl

    keras.utils.set_random_seed(0)
    return wl.models.dense_classifier((8, 8, 1), hidden=(32, 16), neurons_per_class=4,
                                     towers=1)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    """The course website built once per session (``make site``'s command) into a temporary
    folder; tests/test_site.py checks its files and opens its pages in Chromium."""
    import time

    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    from site_helpers import build_site

    out = tmp_path_factory.mktemp("site")
    start, load = time.perf_counter(), os.getloadavg()[0]
    done = build_site(out)
    seconds = time.perf_counter() - start
    print(f"\nsite built in {seconds:.1f} s (load average {load:.2f} before the build)")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "WARNING" not in done.stderr, done.stderr[-4000:]
    return out / "html"


@pytest.fixture(scope="module")
def chromium():
    """One headless Chromium per test module (Playwright's sync API allows one at a time);
    skipped, with the reason, where the browser is not installed (``make browser``)."""
    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, browser_unavailable_reason

    reason = browser_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield launched
        finally:
            launched.close()


#: The longest work, first (``make test``'s durations): the browser module (about four
#: minutes), the lessons, then the modules that train the most.
_FIRST = ("tests/test_browser.py", "notebooks/", "tests/test_models.py", "tests/test_deploy.py",
          "tests/test_widgets.py", "tests/test_doctor.py", "tests/test_transforms.py")


def pytest_collection_modifyitems(config, items):
    """The longest work first. ``make test`` runs two workers (pytest-xdist, ``--dist
    loadscope --no-loadscope-reorder``): each module or notebook goes whole to one worker,
    in collection order, so the long ones start at once rather than last, while the other
    worker takes the short modules. The sort is stable: a notebook's cells and a module's
    tests keep their order."""

    def rank(item) -> int:
        path = item.nodeid.split("::")[0]
        return next((k for k, first in enumerate(_FIRST) if path.startswith(first)),
                    len(_FIRST))

    items.sort(key=rank)
