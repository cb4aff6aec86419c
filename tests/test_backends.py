"""Every Keras backend: the real ``model.fit`` with every schedule.

Each schedule is checked through the train step itself. A probe model feeds the constant
input ``x = 0.5 + ε`` to its spiking layers, so each layer's output reveals the sharpness the
train step used (``0.5 + ε / (1 − s + λ)`` on the ramp, 1 for the step); metrics log those
outputs batch by batch. The checks run on the backend of the suite (``KERAS_BACKEND``):
``make test`` runs the suite on TensorFlow and again on JAX, ``make test-torch`` on PyTorch,
and every backend is held to the same numbers.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest
from backend_helpers import backend, value_and_grad

pytestmark = pytest.mark.filterwarnings("ignore:The model does not have any trainable weights")

EPS = 1e-3


# ----------------------------------------------------------------------------------------
# The checks, run on any backend
# ----------------------------------------------------------------------------------------
def _probe(num_layers: int, lr: float = 0.0):
    """``num_layers`` spiking layers side by side on one input, and metrics revealing the
    sharpness each train step used (per layer, in ``spiking_layers`` order)."""
    import keras

    import whetstone_lab as wl

    inputs = keras.Input((1,))
    branches = [wl.SpikingBReLU(name=f"s{i}")(inputs) for i in range(num_layers)]
    outputs = branches[0] if num_layers == 1 else keras.layers.Concatenate()(branches)
    model = keras.Model(inputs, outputs)
    order = [int(layer.name[1:]) for layer in wl.spiking_layers(model)]
    metrics = []
    for i, column in enumerate(order):
        def metric(y, p, column=column):
            return keras.ops.mean(p[:, column])
        metric.__name__ = f"out{i}"
        metrics.append(metric)
    model.compile(keras.optimizers.SGD(lr), loss=lambda y, p: keras.ops.mean(p, axis=-1),
                  metrics=metrics)
    return model


class _Seen:
    """A callback collecting the per-layer sharpness of every train step from the logs."""

    def __new__(cls, num_layers):
        import keras

        class Seen(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.running = []
                self.epochs = getattr(self, "epochs", [])

            def on_train_batch_end(self, batch, logs=None):
                self.running.append([float(logs[f"out{i}"]) for i in range(num_layers)])

            def on_epoch_end(self, epoch, logs=None):
                running = np.array(self.running)  # running means over the epoch
                n = np.arange(1, len(running) + 1)[:, None]
                outputs = running * n - np.concatenate([np.zeros((1, num_layers)),
                                                        running[:-1] * (n[:-1])])
                from whetstone_lab.layers import LAMBDA

                used = 1.0 + LAMBDA - EPS / np.maximum(outputs - 0.5, 1e-9)
                self.epochs.append(np.round(np.clip(used, 0, 1), 4).tolist())

        return Seen()


def _run(model, callbacks, epochs, batches=4, num_layers=1):
    import whetstone_lab as wl

    seen = _Seen(num_layers)
    x = np.full((batches, 1), 0.5 + EPS, "float32")
    history = model.fit(x, x[:, :1].repeat(num_layers, 1) if num_layers > 1 else x,
                        batch_size=1, epochs=epochs, shuffle=False, verbose=0,
                        callbacks=[*callbacks, seen])
    return {"used": seen.epochs, "final": wl.get_sharpness(model),
            "logged": [round(float(v), 6) for v in history.history.get("sharpness", [])]}


def collect() -> dict:
    """Run every check on the current backend; return what the train steps saw."""
    import keras

    import whetstone_lab as wl
    from whetstone_lab import models, plots, recipes, spikes, training

    out: dict = {"backend": keras.backend.backend()}
    keras.utils.set_random_seed(0)

    # SimpleSharpener per batch (uniform, one layer) and per epoch (bottom-up, two layers).
    out["simple_batch"] = _run(_probe(1), [wl.SimpleSharpener(0, steps=8, per="batch",
                                                              mode="uniform")], 2)
    out["simple_epoch"] = _run(_probe(2), [wl.SimpleSharpener(1, steps=2, per="epoch")], 6,
                               num_layers=2)
    out["scheduled"] = _run(_probe(2), [wl.ScheduledSharpener([(0, 1), (1, 2)])], 3,
                            num_layers=2)

    # AdaptiveSharpener: a constant loss is a plateau after one epoch; it then sharpens per
    # batch. What each batch should use is the callback's own bookkeeping before the batch.
    adaptive = wl.AdaptiveSharpener(min_init_epochs=0, patience=0, rate=0.5)
    model = _probe(2)

    class Expected(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append([])

        def on_train_batch_begin(self, batch, logs=None):
            self.epochs[-1].append([round(v, 4) for v in adaptive._values])

    expected = Expected()
    out["adaptive"] = _run(model, [adaptive, expected], 4, num_layers=2)
    out["adaptive"]["expected"] = expected.epochs

    # The spiking evaluator scores fully sharp, then the train step is back at 0.
    model = _probe(1)
    x = np.full((4, 1), 0.5 + EPS, "float32")
    evaluator = wl.SpikingEvaluator((x, x), batch_size=4)
    out["evaluator"] = _run(model, [evaluator], 2)
    out["evaluator"]["spiking_loss"] = float(evaluator.scores()["spiking_loss"])

    # Straight-through fine-tune: fully sharp, a weight moves only once it is on.
    inputs = keras.Input((1,))
    dense = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
    model = keras.Model(inputs, wl.SpikingBReLU(sharpness=1.0)(dense(inputs)))
    model.compile(keras.optimizers.SGD(0.1), loss=lambda y, p: keras.ops.mean(p, axis=-1))
    kernels = []

    class Kernel(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            kernels.append(float(keras.ops.convert_to_numpy(dense.kernel)[0, 0]))

    model.fit(x, x, batch_size=1, epochs=2, shuffle=False, verbose=0,
              callbacks=[training.StraightThroughFinetune(1), Kernel()])
    out["finetune"] = {"kernels": kernels,
                       "straight_through_after": [layer.straight_through for layer in
                                                  wl.spiking_layers(model)]}

    # training.fit with a recipe: warm-up, per-batch sharpening, a sharp epoch, fine-tune.
    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=2, sharp_epochs=1,
                            finetune_epochs=1, batch_size=8, learning_rate=0.01)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2, towers=1)
    rng = np.random.default_rng(0)
    xs = rng.random((32, 4)).astype("float32")
    ys = (xs[:, 0] > 0.5).astype("int64")
    snapshot = training.FloatSnapshot()
    history = training.fit(model, xs, ys, recipe, progress=False, seed=0, callbacks=[snapshot])
    out["fit"] = {"sharpness": [round(float(v), 6) for v in history.history["sharpness"]],
                  "learning_rate": history.history["learning_rate"],
                  "final": wl.get_sharpness(model),
                  "loss_finite": bool(np.all(np.isfinite(history.history["loss"]))),
                  "float_snapshot_epoch": snapshot.epoch,
                  "straight_through_after": [layer.straight_through for layer in
                                             wl.spiking_layers(model)]}

    # .keras round trip, part-sharp.
    wl.set_sharpness(model, [1.0, 0.5])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, safe_mode=True)
    out["saved"] = {"sharpness": wl.get_sharpness(loaded),
                    "same_predictions": bool(np.allclose(
                        model.predict(xs, verbose=0), loaded.predict(xs, verbose=0),
                        atol=1e-6))}

    # The spike recorder: compiled once, sees sharpness changes, any number of samples.
    wl.set_sharpness(model, 1.0)
    rec = spikes.recorder(model)
    first, _ = rec(xs[:5], batch_size=4)
    wl.set_sharpness(model, 0.0)
    second, probs = rec(xs[:7], batch_size=4)
    out["recorder"] = {
        "trace_count": rec.trace_count,
        "binary_when_sharp": all(set(np.unique(v)) <= {0.0, 1.0} for v in first.values()),
        "shapes": [list(v.shape) for v in second.values()],
        "graded_at_zero": any(not set(np.unique(v)) <= {0.0, 1.0} for v in second.values()),
        "matches_predict": bool(np.allclose(probs, model.predict(xs[:7], verbose=0),
                                            atol=1e-6)),
    }

    # The activation plot draws on every backend.
    view = plots.ActivationPlot(0.5)
    out["plot_max_gradient"] = float(np.max(view.grad_line.get_ydata()))
    return out


# ----------------------------------------------------------------------------------------
# The tests
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def results():
    """What the train steps saw on the backend this suite runs on."""
    return collect()


def _close(a, b, atol=2e-3):
    np.testing.assert_allclose(np.array(a, dtype=float), np.array(b, dtype=float), atol=atol)


SHARP = 1.0 - EPS  # what the probe reads for the step (its output 1 is the ramp's clip)


def test_results_come_from_this_backend(results):
    assert results["backend"] == backend()


def test_simple_sharpener_per_batch_reaches_the_train_step(results):
    r = results["simple_batch"]
    _close(np.array(r["used"])[:, :, 0], np.arange(8).reshape(2, 4) / 8)  # batch k at k/8
    assert r["final"] == [1.0] and r["logged"][-1] == 1.0


def test_simple_sharpener_per_epoch_reaches_the_train_step(results):
    r = results["simple_epoch"]
    used = np.array(r["used"])  # (epochs, batches, layers)
    # start_epoch 1: steps at the ends of epochs 1..4, bottom-up, 2 steps per layer.
    expected = [[0, 0], [0, 0], [0.5, 0], [SHARP, 0], [SHARP, 0.5], [SHARP, SHARP]]
    for epoch, values in enumerate(expected):
        _close(used[epoch], [values] * 4)
    assert r["final"] == [1.0, 1.0]


def test_scheduled_sharpener_reaches_the_train_step(results):
    r = results["scheduled"]
    used = np.array(r["used"])
    ramp = np.arange(4) / 4
    _close(used[0], np.stack([ramp, np.zeros(4)], 1))
    _close(used[1], np.stack([np.full(4, SHARP), ramp], 1))
    _close(used[2], np.full((4, 2), SHARP))
    assert r["final"] == [1.0, 1.0]


def test_adaptive_sharpener_reaches_the_train_step(results):
    r = results["adaptive"]
    expected = np.minimum(np.array(r["expected"]), SHARP)
    _close(r["used"], expected)
    assert r["final"][0] > 0.5  # it did sharpen (it once stayed at 0 on JAX)
    assert np.array(r["used"])[-1, -1, 0] > 0.5


def test_spiking_evaluator_scores_sharp_and_training_stays_float(results):
    r = results["evaluator"]
    _close(r["used"], np.zeros((2, 4, 1)))
    assert r["final"] == [0.0]
    assert r["spiking_loss"] == pytest.approx(1.0)


def test_straight_through_finetune_reaches_the_train_step(results):
    r = results["finetune"]
    assert r["kernels"][0] == 1.0  # fully sharp, no gradient: the weight stays
    assert r["kernels"][1] < 1.0  # straight-through: it learns
    assert r["straight_through_after"] == [False]


def test_training_fit_with_a_full_recipe(results):
    from whetstone_lab import recipes

    r = results["fit"]
    assert r["final"] == [1.0, 1.0] and r["loss_finite"]
    # 32 samples in batches of 8: 4 train steps per epoch. Bottom-up over 2 layers, 4 steps
    # each: layer 0 ramps through epoch 1, layer 1 through epoch 2 (the logs hold the
    # sharpness after each epoch), then a sharp epoch and the fine-tune.
    assert r["sharpness"] == [0.0, 0.5, 1.0, 1.0, 1.0]
    assert r["straight_through_after"] == [False, False]
    assert r["float_snapshot_epoch"] == 0  # the warm-up's last epoch
    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=2, sharp_epochs=1,
                            finetune_epochs=1, batch_size=8, learning_rate=0.01)
    _close(r["learning_rate"], [recipe.learning_rate_at(e) for e in range(5)], atol=1e-9)


def test_keras_file_round_trip(results):
    assert results["saved"] == {"sharpness": [1.0, 0.5], "same_predictions": True}


def test_spike_recorder_is_compiled_once_and_follows_the_sharpness(results):
    r = results["recorder"]
    if backend() in ("tensorflow", "jax"):  # compiled there; other backends run eagerly
        assert r["trace_count"] == 1
    assert r["binary_when_sharp"] and r["graded_at_zero"] and r["matches_predict"]
    assert r["shapes"] == [[7, 3], [7, 4]]


def test_activation_plot_gradient(results):
    assert results["plot_max_gradient"] == pytest.approx(1 / 0.501, rel=1e-5)


def test_activation_gradient_closed_form_matches_autodiff():
    import whetstone_lab as wl
    from whetstone_lab.plots.activation import ramp_gradient

    x = np.linspace(-0.5, 1.5, 2001).astype("float32")
    for s in (0.0, 0.3, 0.9, 0.999, 1.0):
        _, g = value_and_grad(wl.SpikingBReLU(sharpness=s), x)
        np.testing.assert_allclose(ramp_gradient(x, s), g, rtol=1e-5, err_msg=str(s))
