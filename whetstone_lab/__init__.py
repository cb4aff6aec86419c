"""whetstone_lab: learn the Whetstone method for binary-spiking deep networks on Keras 3.

Import it as ``import whetstone_lab as wl``.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with the process's stderr (file descriptor 2) sent to /dev/null.

    TensorFlow 2.21 writes two start-up lines (absl's "WARNING: All log messages before
    absl::InitializeLog()" and oneDNN's notice) straight to file descriptor 2 even with
    ``TF_CPP_MIN_LOG_LEVEL=3``; in a notebook they land in the first cell's output. Python
    errors still propagate; nothing is hidden after the import.
    """
    import sys

    if _os.environ.get("KERAS_BACKEND") != "tensorflow" or "tensorflow" in sys.modules:
        return
    try:
        sys.stderr.flush()
        saved = _os.dup(2)
    except (OSError, ValueError, AttributeError):  # no real stderr (embedded interpreters)
        return
    null = _os.open(_os.devnull, _os.O_WRONLY)
    try:
        _os.dup2(null, 2)
        try:
            import tensorflow  # noqa: F401
        except ImportError:
            pass  # Keras reports a missing backend itself, with its own message
    finally:
        _os.dup2(saved, 2)
        _os.close(saved)
        _os.close(null)


# `python -m whetstone_lab.doctor` checks the set-up (Keras' backend included) before
# anything imports Keras: a bad KERAS_BACKEND would otherwise stop this import with a
# traceback instead of the doctor's verdict. Everywhere else the package loads eagerly.
_DOCTOR = "whetstone_lab.doctor" in getattr(__import__("sys"), "orig_argv", ())

if not _DOCTOR:
    import_tensorflow_quietly()

    from . import (  # noqa: E402
        data,
        metrics,
        models,
        recipes,
        spikes,
        training,
        transforms,
        validation,
    )
    from .layers import (  # noqa: E402
        LAMBDA,
        SoftmaxDecode,
        SpikingActivation,
        SpikingBReLU,
        SpikingSigmoid,
        decode,
        decoder_probabilities,
        make_key,
    )
    from .recipes import Recipe, recipe  # noqa: E402
    from .sharpening import (  # noqa: E402
        AdaptiveSharpener,
        ScheduledSharpener,
        SimpleSharpener,
        SpikingEvaluator,
        fully_sharp,
        get_sharpness,
        global_sharpness,
        is_fully_sharp,
        set_sharpness,
        spiking_layers,
    )
    from .training import FloatSnapshot, StraightThroughFinetune, fit  # noqa: E402
    from .transforms import fold_batchnorm  # noqa: E402

__version__ = "0.1.0"


# Heavier modules load on first use (`wl.plots`, `wl.widgets`, ...), so importing the package
# stays quick and a kernel without ipywidgets can still train networks.
_LAZY = ("plots", "widgets", "deploy", "lessons")


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'whetstone_lab' has no attribute {name!r}")


def fast_mode() -> bool:
    """True when ``WHETSTONE_FAST=1``: lessons use fewer epochs and samples (used by CI)."""
    return _os.environ.get("WHETSTONE_FAST", "0").strip().lower() in ("1", "true", "yes")


def choose(full, fast):
    """``fast`` in fast mode, ``full`` otherwise: ``epochs = wl.choose(30, 3)``."""
    return fast if fast_mode() else full


__all__ = [
    "LAMBDA",
    "AdaptiveSharpener",
    "ScheduledSharpener",
    "SimpleSharpener",
    "SoftmaxDecode",
    "SpikingActivation",
    "SpikingBReLU",
    "SpikingEvaluator",
    "SpikingSigmoid",
    "StraightThroughFinetune",
    "FloatSnapshot",
    "Recipe",
    "recipe",
    "fit",
    "data",
    "decode",
    "decoder_probabilities",
    "fold_batchnorm",
    "fully_sharp",
    "get_sharpness",
    "global_sharpness",
    "is_fully_sharp",
    "make_key",
    "fast_mode",
    "choose",
    "models",
    "metrics",
    "training",
    "recipes",
    "transforms",
    "validation",
    "spikes",
    "plots",
    "widgets",
    "deploy",
    "lessons",
    "set_sharpness",
    "spiking_layers",
]
