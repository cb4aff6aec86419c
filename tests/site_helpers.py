"""Build the course website and read its pages (tests/test_site.py, tests/test_browser.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = ROOT / "docs" / "site"


def build_site(out: Path, *, extra_env: dict[str, str] | None = None
               ) -> subprocess.CompletedProcess:
    """``sphinx-build`` as ``make site`` runs it (warnings are errors), into ``out``."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(extra_env or {})}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
           "-d", str(out / ".doctrees"), "-c", str(CONF_DIR), str(ROOT), str(out / "html")]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@dataclass
class Page:
    """One built HTML page: its links, image sources, element ids and visible text."""

    path: Path
    links: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self.chunks, self.skip = page, [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs and attrs["id"]:
            self.page.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.page.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.page.images.append(attrs["src"])
        if tag in ("script", "style"):
            self.skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self.skip:
            self.skip -= 1

    def handle_data(self, data):
        if not self.skip:
            self.chunks.append(data)


def read_page(path: Path) -> Page:
    page = Page(path)
    reader = _Reader(page)
    reader.feed(path.read_text(encoding="utf-8"))
    page.text = " ".join(" ".join(reader.chunks).split())
    return page


def site_pages(html: Path) -> list[Path]:
    """Every content page of a built site (Sphinx's theme fragments under ``_static`` left out)."""
    return sorted(p for p in html.rglob("*.html") if "_static" not in p.parts)


def is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith(("mailto:", "//"))


def broken_references(html: Path) -> list[str]:
    """Every link or image of the site that points at a missing file or a missing anchor."""
    pages = {p: read_page(p) for p in site_pages(html)}
    broken = []
    for path, page in pages.items():
        for kind, refs in (("link", page.links), ("image", page.images)):
            for ref in refs:
                if not is_local(ref):
                    continue
                parts = urlsplit(ref)
                target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
                where = f"{path.relative_to(html)}: {kind} {ref}"
                if not target.is_file():
                    broken.append(f"{where} (no file)")
                elif kind == "link" and parts.fragment and target.suffix == ".html":
                    other = pages.get(target) or read_page(target)
                    if unquote(parts.fragment) not in other.ids:
                        broken.append(f"{where} (no anchor)")
    return broken
