"""The lesson notebooks' structure, the notebook runner and the result markers.

No kernel is started here: nbval runs the notebooks themselves (``make test``). One test
re-runs a lesson's training cell twice in-process to check that the lessons are
deterministic.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from script_helpers import load_script

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
LESSONS = [
    "00_welcome.ipynb",
    "01_the_sharpening_activation.ipynb",
    "01b_whetstone_in_plain_keras.ipynb",
    "02_dense_classifier.ipynb",
    "03_convolutional_classifier.ipynb",
    "04_adaptive_sharpening_and_optimizers.ipynb",
    "05_spiking_autoencoder.ipynb",
    "06_spiking_segmentation.ipynb",
    "07_neuromorphic_deployment.ipynb",
    "08_scaling_up.ipynb",
]


def _script(name: str):
    return load_script(f"scripts/{name}.py")


def _runner():
    return _script("execute_notebooks")


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
def test_each_solution_hides_its_output_and_follows_an_attempt_cell(name):
    # JupyterLab honours both flags: the solution's code and its printed answer stay collapsed.
    cells = _read(name).cells
    for i, cell in enumerate(cells):
        found = re.match(r"#### Solution (\d+)", cell.source) if cell.cell_type == "markdown" \
            else None
        if not found:
            continue
        attempt, solution = cells[i - 1], cells[i + 1]
        assert attempt.cell_type == "code" and attempt.source.startswith(
            f"# Your attempt at Exercise {found.group(1)}"), f"{name} cell {i - 1}"
        assert not attempt.outputs, f"{name} cell {i - 1}: an attempt cell starts empty"
        hidden = solution.metadata.get("jupyter", {})
        assert hidden.get("source_hidden") is True and hidden.get("outputs_hidden") is True, (
            f"{name} cell {i + 1}: hide the solution's code and its output")


@pytest.mark.parametrize("name", LESSONS)
def test_each_lesson_asks_two_or_three_self_check_questions_the_library_checks(name):
    from whetstone_lab.questions import QUESTIONS

    cells = _read(name).cells
    start = next(i for i, c in enumerate(cells) if c.source.startswith("## Self-check"))
    end = next(i for i, c in enumerate(cells) if c.source.startswith("## Summary\n"))
    asked = []
    for i in range(start, end):
        found = re.fullmatch(r'wl\.lessons\.check\("([\w.]+)", None\)  # your answer: .*',
                             cells[i].source)
        if cells[i].cell_type != "code" or not found:
            continue
        qid = found.group(1)
        asked.append(qid)
        question = cells[i - 1].source  # the question and its options, in markdown
        assert question.startswith(f"**{qid}.**"), f"{name}: {qid} has no question above it"
        assert re.findall(r"^\* \(([a-c])\)", question, re.M) == sorted(QUESTIONS[qid]["why"])
        assert "not answered yet" in cells[i].outputs[0]["text"]  # the answer is not shown
    assert 2 <= len(asked) <= 3, f"{name} asks {asked}"
    assert all(q.startswith(name.split("_")[0] + ".") for q in asked), asked


def test_every_self_check_question_is_asked_by_a_lesson():
    from whetstone_lab.questions import QUESTIONS

    text = "\n".join(c.source for name in LESSONS for c in _read(name).cells)
    assert [q for q in QUESTIONS if f'lessons.check("{q}"' not in text] == []


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


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_says_what_is_the_papers_and_what_the_lab_added(name):
    assert "From the paper, and what this lab adds" in _markdown(_read(name)), name


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_seeds_deterministically_and_reports_its_numbers(name):
    code = "\n".join(c.source for c in _read(name).cells if c.cell_type == "code")
    assert "wl.lessons.deterministic(0)" in code, f"{name} must seed with lessons.deterministic"
    assert "set_random_seed" not in code, f"{name}: use wl.lessons.deterministic instead"
    stem = name.removesuffix(".ipynb")
    assert re.search(rf"lessons\.report\(\s*[\"']{re.escape(stem)}[\"']", code), (
        f"{name} must report its headline numbers with lessons.report({stem!r}, ...)")


@pytest.mark.parametrize("name", LESSONS)
def test_no_test_directive_in_learner_code(name):
    for i, cell in enumerate(_read(name).cells):
        if cell.cell_type == "code":
            assert "NBVAL" not in cell.source, f"{name} cell {i}: use a cell tag instead"


@pytest.mark.parametrize("name", LESSONS)
def test_every_exercise_is_followed_by_its_solution(name):
    cells = _read(name).cells
    for i, cell in enumerate(cells):
        found = re.match(r"#+\s*Exercise (\d+)", cell.source) if cell.cell_type == "markdown" \
            else None
        if not found:
            continue
        later = [c for c in cells[i + 1:] if c.cell_type == "markdown"]
        assert later and re.match(rf"#+\s*Solution {found.group(1)}\b", later[0].source), (
            f"{name}: Exercise {found.group(1)} must be followed by Solution {found.group(1)}")


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


def test_runner_rejects_saved_widget_state():
    nb = _notebook_with()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"abc": {"model_name": "LayoutModel"}}, "version_major": 2}}
    assert _runner().output_problems(nb) == ["notebook: saved widget state in its metadata"]


def test_runner_accepts_clean_outputs():
    clean = nbformat.v4.new_output("stream", name="stdout", text="accuracy 0.975\n")
    picture = nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=",
                                                           "text/plain": "<Figure>"})
    assert _runner().output_problems(_notebook_with(clean, picture)) == []


def test_runner_selects_notebooks_by_prefix():
    runner = _runner()
    assert [p.name for p in runner.find_notebooks(["01"])] == [LESSONS[1]]
    assert [p.name for p in runner.find_notebooks(["01b"])] == [LESSONS[2]]
    assert len(runner.find_notebooks([])) == len(LESSONS)
    with pytest.raises(SystemExit, match="no lesson notebook matches"):
        runner.find_notebooks(["99"])
# ----------------------------------------------------------------------------------------
# One source for the numbers: results.json, the markers in the prose, timings.json
# ----------------------------------------------------------------------------------------
def test_prose_numbers_agree_with_results_json():
    numbers = _script("lesson_numbers")
    results = json.loads((NOTEBOOKS / "results.json").read_text())
    problems = [p for path in numbers.prose_files() for p in numbers.check_file(path, results)]
    assert problems == [], "run scripts/lesson_numbers.py after make notebooks:\n" + "\n".join(
        problems)


def test_kit_tables_are_rendered_from_timings_and_results_json():
    numbers = _script("lesson_numbers")
    text = (NOTEBOOKS / "README.md").read_text()
    assert "<!--timings-->" in text and "<!--results-->" in text
    timings = json.loads((NOTEBOOKS / "timings.json").read_text())
    results = json.loads((NOTEBOOKS / "results.json").read_text())
    assert numbers.render_tables(text, results, timings) == text, (
        "run scripts/lesson_numbers.py")
    for name in LESSONS:  # every lesson has a row in both tables
        assert text.count(f"]({name})") >= 3, name  # lesson list, timings, results


def test_markers_are_checked_and_filled_at_their_written_precision():
    numbers = _script("lesson_numbers")
    results = {"02_dense": {"acc": 0.96944, "ties": 3}}
    good = "<!--r 02_dense.acc-->0.969<!--/r--> and <!--r 02_dense.ties-->3<!--/r-->"
    assert numbers.check_text(good, results) == []
    stale = "<!--r 02_dense.acc-->0.958<!--/r-->"
    assert "written '0.958'" in numbers.check_text(stale, results)[0]
    assert "no number 'loss'" in numbers.check_text("<!--r 02_dense.loss-->1<!--/r-->",
                                                    results)[0]
    assert "no lesson '09_x'" in numbers.check_text("<!--r 09_x.a-->1<!--/r-->", results)[0]
    filled, missing = numbers.fill_text(stale + " <!--r 02_dense.acc-->96.9%<!--/r-->",
                                        results)
    assert filled == ("<!--r 02_dense.acc-->0.969<!--/r--> "
                      "<!--r 02_dense.acc-->96.9%<!--/r-->") and missing == []


#: A stand-in for benchmarks/results/: one file with per-seed rows, as retention.json has.
_BENCHMARKS = {"retention": {"rows": [
    {"task": "digits dense", "temperature": 20.0, "seed": s, "whetstone": w, "float": f}
    for s, (w, f) in enumerate([(0.975, 0.986), (0.9639, 0.978), (0.9667, 0.967)])],
    "versions": {"snntorch": "1.0.0"}}}
_DENSE = "retention.rows[task=digits dense][temperature=20].whetstone"


def test_benchmark_markers_are_rendered_as_the_benchmarks_tables_render_them():
    numbers = _script("lesson_numbers")
    good = (f"<!--b {_DENSE}-->96.9 ± 0.5 %<!--/b--> (mean <!--b {_DENSE}-->96.85 %<!--/b-->, "
            f"as a fraction <!--b {_DENSE}-->0.969<!--/b-->), snnTorch "
            "<!--b retention.versions.snntorch-->1.0.0<!--/b-->")
    assert numbers.check_text(good, {}, _BENCHMARKS) == []
    # The benchmarks' own format: benchmarks/common.py's mean_sd (population sd).
    seeds = [r["whetstone"] for r in _BENCHMARKS["retention"]["rows"]]
    assert numbers.format_benchmark(seeds, "0.0 ± 0.0 %") == numbers.mean_sd(seeds) + " %"
    assert numbers.format_benchmark([4.273, 4.003, 4.338], "4.20 ± 0.15 ×") == "4.20 ± 0.15 ×"
    assert numbers.format_benchmark(0.0732, "7.0 points") == "7.3 points"


def test_a_stale_benchmark_marker_is_reported_and_corrected():
    numbers = _script("lesson_numbers")
    stale = f"over 3 seeds <!--b {_DENSE}-->97.2 ± 0.4 %<!--/b--> fully sharp"
    problems = numbers.check_text(stale, {}, _BENCHMARKS)
    assert len(problems) == 1 and "written '97.2 ± 0.4 %'" in problems[0]
    assert "'96.9 ± 0.5 %'" in problems[0]
    filled, missing = numbers.fill_text(stale, {}, _BENCHMARKS)
    assert filled == f"over 3 seeds <!--b {_DENSE}-->96.9 ± 0.5 %<!--/b--> fully sharp"
    assert missing == []
    # both kinds of marker in one text
    both = stale + " <!--r 02_dense.acc-->0.958<!--/r-->"
    assert len(numbers.check_text(both, {"02_dense": {"acc": 0.969}}, _BENCHMARKS)) == 2


@pytest.mark.parametrize("address, message", [
    ("defaults.rows[setting=x].whetstone", "no results file defaults.json (there are retention)"),
    ("retention.rows[task=digits conv].whetstone",
     "has no row with task='digits conv' (its tasks: digits dense)"),
    ("retention.rows[task=digits dense].naive", "the rows of retention.json.rows[task=digits "
                                                "dense] have no 'naive' (they have task,"),
    ("retention.rows", "retention.json.rows is not a number, a list of numbers or a string"),
    ("retention.versions.norse", "retention.json.versions has no 'norse' (it has snntorch)"),
    ("retention rows", "is not <results file>.key[key=value]..."),
])
def test_an_unknown_benchmark_key_is_a_clear_error(address, message):
    numbers = _script("lesson_numbers")
    marker = f"<!--b {address}-->96.9 %<!--/b-->"
    problems = numbers.check_text(marker, {}, _BENCHMARKS)
    assert len(problems) == 1 and message in problems[0], problems
    filled, missing = numbers.fill_text(marker, {}, _BENCHMARKS)
    assert filled == marker and len(missing) == 1 and message in missing[0]


def test_the_prose_quotes_benchmark_numbers_through_markers():
    # A "mean ± sd" in a lesson's markdown comes from a benchmark: it must sit in a marker.
    numbers = _script("lesson_numbers")
    for name in LESSONS:
        prose = numbers.BENCHMARK_MARKER.sub("", _markdown(_read(name)))
        assert not re.search(r"\d ± \d", prose), (name, re.findall(r".{30}\d ± \d.{10}", prose))


def test_runner_merges_results_and_records_timings(tmp_path):
    runner = _runner()
    results, timings = tmp_path / "results.json", tmp_path / "timings.json"
    results.write_text(json.dumps({"00_a": {"x": 1.0}, "01_b": {"old": 2.0}}))
    runner.merge_results("01_b", {"y": 0.5}, results)
    assert json.loads(results.read_text()) == {"00_a": {"x": 1.0}, "01_b": {"y": 0.5}}
    timing = {"wall_s": 3.0, "cpu_s": 2.0, "load_before": [1, 1, 1], "load_after": [2, 1, 1]}
    runner.record_timing("01_b", "full", timing, timings)
    runner.record_timing("01_b", "fast", timing, timings)
    assert set(json.loads(timings.read_text())["01_b"]) == {"full", "fast"}


def test_a_lesson_training_cell_is_deterministic():
    # Lesson 02's dense network and recipe (fast mode), trained twice from the same seed.
    import whetstone_lab as wl
    from whetstone_lab import metrics, recipes, training

    data = wl.data.load("digits")
    x_train, y_train, x_val, y_val = training.validation_split(data.x_train, data.y_train)

    def run():
        wl.lessons.deterministic(0)
        net = wl.models.dense_classifier(data.input_shape, data.num_classes, towers=1)
        history = training.fit(net, x_train, y_train,
                               recipes.recipe("digits_dense", fast=True),
                               validation_data=(x_val, y_val), progress=False, seed=0)
        return history.history, metrics.evaluate(net, data.x_test, data.y_test)

    first, second = run(), run()
    assert first[0] == second[0]
    assert first[1] == second[1]


def test_the_slides_are_built_from_the_stored_figures_and_results_json(tmp_path):
    slides = _script("make_slides")
    out = tmp_path / "slides.pdf"
    slides.main(["--out", str(out)])
    pdf = out.read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 10 <= pages <= 15 and pages == len(slides.SLIDES) + 2
    results = json.loads((NOTEBOOKS / "results.json").read_text())
    assert "0.972" in slides.caption("{00_welcome.sharp_accuracy:.3f}", {
        "00_welcome": {"sharp_accuracy": 0.9722}})
    for _, _, _, text in slides.SLIDES:  # every caption's numbers are in results.json
        slides.caption(text, results)
