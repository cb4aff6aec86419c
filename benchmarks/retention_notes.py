"""What the retention benchmark tried, printed under its table (``retention.md``).

The scores of the classifier variants come from ``benchmarks/classifier_variants.py``'s
results, ``results/classifier_variants.jsonl``; the rest are earlier runs, described in place
in ``templates/retention_notes.md``.
"""

from __future__ import annotations

import json

from common import RESULTS, reflow, render


def load_variants() -> list[dict]:
    """The rows of ``benchmarks/classifier_variants.py``'s results (one JSON object a line)."""
    path = RESULTS / "classifier_variants.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class Scores(dict):
    """The notes' context: ``conv_gap`` and ``conv_goal`` as given, every other placeholder
    computed from the variants when the template asks for it. A placeholder is a function and
    its variants joined by ``__`` (a variant's ``-`` written ``_``):

    * ``h__NAME``: seeds 0-2 on one held-out split;
    * ``cv__NAME`` (``cv1__NAME``: one decimal): 5 held-out splits;
    * ``cv3__NAME``: 5 held-out splits, 3 model seeds each;
    * ``diff__A__B`` (``diff1__A__B``: one decimal): the cross-validated A − B;
    * ``gap__NAME``: a conv variant's float twin − itself, as ``twin − it = difference``;
    * ``same__A__B``: whether A and B scored the same on every split.
    """

    def __init__(self, variants: list[dict], **given):
        super().__init__(**given)
        self.variants = variants
        self.names = {r["variant"].replace("-", "_"): r["variant"] for r in variants}

    def row(self, name, seeds=None, cross=True):  # the newest run of a variant counts
        return [r for r in self.variants if r["variant"] == name
                and bool(r.get("cv")) == cross and r.get("model_seeds") == seeds][-1]

    def score(self, name, seeds=None, cross=True) -> float:
        return 100 * self.row(name, seeds, cross)["mean"]

    def __missing__(self, key: str) -> str:
        kind, *parts = key.split("__")
        a, *rest = (self.names[p] for p in parts)
        digits = 1 if kind in ("cv1", "diff1") else 2
        if kind == "h":
            return f"{self.score(a, cross=False):.2f}"
        if kind in ("cv", "cv1"):
            return f"{self.score(a):.{digits}f}"
        if kind == "cv3":
            return f"{self.score(a, 3):.2f}"
        if kind in ("diff", "diff1"):
            return f"{self.score(a) - self.score(rest[0]):.{digits}f}"
        if kind == "gap":
            twin = a.replace("conv_", "conv_float_", 1)
            return f"{self.score(twin):.2f} − {self.score(a):.2f} = " \
                   f"{self.score(twin) - self.score(a):.2f}"
        if kind == "same":
            same = self.row(a)["val"] == self.row(rest[0])["val"]
            return "the same score on every split" if same else "not the same on every split"
        raise KeyError(key)


def notes(variants: list[dict], conv_gap: str, conv_goal: float) -> str:
    """What was tried, printed under the table (``templates/retention_notes.md``). The
    variants' scores are read from ``variants`` (``classifier_variants.jsonl``: validation,
    fully sharp unless ``float_``); ``conv_gap`` is the table's conv gap as printed,
    ``conv_goal`` its goal in points."""
    return reflow(render("retention_notes",
                         Scores(variants, conv_gap=conv_gap, conv_goal=f"{conv_goal:g}")))
