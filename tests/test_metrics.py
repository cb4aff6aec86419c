"""Scores on arrays, ties, task detection, and scoring a model (evaluate, sharpness sweep)."""

import keras
import numpy as np
import pytest

import whetstone_lab as wl
from whetstone_lab import metrics, training


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).uniform(0, 1, (12, 8, 8, 1)).astype("float32")


def test_ties_counts_equal_distances_and_wrong_tie_breaks():
    key = wl.make_key(2, 4)
    out = np.stack([key[0], key[0] | key[1], np.zeros(4, key.dtype), key[1]]).astype("float32")
    y = np.array([0, 1, 0, 1])  # rows 1 and 2 tie; row 1's tie-break (class 0) is wrong
    t = metrics.ties(out, key, y)
    assert (t.samples, t.tied, t.tied_wrong) == (4, 2, 1)
    assert t.fraction == 0.5


def test_ties_rejects_mismatched_input():
    key = wl.make_key(2, 4)
    with pytest.raises(ValueError, match="same number of samples"):
        metrics.ties(np.zeros((3, 4), "float32"), key, np.zeros(2, int))
    with pytest.raises(ValueError, match="width"):
        metrics.ties(np.zeros((3, 5), "float32"), key, np.zeros(3, int))
    with pytest.raises(ValueError, match="equal codewords"):
        metrics.ties(np.zeros((3, 4), "float32"), [[1, 0, 0, 0], [1, 0, 0, 0]], np.zeros(3, int))


def test_evaluate_scores_each_task_and_restores_sharpness(dense, x):
    y = np.arange(len(x)) % 10
    wl.set_sharpness(dense, [0.2, 0.4, 0.6])
    pred = np.argmax(dense.predict(x, verbose=0), axis=1)
    assert metrics.evaluate(dense, x, y) == pytest.approx(np.mean(pred == y))
    with wl.fully_sharp(dense):
        sharp = np.mean(np.argmax(dense.predict(x, verbose=0), axis=1) == y)
    assert metrics.evaluate(dense, x, y, sharp=True) == pytest.approx(sharp)
    assert wl.get_sharpness(dense) == pytest.approx([0.2, 0.4, 0.6])
    with pytest.raises(ValueError, match="same number of samples"):
        metrics.evaluate(dense, x, y[:3])
    with pytest.raises(ValueError, match="needs labels"):
        metrics.evaluate(dense, x)
    ae = wl.models.autoencoder((8, 8, 1), filters=(4,), code_channels=2)
    assert metrics.evaluate(ae, x) == pytest.approx(
        np.mean((ae.predict(x, verbose=0) - x) ** 2), rel=1e-5)


def test_detect_task_of_the_lesson_networks():
    assert metrics.detect_task(wl.models.dense_classifier()) == "classification"
    assert metrics.detect_task(wl.models.segmenter(filters=(4,))) == "segmentation"
    assert metrics.detect_task(wl.models.autoencoder(filters=(4,))) == "autoencoder"
    with pytest.raises(ValueError, match="needs the output shape"):
        metrics.detect_task(wl.models.segmenter(filters=(4,)), task="autoencoder")
    with pytest.raises(ValueError, match="task must be one of"):
        metrics.detect_task(wl.models.dense_classifier(), task="regression")
    plain = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="cannot tell the task"):
        metrics.detect_task(plain)


def test_a_task_the_model_does_not_do_is_refused():
    # A classifier trained as a segmenter (or the reverse) would be scored by the wrong
    # metric without a word.
    with pytest.raises(ValueError, match=r"task='segmentation' needs an output of shape "
                                         r"\(height, width, classes\)"):
        metrics.detect_task(wl.models.dense_classifier((4,), 2, hidden=(3,)),
                            task="segmentation")
    with pytest.raises(ValueError, match=r"task='classification' needs .*\(classes,\)"):
        metrics.detect_task(wl.models.segmenter((8, 8, 1), 2, filters=(2,)),
                            task="classification")


def test_score_names_and_validation_split():
    assert metrics.metric_name("segmentation") == "mean IoU"
    assert metrics.score("classification", [0, 1], [[0.9, 0.1], [0.8, 0.2]]) == 0.5
    x = np.random.default_rng(4).random((40, 4)).astype("float32")
    y = np.arange(40) % 2
    x_tr, y_tr, x_val, y_val = training.validation_split(x, y, 0.25)
    assert len(x_val) == 10 and set(y_val) == {0, 1}
    with pytest.raises(ValueError, match="fraction"):
        training.validation_split(x, y, 1.0)


# -- scores and the sweep ----------------------------------------------------------------
def test_scores():
    y = np.array([0, 1, 1])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert metrics.accuracy(y, p) == pytest.approx(2 / 3)
    assert metrics.mse(np.zeros(4), np.full(4, 0.5)) == pytest.approx(0.25)
    masks = np.array([[[0, 1], [1, 1]]])
    probs = np.eye(2)[np.array([[[0, 1], [0, 1]]])]
    # class 0: inter 1, union 2; class 1: inter 2, union 3
    assert metrics.mean_iou(masks, probs) == pytest.approx((1 / 2 + 2 / 3) / 2)
    with pytest.raises(ValueError, match="labels of shape"):
        metrics.accuracy(np.zeros((3, 1)), p)


def test_sharpness_sweep_scores_and_restores(dense, x):
    y = np.arange(len(x)) % 10
    wl.set_sharpness(dense, [0.2, 0.4, 0.6])
    before = wl.get_sharpness(dense)
    sweep = metrics.sharpness_sweep(dense, x, y, values=[0.0, 0.5, 1.0])
    assert wl.get_sharpness(dense) == before
    assert sweep["metric"] == "accuracy"
    np.testing.assert_allclose(sweep["values"], [0.0, 0.5, 1.0])
    with wl.fully_sharp(dense):
        expected = np.mean(dense.predict(x, verbose=0).argmax(-1) == y)
    assert sweep["bottom_up"][-1] == pytest.approx(expected)
    assert sweep["uniform"][-1] == pytest.approx(expected)
    assert sweep["bottom_up"].shape == (3,)


def test_sharpness_sweep_custom_score_and_errors(dense, x):
    y = np.arange(len(x)) % 10
    calls = []

    def top2(y_true, y_pred):
        calls.append(1)
        return float(np.mean(np.any(np.argsort(y_pred, -1)[:, -2:] == y_true[:, None], -1)))

    sweep = metrics.sharpness_sweep(dense, x, y, values=[0.0, 1.0], modes="uniform",
                                   score=top2)
    assert sweep["metric"] == "top2" and len(calls) == 2 and "bottom_up" not in sweep
    before = wl.get_sharpness(dense)
    with pytest.raises(ZeroDivisionError):
        metrics.sharpness_sweep(dense, x, y, values=[0.7], score=lambda a, b: 1 / 0)
    assert wl.get_sharpness(dense) == before
    default = metrics.sharpness_sweep(dense, x, y, modes="uniform")
    np.testing.assert_allclose(default["values"], np.linspace(0, 1, 11))
    assert default["uniform"].shape == (11,)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        metrics.sharpness_sweep(dense, x, y, values=[0.5, 1.5])
    assert wl.get_sharpness(dense) == before
    with pytest.raises(ValueError, match="modes"):
        metrics.sharpness_sweep(dense, x, y, modes=("top_down",))
    with pytest.raises(ValueError, match="output shape"):
        metrics.sharpness_sweep(dense, x)  # a classifier needs y
    with pytest.raises(TypeError, match="callable"):
        metrics.sharpness_sweep(dense, x, y, score="f1")


def test_sharpness_sweep_autoencoder_defaults_to_mse():
    keras.utils.set_random_seed(2)
    inp = keras.Input((6,))
    h = wl.SpikingBReLU(name="code")(keras.layers.Dense(4)(inp))
    out = wl.SpikingBReLU(name="out")(keras.layers.Dense(6)(h))
    model = keras.Model(inp, out)
    x = np.random.default_rng(0).uniform(0, 1, (10, 6)).astype("float32")
    sweep = metrics.sharpness_sweep(model, x, values=[0.0, 1.0], modes=("uniform",))
    assert sweep["metric"] == "mse"
    wl.set_sharpness(model, 1.0)
    expected = np.mean((model.predict(x, verbose=0) - x) ** 2)
    wl.set_sharpness(model, 0.0)
    assert sweep["uniform"][1] == pytest.approx(expected, rel=1e-5)



# ----------------------------------------------------------------------------------------
# mean IoU
# ----------------------------------------------------------------------------------------
def test_mean_iou_by_hand():
    truth = np.array([[0, 0, 1, 1], [2, 2, 2, 0]])
    pred = np.array([[0, 1, 1, 1], [2, 2, 0, 0]])
    # class 0: ∩ 2 (cells 0, 7) ∪ 4 → 1/2; class 1: ∩ 2 ∪ 3 → 2/3; class 2: ∩ 2 ∪ 3 → 2/3.
    assert metrics.mean_iou(truth, pred, 3) == pytest.approx((1 / 2 + 2 / 3 + 2 / 3) / 3)
    assert metrics.mean_iou(truth, truth, 3) == 1.0
    # A class absent from truth and prediction is skipped, not counted.
    assert metrics.mean_iou(truth, truth, 7) == 1.0
    assert metrics.mean_iou(np.zeros(4, int), np.ones(4, int), 2) == 0.0


@pytest.mark.parametrize("truth, pred, n, error", [
    (np.zeros((2, 2), int), np.zeros((2, 3), int), 2, ValueError),
    (np.zeros(3, int), np.full(3, 2), 2, ValueError),
    (np.full(3, 0.5), np.zeros(3), 2, ValueError),
    ("abc", np.zeros(3, int), 2, TypeError),
    (np.zeros(3, int), np.zeros(3, int), 0, ValueError),
])
def test_mean_iou_refuses_bad_input(truth, pred, n, error):
    with pytest.raises(error):
        metrics.mean_iou(truth, pred, n)




def test_one_hot_labels_are_named_as_such_where_integer_labels_are_scored(dense, x):
    y = np.arange(12) % 10
    with pytest.raises(ValueError, match=r"accuracy: y_true looks one-hot \(shape \(12, 10\)\).*"
                                         r"argmax"):
        metrics.accuracy(np.eye(10)[y], y)
    with pytest.raises(ValueError, match=r"y looks one-hot"):
        metrics.sharpness_sweep(dense, x, np.eye(10)[y], values=[0, 1])
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 10\)"):
        metrics.sharpness_sweep(dense, x, y + 10, values=[0, 1])
    sweep = metrics.sharpness_sweep(dense, x, np.eye(10)[y], values=[0, 1],  # its own score
                                    score=lambda t, p: float((t.argmax(-1) == p.argmax(-1)).mean()))
    assert len(sweep["bottom_up"]) == 2
