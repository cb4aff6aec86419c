"""Figures of how activity is spread: activation histograms, Lorenz curves."""

from __future__ import annotations

__all__: list[str] = []
