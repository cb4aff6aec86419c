"""Notebook glue (lessons.py): self-check answers, the model summary, results tables."""

import pytest

from whetstone_lab import lessons


def test_check_says_right_or_wrong_and_why_and_never_gives_the_answer_away(capsys):
    from whetstone_lab.questions import QUESTIONS

    key = QUESTIONS["02.1"]
    right, wrong = key["right"], next(o for o in key["why"] if o != key["right"])
    assert lessons.check("02.1", None) is None
    unanswered = capsys.readouterr().out
    assert "not answered yet" in unanswered and key["why"][right] not in unanswered
    assert lessons.check("02.1", wrong.upper() + " ") is False
    out = capsys.readouterr().out
    assert "not quite" in out and key["why"][wrong] in out and key["why"][right] not in out
    assert f"({right})" not in out
    assert lessons.check("02.1", right) is True
    out = capsys.readouterr().out
    assert f"({right}) is right" in out and key["why"][right] in out
    with pytest.raises(ValueError, match="no self-check question '99.9'"):
        lessons.check("99.9", "a")
    with pytest.raises(ValueError, match="'d' is not an option of question 02.1"):
        lessons.check("02.1", "d")


def test_describe_model_counts_the_parameters_inside_the_towers_blocks():
    import whetstone_lab as wl

    one = wl.models.dense_classifier((8, 8, 1), hidden=(12, 6), towers=1)
    assert lessons.describe_model(one).splitlines()[-1] == \
        f"{one.count_params():,} parameters, 3 spiking layers"
    three = wl.models.dense_classifier((8, 8, 1), hidden=(12, 6), towers=3)
    text = lessons.describe_model(three)
    assert "GroupedDense" in text
    between = (36 * 18 - 3 * 12 * 6) + (18 * 300 - 3 * 6 * 100)  # off the diagonal blocks
    assert text.splitlines()[-1] == (
        f"{three.count_params():,} parameters ({three.count_params() - between:,} in the "
        "towers' blocks, the rest fixed zeros between towers), 3 spiking layers")


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
