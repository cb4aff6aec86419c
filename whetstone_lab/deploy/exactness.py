"""Float32 error bounds, and how near-ties are settled (docs/design.md, "Deployment").

Keras computes each pre-activation in float32, and the result depends on the summation order
of its kernels, which changes with the batch size: a 1-ulp difference can flip a neuron that
sits at its threshold. The simulators of this package compute every pre-activation in
float64 and certify each decision with a rigorous bound on *any* float32 evaluation order,

    ``|fl32 − exact| <= γ_{k+2}·(Σ|w·x| + |b|)``,  ``γ_n = n·u/(1 − n·u)``,  ``u = 2⁻²⁴``,

with ``k`` the sample's non-zero inputs (:func:`gamma`, :func:`uncertain_decisions`). A
decision is also certain when every term lies on a power-of-two grid (:func:`lowest_bit`)
fine enough that float32 sums are exact. The rare remaining near-ties are recomputed with
Keras' own float32 op on the chunks ``model.predict(x, batch_size=...)`` would use
(:func:`resolve_near_ties`).
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
    inputs per sample. Any float32 summation order (Keras) and our float64 sum lie within
    ``bound`` of the exact value; a decision is also exact when every term and partial sum
    lies on a float32 grid of spacing ``grid``.
    """
    terms = events + 2.0
    bound = (gamma(terms) + terms * 2.0**-52)[:, None] * mass
    uncertain = np.abs(v - threshold) <= bound
    if uncertain.any():
        uncertain &= ~(mass <= 2.0**24 * grid)
    return uncertain


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
