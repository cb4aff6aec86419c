"""Check a laptop before the workshop: ``python -m whetstone_lab.doctor``.

One screen, well under a minute: the Python version, the installed versions of what the
lessons need (the package's own requirements and its ``lab`` extra, read from its installed
metadata, so they are the ones ``pyproject.toml`` declares), the Keras backend, the
JupyterLab widget extension, the offline datasets, and a small network trained, sharpened,
deployed on threshold neurons and exported to NIR in a couple of seconds. Every failed check
prints its fix; the exit status is 0 only when every check passed.

The package's ``__init__`` skips its eager Keras imports when this module is what Python was
asked to run, so a broken backend (``KERAS_BACKEND=nonsense``) gets a verdict, not a
traceback. Checks that need Keras run only once the backend check passed.

Example:
    $ python -m whetstone_lab.doctor
"""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["BACKENDS", "Check", "main", "run_checks"]

#: Keras 3's backends, and the package each one imports.
BACKENDS = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy",
            "openvino": "openvino"}
#: The JupyterLab extension that renders ipywidgets (shipped by ``jupyterlab_widgets``).
WIDGETS_EXTENSION = "@jupyter-widgets/jupyterlab-manager"
INSTALL_FIX = 'pip install -e ".[lab]" in the repository (or `make lab`)'


class CheckFailed(Exception):
    """A check's failure: the message says what is wrong, ``fix`` what to do."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.fix = fix


@dataclass
class Check:
    """One line of the verdict."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    seconds: float = 0.0


def requirements(extras: Iterable[str] = ("lab",)) -> list[str]:
    """The installed package's requirements that apply here (markers evaluated), as
    ``name>=version`` strings: the core ones and those of ``extras``."""
    from packaging.requirements import Requirement

    offered = metadata.metadata("whetstone_lab").get_all("Provides-Extra") or []
    missing = [e for e in extras if e not in offered]
    if missing:
        raise CheckFailed(f"the installed whetstone_lab declares no {missing} extra: it was "
                          "installed from an older pyproject.toml", INSTALL_FIX)
    wanted = []
    for text in metadata.requires("whetstone_lab") or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("", *extras)):
            wanted.append(req)
    return wanted


def check_python() -> str:
    """The interpreter satisfies the package's Requires-Python (pyproject.toml's)."""
    from packaging.specifiers import SpecifierSet

    version = ".".join(map(str, sys.version_info[:3]))
    wanted = SpecifierSet(metadata.metadata("whetstone_lab").get("Requires-Python") or "")
    if not wanted.contains(version):
        raise CheckFailed(f"Python {version} does not satisfy {wanted}",
                          "install Python 3.11 (python.org or conda) and recreate .venv")
    return f"Python {version} ({sys.executable})"


def check_packages(extras: Iterable[str] = ("lab",)) -> str:
    """Every requirement installed, importable, at its lower bound or above."""
    from packaging.version import Version

    problems, found = [], []
    for req in requirements(extras):
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            problems.append(f"{req.name} is not installed")
            continue
        if req.specifier and not req.specifier.contains(Version(version), prereleases=True):
            problems.append(f"{req.name} {version} does not satisfy {req.specifier}")
            continue
        module = {"scikit-learn": "sklearn", "tensorflow-cpu": "tensorflow"}.get(
            req.name, req.name.replace("-", "_"))
        if module not in ("keras", "tensorflow", "jax", "torch"):  # the backend check's
            try:
                importlib.import_module(module)
            except Exception as err:  # noqa: BLE001 — any import failure is the finding
                problems.append(f"{req.name} {version} is installed but `import {module}` "
                                f"fails: {type(err).__name__}: {err}")
                continue
        found.append(f"{req.name} {version}")
    if problems:
        raise CheckFailed("; ".join(problems), INSTALL_FIX)
    return ", ".join(found)


def check_backend() -> str:
    name = os.environ.get("KERAS_BACKEND", "tensorflow")
    if name not in BACKENDS:
        raise CheckFailed(f"KERAS_BACKEND={name!r} is not a Keras backend "
                          f"({', '.join(BACKENDS)})",
                          "unset KERAS_BACKEND (the lessons use tensorflow) or set it to one "
                          "of those, e.g. `export KERAS_BACKEND=tensorflow`")
    try:
        if name == "tensorflow":  # without TensorFlow's start-up lines on the screen
            from .config import import_tensorflow_quietly

            import_tensorflow_quietly()
        module = importlib.import_module(BACKENDS[name])
    except Exception as err:  # noqa: BLE001
        raise CheckFailed(f"KERAS_BACKEND={name!r} but `import {BACKENDS[name]}` fails: "
                          f"{type(err).__name__}: {err}",
                          INSTALL_FIX if name == "tensorflow" else
                          f'pip install -e ".[{name}]", or unset KERAS_BACKEND') from err
    import keras

    if keras.backend.backend() != name:
        raise CheckFailed(f"Keras runs on {keras.backend.backend()!r}, not {name!r}: "
                          "Keras was imported before KERAS_BACKEND was set",
                          "set KERAS_BACKEND before starting Python or the kernel")
    version = getattr(module, "__version__", "?")
    return f"Keras {keras.__version__} on {name} {version}"


def extension_dirs() -> list[Path]:
    """Where JupyterLab looks for prebuilt extensions (``jupyter --paths``' data dirs)."""
    from jupyter_core.paths import jupyter_path

    return [Path(p) for p in jupyter_path("labextensions")]


def check_widgets(dirs: Iterable[Path] | None = None) -> str:
    """ipywidgets imports, JupyterLab finds its extension, and a picture becomes a widget."""
    fix = ('pip install -e ".[lab]" (ipywidgets 8 brings jupyterlab_widgets, the extension); '
           "then restart JupyterLab and reload the page")
    try:
        import ipywidgets
        import jupyterlab_widgets
    except Exception as err:  # noqa: BLE001
        raise CheckFailed(f"the widget packages do not import: {type(err).__name__}: {err}",
                          fix) from err
    dirs = extension_dirs() if dirs is None else list(dirs)
    found = [d for d in dirs if (d / WIDGETS_EXTENSION / "package.json").is_file()]
    if not found:
        raise CheckFailed(f"JupyterLab finds no {WIDGETS_EXTENSION} extension in "
                          f"{', '.join(map(str, dirs)) or 'its data paths'}: sliders would "
                          "show as text", fix)
    import io

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(2, 1))
    fig.add_subplot().plot([0, 1], [0, 1])
    png = io.BytesIO()
    fig.savefig(png, format="png")
    image = ipywidgets.Image(value=png.getvalue(), format="png")
    if not bytes(image.value).startswith(b"\x89PNG"):
        raise CheckFailed("a figure did not render into a widget", fix)
    return (f"ipywidgets {ipywidgets.__version__}, jupyterlab_widgets "
            f"{jupyterlab_widgets.__version__}, extension in {found[0]}")


def check_datasets() -> str:
    from . import data

    names = []
    for name in data.offline_names():
        ds = data.load(name)
        if len(ds.x_train) == 0 or len(ds.x_test) == 0:
            raise CheckFailed(f"the offline dataset {name!r} is empty",
                              "reinstall scikit-learn and the package")
        names.append(f"{name} {len(ds.x_train)}+{len(ds.x_test)}")
    return "offline, no network: " + ", ".join(names)


def check_sharpen_and_deploy() -> str:
    """A small dense network on 600 digits: float epoch, per-batch sharpening, then the
    threshold network and its NIR graph must give Keras' classes exactly."""
    import numpy as np

    from . import data as datasets
    from . import deploy, metrics, models, recipes, sharpening, spikes, training

    data = datasets.load("digits")
    x, y = data.x_train[:600], data.y_train[:600]
    training.seed_everything(0)
    model = models.dense_classifier(data.input_shape, data.num_classes, hidden=(64, 32),
                                       towers=1)
    recipe = recipes.Recipe("doctor", warmup_epochs=2, sharpen_epochs=1, per="batch",
                            learning_rate=3e-3, batch_size=32)
    training.fit(model, x, y, recipe, progress=False)
    if not sharpening.is_fully_sharp(model):
        raise CheckFailed("the network did not end fully sharp", INSTALL_FIX)
    spikes.assert_binary(model, data.x_test)
    keras_classes = np.argmax(model.predict(data.x_test, verbose=0), axis=-1)
    result = deploy.to_spiking(model).run(data.x_test)
    if not np.array_equal(result.classes, keras_classes):
        raise CheckFailed("the threshold network's classes differ from Keras'",
                          "report it with this screen's output")
    detail = (f"trained and sharpened in 3 epochs (a smoke test), test accuracy "
              f"{metrics.evaluate(model, data.x_test, data.y_test):.2f}, threshold network "
              "= Keras on all 360 test digits")
    try:
        import nir  # noqa: F401
    except ImportError as err:
        raise CheckFailed(f"{detail}; but the NIR export needs `nir`: {err}",
                          'pip install -e ".[lab]" (lesson 07 exports to NIR)') from err
    graph = deploy.export_nir(model)
    back = deploy.run_nir(graph, data.x_test)
    if not np.array_equal(back.output, result.output):
        raise CheckFailed("the NIR graph's spikes differ from Keras'",
                          "report it with this screen's output")
    return detail + ", NIR graph the same"


CHECKS: list[tuple[str, Callable[[], str], bool]] = [
    # (name, check, needs a working Keras)
    ("Python", check_python, False),
    ("packages", check_packages, False),
    ("Keras backend", check_backend, False),
    ("widgets", check_widgets, False),
    ("offline datasets", check_datasets, False),  # data/ needs no Keras
    ("sharpen and deploy", check_sharpen_and_deploy, True),
]


def run_checks(checks=None) -> list[Check]:
    """Run the checks in order; the Keras ones are skipped once the backend check failed."""
    results, keras_ok = [], True
    for name, func, needs_keras in CHECKS if checks is None else checks:
        if needs_keras and not keras_ok:
            results.append(Check(name, False, "skipped: needs a working Keras backend",
                                 "fix the Keras backend first"))
            continue
        start = time.perf_counter()
        try:
            results.append(Check(name, True, func(), seconds=time.perf_counter() - start))
        except CheckFailed as err:
            results.append(Check(name, False, str(err), err.fix, time.perf_counter() - start))
        except Exception as err:  # noqa: BLE001 — a crash is a finding too
            results.append(Check(name, False, f"{type(err).__name__}: {err}", INSTALL_FIX,
                                 time.perf_counter() - start))
        if name == "Keras backend" and not results[-1].ok:
            keras_ok = False
    return results


def render(results: list[Check], seconds: float) -> str:
    lines = ["whetstone_lab doctor — is this machine ready for the lessons?", ""]
    for r in results:
        mark = "ok  " if r.ok else "skip" if r.detail.startswith("skipped") else "FAIL"
        lines.append(f"{mark}  {r.name:18s} {r.detail} ({r.seconds:.1f} s)")
        if not r.ok:
            lines.append(f"      {'':18s} fix: {r.fix}")
    failed = [r.name for r in results if not r.ok and not r.detail.startswith("skipped")]
    skipped = [r.name for r in results if r.detail.startswith("skipped")]
    lines += ["", (f"READY: every check passed in {seconds:.0f} s." if not failed else
                   f"NOT READY: {len(failed)} of {len(results)} checks failed "
                   f"({', '.join(failed)})" + (f", {len(skipped)} skipped" if skipped else "")
                   + "; apply the fixes above and run `python -m whetstone_lab.doctor` "
                   "again.")]
    return "\n".join(lines)


def main() -> int:
    start = time.perf_counter()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    results = run_checks()
    print(render(results, time.perf_counter() - start))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
