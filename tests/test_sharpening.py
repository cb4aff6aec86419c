"""Sharpness mapping, the schedules step by step, the spiking evaluator (docs/design.md), and
a schedule on several devices."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

import whetstone_lab as wl
from whetstone_lab.sharpening import layer_sharpness


def chain(num_spiking=3, width=4):
    layers = [keras.Input((width,))]
    for _ in range(num_spiking):
        layers += [keras.layers.Dense(width), wl.SpikingBReLU()]
    return keras.Sequential(layers)


def drive(callback, model, epochs, steps=4, losses=None):
    """Run a callback through `epochs` epochs of `steps` batches without training (the
    callback's Python hooks only: for the Adaptive schedule, which is driven by losses).

    Returns the per-layer sharpness at the end of each epoch and the epoch logs.
    """
    callback.set_model(model)
    callback.set_params({"epochs": epochs, "steps": steps, "verbose": 0})
    callback.on_train_begin()
    per_epoch, logs_seen = [], []
    for epoch in range(epochs):
        model.stop_training = False
        callback.on_epoch_begin(epoch)
        for batch in range(steps):
            callback.on_train_batch_begin(batch)
            callback.on_train_batch_end(batch, {})
        logs = {"loss": losses[epoch]} if losses is not None else {}
        callback.on_epoch_end(epoch, logs)
        per_epoch.append(wl.get_sharpness(model))
        logs_seen.append(logs)
        if model.stop_training:
            break
    return per_epoch, logs_seen


class _Probe(keras.callbacks.Callback):
    """Each layer's sharpness after every batch and at the end of every epoch."""

    def on_train_begin(self, logs=None):
        self.batches, self.epochs, self.logs = [], [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(wl.get_sharpness(self.model))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(wl.get_sharpness(self.model))
        self.logs.append(dict(logs or {}))


def fit(callback, model, epochs, steps=4):
    """Train ``model`` for real (learning rate 0: only the sharpness changes) with
    ``callback``, ``steps`` batches an epoch. Returns the probe (batches, epochs, logs)."""
    model.compile(keras.optimizers.SGD(0.0), "mse")
    width = model.inputs[0].shape[-1]
    x = np.random.default_rng(0).random((2 * steps, width)).astype("f4")
    probe = _Probe()
    model.fit(x, np.zeros((2 * steps, model.outputs[0].shape[-1]), "f4"), batch_size=2,
              epochs=epochs, shuffle=False, verbose=0, callbacks=[callback, probe])
    return probe


# -- mapping -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "g, expected",
    [
        (0.0, [0, 0, 0, 0]),
        (0.125, [0.5, 0, 0, 0]),
        (0.25, [1, 0, 0, 0]),
        (0.6, [1, 1, 0.4, 0]),
        (0.99, [1, 1, 1, 0.96]),
        (1.0, [1, 1, 1, 1]),
    ],
)
def test_bottom_up_mapping(g, expected):
    np.testing.assert_allclose(layer_sharpness(g, 4, "bottom_up"), expected, atol=1e-9)


def test_bottom_up_guards_rounding_at_layer_boundaries():
    # 1/3 and 2/3 are not exact in binary floating point.
    np.testing.assert_allclose(layer_sharpness(1 / 3, 3), [1, 0, 0], atol=1e-9)
    np.testing.assert_allclose(layer_sharpness(2 / 3, 3), [1, 1, 0], atol=1e-9)
    assert layer_sharpness(1.0 - 1e-9, 3) == [1.0, 1.0, 1.0]


def test_uniform_mapping_and_global_sharpness_round_trip():
    model = chain(3)
    assert wl.set_sharpness(model, 0.4, mode="uniform") == [0.4] * 3
    assert wl.global_sharpness(model) == pytest.approx(0.4)
    wl.set_sharpness(model, 0.5)
    np.testing.assert_allclose(wl.get_sharpness(model), [1, 0.5, 0], atol=1e-6)
    assert wl.global_sharpness(model) == pytest.approx(0.5)


def test_spiking_layers_are_found_in_nested_models_in_order():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4),
                              wl.SpikingBReLU(name="inner_a"), keras.layers.Dense(4),
                              wl.SpikingBReLU(name="inner_b")], name="inner")
    inputs = keras.Input((4,))
    x = wl.SpikingBReLU(name="first")(keras.layers.Dense(4)(inputs))
    x = inner(x)
    x = wl.SpikingBReLU(name="last")(keras.layers.Dense(4)(x))
    model = keras.Model(inputs, x)
    assert [lyr.name for lyr in wl.spiking_layers(model)] == ["first", "inner_a", "inner_b", "last"]
    wl.set_sharpness(model, [0.1, 0.2, 0.3, 0.4])
    assert wl.get_sharpness(inner) == [pytest.approx(0.2), pytest.approx(0.3)]


def test_set_sharpness_errors_are_clear():
    plain = keras.Sequential([keras.Input((2,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="no spiking layers"):
        wl.set_sharpness(plain, 0.5)
    with pytest.raises(ValueError, match="2 per-layer.*3 spiking layers"):
        wl.set_sharpness(chain(3), [0.1, 0.2])
    with pytest.raises(ValueError, match=r"sharpness\[1\] must be a finite number >= 0 and <= 1"):
        wl.set_sharpness(chain(3), [0.1, 2.0, 0.3])
    with pytest.raises(ValueError, match="mode must be one of"):
        wl.set_sharpness(chain(3), 0.5, mode="top_down")
    with pytest.raises(TypeError, match="global sharpness must be a finite number"):
        wl.set_sharpness(chain(3), "half")


def test_fully_sharp_context_restores():
    model = chain(2)
    wl.set_sharpness(model, [0.2, 0.7])
    with wl.fully_sharp(model):
        assert wl.is_fully_sharp(model)
    np.testing.assert_allclose(wl.get_sharpness(model), [0.2, 0.7], atol=1e-6)


# -- the variable is in the compiled graph ---------------------------------------------
def test_compiled_functions_see_sharpness_changes_between_epochs_and_batches():
    keras.utils.set_random_seed(0)
    model = chain(1, width=8)
    model.compile(keras.optimizers.SGD(0.0), "mse")  # lr 0: weights fixed, only s changes
    x = np.random.default_rng(0).normal(0.5, 0.3, size=(32, 8)).astype("f4")
    soft = model.predict(x, verbose=0)
    wl.set_sharpness(model, 1.0)
    hard = model.predict(x, verbose=0)
    assert not np.array_equal(soft, hard)
    assert set(np.unique(hard)) <= {0.0, 1.0}
    assert not set(np.unique(soft)) <= {0.0, 1.0}

    class Record(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.losses = []

        def on_train_batch_end(self, batch, logs=None):
            self.losses.append(float(logs["loss"]))
            wl.set_sharpness(self.model, 1.0 if batch % 2 == 0 else 0.0)

    wl.set_sharpness(model, 0.0)
    rec = Record()
    model.fit(x, np.zeros_like(soft), batch_size=8, epochs=1, shuffle=False, verbose=0,
              callbacks=[rec])
    # Keras reports the running mean; recover per-batch losses and compare with hand values.
    running = np.array(rec.losses)
    per_batch = running * np.arange(1, 5) - np.concatenate([[0], running[:-1] * np.arange(1, 4)])
    expected = []
    for i, s in enumerate([0.0, 1.0, 0.0, 1.0]):
        wl.set_sharpness(model, s)
        expected.append(float(np.mean(model.predict(x[8 * i: 8 * i + 8], verbose=0) ** 2)))
    np.testing.assert_allclose(per_batch, expected, rtol=1e-4)


# -- Simple ------------------------------------------------------------------------------
def test_simple_schedule_reproduces_the_worked_example():
    model = chain(3)
    sharpener = wl.SimpleSharpener(start_epoch=5, steps=5, per="epoch")
    per_epoch, logs = drive(sharpener, model, epochs=21)
    sharp_after = [next(e for e, s in enumerate(per_epoch) if s[i] == 1.0) for i in range(3)]
    assert sharp_after == [9, 14, 19]
    assert all(s == [0.0, 0.0, 0.0] for s in per_epoch[:5])
    np.testing.assert_allclose(per_epoch[5], [0.2, 0, 0], atol=1e-6)
    np.testing.assert_allclose(per_epoch[11], [1, 0.4, 0], atol=1e-6)
    # The log holds the sharpness each epoch trained at: epoch 20 trains fully sharp.
    assert logs[20]["sharpness"] == 1.0
    assert logs[19]["sharpness"] == pytest.approx(14 / 15)
    assert [round(entry["sharpness"] * 15) for entry in logs] == [0] * 6 + list(range(1, 16))


def test_simple_schedule_per_batch():
    model = chain(2)
    probe = fit(wl.SimpleSharpener(start_epoch=1, steps=6, per="batch"), model, epochs=4)
    # 2 layers × 6 steps = 12 batch steps, 4 per epoch, from epoch 1 on.
    per_epoch = probe.epochs
    np.testing.assert_allclose(per_epoch[0], [0, 0], atol=1e-6)
    np.testing.assert_allclose(per_epoch[1], [4 / 6, 0], atol=1e-6)
    np.testing.assert_allclose(per_epoch[2], [1, 2 / 6], atol=1e-6)
    assert per_epoch[3] == [1.0, 1.0]
    assert not any(layer.scheduled for layer in wl.spiking_layers(model))  # off after fit


def python_simple_trajectory(values, steps, mode, start_epoch, epochs, batches):
    """The per-batch SimpleSharpener as it ran in Python, one step after every batch: the
    per-layer sharpness after each batch (the reference for the in-graph schedule)."""
    n = len(values)
    total = steps * n if mode == "bottom_up" else steps
    taken = int(round(np.mean(values) * total))
    resumed, values, out = taken > 0, list(values), []
    for epoch in range(epochs):
        for _ in range(batches):
            if (resumed or epoch >= start_epoch) and taken < total:
                taken += 1
                g = 1.0 if taken >= total else taken / total
                values = [max(v, t) for v, t in zip(values, layer_sharpness(g, n, mode),
                                                    strict=True)]
            out.append(list(values))
    return out


@pytest.mark.parametrize("mode, start, steps, initial", [
    ("bottom_up", 1, 5, [0.0, 0.0, 0.0]),
    ("uniform", 0, 7, [0.0, 0.0, 0.0]),
    ("bottom_up", 3, 4, [1.0, 0.5, 0.0]),    # resumed on the grid
    ("bottom_up", 0, 3, [0.5, 0.5, 0.5]),    # resumed from a uniform state: never lowered
])
def test_in_graph_per_batch_schedule_matches_the_python_callback_batch_by_batch(
        mode, start, steps, initial):
    model = chain(3)
    wl.set_sharpness(model, initial)
    probe = fit(wl.SimpleSharpener(start_epoch=start, steps=steps, per="batch", mode=mode),
                model, epochs=6, steps=3)
    expected = python_simple_trajectory(initial, steps, mode, start, 6, 3)
    np.testing.assert_allclose(probe.batches, expected, atol=1e-6)
    np.testing.assert_allclose([log["sharpness"] for log in probe.logs],
                               [np.mean(expected[3 * e + 2]) for e in range(6)], atol=1e-6)


def test_the_train_step_sees_the_sharpness_of_its_batch():
    """The activation's output on a fixed input reveals the sharpness each train step used:
    at x = 0.5 + ε the ramp gives 0.5 + ε / (1 − s + λ)."""
    eps = 1e-3
    inputs = keras.Input((1,))
    layer = wl.SpikingBReLU()
    identity = keras.layers.Dense(1, kernel_initializer="ones", use_bias=False)  # lr 0: fixed
    model = keras.Model(inputs, layer(identity(inputs)))
    model.compile(keras.optimizers.SGD(0.0), loss=lambda y, p: keras.ops.mean(p, axis=-1))
    seen = []

    class Loss(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(float(logs["loss"]))

    x = np.full((8, 1), 0.5 + eps, "f4")
    model.fit(x, x, batch_size=1, epochs=1, shuffle=False, verbose=0,
              callbacks=[wl.SimpleSharpener(0, steps=8, per="batch", mode="uniform"),
                         Loss()])
    running = np.array(seen)  # Keras logs the running mean of the batch losses
    per_batch = running * np.arange(1, 9) - np.concatenate([[0], running[:-1] * np.arange(1, 8)])
    used = 1.0 + wl.LAMBDA - eps / (per_batch - 0.5)
    np.testing.assert_allclose(used, np.arange(8) / 8, atol=2e-3)  # batch k trains at k/8
    assert layer.get_sharpness() == 1.0


def test_simple_schedule_uniform():
    model = chain(3)
    per_epoch = fit(wl.SimpleSharpener(start_epoch=0, steps=4, mode="uniform"), model, 5).epochs
    for epoch, values in enumerate(per_epoch[:4]):
        np.testing.assert_allclose(values, [(epoch + 1) / 4] * 3, atol=1e-6)
    assert per_epoch[3] == [1.0, 1.0, 1.0]


def test_simple_schedule_resumes_from_the_models_sharpness_and_stops():
    model = chain(2)
    wl.set_sharpness(model, 0.5)  # layer 0 already sharp, as if reloaded mid-sharpening
    sharpener = wl.SimpleSharpener(start_epoch=10, steps=2, stop_after_sharp=1)
    per_epoch, _ = drive(sharpener, model, epochs=10)
    np.testing.assert_allclose(per_epoch[0], [1, 0.5], atol=1e-6)  # no second warm-up
    assert per_epoch[1] == [1.0, 1.0]
    assert len(per_epoch) == 3  # one fully sharp epoch, then training stops


def test_real_fit_logs_sharpness_in_history():
    keras.utils.set_random_seed(0)
    model = chain(2)
    model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(16, 4)).astype("f4")
    history = model.fit(x, x, epochs=4, batch_size=8, verbose=0,
                        callbacks=[wl.SimpleSharpener(start_epoch=1, steps=1)])
    np.testing.assert_allclose(history.history["sharpness"], [0, 0, 0.5, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"start_epoch": -1}, "start_epoch"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps must be an integer"),
        ({"per": "step"}, "per must be"),
        ({"mode": "top"}, "mode must be one of"),
    ],
)
def test_simple_schedule_bad_parameters(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        wl.SimpleSharpener(**kwargs)


# -- Scheduled ---------------------------------------------------------------------------
def test_scheduled_sharpens_exactly_inside_each_window():
    model = chain(2)
    probe = fit(wl.ScheduledSharpener([(1, 3), (3, 4)]), model, epochs=5, steps=4)
    np.testing.assert_allclose(probe.epochs, [[0, 0], [0.5, 0], [1, 0], [1, 1], [1, 1]],
                               atol=1e-6)
    # Inside the window the ramp is linear per batch, as the Python callback set it after
    # batch b of epoch e: (e − start + (b + 1)/B) / (stop − start).
    expected = [[min(max((e - start + (b + 1) / 4) / (stop - start), 0.0), 1.0)
                 for start, stop in [(1, 3), (3, 4)]] for e in range(5) for b in range(4)]
    np.testing.assert_allclose(probe.batches, expected, atol=1e-6)
    np.testing.assert_allclose([b[0] for b in probe.batches[4:8]], [0.125, 0.25, 0.375, 0.5],
                               atol=1e-6)


@pytest.mark.parametrize(
    "schedule, match",
    [
        ([(0, 3), (2, 5)], "overlap"),
        ([(3, 3)], "greater than"),
        ([(0, 1, 2)], "pair"),
        ([], "one"),
        ([(-1, 2)], "start"),
    ],
)
def test_scheduled_bad_windows(schedule, match):
    with pytest.raises(ValueError, match=match):
        wl.ScheduledSharpener(schedule)


def test_scheduled_window_count_must_match_layers():
    with pytest.raises(ValueError, match="2 windows but the model has 3"):
        drive(wl.ScheduledSharpener([(0, 1), (1, 2)]), chain(3), epochs=1)


# -- Adaptive ----------------------------------------------------------------------------
def test_adaptive_waits_for_warmup_and_plateau_then_pauses_and_resumes():
    model = chain(2)
    cb = wl.AdaptiveSharpener(min_init_epochs=3, rate=0.5, critical=0.75, cz_rate=0.25,
                              patience=1, extra_epochs=0)
    losses = [1.0, 0.5, 0.45, 0.44, 0.44,  # improving, then a plateau after warm-up
              0.44, 0.44, 0.60,            # sharpening; then a >= 15 % rise pauses it
              0.40, 0.39, 0.39,            # recovers (improvement), plateaus again
              0.39, 0.39, 0.39, 0.39, 0.39, 0.39, 0.39, 0.39, 0.39]
    per_epoch, logs = drive(cb, model, epochs=len(losses), steps=4, losses=losses)
    flags = [entry["sharpening"] for entry in logs]
    # Warm-up: epochs 0-2 never sharpen even though 1->2 is no big improvement.
    # Epoch 2: 0.45 vs ref 0.5 is < 15 % better → wait 1; epoch 3 → wait 2 > patience: start.
    assert flags[:3] == [0, 0, 0] and flags[3] == 1.0
    assert per_epoch[3] == [0.0, 0.0]          # decided at the end of epoch 3
    np.testing.assert_allclose(per_epoch[4], [0.5, 0], atol=1e-6)   # rate 0.5 per epoch
    # Two batches at rate/4 reach critical (0.75), two more at cz_rate/4: 0.875.
    np.testing.assert_allclose(per_epoch[5], [0.875, 0], atol=1e-6)
    # Reaching 1 ends sharpening for the epoch: layer 1 waits for the next one.
    assert per_epoch[6] == [1.0, 0.0]
    # Epoch 7's loss 0.60 >= 1.15 × 0.44: pause.
    assert flags[7] == 0.0
    assert per_epoch[8] == per_epoch[7]
    # Recovers to 0.40 (not >= 15 % below 0.60? it is: 0.40 < 0.51 → new reference), then
    # 0.39, 0.39 are a plateau: resumes at the end of epoch 10.
    assert flags[8:10] == [0.0, 0.0] and flags[10] == 1.0
    assert wl.is_fully_sharp(model)
    assert len(per_epoch) < len(losses)  # stopped once everything was sharp


def test_adaptive_finishes_one_layer_before_the_next_and_stops_when_sharp():
    model = chain(3)
    cb = wl.AdaptiveSharpener(min_init_epochs=0, rate=0.4, critical=0.9, cz_rate=0.4,
                              patience=0, extra_epochs=1)
    per_epoch, logs = drive(cb, model, epochs=40, steps=5, losses=[1.0] * 40)
    for values in per_epoch:
        # bottom-up: a layer only moves once every layer below it is sharp
        for low, high in zip(values, values[1:]):
            assert high == 0.0 or low == 1.0
    # A layer reaching 1 ends sharpening for that epoch: the next layer starts next epoch.
    first_sharp = next(e for e, v in enumerate(per_epoch) if v[0] == 1.0)
    assert per_epoch[first_sharp][1] == 0.0
    assert wl.is_fully_sharp(model)
    last_move = next(e for e, v in enumerate(per_epoch) if v == [1.0, 1.0, 1.0])
    assert len(per_epoch) == last_move + 2  # one extra fully sharp epoch, then stop


def test_adaptive_reports_a_missing_monitor():
    with pytest.raises(KeyError, match="val_loss"):
        drive(wl.AdaptiveSharpener(monitor="val_loss"), chain(1), 1, losses=[1.0])


@pytest.mark.parametrize("kwargs", [{"rate": 0}, {"rate": 1.5}, {"critical": -0.1},
                                    {"patience": -1}, {"sig_decrease": 1.5},
                                    {"min_init_epochs": 1.5}])
def test_adaptive_bad_parameters(kwargs):
    with pytest.raises((ValueError, TypeError)):
        wl.AdaptiveSharpener(**kwargs)


# -- Spiking evaluator -------------------------------------------------------------------
def test_spiking_evaluator_scores_fully_sharp_and_restores():
    keras.utils.set_random_seed(0)
    model = chain(2)
    model.compile("adam", "mse", metrics=["mae"])
    x = np.random.default_rng(0).normal(0.5, 0.5, size=(32, 4)).astype("f4")
    y = np.ones((32, 4), "f4")
    wl.set_sharpness(model, [0.3, 0.1])
    evaluator = wl.SpikingEvaluator((x, y))
    history = model.fit(x, y, epochs=2, verbose=0, callbacks=[evaluator])
    np.testing.assert_allclose(wl.get_sharpness(model), [0.3, 0.1], atol=1e-6)
    assert {"spiking_loss", "spiking_mae"} <= set(history.history)
    with wl.fully_sharp(model):
        expected = model.evaluate(x, y, verbose=0, return_dict=True)
    assert history.history["spiking_loss"][-1] == pytest.approx(expected["loss"], rel=1e-5)
    assert model.evaluate(x, y, verbose=0) != pytest.approx(expected["loss"])


def test_per_batch_schedule_resumes_exactly_after_save_and_load(tmp_path):
    """Training 2 epochs, saving, loading and training 2 more follows the same per-batch
    trajectory as 4 epochs in one go (the in-graph schedule's state is not needed: the
    sharpener counts the steps the model has already taken)."""
    whole = fit(wl.SimpleSharpener(start_epoch=1, steps=6, per="batch"), chain(2), epochs=4)
    model = chain(2)
    first = fit(wl.SimpleSharpener(start_epoch=1, steps=6, per="batch"), model, epochs=2)
    model.save(tmp_path / "half.keras")
    loaded = keras.saving.load_model(tmp_path / "half.keras")
    assert not any(layer.scheduled for layer in wl.spiking_layers(loaded))
    second = fit(wl.SimpleSharpener(start_epoch=1, steps=6, per="batch"), loaded, epochs=2)
    np.testing.assert_allclose(first.batches + second.batches, whole.batches, atol=1e-6)


# -- the spiking evaluator's labels: checked against the model before any epoch -------------
def _classifier() -> keras.Model:
    keras.utils.set_random_seed(0)
    return wl.models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2, towers=1)


_X = np.random.default_rng(0).random((16, 4)).astype("float32")
_Y = np.arange(16) % 2


@pytest.mark.parametrize("x, y, message", [
    (_X, _Y + 2, r"validation_data\[1\] \(y\) must hold class labels in \[0, 2\).*from 2 to 3"),
    (_X, _Y - 1, r"labels in \[0, 2\).*from -1 to 0"),
    (_X, _Y + 0.5, "whole numbers"),
    (_X, np.eye(2)[_Y], r"looks one-hot.*argmax"),
    (_X[:, :3], _Y, r"validation_data\[0\] \(x\) has shape \(16, 3\).*samples of shape \(4,\)"),
])
def test_spiking_evaluator_checks_labels_against_the_models_classes_before_training(x, y, message):
    model = _classifier()
    wl.training.compile_model(model, wl.recipe("lesson"))
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        model.fit(_X, _Y, epochs=1, verbose=0, callbacks=[wl.SpikingEvaluator((x, y))])
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # no step ran
    with pytest.raises(ValueError, match=message):  # not compiled yet: the decoder's labels
        wl.SpikingEvaluator((x, y)).set_model(_classifier())


@pytest.mark.parametrize("x, y, error, message", [
    (_X, _Y[:5], ValueError, "same number of samples"),
    (np.full_like(_X, np.nan), _Y, ValueError, r"validation_data\[0\] \(x\) must be finite"),
    (_X, np.full(16, np.inf), ValueError, "must be finite"),
    (_X, np.array(["a"] * 16), TypeError, "numeric array"),
])
def test_spiking_evaluator_refuses_bad_arrays_when_made(x, y, error, message):
    with pytest.raises(error, match=message):
        wl.SpikingEvaluator((x, y))


def test_spiking_evaluator_takes_the_targets_its_models_loss_takes():
    model = _classifier()
    model.compile("adam", keras.losses.CategoricalCrossentropy())  # one-hot targets
    with pytest.raises(ValueError, match=r"output shape \(n, 2\) for its Keras loss"):
        wl.SpikingEvaluator((_X, _Y)).set_model(model)
    history = model.fit(_X, np.eye(2)[_Y], epochs=1, verbose=0,
                        callbacks=[wl.SpikingEvaluator((_X, np.eye(2)[_Y]))])
    assert "spiking_loss" in history.history
    model.compile("adam", lambda y, p: keras.ops.mean(p, axis=-1))  # a loss of the user's own
    wl.SpikingEvaluator((_X, np.zeros((16, 7)))).set_model(model)  # only its code knows


MIRRORED = textwrap.dedent("""
    import os
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    import whetstone_lab as wl

    keras.utils.set_random_seed(0)
    data = wl.data.load("digits")
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    with strategy.scope():
        model = wl.models.dense_classifier((8, 8, 1), hidden=(64, 32))
        model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            var = wl.spiking_layers(self.model)[0].sharpness
            seen.append([float(v.numpy()) for v in strategy.experimental_local_results(var.value)])

    sharpener = wl.SimpleSharpener(start_epoch=2, steps=2)
    model.fit(data.x_train, data.y_train, epochs=9, batch_size=64, verbose=0,
              callbacks=[sharpener, Probe()])
    assert all(len(set(values)) == 1 and len(values) == 2 for values in seen), seen
    assert wl.is_fully_sharp(model)
    acc = model.evaluate(data.x_test, data.y_test, verbose=0)[1]
    print("replicas", seen[-1], "accuracy", acc)
    assert acc > 0.5
""")


@pytest.mark.integration
@pytest.mark.skipif(keras.backend.backend() != "tensorflow",
                    reason="tf.distribute.MirroredStrategy is TensorFlow's")
def test_mirrored_strategy_on_two_logical_cpus():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "replicas [1.0, 1.0]" in result.stdout
