"""Generated scenes with per-pixel masks: shapes, and real digits placed on a canvas.

Both are deterministic from ``seed``; train and test come from separate random streams, so
the test set does not change with ``n_train``.
"""

from __future__ import annotations

import functools

import numpy as np

from ..validation import check_int
from .dataset import Dataset
from .offline import DIGIT_NAMES, digit_arrays

__all__ = ["SHAPE_NAMES", "INK_THRESHOLD", "MAX_SCENE_PIXELS", "shapes", "digit_scenes"]

SHAPE_NAMES = ("circle", "square", "triangle")

#: A pixel of an upscaled digit belongs to the digit's mask when its ink is at least this.
INK_THRESHOLD = 0.25

#: Most pixels (scenes × size²) of one split: its images and masks take 12 bytes a pixel.
MAX_SCENE_PIXELS = 2**27


def _check_scene_counts(n_train: object, n_test: object, size: int) -> tuple[int, int]:
    """``n_train`` and ``n_test`` as ints ≥ 1 whose scenes of ``size²`` pixels fit in memory."""
    n_train = check_int(n_train, "n_train", minimum=1)
    n_test = check_int(n_test, "n_test", minimum=1)
    for name, n in (("n_train", n_train), ("n_test", n_test)):
        if n * size * size > MAX_SCENE_PIXELS:
            raise ValueError(
                f"{name} × size² must be at most {MAX_SCENE_PIXELS:,} pixels (images and masks "
                f"of {12 * MAX_SCENE_PIXELS / 2**30:.1f} GiB), got {n:,} scenes of {size}×{size} "
                f"= {n * size * size:,}; ask for fewer or smaller scenes."
            )
    return n_train, n_test


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Pixel-centre coordinates (row, column) of a ``size × size`` canvas."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) + 0.5
    return yy, xx


def _shape_mask(kind: int, size: int, radius: float, cy: float, cx: float) -> np.ndarray:
    """Boolean mask of one shape on a ``size × size`` grid."""
    yy, xx = _grid(size)
    dy, dx = yy - cy, xx - cx
    if kind == 0:  # circle
        return dy**2 + dx**2 <= radius**2
    if kind == 1:  # axis-aligned square of half-side r·0.85 (about a circle's area)
        half = 0.85 * radius
        return (np.abs(dy) <= half) & (np.abs(dx) <= half)
    # Upward isosceles triangle: apex at the top, base at the bottom.
    top, bottom = cy - radius, cy + radius
    t = (yy - top) / (bottom - top)  # 0 at the apex, 1 at the base
    return (t >= 0) & (t <= 1) & (np.abs(dx) <= 1.2 * t * radius)


def _scene_labels(masks: np.ndarray, num_classes: int) -> np.ndarray:
    """Class (0-based) of the object covering most pixels of each mask."""
    counts = np.stack([(masks == k + 1).sum(axis=(1, 2)) for k in range(num_classes)], axis=1)
    return counts.argmax(axis=1).astype(np.int64)


def _grow(mask: np.ndarray) -> np.ndarray:
    """``mask`` dilated by one pixel, so that shapes keep a gap of background between them."""
    out = mask.copy()
    out[1:] |= mask[:-1]
    out[:-1] |= mask[1:]
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    return out


def _shape_scenes(n: int, size: int, max_shapes: int, rng: np.random.Generator):
    images = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    r_low, r_high = size / 10.0, size / 5.0
    for i in range(n):
        blocked = np.zeros((size, size), bool)
        for _ in range(rng.integers(1, max_shapes + 1)):
            for _attempt in range(20):  # shapes do not overlap; give up on a crowded canvas
                kind = int(rng.integers(0, 3))
                radius = rng.uniform(r_low, r_high)
                cy, cx = rng.uniform(radius + 1, size - radius - 1, size=2)
                shape = _shape_mask(kind, size, radius, cy, cx)
                if shape.any() and not (shape & blocked).any():
                    break
            else:
                continue
            blocked |= _grow(shape)  # keep a background gap between shapes
            images[i][shape] = rng.uniform(0.5, 1.0)  # one grey level per shape
            masks[i][shape] = kind + 1
    return images[..., None], masks


def shapes(n_train: int = 2000, n_test: int = 500, size: int = 32, max_shapes: int = 3,
           seed: int = 0) -> Dataset:
    """The ``"shapes"`` dataset: scenes of 1 to ``max_shapes`` circles, squares, triangles.

    Args:
        n_train, n_test: numbers of scenes (integers ≥ 1).
        size: side of the square canvas in pixels, an integer in [16, 256].
        max_shapes: most shapes in one scene, an integer in [1, 10].
        seed: seed of the scenes, an integer ≥ 0.
    """
    size = check_int(size, "size", minimum=16, maximum=256)
    n_train, n_test = _check_scene_counts(n_train, n_test, size)
    max_shapes = check_int(max_shapes, "max_shapes", minimum=1, maximum=10)
    seed = check_int(seed, "seed", minimum=0)
    # Separate streams for train and test: changing n_train does not change the test set.
    train_rng, test_rng = (np.random.default_rng([seed, k]) for k in (0, 1))
    x_train, m_train = _shape_scenes(n_train, size, max_shapes, train_rng)
    x_test, m_test = _shape_scenes(n_test, size, max_shapes, test_rng)
    return Dataset(
        "shapes", x_train, _scene_labels(m_train, 3), x_test, _scene_labels(m_test, 3),
        SHAPE_NAMES,
        f"generated {size}×{size} scenes of 1–{max_shapes} circles, squares and triangles, "
        "per-pixel masks",
        kind="segmentation", masks_train=m_train, masks_test=m_test,
        mask_names=("background", *SHAPE_NAMES),
    )


def _digit_scenes_split(digit_images: np.ndarray, labels: np.ndarray, n: int, size: int,
                        scale: int, max_digits: int, rng: np.random.Generator):
    patch = 8 * scale
    images = np.zeros((n, size, size), np.float32)
    masks = np.zeros((n, size, size), np.int64)
    placements = np.full((n, max_digits, 3), -1, np.int64)  # (source index, row, col)
    big = np.kron(digit_images[..., 0], np.ones((scale, scale), np.float32))  # nearest
    inks = big >= INK_THRESHOLD
    for i in range(n):
        blocked = np.zeros((size, size), bool)
        for j in range(rng.integers(1, max_digits + 1)):
            # Up to 10 candidate (digit, position) draws; the first whose ink does not touch
            # earlier digits wins, and a crowded canvas simply gets fewer digits.
            sources = rng.integers(0, len(digit_images), size=10)
            corners = rng.integers(0, size - patch + 1, size=(10, 2))
            for src, (row, col) in zip(sources.tolist(), corners.tolist(), strict=True):
                ink = inks[src]
                window = (slice(row, row + patch), slice(col, col + patch))
                if not np.logical_and(blocked[window], ink).any():
                    break
            else:
                continue
            blocked[window] |= _grow(ink)
            images[i][window] = np.maximum(images[i][window], big[src])
            masks[i][window][ink] = labels[src] + 1
            placements[i, j] = (src, row, col)
    return images[..., None], masks, placements


def digit_scenes(n_train: int = 2000, n_test: int = 500, size: int = 32, scale: int = 2,
                 max_digits: int = 3, seed: int = 0) -> Dataset:
    """The ``"digit_scenes"`` dataset: real digits upscaled and placed on a larger canvas.

    Args:
        n_train, n_test: numbers of scenes (integers ≥ 1).
        size: side of the square canvas in pixels, an integer in [8·scale, 512].
        scale: upscaling of the 8×8 digits, an integer in [1, 8].
        max_digits: most digits in one scene, an integer in [1, 10].
        seed: seed of the scenes, an integer ≥ 0.
    """
    scale = check_int(scale, "scale", minimum=1, maximum=8)
    size = check_int(size, "size", minimum=8 * scale, maximum=512)
    n_train, n_test = _check_scene_counts(n_train, n_test, size)
    max_digits = check_int(max_digits, "max_digits", minimum=1, maximum=10)
    seed = check_int(seed, "seed", minimum=0)
    x_tr, y_tr, x_te, y_te = digit_arrays()
    train_rng, test_rng = (np.random.default_rng([seed, k]) for k in (0, 1))
    # Train scenes draw only on train digits, test scenes only on test digits.
    x_train, m_train, p_train = _digit_scenes_split(x_tr, y_tr, n_train, size, scale,
                                                    max_digits, train_rng)
    x_test, m_test, p_test = _digit_scenes_split(x_te, y_te, n_test, size, scale,
                                                 max_digits, test_rng)
    return Dataset(
        "digit_scenes", x_train, _scene_labels(m_train, 10), x_test, _scene_labels(m_test, 10),
        DIGIT_NAMES,
        f"1–{max_digits} real digits upscaled ×{scale} on a {size}×{size} canvas, per-pixel "
        "digit masks",
        extras={"placements_train": p_train, "placements_test": p_test, "scale": scale,
                "ink_threshold": INK_THRESHOLD},
        kind="segmentation", masks_train=m_train, masks_test=m_test,
        mask_names=("background", *DIGIT_NAMES),
    )
