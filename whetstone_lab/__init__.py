"""whetstone_lab: learn the Whetstone method for binary-spiking deep networks on Keras 3.

Import it as ``import whetstone_lab as wl``.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from .config import choose, fast_mode, import_tensorflow_quietly  # noqa: E402

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
        stats,
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
    "stats",
    "plots",
    "widgets",
    "deploy",
    "lessons",
    "set_sharpness",
    "spiking_layers",
]
