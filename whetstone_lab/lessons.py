"""Thin glue for the lesson notebooks: a model summary, the binarity check, result tables.

Everything with a concept of its own lives in the library (training in
:mod:`whetstone_lab.training`, scores in :mod:`whetstone_lab.metrics`, recordings in
:mod:`whetstone_lab.spikes`); this module only holds what makes a notebook cell short.

Example:
    >>> from whetstone_lab import lessons
    >>> print(lessons.describe_model(model))
    >>> print(lessons.results_table([{"optimizer": "adam", "sharp": 0.97}]))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from .sharpening import spiking_layers
from .validation import check_int, check_model

__all__ = ["describe_model", "results_table"]


def describe_model(model: keras.Model) -> str:
    """One line per layer: name, kind, output shape and, for spiking layers, the sharpness.

    A compact, plain-text alternative to ``model.summary()`` for stored notebooks.
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
    lines.append(f"{model.count_params():,} parameters, "
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
