"""Bad input gets a clear error from the call that was wrong: one test per family.

Families tested elsewhere: decoder keys, the sharpness variable and layer inputs of the wrong
dtype (test_layers.py), data options, placed files and pickles (test_data.py), empty and NaN
plot inputs (test_plots.py), NIR files (test_deploy.py), files export_nir would replace and
settings a toolchain does not run (test_deploy_nir.py).
"""

import json
import math

import keras
import numpy as np
import pytest

import whetstone_lab as wl
from whetstone_lab import recipes, training, validation


# -- the checks themselves ----------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: validation.check_int(2.5, "epochs", minimum=1), TypeError,
     r"epochs must be an integer >= 1, got 2.5 \(float\)"),
    (lambda: validation.check_int(True, "epochs"), TypeError, "epochs must be an integer"),
    (lambda: validation.check_int(0, "epochs", minimum=1), ValueError,
     "epochs must be an integer >= 1, got 0"),
    (lambda: validation.check_number(math.nan, "lr"), ValueError, "lr must be a finite number"),
    (lambda: validation.check_number("1e-3", "lr"), TypeError, "lr must be a finite number"),
    (lambda: validation.check_number(0.0, "lr", minimum=0, min_open=True), ValueError, "> 0"),
    (lambda: validation.check_choice("top", "mode", ("a", "b")), ValueError,
     r"mode must be one of \('a', 'b'\), got 'top'"),
    (lambda: validation.check_choice(3, "mode", ("a",)), TypeError, "mode must be one of"),
    (lambda: validation.check_bool(1, "flag"), TypeError, "flag must be True or False"),
    (lambda: validation.check_shape((8.7, 8, 1), "input_shape"), TypeError,
     "the entry 8.7 is not an integer"),
    (lambda: validation.check_shape(None, "input_shape"), TypeError,
     "input_shape must be a tuple of positive integers, got None"),
    (lambda: validation.check_shape((8, 0), "input_shape"), ValueError, "positive integers"),
    (lambda: validation.check_array([[1, 2], [3]], "x"), TypeError, "ragged"),
    (lambda: validation.check_array(["a"], "x"), TypeError, "numeric array"),
    (lambda: validation.check_array(np.zeros((0, 3)), "x"), ValueError, "at least 1 sample"),
    (lambda: validation.check_array([1.0, np.nan], "x"), ValueError, "finite"),
    (lambda: validation.check_array([0.5], "y", integer=True), ValueError, "whole numbers"),
    (lambda: validation.check_samples(np.zeros((2, 3)), (4,), "x"), ValueError,
     r"x has shape \(2, 3\) but the model takes samples of shape \(4,\)"),
    (lambda: validation.check_model("model"), TypeError, "model must be a Keras model"),
])
def test_checks_name_the_argument_the_value_and_what_is_accepted(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_checks_return_plain_python_values():
    assert validation.check_int(np.int64(3), "n") == 3 and type(validation.check_int(
        np.int64(3), "n")) is int
    assert validation.check_shape([8, np.int32(8), 1], "s") == (8, 8, 1)
    assert validation.check_samples(np.zeros(4), (4,)).shape == (1, 4)  # one sample


# -- model builders -----------------------------------------------------------------------
@pytest.mark.parametrize("shape, error", [((8.7, 8, 1), TypeError), (None, TypeError),
                                          (64, TypeError), ((8, -8, 1), ValueError)])
def test_builders_refuse_bad_input_shapes(shape, error):
    with pytest.raises(error, match="input_shape"):
        wl.models.dense_classifier(shape)
    with pytest.raises(error, match="input_shape"):
        wl.models.conv_classifier(shape)


@pytest.mark.parametrize("kwargs, error, name", [
    ({"num_classes": 2.0}, TypeError, "num_classes"),
    ({"neurons_per_class": 0}, ValueError, "neurons_per_class"),
    ({"hidden": (32.5,)}, TypeError, "hidden"),
    ({"batchnorm": "yes"}, TypeError, "batchnorm"),
    ({"temperature": -1}, ValueError, "temperature"),
])
def test_builders_refuse_bad_arguments(kwargs, error, name):
    with pytest.raises(error, match=name):
        wl.models.dense_classifier((4,), **kwargs)


# -- callbacks fail when made, not an epoch later -------------------------------------------
@pytest.mark.parametrize("make, error", [
    (lambda: wl.SpikingEvaluator(None), TypeError),
    (lambda: wl.SpikingEvaluator("data"), TypeError),
    (lambda: wl.SpikingEvaluator((np.zeros((3, 4)), np.zeros(2))), ValueError),
    (lambda: wl.SpikingEvaluator((np.zeros((3, 4)), np.zeros(3)), batch_size=0), ValueError),
    (lambda: training.StraightThroughFinetune("a"), TypeError),
    (lambda: training.StraightThroughFinetune(-1), ValueError),
    (lambda: wl.SimpleSharpener(steps=2.0), TypeError),
    (lambda: wl.SimpleSharpener(per="step"), ValueError),
    (lambda: wl.AdaptiveSharpener(rate=math.nan), ValueError),
    (lambda: training.LearningRates("lesson"), TypeError),
])
def test_callbacks_refuse_bad_arguments_when_made(make, error):
    with pytest.raises(error):
        make()


def _tiny(layers: int = 3) -> keras.Model:
    keras.utils.set_random_seed(0)
    return wl.models.dense_classifier((4,), 2, hidden=(3,) * (layers - 1), neurons_per_class=2)


def test_adaptive_sharpener_stops_on_a_nan_loss_instead_of_sharpening():
    model = _tiny()
    sharpener = wl.AdaptiveSharpener(min_init_epochs=0, patience=0)
    sharpener.set_model(model)
    sharpener.on_train_begin()
    for epoch, loss in enumerate([1.0, 1.0]):  # a plateau: sharpening starts
        sharpener.on_epoch_begin(epoch)
        sharpener.on_epoch_end(epoch, {"loss": loss})
    assert sharpener.sharpening
    sharpener.on_epoch_begin(2)
    with pytest.warns(RuntimeWarning, match="loss is nan"):
        sharpener.on_epoch_end(2, logs := {"loss": math.nan})
    assert not sharpener.sharpening and model.stop_training and logs["sharpening"] == 0.0
    sharpener.on_train_batch_end(0)
    assert wl.get_sharpness(model) == [0.0, 0.0, 0.0]


def test_simple_sharpener_never_lowers_a_layer_when_resumed_from_uniform():
    model = _tiny()
    wl.set_sharpness(model, 0.5, mode="uniform")
    seen = []

    class Probe(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(wl.get_sharpness(self.model))

    model.compile(keras.optimizers.SGD(0.0), "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).random((12, 4)).astype("float32")
    # Bottom-up would map g = 0.5 to [1, 0.5, 0]: layer 2 must stay at 0.5 or above.
    model.fit(x, np.arange(12) % 2, batch_size=2, epochs=1, verbose=0,
              callbacks=[wl.SimpleSharpener(0, steps=2, per="batch"), Probe()])
    previous = [0.5, 0.5, 0.5]
    for now in seen:
        assert all(b >= a for a, b in zip(previous, now, strict=True)), (previous, now)
        previous = now
    assert wl.is_fully_sharp(model)


# -- training.fit ---------------------------------------------------------------------------
def test_fit_refuses_bad_input_before_training():
    model = _tiny()
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    r = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8)
    with pytest.raises(TypeError, match="recipe must be a Recipe"):
        training.fit(model, x, y, "lesson")
    with pytest.raises(ValueError, match="same number of samples"):
        training.fit(model, x, y[:5], r)
    with pytest.raises(ValueError, match="needs labels y"):
        training.fit(model, x, None, r)
    with pytest.raises(ValueError, match="sample_weight must match"):
        training.fit(model, x, y, r, sample_weight=np.ones(15))
    with pytest.raises(ValueError, match="progress"):
        training.fit(model, x, y, r, progress=0)
    with pytest.raises(TypeError, match="validation_data"):
        training.fit(model, x, y, r, validation_data=x)
    with pytest.raises(ValueError, match="finite"):
        training.fit(model, np.full_like(x, np.nan), y, r)
    with pytest.raises(TypeError, match="model must be a Keras model"):
        training.fit("model", x, y, r)
    with pytest.raises(TypeError, match="optimizer must be a Keras optimizer instance"):
        training.fit(model, x, y, r, optimizer="adamw")
    assert wl.get_sharpness(model) == [0.0, 0.0, 0.0]  # nothing ran


# -- labels: checked against the model's task and classes before anything runs -------------
def _segmenter() -> keras.Model:
    keras.utils.set_random_seed(0)
    return wl.models.segmenter((8, 8, 1), 3, filters=(2,), neurons_per_class=2)


_Y = np.arange(16) % 2
_MASKS = np.arange(4 * 64).reshape(4, 8, 8) % 3


@pytest.mark.parametrize("segment, y, message", [
    (False, _Y + 2, r"labels in \[0, 2\).*from 2 to 3"),               # out of range
    (False, _Y - 1, r"labels in \[0, 2\).*from -1 to 0"),              # negative
    (False, _Y + 0.5, "whole numbers"),                               # silently truncated before
    (False, np.eye(2)[_Y], r"looks one-hot.*argmax"),                  # one-hot
    (False, _Y[:5], "same number of samples"),                        # x/y length mismatch
    (True, _MASKS[:, :4], r"integer labels of shape \(4, 8, 8\)"),     # mask of the wrong shape
    (True, np.eye(3)[_MASKS], "looks one-hot"),
    (True, _MASKS + 3, r"labels in \[0, 3\)"),
])
def test_fit_and_evaluate_check_labels_against_the_models_task_and_classes(segment, y, message):
    model = _segmenter() if segment else _tiny()
    x = np.random.default_rng(0).random((4, 8, 8, 1) if segment else (16, 4)).astype("float32")
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError, match=message):
        training.fit(model, x, y, recipes.Recipe(warmup_epochs=1, sharpen_epochs=1))
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)  # no step ran
    with pytest.raises(ValueError, match=message):
        wl.metrics.evaluate(model, x, y)
    with pytest.raises(ValueError, match=message):
        training.fit(model, x, _MASKS if segment else _Y, recipes.Recipe(),
                     validation_data=(x, y))


def test_scores_refuse_labels_no_prediction_can_equal():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8]])
    with pytest.raises(ValueError, match=r"y_true must hold class labels in \[0, 2\)"):
        wl.metrics.accuracy([0, 7], probabilities)  # scored as a plain miss before
    with pytest.raises(ValueError, match="y_true must hold class labels >= 0"):
        wl.metrics.accuracy([0, -1], [0, 1])
    with pytest.raises(ValueError, match=r"y_true must hold class labels in \[0, 2\)"):
        wl.metrics.ties(np.zeros((2, 4)), wl.make_key(2, 4), [0, 2])  # "wrong" before
    assert wl.metrics.accuracy([0, 1], probabilities) == 1.0


# -- numbers: NaN, infinities, negative weights, absurd rates -------------------------------
def test_bad_numbers_are_refused_where_they_are_given():
    model = _tiny()
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    r = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8)
    with pytest.raises(ValueError, match=r"sample_weight must be >= 0, got -1\.0"):
        training.fit(model, x, _Y, r, sample_weight=-np.ones(16))
    bad_x = x.copy()
    bad_x[0, 0] = np.nan
    with pytest.raises(ValueError, match="validation_data x must be finite"):
        training.fit(model, x, _Y, r, validation_data=(bad_x, _Y))
    with pytest.raises(ValueError, match="validation_data y must be finite"):
        training.fit(model, x, _Y, r, validation_data=(x, np.full(16, np.inf)))
    assert wl.get_sharpness(model) == [0.0, 0.0, 0.0]  # nothing ran
    for rate in (0.0, -1e-3, 1e3, math.inf):
        with pytest.raises(ValueError, match=r"learning_rate must be a finite number > 0 and "
                                             r"<= 10"):
            recipes.Recipe(learning_rate=rate)
        with pytest.raises(ValueError, match="learning_rate"):
            recipes.make_optimizer("adam", rate)
    key = wl.make_key(2, 4)
    with pytest.raises(ValueError, match="spikes must be finite"):
        wl.layers.decode(np.array([[np.nan, 0, 1, 0]]), key)  # class 0 before


# -- wrong types quietly accepted ----------------------------------------------------------
@pytest.mark.parametrize("call, name", [
    (lambda m, x: wl.layers.walk_layers("x"), "model must be a Keras model"),
    (lambda m, x: wl.layers.find_decoder(42), "model must be a Keras model"),
    (lambda m, x: wl.transforms.float_twin(m, copy_weights="no"), "copy_weights must be True"),
    (lambda m, x: wl.metrics.evaluate(m, x, _Y, sharp="no"), "sharp must be True"),
    (lambda m, x: training.fit(m, x, _Y, spiking_evaluator="no"), "spiking_evaluator must be"),
    (lambda m, x: training.fit(m, x, _Y, callbacks="early"), "callbacks must be a list"),
    (lambda m, x: training.fit(m, x, _Y, callbacks=[print]), r"callbacks\[0\] must be a keras"),
])
def test_a_value_of_the_wrong_type_is_refused_not_read_as_something_else(call, name):
    model = _tiny()
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    with pytest.raises(TypeError, match=name):
        call(model, x)
    assert wl.get_sharpness(model) == [0.0, 0.0, 0.0]  # nothing ran


def test_mistyped_settings_name_what_is_accepted():
    with pytest.raises(TypeError, match="Recipe has no field 'epochs'; its fields are name, "):
        recipes.recipe().with_(epochs=3)
    with pytest.raises(TypeError, match="seed must be an integer >= 0, got '0'"):
        training.seed_everything("0")
    with pytest.raises(ValueError, match="x and y must have the same number of samples"):
        wl.metrics.sharpness_sweep(_tiny(), np.zeros((16, 4)), _Y[:3])
    with pytest.raises(TypeError, match="stratify must be an array of one label per sample"):
        training.validation_split(np.zeros((16, 4)), _Y, stratify="y")
    with pytest.raises(ValueError, match="x and stratify must have the same number"):
        training.validation_split(np.zeros((16, 4)), _Y, stratify=["a", "b"])


def test_fit_takes_no_callbacks_as_none_and_refuses_a_second_sharpener():
    model = _tiny()
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    r = recipes.Recipe(warmup_epochs=0, sharpen_epochs=1, batch_size=8)
    with pytest.raises(ValueError, match=r"callbacks\[0\] \(AdaptiveSharpener\) is a "
                                         r"sharpener.*sharpen=False"):
        training.fit(model, x, _Y, r, callbacks=[wl.AdaptiveSharpener()])
    assert wl.get_sharpness(model) == [0.0, 0.0, 0.0]
    history = training.fit(model, x, _Y, r, callbacks=None, progress=False)
    assert len(history.history["loss"]) == r.epochs
    own = wl.SimpleSharpener(start_epoch=0, steps=1)  # your own schedule, without the recipe's
    training.fit(_tiny(), x, _Y, r, callbacks=own, sharpen=False, progress=False)


# -- huge sizes: refused before anything is allocated --------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: wl.make_key(10, 10**9), r"width must be an integer >= 1 and <= 65536"),
    (lambda: wl.make_key(1000, 60_000), r"width must be an integer >= 1 and <= 16777"),
    (lambda: wl.models.dense_classifier((4,), hidden=(10**6,)), "hidden.*validation.MAX_UNITS"),
    (lambda: wl.models.dense_classifier((4,), hidden=(30_000,), towers=3),
     r"hidden × towers.*MAX_UNITS"),
    (lambda: wl.models.conv_classifier(filters=(10**6,)), "filters.*MAX_UNITS"),
    (lambda: wl.models.dense_autoencoder(code_bits=10**7), "code_bits"),
    (lambda: wl.grouped.GroupedDense(10**7), "units must be an integer >= 1 and <= 65536"),
    (lambda: wl.models.conv_classifier(kernel_size=10**4), r"layer 'conv_0' would have "
     r"3,200,000,000 weights.*validation.MAX_WEIGHTS"),
    (lambda: wl.models.dense_classifier((10**5, 10**5)), "layer 'dense_0'.*MAX_WEIGHTS"),
    (lambda: wl.models.dense_autoencoder((10**4, 10**4, 1)), "layer 'code_dense'"),
])
def test_huge_sizes_are_refused_with_the_bound_before_allocating(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# -- files: named in every error, never replaced without being asked -----------------------
@pytest.mark.parametrize("text", ['{"02_dense_classifier": {"acc', "[1, 2]", "\xff\xfe"])
def test_report_names_a_results_file_it_cannot_read_and_leaves_it_alone(tmp_path, monkeypatch,
                                                                        text):
    path = tmp_path / "results.json"
    path.write_bytes(text.encode("latin-1"))
    monkeypatch.setenv(wl.lessons.RESULTS_ENV, str(path))
    with pytest.raises(ValueError, match=f"'{path}'.*is not a results table"):
        wl.lessons.report("02_dense_classifier", accuracy=0.97)
    assert path.read_bytes() == text.encode("latin-1")  # untouched
    path.write_text('{"01": {"x": 1}}')
    wl.lessons.report("02_dense_classifier", accuracy=0.97)
    assert json.loads(path.read_text()) == {"01": {"x": 1}, "02_dense_classifier":
                                            {"accuracy": 0.97}}


# -- wrong dtypes: text and complex numbers are refused, never read as numbers --------------
@pytest.mark.parametrize("x", [np.full((2, 4), "0.5"), np.full((2, 4), 0.5 + 1j),
                               [["0.5"] * 4] * 2, np.array([[0.5, "a", 1, 2]] * 2, object)])
def test_samples_of_text_or_complex_numbers_are_refused_not_converted(x):
    with pytest.raises(TypeError, match=r"x must be a numeric array of samples \(real numbers"):
        validation.check_samples(x, (4,))
    with pytest.raises(TypeError, match=r"x must be a numeric array of samples \(real numbers"):
        training.fit(_tiny(), x, np.arange(2) % 2, recipes.Recipe(warmup_epochs=1))
    numbers = np.array([[0.5, 1, True, np.float32(0.25)]] * 2, object)  # numbers as objects
    np.testing.assert_array_equal(validation.check_samples(numbers, (4,)),
                                  np.array([[0.5, 1, 1, 0.25]] * 2, "f4"))
