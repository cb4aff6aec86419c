"""The offline datasets: each one's loader and its options, the list every message names.

A module of its own so that ``files`` (whose errors list the offline datasets) and the
package's face both read it from below.
"""

from __future__ import annotations

from collections.abc import Callable

from .offline import digits
from .scenes import digit_scenes, shapes

__all__ = ["OFFLINE", "GENERATED", "offline_names"]

#: Each offline dataset's loader and its options with their defaults (``noise`` and ``seed``
#: are every dataset's; generated ones also pass ``seed`` to their loader).
OFFLINE: dict[str, tuple[Callable, dict]] = {
    "digits": (digits, {}),
    "shapes": (shapes, {"n_train": 2000, "n_test": 500, "size": 32, "max_shapes": 3}),
    "digit_scenes": (digit_scenes, {"n_train": 2000, "n_test": 500, "size": 32, "scale": 2,
                                    "max_digits": 3}),
}

#: The offline datasets drawn from a seed.
GENERATED = ("shapes", "digit_scenes")


def offline_names() -> list[str]:
    """Datasets that always load without any network."""
    return sorted(OFFLINE)
