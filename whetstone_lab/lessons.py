"""Thin glue for the lesson notebooks: a model summary, result tables, headline numbers.

Everything with a concept of its own lives in the library (training in
:mod:`whetstone_lab.training`, scores in :mod:`whetstone_lab.metrics`, recordings in
:mod:`whetstone_lab.spikes`); this module only holds what makes a notebook cell short.

Example:
    >>> from whetstone_lab import lessons
    >>> print(lessons.describe_model(model))
    >>> print(lessons.results_table([{"optimizer": "adam", "sharp": 0.97}]))
    >>> lessons.report("02_dense_classifier", sharp_accuracy=0.969)
    >>> lessons.check("02.1", "a")   # a self-check question: right or wrong, and why
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import keras
import numpy as np

from .questions import QUESTIONS
from .sharpening import spiking_layers
from .training import seed_everything
from .validation import check_int, check_model

__all__ = ["RESULTS_ENV", "check", "deterministic", "describe_model", "report",
           "results_table"]

#: Environment variable naming the JSON file :func:`report` adds a lesson's numbers to.
#: ``make notebooks`` sets it, so the stored course and ``notebooks/results.json`` agree.
RESULTS_ENV = "WHETSTONE_RESULTS"


def describe_model(model: keras.Model) -> str:
    """One line per layer: name, kind, output shape and, for spiking layers, the sharpness.

    A compact, plain-text alternative to ``model.summary()`` for stored notebooks. For towers
    (layers with a ``kernel_mask``, :class:`whetstone_lab.grouped.GroupedDense`) the last
    line also counts the parameters inside the blocks: Keras counts the fixed zeros between
    towers too.
    """
    check_model(model)
    spiking = spiking_layers(model)
    lines = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        shape = tuple(layer.output.shape[1:])
        extra = f"  sharpness {layer.get_sharpness():.2f}" if layer in spiking else ""
        lines.append(f"{layer.name:14s} {type(layer).__name__:20s} {str(shape):14s}{extra}")
    between = sum(int(mask.size - np.count_nonzero(mask)) for layer in model.layers
                  if (mask := getattr(layer, "kernel_mask", None)) is not None)
    inside = (f" ({model.count_params() - between:,} in the towers' blocks, the rest fixed "
              "zeros between towers)") if between else ""
    lines.append(f"{model.count_params():,} parameters{inside}, "
                 f"{len(spiking)} spiking layers")
    return "\n".join(lines)


def results_table(rows: Sequence[Mapping[str, object]], columns: Sequence[str] | None = None,
                  *, digits: int = 3, formatters: Mapping[str, Callable] | None = None) -> str:
    """A plain-text table (GitHub-markdown pipes) from a list of dicts, ready to ``print``.

    Args:
        rows: one dict per row.
        columns: which keys, in order (default: the keys of the first row).
        digits: decimals for floats.
        formatters: optional ``{column: callable(value) -> str}``.

    Example:
        >>> print(results_table([{"optimizer": "adam", "float": 0.98, "sharp": 0.97}]))
        | optimizer | float | sharp |
        |-----------|-------|-------|
        | adam      | 0.980 | 0.970 |
    """
    rows = list(rows)
    if not rows or not all(isinstance(r, Mapping) for r in rows):
        raise ValueError("results_table needs a non-empty list of dicts, one per row.")
    digits = check_int(digits, "digits", minimum=0)
    columns = list(columns) if columns is not None else list(rows[0])
    formatters = dict(formatters or {})

    def fmt(col, value):
        if col in formatters:
            return formatters[col](value)
        if isinstance(value, (float, np.floating)):
            return f"{float(value):.{digits}f}"
        return str(value)

    cells = [[fmt(c, row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    line = lambda values: "| " + " | ".join(
        v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(columns), rule, *(line(r) for r in cells)])


def report(lesson: str, **numbers: float) -> dict[str, float]:
    """Print a lesson's headline numbers and, when ``make notebooks`` runs it, record them.

    The README, the workshop kit and the lessons' prose quote these numbers from
    ``notebooks/results.json``; this is the one place they are produced.

    Args:
        lesson: the notebook's stem, e.g. ``"02_dense_classifier"``.
        **numbers: metric name → value (plain floats or ints; rounded to 4 decimals).

    Returns:
        The rounded numbers, as recorded.

    Raises:
        ValueError: if ``lesson`` is empty, no number is given, a value is not a finite
            real number, or the results file exists but is not a results table (named).
    """
    if not isinstance(lesson, str) or not lesson:
        raise ValueError(f"report needs the lesson's notebook stem, got {lesson!r}.")
    if not numbers:
        raise ValueError("report needs at least one number, e.g. report(lesson, accuracy=0.97).")
    rounded: dict[str, float] = {}
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer,
                                                               np.floating)):
            raise ValueError(f"report: {name}={value!r} is not a number.")
        if not np.isfinite(value):
            raise ValueError(f"report: {name}={value!r} is not finite.")
        rounded[name] = int(value) if isinstance(value, (int, np.integer)) else round(
            float(value), 4)
    print(f"{lesson}: " + ", ".join(f"{k} = {v}" for k, v in rounded.items()))
    target = os.environ.get(RESULTS_ENV)
    if target:
        path = Path(target)
        table = _read_results(path) if path.exists() else {}
        table.setdefault(lesson, {}).update(rounded)
        path.write_text(json.dumps(table, indent=2, sort_keys=True) + "\n")
    return rounded


def _read_results(path: Path) -> dict:
    """The results table at ``path``; a file that is not one is named and left untouched."""
    try:
        table = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"report: {str(path)!r} ({RESULTS_ENV}) is not a results table: "
                         f"{err}. Fix or delete the file; report never replaces it.") from err
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise ValueError(f"report: {str(path)!r} ({RESULTS_ENV}) is not a results table "
                         "(a JSON object of lesson → numbers); report never replaces it.")
    return table


def deterministic(seed: int = 0) -> int:
    """Seed Python, NumPy and the backend, and make TensorFlow's kernels deterministic.

    With both, re-running a lesson on the same machine prints the same numbers. Op
    determinism costs little on a CPU; on other backends only the seeds are set.

    Args:
        seed: the seed (a non-negative integer).

    Returns:
        The seed.
    """
    seed = check_int(seed, "seed", minimum=0)
    seed_everything(seed)  # without importing TensorFlow on the other backends
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # the backend-specific path

        tf.config.experimental.enable_op_determinism()
    return seed


def check(question: str, answer: object) -> bool | None:
    """Check the answer to a lesson's self-check question: say right or wrong, and why.

    The question and its options (a, b, c) are in the lesson's *Self-check* section; the
    key and the reasons are in :data:`whetstone_lab.questions.QUESTIONS`. An unanswered
    question (``answer=None``) prints only how to answer it: the right option is never
    shown before the learner has chosen one, and a wrong choice gets the reason it is
    wrong, not the right option.

    Args:
        question: the question's id, e.g. ``"02.1"``.
        answer: the chosen option, ``"a"``, ``"b"`` or ``"c"`` (case and spaces ignored), or
            None before answering.

    Returns:
        True (right), False (wrong) or None (not answered yet).

    Raises:
        ValueError: for an unknown question id or an option the question does not have.
    """
    if question not in QUESTIONS:
        raise ValueError(f"check: no self-check question {question!r}; the questions are "
                         f"{', '.join(sorted(QUESTIONS))}.")
    entry = QUESTIONS[question]
    options = sorted(entry["why"])
    if answer is None:
        print(f"{question}: not answered yet: replace None with your choice, "
              f"{', '.join(repr(o) for o in options)}, and run the cell again.")
        return None
    choice = answer.strip().lower() if isinstance(answer, str) else answer
    if choice not in entry["why"]:
        raise ValueError(f"check: {answer!r} is not an option of question {question}; "
                         f"choose one of {', '.join(repr(o) for o in options)}.")
    right = choice == entry["right"]
    verdict = "right" if right else "not quite"
    print(f"{question}: ({choice}) is {verdict}: {entry['why'][choice]}")
    if not right:
        print("Read the options again and try another.")
    return right
