"""The scoring of ``benchmarks/interop.py`` (``make interop``), without any toolchain, and
what ``export_nir`` does for the toolchains: the column order after a Flatten, the settings
known not to run somewhere, and the files it writes.

The toolchains themselves (torch, snnTorch, Norse, JAX, Spyx) live in their own virtualenvs
and are exercised by ``make interop``; here a toolchain's run is written by hand so the
comparison with Keras, the decoding and the report can be checked in ``make test``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest
from script_helpers import load_script

import whetstone_lab as wl
from whetstone_lab import deploy

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def interop():
    return load_script("benchmarks/interop.py")


def _workdir(tmp_path: Path, interop, spikes_by_toolchain: dict) -> tuple[Path, dict]:
    rng = np.random.default_rng(0)
    n, width = 12, 4
    key = np.zeros((2, width), np.int8)
    key[0, :2] = key[1, 2:] = 1
    classes = rng.integers(0, 2, n)
    out = key[classes].astype(np.uint8)  # output spikes that decode to `classes`
    hidden = rng.integers(0, 2, (n, 3, 3, 2)).astype(np.uint8)
    folder = tmp_path / "dense"
    folder.mkdir()
    np.savez(folder / "reference.npz", x=np.zeros((n, 3, 3, 1), np.float32), y=classes,
             key=key, classes=classes, hidden=hidden, out=out)
    manifest = {"networks": ["dense"], "flavours": ["lif"], "dt": 1e-4,
                "steps": interop.STEPS, "layers": {"dense": ["hidden", "out"]},
                "keras_accuracy": {"dense": 1.0}}
    for toolchain, change in spikes_by_toolchain.items():
        run = tmp_path / toolchain / "dense"
        run.mkdir(parents=True)
        arrays = {"hidden": np.stack([hidden] * interop.STEPS),
                  "out": np.stack([out] * interop.STEPS)}
        arrays = change(arrays)
        arrays["output"] = arrays["out"]
        np.savez(run / "lif.npz", **arrays)
        (run / "lif.json").write_text(json.dumps(
            {"imported": True, "ran": True, "error": "", "workarounds": ["Flatten"]}))
    return tmp_path, manifest


def test_a_run_equal_to_keras_scores_100_and_a_changed_one_less(interop, tmp_path):
    def flip_first_sample(arrays):
        arrays["out"] = arrays["out"].copy()
        arrays["out"][:, 0] = 1 - arrays["out"][:, 0]  # sample 0: every output neuron flipped
        return arrays

    def delay_hidden(arrays):
        arrays["hidden"] = arrays["hidden"].copy()
        arrays["hidden"][0] = 0  # a silent first step
        return arrays

    workdir, manifest = _workdir(tmp_path, interop, {"snntorch": lambda a: a,
                                                     "norse": flip_first_sample,
                                                     "spyx": delay_hidden})
    same = interop.score(workdir, manifest, "snntorch", "dense", "lif")
    assert same["layer_agreement_all_steps"] == {"hidden": 1.0, "out": 1.0}
    assert same["class_agreement"] == 1.0 and same["accuracy"] == 1.0
    flipped = interop.score(workdir, manifest, "norse", "dense", "lif")
    assert flipped["layer_agreement_step1"]["out"] == pytest.approx(11 / 12)
    assert flipped["class_agreement"] == pytest.approx(11 / 12)
    delayed = interop.score(workdir, manifest, "spyx", "dense", "lif")
    assert delayed["layer_agreement_step1"]["hidden"] < 1.0
    assert delayed["layer_agreement_last_step"]["hidden"] == 1.0
    missing = interop.score(workdir, manifest, "other", "dense", "lif")
    assert missing["imported"] is False and "not installed" in missing["error"]
    # The goal needs every toolchain, with its own flavour, at 100 % on every network.
    rows = [dict(same, network=net, toolchain=tc, flavour=flavour,
                 flatten=interop.flatten_order(tc, net))
            for tc, flavour in interop.FLAVOUR_OF.items() for net in interop.NETWORKS]
    assert interop.goal_met(rows)
    summary = interop.summarize(rows)
    assert [(s["toolchain"], s["network"]) for s in summary] == [
        (tc, net) for tc in ("snntorch", "norse", "spyx") for net in ("dense", "conv")]
    assert {s["flatten"] for s in summary if s["toolchain"] == "spyx"} == {"chw", "hwc"}
    assert not interop.goal_met(rows[:-1])  # Spyx's conv run missing
    rows[-1] = dict(flipped, network="conv", toolchain="spyx", flavour="li_threshold",
                    flatten="hwc")
    assert not interop.goal_met(rows)
    results = {"steps": interop.STEPS, "dt": 1e-4, "fast": False,
               "keras_accuracy": {"dense": 1.0, "conv": 1.0}, "versions": {"nir": "1"},
               "rows": [same, flipped, delayed, missing], "summary": interop.summarize(rows),
               "goal_met": interop.goal_met(rows), "wall_seconds": 1.0, "load_average": "0.0",
               "machine": "x86_64", "python": "3.11"}
    text = interop.report(results)
    assert "| snntorch | lif (default) | dense | yes | yes | 100.0 / 100.0 |" in text
    assert '| Spyx | `"li_threshold"` | conv | `"hwc"` | 91.7 |' in text
    assert "**not met**" in text


def test_the_interop_report_is_what_its_results_file_renders(interop):
    stored = json.loads((ROOT / "benchmarks/results/interop.json").read_text())
    assert stored["summary"] == json.loads(json.dumps(interop.summarize(stored["rows"])))
    assert stored["goal_met"] == interop.goal_met(stored["rows"])
    assert interop.report(stored) == (ROOT / "benchmarks/results/interop.md").read_text()


def test_spyx_is_given_the_conv_network_with_channels_last_columns(interop, tmp_path):
    # Spyx flattens conv maps channels-last: its conv graphs are exported with
    # flatten="hwc"; snnTorch and Norse read NIR's order; each worker finds its own file.
    assert interop.flatten_order("spyx", "conv") == "hwc"
    assert interop.flatten_order("spyx", "dense") == "chw"
    assert {interop.flatten_order(tc, net) for tc in ("snntorch", "norse")
            for net in interop.NETWORKS} == {"chw"}
    assert interop.graph_file("conv", "lif", "chw") == "conv/lif.nir"
    assert interop.graph_file("conv", "li_threshold", "hwc") == "conv/li_threshold_hwc.nir"
    workdir, manifest = _workdir(tmp_path, interop, {"spyx": lambda a: a})
    manifest["flatten"] = {"spyx": {"dense": "hwc"}}
    assert interop.score(workdir, manifest, "spyx", "dense", "lif")["flatten"] == "hwc"


def test_the_benchmark_module_imports_no_toolchain_and_not_the_lab():
    # The same file is the worker inside the toolchains' environments, where neither
    # whetstone_lab nor Keras is installed: importing it must need NumPy only (and common,
    # next to it, as when it runs as a script).
    script = str(ROOT / "benchmarks" / "interop.py")
    code = ("import importlib.util, sys; "
            f"sys.path.insert(0, {str(ROOT / 'benchmarks')!r}); "
            f"spec = importlib.util.spec_from_file_location('interop', {script!r}); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "print(sorted(n for n in ('torch', 'snntorch', 'norse', 'jax', 'spyx', 'keras', "
            "'tensorflow', 'whetstone_lab') if n in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert out.stdout.strip() == "[]"


# -- export_nir for the toolchains ----------------------------------------------------------
@pytest.fixture(scope="module")
def conv_net():
    """A small fully sharp conv network whose dense layer reads a flattened conv map."""
    keras.utils.set_random_seed(0)
    model = wl.models.conv_classifier((6, 6, 1), 2, filters=(3,), dense=(5,),
                                      neurons_per_class=2)
    wl.set_sharpness(model, 1.0)
    x = np.random.default_rng(0).random((50, 6, 6, 1)).astype("float32")
    names = [layer.name for layer in wl.spiking_layers(model)]
    return model, x, deploy.keras_spikes(model, x, names)


def test_channels_last_columns_reproduce_keras_when_the_graph_is_read_channels_last(conv_net):
    # Spyx flattens conv maps channels-last (HWC); NIR's Affine columns are channels-first.
    # flatten="hwc" keeps Keras' column order, recorded in the metadata, and run_nir reading
    # the graph channels-last (as Spyx does) gives Keras' spikes in every layer.
    model, x, reference = conv_net
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # Spyx's setting: no warning
        graph = deploy.export_nir(model, neuron="li_threshold", flatten="hwc")
    assert graph.metadata["flatten"] == "hwc"
    result = deploy.run_nir(graph, x)
    for name, spikes in reference.items():
        np.testing.assert_array_equal(result.spikes[name], spikes)
    # The same graph read channels-first, as NIR's order says: the dense layer is wrong.
    misread = deploy.run_nir(graph, x, flatten="chw")
    after_flatten = list(reference)[1]
    assert (misread.spikes[after_flatten] != reference[after_flatten]).any()
    # NIR's own order (the default) is what channels-first readers take; no metadata then.
    standard = deploy.export_nir(model, neuron="threshold")
    assert "flatten" not in standard.metadata
    np.testing.assert_array_equal(deploy.run_nir(standard, x).spikes[after_flatten],
                                  reference[after_flatten])
    with pytest.raises(ValueError, match="flatten must be one of"):
        deploy.export_nir(model, flatten="nhwc")


@pytest.mark.parametrize("kwargs, toolchain", [
    ({"neuron": "lif", "dt": 1e-3}, "snnTorch 1.0.0 imports it with its fixed step 0.0001"),
    ({"neuron": "cuba_lif", "dt": 1e-3}, "snnTorch 1.0.0"),
    ({"neuron": "lif", "flatten": "hwc"}, "snnTorch and Norse flatten conv maps channels-first"),
    ({"neuron": "li_threshold"}, "Spyx flattens conv maps channels-last.*flatten='hwc'"),
])
def test_settings_known_not_to_run_in_a_toolchain_warn_or_are_refused_when_strict(
        conv_net, kwargs, toolchain):
    model = conv_net[0]
    with pytest.warns(UserWarning, match=toolchain):
        deploy.export_nir(model, **kwargs)
    with pytest.raises(ValueError, match=toolchain):
        deploy.export_nir(model, **kwargs, strict=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # the defaults, and Spyx's with its dt
        deploy.export_nir(model)
        deploy.export_nir(model, neuron="li_threshold", flatten="hwc", dt=1e-3)


def test_a_one_channel_flatten_has_one_order_and_no_warning():
    """A dense network flattens a one-channel image: HWC and CHW coincide, nothing to say."""
    model = wl.models.dense_classifier((6, 6, 1), 2, hidden=(5,), towers=1,
                                       neurons_per_class=2)
    wl.set_sharpness(model, 1.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        deploy.export_nir(model, neuron="li_threshold")


def test_export_nir_never_replaces_a_file_and_names_a_missing_folder(conv_net, tmp_path):
    model = conv_net[0]
    notes = tmp_path / "notes.nir"
    notes.write_text("my notes")
    with pytest.raises(FileExistsError, match=r"notes\.nir' already exists.*overwrite=True"):
        deploy.export_nir(model, notes, neuron="threshold")
    assert notes.read_text() == "my notes"  # untouched
    deploy.export_nir(model, notes, neuron="threshold", overwrite=True)
    assert deploy.run_nir(notes, conv_net[1][:2]).classes is not None
    with pytest.raises(FileNotFoundError, match=r"the folder '.*missing' of .*does not exist"):
        deploy.export_nir(model, tmp_path / "missing" / "net.nir")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        deploy.export_nir(model, tmp_path)
    with pytest.raises(TypeError, match="overwrite must be True or False"):
        deploy.export_nir(model, tmp_path / "new.nir", overwrite="yes")


def test_a_failed_nir_write_names_the_file(conv_net, tmp_path, monkeypatch):
    import nir

    def refuse(path, graph):  # what HDF5 says on a read-only disk, naming no file
        raise OSError("Unable to synchronously create file (errno = 13)")

    monkeypatch.setattr(nir, "write", refuse)
    with pytest.raises(OSError, match=r"export_nir could not write '.*net\.nir': Unable"):
        deploy.export_nir(conv_net[0], tmp_path / "net.nir", neuron="threshold")
