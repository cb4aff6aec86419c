"""Figures of how sharpness moves during training (per-layer sharpness staircases)."""

from __future__ import annotations

__all__: list[str] = []
