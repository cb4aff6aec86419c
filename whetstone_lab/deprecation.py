"""Old import paths kept for one release: a module-level ``__getattr__`` that warns.

A name that moved to its one home stays reachable at its old path until the next release;
reading it there warns with :class:`DeprecationWarning` and names the new home
(docs/design.md, "The modules").
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping

__all__ = ["moved"]


def moved(old: str, homes: Mapping[str, str]) -> Callable[[str], object]:
    """A module ``__getattr__`` for ``old`` resolving each name of ``homes`` from its new module.

    Args:
        old: the module the names left (its ``__name__``).
        homes: ``{name: new module}``, e.g. ``{"fold_batchnorm": "whetstone_lab.transforms"}``.

    Example:
        >>> __getattr__ = moved(__name__, {"recipe": "whetstone_lab.recipes"})
    """

    def __getattr__(name: str) -> object:
        if name not in homes:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        home = homes[name]
        # stacklevel 2: the warning points at the line that used the old path
        warnings.warn(f"{old}.{name} moved to {home}.{name}; the old path will be removed in "
                      f"the next release.", DeprecationWarning, stacklevel=2)
        return getattr(importlib.import_module(home), name)

    return __getattr__
