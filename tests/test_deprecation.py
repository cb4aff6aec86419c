"""Old import paths kept for one release (deprecation.moved): each still resolves, warning and
naming the new home."""

import pytest

from whetstone_lab import models, recipes, spikes, training, transforms


def test_transforms_old_paths_in_models_warn_and_name_the_new_home():
    """models re-exported transforms' names until 0.1: the old path still works, warning."""
    for name in transforms.__all__:
        with pytest.warns(DeprecationWarning, match=f"moved to whetstone_lab.transforms.{name}"):
            assert getattr(models, name) is getattr(transforms, name)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        models.nothing  # noqa: B018
    assert not set(transforms.__all__) & set(models.__all__)


def test_recipes_old_paths_in_training_warn_and_name_the_new_home():
    """training re-exported recipes' names until 0.1: the old path still works, warning."""
    for name in ("OPTIMIZERS", "Recipe", "RECIPES", "recipe", "make_optimizer"):
        with pytest.warns(DeprecationWarning, match=f"moved to whetstone_lab.recipes.{name}"):
            assert getattr(training, name) is getattr(recipes, name)
        assert name not in training.__all__
    with pytest.warns(DeprecationWarning):
        from whetstone_lab.training import recipe  # noqa: F401


def test_activity_statistics_old_paths_warn_and_name_the_new_home():
    """spikes held the activity statistics until 0.1: the old path still works, warning."""
    from whetstone_lab import stats

    for name in ("LayerActivity", "activity", "activity_table", "gini"):
        with pytest.warns(DeprecationWarning, match=f"moved to whetstone_lab.stats.{name}"):
            assert getattr(spikes, name) is getattr(stats, name)
