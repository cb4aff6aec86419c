"""What the course website holds and in which order (used by ``docs/site/conf.py``).

Kept apart from the Sphinx configuration so that the site test can read the same page list
without importing Sphinx's configuration machinery.
"""

from __future__ import annotations

from pathlib import Path

#: The landing page: the README, as on GitHub.
LANDING = "README"

#: The site's sections: (caption, glob patterns relative to the repository, in order).
SECTIONS: list[tuple[str, list[str]]] = [
    ("Lessons", ["notebooks/[0-9][0-9]*_*.ipynb"]),
    ("Workshop", ["notebooks/README.md"]),
    ("The method", ["docs/design.md", "docs/paper.md", "docs/api.md"]),
    ("Benchmark reports", ["benchmarks/results/*.md"]),
]


def section_pages(root: Path) -> list[tuple[str, list[str]]]:
    """Each section's caption and its pages as docnames (paths without suffix), sorted."""
    out = []
    for caption, patterns in SECTIONS:
        names: list[str] = []
        for pattern in patterns:
            found = sorted(root.glob(pattern))
            names += [p.relative_to(root).with_suffix("").as_posix() for p in found]
        out.append((caption, names))
    return out


def include_patterns(root: Path) -> list[str]:
    """Sphinx's ``include_patterns``: the landing page and every page of every section."""
    patterns = [f"{LANDING}.md"]
    for _, pats in SECTIONS:
        patterns += pats
    return patterns


def toctree_markdown(root: Path) -> str:
    """The landing page's hidden tables of contents (one per section), as MyST markdown."""
    blocks = []
    for caption, names in section_pages(root):
        if names:
            body = "\n".join(names)
            blocks.append(f"```{{toctree}}\n:hidden:\n:caption: {caption}\n\n{body}\n```\n")
    return "\n\n" + "\n".join(blocks)


def landing_toctree(app, docname: str, source: list[str]) -> None:
    """Sphinx ``source-read`` hook: append the tables of contents to the landing page only,
    so the README in the repository stays as it is."""
    if docname == LANDING:
        source[0] += toctree_markdown(Path(app.srcdir))


def redirect_index(app, exception: Exception | None) -> None:
    """Sphinx ``build-finished`` hook: ``index.html`` forwards to the landing page, so the
    site's folder opens on it."""
    if exception is None and app.builder.format == "html":
        target = f"{LANDING}.html"
        page = (f'<!DOCTYPE html><meta charset="utf-8"><title>whetstone_lab</title>'
                f'<meta http-equiv="refresh" content="0; url={target}">'
                f'<a href="{target}">{target}</a>\n')
        (Path(app.outdir) / "index.html").write_text(page)


def repository_url(pyproject: dict) -> str | None:
    """``[project.urls] Repository`` of ``pyproject.toml``, or None when it is not set."""
    url = pyproject.get("project", {}).get("urls", {}).get("Repository")
    return url.rstrip("/") if url else None
