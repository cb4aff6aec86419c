"""The lesson notebooks' structure, the notebook runner's output checks, and lessons.py.

No kernel is started here: nbval runs the notebooks themselves (``make test``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

from whetstone_lab import lessons

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = [
    "00_welcome.ipynb",
    "01_the_sharpening_activation.ipynb",
    "02_dense_classifier.ipynb",
    "03_convolutional_classifier.ipynb",
    "04_adaptive_sharpening_and_optimizers.ipynb",
    "05_spiking_autoencoder.ipynb",
    "06_spiking_segmentation.ipynb",
    "07_neuromorphic_deployment.ipynb",
    "08_scaling_up.ipynb",
]


def _runner():
    spec = importlib.util.spec_from_file_location(
        "execute_notebooks", ROOT / "scripts" / "execute_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / name, as_version=4)


def _markdown(nb) -> str:
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


# ----------------------------------------------------------------------------------------
# Structure of every lesson
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LESSONS)
def test_lesson_has_the_common_skeleton(name):
    nb = _read(name)
    text = _markdown(nb)
    for heading in ("Learning goals", "## Exercises", "#### Solution", "## Summary", "**Next:**"):
        assert heading in text, f"{name} lacks {heading!r}"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("name", LESSONS)
def test_solutions_follow_their_heading_and_are_collapsed(name):
    cells = _read(name).cells
    solutions = [i for i, c in enumerate(cells)
                 if c.cell_type == "markdown" and c.source.startswith("#### Solution")]
    assert solutions, f"{name} has no solution"
    for i in solutions:
        cell = cells[i + 1]
        assert cell.cell_type == "code"
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True
        assert cell.source.startswith("# Solution")


@pytest.mark.parametrize("name", LESSONS)
def test_code_is_short_and_comes_from_the_library(name):
    code = [c.source for c in _read(name).cells if c.cell_type == "code"]
    lines = sum(len([ln for ln in src.splitlines() if ln.strip()]) for src in code)
    assert lines <= 300, f"{name} holds {lines} lines of code; move some into the library"
    joined = "\n".join(code)
    assert ".summary()" not in joined  # its box drawing reads as debris in stored outputs
    assert not re.search(r"verbose\s*=\s*[12]", joined), "fit/evaluate must run with verbose=0"


@pytest.mark.parametrize("name", LESSONS)
def test_whetstone_lab_is_imported_before_keras(name):
    # whetstone_lab sets TF_CPP_MIN_LOG_LEVEL, which only works before TensorFlow loads.
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    first = code.index("import whetstone_lab")
    for other in ("import keras", "import tensorflow", "from keras", "from tensorflow"):
        assert code.find(other) in (-1, *range(first, len(code))), f"{name}: {other} first"


@pytest.mark.parametrize("name", LESSONS)
def test_widget_cells_are_ignored_by_nbval_and_have_a_static_picture(name):
    cells = _read(name).cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "code" and re.search(r"widgets\.\w+_explorer\(", cell.source):
            # A cell tag, not a comment in the learner's code (nbval reads both).
            assert "nbval-ignore-output" in cell.metadata.get("tags", []), f"{name} cell {i}"
            assert "NBVAL" not in cell.source, f"{name} cell {i}"
            following = cells[i + 1]
            assert following.cell_type == "code" and "snapshot()" in following.source, (
                f"{name} cell {i}: show a static snapshot next to the live widget"
            )


@pytest.mark.parametrize("name", LESSONS)
def test_next_link_points_at_an_existing_file(name):
    links = re.findall(r"\]\(([^)]+\.(?:ipynb|md))\)", _markdown(_read(name)))
    assert links
    for link in links:
        assert (NOTEBOOKS / link).exists(), f"{name} links to missing {link}"


@pytest.mark.parametrize("name", LESSONS)
def test_stored_outputs_are_clean(name):
    nb = _read(name)
    assert _runner().output_problems(nb) == []


def test_lesson_01_shows_the_activation_explorer():
    assert "widgets.activation_explorer(" in "\n".join(
        c.source for c in _read(LESSONS[1]).cells)


def test_readme_lists_every_lesson():
    readme = (NOTEBOOKS / "README.md").read_text()
    for name in LESSONS:
        assert name in readme


# ----------------------------------------------------------------------------------------
# The runner's output checks
# ----------------------------------------------------------------------------------------
def _notebook_with(*outputs) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.outputs = list(outputs)
    return nbformat.v4.new_notebook(cells=[cell])


@pytest.mark.parametrize("output, reason", [
    (nbformat.v4.new_output("stream", name="stderr", text="oops"), "stderr"),
    (nbformat.v4.new_output("stream", name="stdout", text="saved to /work/main/x"),
     "machine path"),
    (nbformat.v4.new_output("stream", name="stdout", text="UserWarning: careful"), "warning"),
    (nbformat.v4.new_output("stream", name="stdout", text="45/45 ━━━━━━━━ 1s"), "progress"),
    (nbformat.v4.new_output("stream", name="stdout", text="epoch 1\repoch 2"), "carriage"),
    (nbformat.v4.new_output("error", ename="ValueError", evalue="bad", traceback=[]), "error"),
    (nbformat.v4.new_output("execute_result", data={"text/plain": "/root/.keras"}),
     "machine path"),
])
def test_runner_rejects_unclean_outputs(output, reason):
    problems = _runner().output_problems(_notebook_with(output))
    assert len(problems) == 1 and reason in problems[0], problems


def test_runner_accepts_clean_outputs():
    clean = nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.975\n")
    picture = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                           "text/plain": "<Figure>"})
    assert _runner().output_problems(_notebook_with(clean, picture)) == []


def test_runner_selects_notebooks_by_prefix():
    runner = _runner()
    assert [p.name for p in runner.find_notebooks(["01"])] == [LESSONS[1]]
    with pytest.raises(SystemExit, match="no lesson notebook matches"):
        runner.find_notebooks(["99"])
def test_results_table_aligns_columns():
    table = lessons.results_table([{"optimizer": "adam", "sharp": 0.97512},
                                   {"optimizer": "sgd", "sharp": 0.5}])
    assert table.splitlines() == [
        "| optimizer | sharp |",
        "|-----------|-------|",
        "| adam      | 0.975 |",
        "| sgd       | 0.500 |",
    ]
    with pytest.raises(ValueError, match="non-empty list of dicts"):
        lessons.results_table([])
