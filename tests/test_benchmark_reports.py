"""The benchmark reports are data first: every ``benchmarks/results/*.md`` has its results
file beside it, and the committed ``.md`` is what its benchmark renders from that file alone
(through its template in ``benchmarks/templates/``)."""

from __future__ import annotations

import json

import pytest
from script_helpers import ROOT, load_script

REPORTS = sorted((ROOT / "benchmarks" / "results").glob("*.md"))
#: The function that renders a benchmark's report from its results file, where it is not
#: ``markdown``.
RENDERERS = {"paper_scale": "report", "interop": "report"}


@pytest.mark.parametrize("report", REPORTS, ids=lambda path: path.stem)
def test_every_report_is_what_its_results_file_renders(report):
    results = report.with_suffix(".json")
    assert results.exists() or report.with_suffix(".jsonl").exists(), (
        f"{report.name} has no results file beside it: a benchmark writes its JSON first "
        "and renders the report from it")
    script = ROOT / "benchmarks" / f"{report.stem}.py"
    assert script.exists(), f"{report.name} is written by no benchmarks/{script.name}"
    render = getattr(load_script(f"benchmarks/{script.name}"),
                     RENDERERS.get(report.stem, "markdown"))
    assert render(json.loads(results.read_text())) == report.read_text(), (
        f"{report.name} is not what {results.name} renders: render it again from the "
        f"results file (see the usage in benchmarks/{script.name})")


def test_render_fills_a_template_and_names_what_is_missing(tmp_path, monkeypatch):
    common = load_script("benchmarks/common.py")
    monkeypatch.setattr(common, "TEMPLATES", tmp_path)
    (tmp_path / "t.md").write_text("$n runs in ${seconds} s, $$0.\n")
    assert common.render("t", {"n": 3, "seconds": "12"}) == "3 runs in 12 s, $0.\n"
    with pytest.raises(KeyError, match="seconds"):
        common.render("t", {"n": 3})


def test_every_template_is_used_by_a_benchmark():
    sources = "\n".join(p.read_text() for p in (ROOT / "benchmarks").glob("*.py"))
    unused = [t.stem for t in (ROOT / "benchmarks" / "templates").glob("*.md")
              if f'"{t.stem}"' not in sources]
    assert not unused, f"templates no benchmark renders: {unused}"


def test_segmentation_notes_follow_the_rows():
    segmentation = load_script("benchmarks/segmentation.py")
    rows = json.loads((ROOT / "benchmarks/results/segmentation.json").read_text())["rows"]
    for r in rows:
        if r["setting"] == "ft50":
            r["whetstone"], r["gap"] = 0.123, r["float"] - 0.123
    text = segmentation.notes(rows)
    assert "a 50-epoch fine-tune (60 epochs in all) 89.7 / 12.3, gap 77.4" in " ".join(
        text.split())


def test_reflow_rewraps_paragraphs_and_bullets_and_keeps_headings():
    common = load_script("benchmarks/common.py")
    text = "## Head\n\nOne two\nthree four.\n\n* a bullet that is\n  long enough to wrap\n"
    assert common.reflow(text, width=16) == (
        "## Head\n\nOne two three\nfour.\n\n* a bullet that\n  is long enough\n  to wrap\n")


def test_retention_notes_read_the_classifier_variants_results():
    retention = load_script("benchmarks/retention_notes.py")
    variants = retention.load_variants()
    rows = json.loads((ROOT / "benchmarks/results/retention.json").read_text())["rows"]
    conv = [r["float"] - r["whetstone"] for r in rows
            if r["task"] == "digits conv" and not r["comparison"]]
    common = load_script("benchmarks/common.py")
    text = retention.notes(variants, common.mean_sd(conv), 0.5)
    assert text in (ROOT / "benchmarks/results/retention.md").read_text()
    # A changed score changes the notes, and the differences computed from it.
    for r in variants:
        if r["variant"] == "straight_through_scratch" and r.get("cv"):
            r["mean"] = 0.95
    changed = " ".join(retention.notes(variants, "0.6 ± 0.6", 0.5).split())
    assert "the same 56 epochs and rates) 95.00, 2.8 points below the kept recipe" in changed


def test_paper_scale_summary_is_stored_with_its_rows():
    paper = load_script("benchmarks/paper_scale.py")
    stored = json.loads((ROOT / "benchmarks/results/paper_scale.json").read_text())
    assert stored["summary"] == json.loads(json.dumps(paper.summarize(stored)))


def test_paper_scale_summary_follows_the_rows():
    paper = load_script("benchmarks/paper_scale.py")
    rows = [{"network": "conv", "seed": s, "float": 0.995, "whetstone": w, "naive": 0.9,
             "epochs": 12, "recipe": "r", "seconds_per_epoch": {"float": 1, "whetstone": 2},
             "load": [1.0, 1.0], "backend": "tensorflow"} for s, w in ((0, 0.994), (1, 0.991))]
    conv = paper.summarize({"rows": rows, "coder": None})["conv"]
    assert conv["gap"] == pytest.approx(0.0025) and conv["above_naive"] == pytest.approx(0.0925)
    assert conv["met_bound"] is False and conv["met_gap"] is True  # 99.3 %, within 0.3 pt
    rows[1]["whetstone"] = 0.996
    assert paper.summarize({"rows": rows, "coder": None})["conv"]["met_bound"] is True


def test_paper_scale_says_where_mnist_goes_when_it_is_absent(tmp_path, monkeypatch, capsys):
    paper = load_script("benchmarks/paper_scale.py")
    monkeypatch.setenv("WHETSTONE_DATA", str(tmp_path))
    monkeypatch.setattr(paper, "JSON", tmp_path / "paper_scale.json")
    paper.main(["train", "--networks", "dense", "--seeds", "0"])
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "MNIST is not in the data folder" in out
    assert str(tmp_path) in out and not list(tmp_path.iterdir())


def test_every_benchmark_has_an_expected_time_and_make_benchmarks_keeps_to_its_budget():
    common = load_script("benchmarks/common.py")
    helpers = {"common", "retention_notes"}
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")} - helpers
    assert scripts == set(common.BENCHMARKS), "benchmarks/common.py's BENCHMARKS lists them all"
    runs = common.within_budget()
    assert runs and sum(common.expected_seconds(n) for n in runs) <= common.BUDGET_SECONDS
    listed = common.catalogue()
    assert all(name in listed for name in common.BENCHMARKS)


def _paper_scale_results() -> dict:
    return json.loads((ROOT / "benchmarks/results/paper_scale.json").read_text())


def test_paper_scale_report_renders_the_2018_probe_and_no_deployment_without_one():
    paper = load_script("benchmarks/paper_scale.py")
    out = _paper_scale_results()
    del out["deploy"]
    out["probe2018"] = {"parameters": 1234567, "seconds_per_image": 0.0123,
                        "images_timed": 3200, "load": 1.5, "epoch_seconds": 738.0,
                        "epochs": 77}
    text = paper.report(out)
    words = " ".join(text.split())
    assert "## Deployment" not in text and "synaptic event" not in text
    assert "\n## The 2018 example itself\n\nThe network of the 2018 code's" in text
    assert ("`examples/adaptive_mnist.py` (1,234,567 parameters), built with this lab's "
            "layers and trained with Adadelta at 4.0, batch 32: 12.3 ms per training image, "
            "measured on 3,200 digits (load 1.5), so 12 min per epoch of 60,000 and about "
            "16 h for the 77 epochs of its scheduled variant") in words
    # The section sits between the autoencoder's and the sources, a blank line either side.
    assert text.index("## The autoencoder") < text.index("## The 2018 example") \
        < text.index("## What the sources state")
    assert "\n\n## The 2018 example itself\n\n" in text
    assert "on this CPU. Hence the reduced `conv_bn` network above." in words
    assert "network above.\n\n## What the sources state\n" in text
    assert text.endswith(f"{out['machine'].split()[-1]}.\n") and "\n\n\n" not in text


def test_paper_scale_report_without_optional_sections_keeps_its_frame():
    paper = load_script("benchmarks/paper_scale.py")
    out = _paper_scale_results()
    out.update(deploy=None, probe2018=None, coder=None)
    # the dense rows and the autoencoder's seed 0 only: rows for more seeds may arrive later
    out["rows"] = [r for r in out["rows"] if r["network"] == "dense"
                   or (r["network"] == "autoencoder" and r["seed"] == 0)]
    for r in out["rows"]:
        if r["network"] == "dense":
            r["float"], r["whetstone"] = 0.992, 0.99  # both goals met: nothing missed
    text = paper.report(out)
    assert "Where a goal is missed" not in text
    assert "| conv + BatchNorm + pooling, 2018-style (reduced) | not run | | | | | | | | |" \
        in text
    assert "≥ 98.0 %: met; gap ≤ 0.5 pt: met |" in text
    assert "| 0.0275 | not run | 4.24 | |\n" in text  # no transform coder to compare with
    assert "transform coder at 64 bits: n/a." in " ".join(text.split())
    for absent in ("## Deployment", "## The 2018 example"):
        assert absent not in text
    recipes = text.split("Recipes and origins:\n\n")[1].split("\n\n## ")[0]
    assert recipes.count("\n* **") == 1 and recipes.startswith("* **paper-style dense")
