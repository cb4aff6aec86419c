"""The process's switches, read by the library and the lessons alike: fast mode and the quiet
TensorFlow import. Nothing here imports another module of the package, so any module may
read them without reaching up to the package's face.
"""

import os
from typing import TypeVar

__all__ = ["fast_mode", "choose", "import_tensorflow_quietly"]


def fast_mode() -> bool:
    """True when ``WHETSTONE_FAST=1``: lessons use fewer epochs and samples (used by CI)."""
    return os.environ.get("WHETSTONE_FAST", "0").strip().lower() in ("1", "true", "yes")


T = TypeVar("T")


def choose(full: T, fast: T) -> T:
    """``fast`` in fast mode, ``full`` otherwise: ``epochs = wl.choose(30, 3)``."""
    return fast if fast_mode() else full


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr (file descriptor 2) sent to /dev/null.

    TensorFlow 2.21 writes two start-up lines (absl's "WARNING: All log messages before
    absl::InitializeLog()" and oneDNN's notice) straight to file descriptor 2 even with
    ``TF_CPP_MIN_LOG_LEVEL=3``; in a notebook they land in the first cell's output. Python
    errors still propagate; nothing is hidden after the import.
    """
    import sys

    if os.environ.get("KERAS_BACKEND") != "tensorflow" or "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded interpreters)
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass  # Keras reports a missing backend itself, with its own message
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
