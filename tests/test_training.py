"""The training core: fit, its learning rates, the callbacks, custom losses."""

import keras
import numpy as np
import pytest

from whetstone_lab import recipes, training
from whetstone_lab.layers import loss_targets


def test_fit_takes_an_optimizer_and_still_sets_the_recipes_learning_rates():
    from whetstone_lab import models

    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8,
                            learning_rate=1e-2, sharpen_learning_rate=1e-3)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(4).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    optimizer = keras.optimizers.AdamW(weight_decay=0.1)
    history = training.fit(model, x, y, recipe, optimizer=optimizer, seed=0, progress=False)
    assert model.optimizer is optimizer
    np.testing.assert_allclose(history.history["learning_rate"], [1e-2, 1e-3])
    np.testing.assert_allclose(float(optimizer.learning_rate), 1e-3)
    assert int(optimizer.iterations) == 4  # 2 epochs of 2 batches

def test_straight_through_finetune_is_switched_off_after_training():
    from whetstone_lab import models, sharpening

    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, finetune_epochs=2, batch_size=8)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(2).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    seen = []

    class Watch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([layer.straight_through for layer in sharpening.spiking_layers(model)])

    training.fit(model, x, y, recipe, callbacks=[Watch()], seed=0)
    assert seen[0] == [False, False] and seen[-1] == [True, True]
    assert [layer.straight_through for layer in sharpening.spiking_layers(model)] == [False] * 2

@pytest.mark.parametrize("stop_in_epoch, phase", [(1, "sharpening"), (3, "fine-tune")])
def test_an_interrupted_fit_leaves_the_model_as_a_finished_one_would(capsys, stop_in_epoch,
                                                                      phase):
    from whetstone_lab import models, sharpening

    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=2, finetune_epochs=2, batch_size=4)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(2).random((16, 4)).astype("float32")
    y = np.arange(16) % 2

    class Interrupt(keras.callbacks.Callback):  # the learner pressing "stop" mid-epoch
        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == stop_in_epoch and batch == 1:
                raise KeyboardInterrupt

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

    with pytest.raises(KeyboardInterrupt):
        training.fit(model, x, y, recipe, callbacks=[Interrupt()], seed=0, progress=False)
    layers = sharpening.spiking_layers(model)
    sharpness = sharpening.get_sharpness(model)
    assert not any(layer.straight_through or layer.scheduled for layer in layers)
    assert (phase == "fine-tune") == all(s == 1.0 for s in sharpness)
    assert len(model.history.history["sharpness"]) == stop_in_epoch
    said = capsys.readouterr().out
    assert f"Interrupted after {stop_in_epoch} of 5 epochs" in said
    assert "sharpness [" + ", ".join(f"{s:.2f}" for s in sharpness) + "]" in said
    # The schedule is off: more training (plain Keras) leaves the sharpness where it was.
    model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert sharpening.get_sharpness(model) == sharpness


def test_float_snapshot_keeps_the_last_float_epoch():
    from whetstone_lab import models, sharpening

    recipe = recipes.Recipe(warmup_epochs=2, sharpen_epochs=1, batch_size=8)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(3).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    snap = training.FloatSnapshot()
    training.fit(model, x, y, recipe, callbacks=[snap], seed=0)
    assert snap.epoch == 1
    before = snap.float_model()
    assert sharpening.get_sharpness(before) == [0.0, 0.0]
    assert not np.array_equal(keras.ops.convert_to_numpy(before.get_layer("dense_0").kernel),
                              keras.ops.convert_to_numpy(model.get_layer("dense_0").kernel))


def test_float_snapshot_looks_once_per_epoch_and_follows_a_per_epoch_schedule():
    from whetstone_lab import models

    looks = []

    class Counting(training.FloatSnapshot):
        def _all_float(self):
            looks.append(self.epoch)
            return super()._all_float()

    # Per epoch, the sharpness first rises at the end of the last warm-up epoch (epoch 1),
    # which therefore trained at 0.
    recipe = recipes.Recipe(warmup_epochs=2, sharpen_epochs=2, per="epoch", batch_size=4)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(3).random((16, 4)).astype("float32")
    snap = Counting()
    training.fit(model, x, np.arange(16) % 2, recipe, callbacks=[snap], seed=0,
                 progress=False)
    assert snap.epoch == 1
    assert len(looks) <= 2 * recipe.epochs  # at the epoch's start and before its last batch


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="runs in the JAX suite")
def test_fit_off_tensorflow_never_imports_it():
    import subprocess
    import sys

    code = ("import sys, numpy as np\n"
            "from whetstone_lab import models, recipes, training\n"
            "m = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)\n"
            "x = np.random.default_rng(0).random((16, 4)).astype('float32')\n"
            "training.fit(m, x, np.arange(16) % 2, recipes.Recipe(warmup_epochs=1, "
            "sharpen_epochs=1), seed=0, progress=False)\n"
            "print('tensorflow' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "False"
    assert done.stderr == ""


def test_train_passes_sample_weights_to_the_loss():
    from whetstone_lab import models

    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(4).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    for weight, changes in ((0.0, False), (1.0, True)):  # zero weights: no gradient at all
        model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
        before = keras.ops.convert_to_numpy(model.get_layer("dense_0").kernel).copy()
        training.fit(model, x, y, recipe, seed=0, sample_weight=np.full(16, weight, "float32"))
        after = keras.ops.convert_to_numpy(model.get_layer("dense_0").kernel)
        assert np.array_equal(after, before) != changes
    with pytest.raises(ValueError, match="sample_weight must match"):
        training.fit(model, x, y, recipe, sample_weight=np.ones(15))


def test_fit_takes_the_recipe_by_keyword():
    """The parameter ``recipe`` shadows no function: ``recipe=`` still reaches fit."""
    from whetstone_lab import models

    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2, towers=1)
    x = np.random.default_rng(3).random((16, 4)).astype("float32")
    r = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8)
    history = training.fit(model, x, np.arange(16) % 2, recipe=r, progress=False)
    assert len(history.history["loss"]) == r.epochs


# -- a custom loss: refused when Keras cannot use it; labels checked for what it takes -------
def _classifier():
    from whetstone_lab import models

    keras.utils.set_random_seed(0)
    return models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2, towers=1)


_X = np.random.default_rng(0).random((16, 4)).astype("float32")
_Y = np.arange(16) % 2


@pytest.mark.parametrize("loss, error, message", [
    (3, TypeError, r"loss must be a Keras loss name .* or a callable loss\(y_true, y_pred\), "
                   r"got 3 \(int\)"),
    ("sparse_categorical_crossentropi", ValueError,
     "got 'sparse_categorical_crossentropi', which Keras does not know"),
    ({"name": "mse"}, TypeError, "loss must be a Keras loss name"),
])
def test_fit_and_compile_refuse_a_loss_keras_cannot_use_before_training(loss, error, message):
    model = _classifier()
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(error, match=message):
        training.fit(model, _X, _Y, recipes.Recipe(warmup_epochs=1), loss=loss)
    with pytest.raises(error, match=message):
        training.compile_model(model, loss=loss)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("loss, y, message", [
    ("sparse_categorical_crossentropy", _Y + 2, r"labels in \[0, 2\)"),
    (keras.losses.SparseCategoricalCrossentropy(), np.eye(2)[_Y], "looks one-hot"),
    ("categorical_crossentropy", _Y, r"output shape \(n, 2\) for loss 'categorical_crossentropy'"),
    (keras.losses.MeanSquaredError(), _Y, r"output shape \(n, 2\) for loss 'mean_squared_error'"),
])
def test_fit_with_a_keras_loss_checks_the_targets_that_loss_takes(loss, y, message):
    model = _classifier()
    with pytest.raises(ValueError, match=message):
        training.fit(model, _X, y, recipes.Recipe(warmup_epochs=1), loss=loss)
    good = _Y if loss_targets(loss) == "labels" else np.eye(2)[_Y]
    with pytest.raises(ValueError, match="validation_data y"):
        training.fit(model, _X, good, recipes.Recipe(warmup_epochs=1), loss=loss,
                     validation_data=(_X, y))


def test_fit_takes_a_custom_loss_with_the_targets_it_was_written_for():
    r = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, batch_size=8)
    history = training.fit(_classifier(), _X, np.eye(2)[_Y], r, progress=False,
                           loss="categorical_crossentropy")
    assert np.isfinite(history.history["loss"]).all()
    own = lambda y, p: keras.ops.mean(keras.ops.square(p - y), axis=-1)  # noqa: E731
    assert loss_targets(own) is None  # its targets: only its code knows, so y is only finite
    training.fit(_classifier(), _X, np.eye(2)[_Y], r, progress=False, loss=own)
    with pytest.raises(ValueError, match="finite"):
        training.fit(_classifier(), _X, np.full((16, 2), np.nan), r, loss=own)
