"""The benchmark reports are rendered from their results files: the text under a table reads
its numbers from the same rows, so the committed ``.md`` is what the ``.json`` renders."""

from __future__ import annotations

import json

import pytest
from script_helpers import ROOT, load_script


def test_segmentation_report_is_rendered_from_its_rows():
    segmentation = load_script("benchmarks/segmentation.py")
    stored = json.loads((ROOT / "benchmarks/results/segmentation.json").read_text())
    rows, meta = stored.pop("rows"), stored
    assert segmentation.markdown(rows, meta) == \
        (ROOT / "benchmarks/results/segmentation.md").read_text()


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


def test_autoencoder_report_is_rendered_from_its_results_file():
    autoencoder = load_script("benchmarks/autoencoder.py")
    stored = json.loads((ROOT / "benchmarks/results/autoencoder.json").read_text())
    assert autoencoder.markdown(stored) == \
        (ROOT / "benchmarks/results/autoencoder.md").read_text()


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


def test_paper_scale_report_is_rendered_from_its_results_file():
    paper = load_script("benchmarks/paper_scale.py")
    stored = json.loads((ROOT / "benchmarks/results/paper_scale.json").read_text())
    assert stored["summary"] == json.loads(json.dumps(paper.summarize(stored)))
    assert paper.report(stored) == (ROOT / "benchmarks/results/paper_scale.md").read_text()


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
