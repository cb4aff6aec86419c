"""Float32 error bounds, and how near-ties are settled (docs/design.md, "Deployment").

Keras computes each pre-activation in float32, and the result depends on the summation order
of its kernels, which changes with the batch size: a 1-ulp difference can flip a neuron that
sits at its threshold. The simulators of this package certify each decision with its
float64 pre-activation and a rigorous bound on *any* float32 evaluation order,

    ``|fl32 − exact| <= γ_{k+2}·(Σ|w·x| + |b|)``,  ``γ_n = n·u/(1 − n·u)``,  ``u = 2⁻²⁴``,

with ``k`` the non-zero inputs of the neuron's sum: the sample's for a Dense layer, the
neuron's patch's for a Conv2D layer (zero inputs add exactly nothing, in any order), at
most ``kh·kw·Cin`` and far fewer than the sample's (:func:`gamma`,
:func:`uncertain_decisions`). A
decision is also certain when every term lies on a power-of-two grid (:func:`lowest_bit`)
fine enough that float32 sums are exact. The rare remaining near-ties are recomputed with
Keras' own float32 op on the chunks ``model.predict(x, batch_size=...)`` would use
(:func:`resolve_near_ties`).

The simulator gets there fast by computing every pre-activation first as a float32 product
(event-driven or BLAS, :mod:`~whetstone_lab.deploy.products`), ``v32``, and recomputing in
float64 only the decisions this product cannot settle (:func:`float32_screen`). ``v32`` is
itself a float32 evaluation in some order, so ``|v32 − exact| <= γ_{k+2}·mass`` too, and
with ``β = γ_{k+2} + (k+2)·2⁻⁵²`` (the factor of the bound above) a decision with
``|v32 − θ| > 3·β·mass`` is certain in float64 as well: the float64 value lies within
``(γ_{k+2} + (k+2)·2⁻⁵³)·mass <= β·mass`` of ``v32`` and so more than ``2·β·mass`` from θ,
beyond the float64 bound ``β·mass64`` (``mass64`` exceeds the exact mass by a factor
``1 + (k+2)·2⁻⁵³`` at most; the third ``β`` is the margin for these factors and for the
screen's own float32 rounding). The screen bounds the mass from above by
``Σ|x|·max|w| + max|b|``, the maxima over each neuron's weights (Dense) or over the layer
(Conv2D, whose many outputs make a margin per decision costly), which costs no second
product. Every decision it
flags goes through the float64 computation and :func:`uncertain_decisions` as before, so
the near-ties found and resolved are those of a float64 computation of every decision.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from ..validation import describe

__all__ = [
    "UNIT_ROUNDOFF",
    "lowest_bit",
    "gamma",
    "uncertain_decisions",
    "float32_screen",
    "resolve_near_ties",
    "check_batch_size",
]

UNIT_ROUNDOFF = 2.0**-24  # of float32


def lowest_bit(values: np.ndarray) -> float:
    """The largest power of two that divides every non-zero float32 in ``values`` (inf if none)."""
    v = np.abs(np.asarray(values, np.float32)).ravel().astype(np.float64)
    v = v[v > 0]
    if v.size == 0:
        return math.inf
    mant, exp = np.frexp(v)  # v = mant · 2^exp with mant in [0.5, 1)
    ints = (mant * 2.0**24).astype(np.int64)  # a float32 mantissa is a 24-bit integer
    trailing = np.log2((ints & -ints).astype(np.float64)).astype(np.int64)
    return float(2.0 ** np.min(exp - 24 + trailing))


def gamma(n: np.ndarray) -> np.ndarray:
    """Higham's γ_n = n·u / (1 − n·u): the float32 error bound of an n-term sum in any order."""
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def uncertain_decisions(v: np.ndarray, mass: np.ndarray, events: np.ndarray, threshold,
                        grid: float) -> np.ndarray:
    """Decisions ``v >= threshold`` that float32 rounding could flip (shapes (n, neurons)).

    ``v`` is the float64 pre-activation, ``mass`` = Σ|w·x| + |b|, ``events`` the non-zero
    inputs of each row's sum (or more). Any float32 summation order (Keras) and our
    float64 sum lie within ``bound`` of the exact value; a decision is also exact when every
    term and partial sum lies on a float32 grid of spacing ``grid``.
    """
    terms = events + 2.0
    bound = (gamma(terms) + terms * 2.0**-52)[:, None] * mass
    uncertain = np.abs(v - threshold) <= bound
    if uncertain.any():
        uncertain &= ~(mass <= 2.0**24 * grid)
    return uncertain


def float32_screen(v32: np.ndarray, abs_sum: np.ndarray, w_max: float, b_max: float,
                   events: np.ndarray, threshold) -> np.ndarray:
    """Decisions ``v32 >= threshold`` that need the float64 check (shapes (rows, neurons)).

    ``v32`` is a float32 product computed in any order, one row per sample (Dense) or per
    (sample, output position) (Conv2D); it is overwritten. ``abs_sum`` is Σ|x| over each
    row's inputs (or more), ``w_max`` and ``b_max`` the largest ``|w|`` and ``|b|`` of the
    layer (floats), or of each neuron (arrays of shape (neurons,): a tighter screen, at the
    cost of a margin per decision), ``events`` the non-zero inputs of each row's sum.
    Outside the returned set
    the decision ``v32 >= threshold`` is the float64 one and certain (the module docstring
    has the argument); inside it, compute in float64 and call :func:`uncertain_decisions`.
    The last term, ``(k+2)·2⁻¹²⁰``, covers float32 underflow of tiny products and margins.
    """
    terms = np.asarray(events, np.float64)[:, None] + 2.0
    factor = 3.0 * (gamma(terms) + terms * 2.0**-52)
    w_max, b_max = np.asarray(w_max, np.float64), np.asarray(b_max, np.float64)
    margin = (factor * (np.asarray(abs_sum, np.float64)[:, None] * w_max + b_max)
              + terms * 2.0**-120).astype(np.float32)  # (rows, 1) or (rows, neurons)
    np.subtract(v32, np.float32(threshold), out=v32)
    np.abs(v32, out=v32)
    return v32 <= margin


def resolve_near_ties(fired: np.ndarray, uncertain: np.ndarray, step: int,
                      compute: Callable[[int, int], np.ndarray], threshold) -> None:
    """Replace near-tie decisions in ``fired`` (in place) by float32 ones.

    ``compute(start, stop)`` returns Keras' float32 pre-activations of samples
    ``start:stop``; it is called once per chunk of ``step`` samples that holds a near-tie,
    on the same chunks as ``model.predict(x, batch_size=step)``.
    """
    rows = np.flatnonzero(uncertain.any(axis=1))
    for start in sorted({int(r) // step * step for r in rows}):
        stop = start + step
        pre = np.asarray(compute(start, stop), np.float32).reshape(len(fired[start:stop]), -1)
        sub = uncertain[start:stop]
        fired[start:stop][sub] = (pre >= threshold)[sub]


def check_batch_size(value: object, name: str = "batch_size") -> int | None:
    """A ``predict`` batch size that near-ties are resolved against: an int >= 1, or None."""
    if value is None:
        return None
    accepted = "an integer >= 1, or None for one call on the whole batch"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {accepted}, got {describe(value)}.")
    if value < 1:
        raise ValueError(f"{name} must be {accepted}, got {int(value)}.")
    return int(value)
