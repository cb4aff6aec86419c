"""The lesson notebooks' structure, the notebook runner's output checks, and lessons.py.

No kernel is started here: nbval runs the notebooks themselves (``make test``).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import keras
import nbformat
import numpy as np
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
            assert cell.source.startswith("# NBVAL_IGNORE_OUTPUT"), f"{name} cell {i}"
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


# ----------------------------------------------------------------------------------------
# lessons.py
# ----------------------------------------------------------------------------------------
def test_simple_2018_recipe_reproduces_the_worked_example():
    from whetstone_lab import models

    recipe = lessons.recipe("simple_2018", fast=False)
    assert recipe.epochs == 21

    model = models.dense_classifier((4,), 2, hidden=(3, 3), neurons_per_class=2)
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    history = lessons.train(model, x, y, recipe, seed=0)
    # Sharpness during each epoch: 0 for epochs 0-5, then +1/15 per epoch, 1 in epoch 20.
    expected = [0.0] * 6 + [k / 15 for k in range(1, 15)] + [1.0]
    np.testing.assert_allclose(history.history["sharpness"], expected, atol=1e-6)


def test_per_batch_recipe_is_sharp_exactly_at_the_end_of_its_window():
    from whetstone_lab import models, sharpening

    recipe = lessons.Recipe(warmup_epochs=1, sharpen_epochs=2, batch_size=4)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(1).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    history = lessons.train(model, x, y, recipe, seed=0)
    assert history.history["sharpness"][0] == 0.0
    assert 0.0 < history.history["sharpness"][1] < 1.0
    assert sharpening.is_fully_sharp(model)


def test_straight_through_finetune_is_switched_off_after_training():
    from whetstone_lab import models, sharpening

    recipe = lessons.Recipe(warmup_epochs=1, sharpen_epochs=1, finetune_epochs=2, batch_size=8)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(2).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([layer.straight_through for layer in sharpening.spiking_layers(model)])

    lessons.train(model, x, y, recipe, callbacks=[Watch()], seed=0)
    assert seen[0] == [False, False] and seen[-1] == [True, True]
    assert [layer.straight_through for layer in sharpening.spiking_layers(model)] == [False] * 2


def test_float_snapshot_keeps_the_last_float_epoch():
    from whetstone_lab import models, sharpening

    recipe = lessons.Recipe(warmup_epochs=2, sharpen_epochs=1, batch_size=8)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(3).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    snap = lessons.FloatSnapshot()
    lessons.train(model, x, y, recipe, callbacks=[snap], seed=0)
    assert snap.epoch == 1
    before = snap.float_model()
    assert sharpening.get_sharpness(before) == [0.0, 0.0]
    assert not np.array_equal(before.get_layer("dense_0").kernel.numpy(),
                              model.get_layer("dense_0").kernel.numpy())


def test_recipe_rejects_bad_fields():
    with pytest.raises(ValueError, match="per must be"):
        lessons.Recipe(per="step")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        lessons.Recipe(optimizer="lbfgs")
    with pytest.raises(ValueError, match="sharpen_epochs must be an integer >= 1"):
        lessons.Recipe(sharpen_epochs=0)
    with pytest.raises(TypeError, match="warmup_epochs must be an integer"):
        lessons.Recipe(warmup_epochs=2.5)
    with pytest.raises(ValueError, match="unknown recipe"):
        lessons.recipe("fastest")


def test_fast_recipe_is_short(monkeypatch):
    monkeypatch.setenv("WHETSTONE_FAST", "1")
    assert lessons.recipe("lesson").epochs < lessons.recipe("lesson", fast=False).epochs


def test_lesson_recipe_is_the_2018_schedule_and_straight_through_fine_tunes():
    lesson = lessons.recipe("lesson", fast=False)
    assert lesson.with_(name="simple_2018") == lessons.recipe("simple_2018", fast=False)
    longer = lessons.recipe("straight_through", fast=False)
    assert (longer.per, longer.finetune_epochs, longer.epochs) == ("batch", 10, 35)
    fast = lessons.recipe("straight_through", fast=True)
    assert fast.finetune_epochs == 1 and fast.epochs < longer.epochs


def test_quantize_weights_keeps_at_most_2_to_the_bits_values():
    from whetstone_lab import models

    model = models.dense_classifier((6,), 2, hidden=(8,), neurons_per_class=2)
    rounded = lessons.quantize_weights(model, 3)
    for layer in rounded.layers:
        if isinstance(layer, keras.layers.Dense):
            values = np.unique(np.concatenate([w.ravel() for w in layer.get_weights()]))
            assert len(values) <= 2**3 - 1
    same = lessons.quantize_weights(model, 32)
    for a, b in zip(model.get_weights(), same.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="bits must be"):
        lessons.quantize_weights(model, 1)


def test_assert_binary_names_the_layer_with_graded_values():
    from whetstone_lab import models, sharpening

    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.full((5, 4), 0.25, dtype="float32")
    model.get_layer("dense_0").set_weights([np.eye(4, 3, dtype="float32") * 1.0,
                                            np.zeros(3, "float32")])
    with pytest.raises(AssertionError, match="spikes_0"):
        lessons.assert_binary(model, x)  # sharpness 0: outputs of 0.25 are graded
    sharpening.set_sharpness(model, 1.0)
    assert lessons.assert_binary(model, x) == 5 * 3 + 5 * 4


def _threshold_classifier(key, temperature):
    """Spikes equal to the binary input (identity weights, fully sharp), then the decoder."""
    import whetstone_lab as wl

    inputs = keras.Input((key.shape[1],))
    dense = keras.layers.Dense(key.shape[1])
    x = wl.SpikingBReLU(sharpness=1.0)(dense(inputs))
    model = keras.Model(inputs, wl.SoftmaxDecode(key, temperature=temperature)(x))
    dense.set_weights([np.eye(key.shape[1], dtype="float32"),
                       np.zeros(key.shape[1], "float32")])
    return model


@pytest.mark.parametrize("temperature", [1.0, lessons.TEMPERATURE])
def test_ties_counts_equal_distances_and_wrong_tie_breaks(temperature):
    import whetstone_lab as wl

    key = wl.make_key(2, 4)
    x = np.stack([key[0], key[0] | key[1], np.zeros(4, key.dtype), key[1]]).astype("float32")
    y = np.array([0, 1, 0, 1])  # rows 1 and 2 tie; row 1's tie-break (class 0) is wrong
    t = lessons.ties(_threshold_classifier(key, temperature), x, y)
    assert (t.samples, t.tied, t.tied_wrong) == (4, 2, 1)
    assert t.fraction == 0.5


def test_ties_rejects_models_without_decoder_and_mismatched_labels():
    import whetstone_lab as wl

    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(TypeError, match="SoftmaxDecode"):
        lessons.ties(plain, np.zeros((2, 4), "float32"), np.zeros(2, int))
    model = _threshold_classifier(wl.make_key(2, 4), 1.0)
    with pytest.raises(ValueError, match="3 samples but y has 2"):
        lessons.ties(model, np.zeros((3, 4), "float32"), np.zeros(2, int))


def test_results_table_aligns_columns():
    table = lessons.results_table([{"optimizer": "adam", "sharp": 0.97512},
                                   {"optimizer": "sgd", "sharp": 0.5}])
    assert table.splitlines() == [
        "| optimizer | sharp |",
        "|-----------|-------|",
        "| adam      | 0.975 |",
        "| sgd       | 0.500 |",
    ]
    with pytest.raises(ValueError, match="at least one row"):
        lessons.results_table([])


def test_accuracy_and_validation_split():
    from whetstone_lab import models

    x = np.random.default_rng(4).random((40, 4)).astype("float32")
    y = np.arange(40) % 2
    x_tr, y_tr, x_val, y_val = lessons.validation_split(x, y, 0.25)
    assert len(x_val) == 10 and set(y_val) == {0, 1}
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    acc = lessons.accuracy(model, x, y)
    pred = np.argmax(model.predict(x, verbose=0), axis=1)
    assert acc == pytest.approx(np.mean(pred == y))
    with pytest.raises(ValueError, match="samples"):
        lessons.accuracy(model, x, y[:3])


def test_train_passes_sample_weights_to_the_loss():
    from whetstone_lab import models

    recipe = lessons.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(4).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    for weight, changes in ((0.0, False), (1.0, True)):  # zero weights: no gradient at all
        model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
        before = model.get_layer("dense_0").kernel.numpy().copy()
        lessons.train(model, x, y, recipe, seed=0, sample_weight=np.full(16, weight, "float32"))
        after = model.get_layer("dense_0").kernel.numpy()
        assert np.array_equal(after, before) != changes
    with pytest.raises(ValueError, match="sample_weight must match"):
        lessons.train(model, x, y, recipe, sample_weight=np.ones(15))
