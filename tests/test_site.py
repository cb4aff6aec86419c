"""The course website (``make site``) builds offline from the stored lessons, warnings as
errors, and every page holds together: no broken internal link or missing image, each lesson
page with its quoted numbers, each dashboard as its stored picture, no dead launch buttons."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from browser_helpers import ARTIFACTS, DASHBOARD_CALL, cell_calling
from site_helpers import ROOT, broken_references, read_page, site_pages

pytest.importorskip("sphinx")
pytest.importorskip("myst_nb")

sys.path.insert(0, str(ROOT / "docs" / "site"))
import site_pages as pages  # noqa: E402

LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MARKER = re.compile(r"<!--[rb] [^>]*-->(.*?)<!--/[rb]-->", re.S)


@pytest.fixture(scope="module")
def site(built_site) -> Path:
    return built_site


def test_the_site_holds_every_page_in_order(site):
    assert (site / "index.html").is_file() and "README.html" in (site / "index.html").read_text()
    landing = read_page(site / "README.html")
    expected = [name for _, names in pages.section_pages(ROOT) for name in names]
    assert [f"notebooks/{p.stem}" for p in LESSONS] == expected[:len(LESSONS)]
    assert {"notebooks/README", "docs/design", "docs/paper", "docs/api"} <= set(expected)
    assert any(name.startswith("benchmarks/results/") for name in expected)
    for name in expected:
        assert (site / f"{name}.html").is_file(), name
        assert f"{name}.html" in landing.links, f"the landing page's contents lack {name}"
    # The lessons appear in the navigation in their order.
    order = [link for link in landing.links if link.startswith("notebooks/0")]
    firsts = list(dict.fromkeys(order))
    assert firsts == [f"notebooks/{p.stem}.html" for p in LESSONS]


def test_no_broken_internal_link_or_missing_image(site):
    assert broken_references(site) == []
    assert len(site_pages(site)) >= len(LESSONS) + 5


def test_the_api_reference_is_generated_from_the_docstrings(site):
    api = read_page(site / "docs" / "api.html")
    for name in ("whetstone_lab.layers.SpikingBReLU", "whetstone_lab.training.fit",
                 "whetstone_lab.widgets.sharpness_explorer"):
        assert name in api.ids, name


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_each_lesson_page_carries_its_numbers_and_stored_pictures(site, lesson):
    nb = nbformat.read(lesson, as_version=4)
    page = read_page(site / "notebooks" / f"{lesson.stem}.html")
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    # compared without whitespace, the backticks of code spans and the site's curly
    # apostrophes: the page's text joins an element's pieces with spaces
    quoted = ["".join(text.replace("`", "").split()) for text in MARKER.findall(prose)]
    shown = "".join(page.text.replace("\u2019", "'").split())
    for text in quoted:  # the headline numbers (and labels), as the prose quotes them
        assert text in shown, f"{lesson.name}: {text!r} is not on its page"
    pictures = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                if "image/png" in o.get("data", {})]
    stored = [i for i in page.images if i.startswith("../_images/")]
    assert len(stored) >= len(pictures), f"{lesson.name}: a stored picture is missing"
    html = page.path.read_text()
    assert WIDGET_VIEW not in html and "jupyter-widgets" not in html.lower()


def test_without_a_repository_url_there_are_no_launch_or_repository_buttons(site):
    assert pages.repository_url({"project": {}}) is None
    assert pages.repository_url({"project": {"urls": {"Repository": "https://x.org/a/b/"}}}) \
        == "https://x.org/a/b"
    html = (site / "notebooks" / f"{LESSONS[0].stem}.html").read_text()
    for button in ("mybinder", "colab.research", "btn-launch", "repository-button",
                   "btn-source-repository"):
        assert button not in html, button


def test_nothing_is_fetched_from_the_network(site):
    for path in site_pages(site):
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", path.read_text()):
            assert not re.search(r"(?:src|href)=\"(?:https?:)?//", tag), (path.name, tag)


def test_the_api_reference_lists_every_module_of_the_package():
    text = (ROOT / "docs" / "api.md").read_text()
    package = ROOT / "whetstone_lab"
    modules = {p.stem for p in package.glob("*.py") if not p.stem.startswith("_")}
    modules |= {p.parent.name for p in package.glob("*/__init__.py")}
    modules -= {"deprecation"}  # old import paths, kept for one release
    missing = [m for m in sorted(modules) if f"automodule:: whetstone_lab.{m}\n" not in text]
    assert missing == []


# Every page in Chromium
# ----------------------------------------------------------------------------------------
SITE_VIEWPORT = {"width": 1366, "height": 768}
#: Built lesson pages that hold a stored sharpness dashboard.
DASHBOARD_PAGES = {f"notebooks/{path.stem}.html" for path in LESSONS
                   if cell_calling(path, DASHBOARD_CALL) is not None}


@pytest.mark.browser
def test_every_site_page_opens_with_its_images_and_no_console_error(built_site, chromium):
    """Every page of the built site, opened from disk with no network: no console error, no
    image that failed to load, and each lesson's dashboards shown as their stored pictures.
    The landing page and lesson 02 are kept as screenshots in test-artifacts/browser/."""
    from browser_helpers import collect_console_errors

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    # The module's Chromium: a second sync Playwright would fail inside the first.
    page = chromium.new_page(viewport=SITE_VIEWPORT)
    try:
        errors = collect_console_errors(page)
        for path in site_pages(built_site):
            name = path.relative_to(built_site).as_posix()
            errors.clear()
            page.goto(path.as_uri(), wait_until="load")
            if name == "index.html":  # forwards to the landing page
                page.wait_for_url("**/README.html", timeout=10_000)
                page.wait_for_load_state("load")
            unloaded = page.evaluate(
                "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => i.getAttribute('src'))")
            problems += [f"{name}: console: {e}" for e in errors]
            problems += [f"{name}: image not loaded: {src}" for src in unloaded]
            if name in DASHBOARD_PAGES:  # the cell calling sharpness_explorer shows its PNG
                dashboard = page.locator(".cell").filter(has_text=DASHBOARD_CALL).locator(
                    ".cell_output img").first
                box = dashboard.bounding_box() if dashboard.count() else None
                if box is None or box["height"] < 100 or dashboard.evaluate(
                        "i => i.naturalWidth") < 600:
                    problems.append(f"{name}: no dashboard picture shown")
                elif name.startswith("notebooks/02"):
                    dashboard.scroll_into_view_if_needed()
                    dashboard.screenshot(path=str(ARTIFACTS / "site_dashboard_02.png"))
            if name in ("README.html", "notebooks/02_dense_classifier.html"):
                stem = Path(name).stem.lower()
                page.screenshot(path=str(ARTIFACTS / f"site_{stem}.png"))
    finally:
        page.close()
    assert problems == []
