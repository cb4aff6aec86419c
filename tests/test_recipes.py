"""Recipes: their phases and schedules, learning rates per phase, the named recipes."""

import numpy as np
import pytest

from whetstone_lab import recipes, training


def test_simple_2018_recipe_reproduces_the_worked_example():
    from whetstone_lab import models

    recipe = recipes.recipe("simple_2018", fast=False)
    assert recipe.epochs == 21

    model = models.dense_classifier((4,), 2, hidden=(3, 3), neurons_per_class=2)
    x = np.random.default_rng(0).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    history = training.fit(model, x, y, recipe, seed=0)
    # Sharpness during each epoch: 0 for epochs 0-5, then +1/15 per epoch, 1 in epoch 20.
    expected = [0.0] * 6 + [k / 15 for k in range(1, 15)] + [1.0]
    np.testing.assert_allclose(history.history["sharpness"], expected, atol=1e-6)


def test_per_batch_recipe_is_sharp_exactly_at_the_end_of_its_window():
    from whetstone_lab import models, sharpening

    recipe = recipes.Recipe(warmup_epochs=1, sharpen_epochs=2, batch_size=4)
    model = models.dense_classifier((4,), 2, hidden=(3,), neurons_per_class=2)
    x = np.random.default_rng(1).random((16, 4)).astype("float32")
    y = np.arange(16) % 2
    history = training.fit(model, x, y, recipe, seed=0)
    assert history.history["sharpness"][0] == 0.0
    assert 0.0 < history.history["sharpness"][1] < 1.0
    assert sharpening.is_fully_sharp(model)


def test_recipe_rejects_bad_fields():
    with pytest.raises(ValueError, match="per must be"):
        recipes.Recipe(per="step")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        recipes.Recipe(optimizer="lbfgs")
    with pytest.raises(ValueError, match="sharpen_epochs must be an integer >= 1"):
        recipes.Recipe(sharpen_epochs=0)
    with pytest.raises(TypeError, match="warmup_epochs must be an integer"):
        recipes.Recipe(warmup_epochs=2.5)
    with pytest.raises(ValueError, match="recipe name must be one of"):
        recipes.recipe("fastest")


def test_fast_recipe_is_short(monkeypatch):
    monkeypatch.setenv("WHETSTONE_FAST", "1")
    assert recipes.recipe("lesson").epochs < recipes.recipe("lesson", fast=False).epochs


def test_lesson_recipe_is_the_2018_schedule_and_straight_through_fine_tunes():
    lesson = recipes.recipe("lesson", fast=False)
    assert lesson.with_(name="simple_2018") == recipes.recipe("simple_2018", fast=False)
    longer = recipes.recipe("straight_through", fast=False)
    assert (longer.per, longer.finetune_epochs, longer.epochs) == ("batch", 10, 35)
    fast = recipes.recipe("straight_through", fast=True)
    assert fast.finetune_epochs == 1 and fast.epochs < longer.epochs


def test_recipe_learning_rates_per_phase():
    r = recipes.Recipe(warmup_epochs=2, sharpen_epochs=2, sharp_epochs=1, finetune_epochs=3,
                       learning_rate=1e-2, sharpen_learning_rate=1e-3,
                       finetune_learning_rate=1e-3, finetune_learning_rate_end=1e-5)
    rates = [r.learning_rate_at(e) for e in range(r.epochs)]
    np.testing.assert_allclose(rates, [1e-2, 1e-2, 1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-5])
    plain = recipes.Recipe(warmup_epochs=1, sharpen_epochs=1, finetune_epochs=1)
    assert {plain.learning_rate_at(e) for e in range(plain.epochs)} == {1e-3}  # Adam default
    with pytest.raises(ValueError, match="finetune_learning_rate_end"):
        recipes.Recipe(finetune_learning_rate_end=0.0)
