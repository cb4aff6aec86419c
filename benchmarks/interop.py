"""NIR interop: the lesson networks exported by whetstone_lab, run by other toolchains.

Trains two digits networks fully sharp in this environment (seeded): the lessons' dense
classifier (``wl.models.dense_classifier`` with its defaults, recipe ``"lesson"``) and lesson
03's convolutional network (``wl.models.conv_classifier`` with its defaults — no pooling, no
BatchNorm — recipe ``"digits_conv"``). Exports each with ``wl.deploy.export_nir`` in every
neuron flavour, then, in separate virtualenvs, loads every graph with each toolchain's own
importer and runs it on the 360 test digits, the input held for ``STEPS`` time steps:

* snnTorch (``snntorch.import_nir.import_from_nir``) and Norse
  (``norse.torch.from_nir(graph, dt=dt)``), in the torch environment, with NIR's column
  order after a Flatten (``flatten="chw"``);
* Spyx (``spyx.nir.from_nir``'s model), in the JAX environment; Spyx flattens channels-last,
  so it is given the conv network exported with ``flatten="hwc"`` (``FLATTEN``).

The report leads with each toolchain in its own flavour (``FLAVOUR_OF``) on both networks:
the % of classes and of spikes equal to Keras'; then every flavour in every toolchain.

The only change made to an imported network is the documented one: torch's
``Flatten(start_dim=0)`` (NIR shapes have no batch axis) is set to ``start_dim=1``. Every
layer's spikes are compared with Keras ``predict`` at each step (with ``tau = dt`` the
neurons are stateless, so each step should equal Keras), and the output spikes of the first
step are decoded with the graph's N-hot key. Writes ``results/interop.json`` and the report
it renders, ``results/interop.md`` (:func:`report`).

Usage::

    make interop      # builds .venv-interop and .venv-spyx, then runs this script
    python benchmarks/interop.py --torch-python .venv-interop/bin/python \\
        --spyx-python .venv-spyx/bin/python [--fast]
    python benchmarks/interop.py --report   # render interop.md again from interop.json

The same file is the worker the toolchain environments run (``--worker torch|spyx DIR``);
that part imports only NumPy, ``nir``, the toolchain and ``common`` (standard library only).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (the shared preamble: standard library only, so the workers run it too)
import numpy as np
from common import render

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
FLAVOURS = ("lif", "threshold", "li_threshold", "cuba_lif")
NETWORKS = ("dense", "conv")
STEPS = 5
DT = 1e-4
TOOLCHAINS = {"torch": ("snntorch", "norse"), "spyx": ("spyx",)}
FLATTEN_FIX = "Flatten start_dim 0 → 1"
#: Each toolchain's flavour: the one export_nir documents for it, which the goal checks.
FLAVOUR_OF = {"snntorch": "lif", "norse": "lif", "spyx": "li_threshold"}
#: The column order after a conv map's Flatten that each toolchain is given, per network
#: (export_nir's ``flatten``): Spyx flattens channels-last, so its conv graphs are "hwc";
#: every other graph keeps NIR's "chw". (The dense network flattens its one-channel input,
#: where the two orders coincide.)
FLATTEN = {("spyx", "conv"): "hwc"}


def flatten_order(toolchain: str, network: str) -> str:
    """The ``flatten`` a toolchain's graphs of ``network`` are exported with."""
    return FLATTEN.get((toolchain, network), "chw")


def graph_file(network: str, flavour: str, order: str) -> str:
    """The exported graph's path in the work folder (NIR's order keeps the plain name)."""
    return f"{network}/{flavour}.nir" if order == "chw" else f"{network}/{flavour}_{order}.nir"


# ----------------------------------------------------------------------------------------
# Workers (run inside the toolchains' environments)
# ----------------------------------------------------------------------------------------
def _ran(record: dict, outputs: list, layers: dict) -> dict:
    """Mark a worker's record as run, with its output and per-layer spikes over the steps."""
    record["ran"] = True
    record["arrays"] = {"output": np.stack(outputs), **layers}
    return record


def _error(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def _torch_run(toolchain: str, graph_path: Path, x: np.ndarray, layers: list[str],
               dt: float) -> dict:
    """Import one graph with snnTorch or Norse, run it STEPS steps, record every layer."""
    import nir
    import torch

    record: dict = {"imported": False, "ran": False, "workarounds": [], "error": ""}

    def load():
        graph = nir.read(graph_path)
        if toolchain == "snntorch":
            from snntorch.import_nir import import_from_nir

            return import_from_nir(graph)
        import norse.torch

        return norse.torch.from_nir(graph, dt=dt)

    try:
        module = load()
    except Exception as err:  # noqa: BLE001 - the importer's own failure is the result
        record["error"] = _error(err)
        return record
    record["imported"] = True
    inputs = torch.from_numpy(x.transpose(0, 3, 1, 2) if x.ndim == 4 else x).float()
    try:  # is the workaround needed? A fresh import, run unchanged on two samples.
        with torch.no_grad():
            load()(inputs[:2])
        record["unchanged"] = "ran"
    except Exception as err:  # noqa: BLE001
        record["unchanged"] = _error(err)
    for sub in module.modules():
        if isinstance(sub, torch.nn.Flatten) and sub.start_dim == 0:
            sub.start_dim = 1  # NIR's batch-free start_dim=0 would flatten the batch too
            if FLATTEN_FIX not in record["workarounds"]:
                record["workarounds"].append(FLATTEN_FIX)
    seen: dict[str, list] = {name: [] for name in layers}
    named = dict(module.named_modules())

    def hook(name):
        def keep(_module, _inputs, output):
            out = output[0] if isinstance(output, tuple) else output
            seen[name].append(out.detach().numpy().copy())
        return keep

    for name in layers:
        if name in named:
            named[name].register_forward_hook(hook(name))
    outputs, state = [], None
    try:
        if toolchain == "snntorch":
            import snntorch.utils

            snntorch.utils.reset(module)
        with torch.no_grad():
            for _ in range(STEPS):
                out = module(inputs) if state is None else module(inputs, state)
                if isinstance(out, tuple):  # nirtorch graphs return (output, state)
                    out, state = out[0], out[1]
                outputs.append(out.detach().numpy().copy())
    except Exception as err:  # noqa: BLE001
        record["error"] = _error(err)
        return record
    stacked = {name: np.stack(steps) for name, steps in seen.items() if len(steps) == STEPS}
    return _ran(record, outputs, {  # torch maps are NCHW; Keras' are NHWC
        name: a.transpose(0, 1, 3, 4, 2) if a.ndim == 5 else a for name, a in stacked.items()})


def _spyx_run(graph_path: Path, x: np.ndarray, layers: list[str], dt: float) -> dict:
    """Import one graph with Spyx, run its Sequential STEPS steps, layer by layer."""
    import jax.numpy as jnp
    import nir
    import spyx.nir

    record: dict = {"imported": False, "ran": False, "workarounds": [], "error": ""}
    graph = nir.read(graph_path)
    xs = jnp.asarray(np.broadcast_to(x, (STEPS, *x.shape)))  # time-major, NHWC (Spyx's)
    try:
        model, _ = spyx.nir.from_nir(graph, xs, dt=dt)
    except Exception as err:  # noqa: BLE001
        record["error"] = _error(err)
        return record
    record["imported"] = True
    # The Sequential's layers, in order, are the graph's chain minus the nodes it dropped;
    # name them from the graph to record the spiking layers' outputs.
    names, node = [], "input"
    edges = dict(graph.edges)
    while node in edges:
        node = edges[node]
        names.append(node)
    kinds = {"LIF": "LIF", "CubaLIF": "CuBaLIF", "LI": "PSU_LIF", "Affine": "Linear",
             "Conv2d": "Conv", "Flatten": "Flatten"}
    kept = [n for n in names if type(graph.nodes[n]).__name__ in kinds]
    if len(kept) != len(model.layers):
        record["error"] = (f"{len(model.layers)} Spyx layers for {len(kept)} mappable nodes")
        return record
    dropped = sorted({
        type(graph.nodes[n]).__name__ for i, n in enumerate(names)
        if type(graph.nodes[n]).__name__ not in kinds and not isinstance(graph.nodes[n], nir.Output)
        and not (isinstance(graph.nodes[n], nir.Threshold) and i > 0
                 and isinstance(graph.nodes[names[i - 1]], nir.LI))})
    if dropped:
        record["dropped"] = dropped
    try:
        state = model.initial_state(x.shape[0])
        per_layer: dict[str, list] = {}
        outputs = []
        for t in range(STEPS):
            a, new_state = xs[t], []
            for layer, s, name in zip(model.layers, state, kept, strict=True):
                if s is not None:
                    a, s = layer(a, s)
                else:
                    a = layer(a)
                new_state.append(s)
                spiking = name[:-3] if name.endswith("_li") else name
                if spiking in layers:
                    per_layer.setdefault(spiking, []).append(np.asarray(a))
            state = new_state
            outputs.append(np.asarray(a))
    except Exception as err:  # noqa: BLE001
        record["error"] = _error(err)
        return record
    return _ran(record, outputs, {name: np.stack(steps) for name, steps in per_layer.items()})


def worker(kind: str, workdir: Path) -> None:
    """Run every exported graph in this environment's toolchains; write one npz per run."""
    manifest = json.loads((workdir / "manifest.json").read_text())
    versions = {}
    base = "torch" if kind == "torch" else "jax"
    versions[base] = __import__(base).__version__
    for toolchain in TOOLCHAINS[kind]:
        try:
            module = __import__(toolchain)
            versions[toolchain] = getattr(module, "__version__", "?")
        except Exception as err:  # noqa: BLE001
            versions[toolchain] = f"not importable ({_error(err)})"
            continue
        for network in manifest["networks"]:
            ref = np.load(workdir / network / "reference.npz")
            x, layers = ref["x"], manifest["layers"][network]
            order = manifest["flatten"].get(toolchain, {}).get(network, "chw")
            for flavour in manifest["flavours"]:
                path = workdir / graph_file(network, flavour, order)
                start = time.perf_counter()
                if kind == "torch":
                    record = _torch_run(toolchain, path, x, layers, manifest["dt"])
                else:
                    record = _spyx_run(path, x, layers, manifest["dt"])
                record["seconds"] = time.perf_counter() - start
                arrays = record.pop("arrays", {})
                out = workdir / toolchain / network
                out.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(out / f"{flavour}.npz", **arrays)
                (out / f"{flavour}.json").write_text(json.dumps(record))
                print(f"{toolchain:9s} {network:6s} {flavour:13s} imported={record['imported']}"
                      f" ran={record['ran']} {record['error']}", flush=True)
    (workdir / f"versions_{kind}.json").write_text(json.dumps(versions))


# ----------------------------------------------------------------------------------------
# Main (this project's environment)
# ----------------------------------------------------------------------------------------
def build_networks(fast: bool):
    """The two fully sharp networks, trained as the lessons train them."""
    import whetstone_lab as wl
    from whetstone_lab import recipes, training

    wl.lessons.deterministic(0)
    data = wl.data.load("digits")
    x_train, y_train, x_val, y_val = training.validation_split(data.x_train, data.y_train)
    models = {}
    wl.lessons.deterministic(0)
    dense = wl.models.dense_classifier(data.input_shape, data.num_classes, towers=1,
                                       name="dense")
    training.fit(dense, x_train, y_train, recipes.recipe("lesson", fast=fast),
                 validation_data=(x_val, y_val), seed=0, progress=False)
    models["dense"] = dense
    wl.lessons.deterministic(0)
    conv = wl.models.conv_classifier(data.input_shape, data.num_classes, name="conv")
    training.fit(conv, data.x_train, data.y_train, recipes.recipe("digits_conv", fast=fast),
                 seed=0, progress=False)  # lesson 03: the whole training split
    models["conv"] = conv
    for model in models.values():
        assert wl.is_fully_sharp(model)
    return data, models


def export_all(workdir: Path, fast: bool) -> dict:
    """Train, export every flavour in every column order a toolchain is given (``FLATTEN``)
    and store Keras' reference spikes in ``workdir``."""
    import warnings

    from whetstone_lab import deploy

    data, models = build_networks(fast)
    flatten = {}
    for toolchain, network in FLATTEN:
        flatten.setdefault(toolchain, {})[network] = flatten_order(toolchain, network)
    manifest = {"networks": list(NETWORKS), "flavours": list(FLAVOURS), "dt": DT,
                "steps": STEPS, "layers": {}, "keras_accuracy": {}, "flatten": flatten}
    for network in NETWORKS:
        model = models[network]
        net = deploy.to_spiking(model)
        reference = deploy.keras_spikes(net.source, data.x_test, [*net.layer_names, "decode"])
        classes = reference.pop("decode").argmax(-1)
        folder = workdir / network
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "reference.npz", x=data.x_test.astype(np.float32),
                            y=data.y_test, key=net.key, classes=classes,
                            **{name: np.asarray(v, np.uint8) for name, v in reference.items()})
        orders = {"chw"} | {flatten_order(tc, network) for tc in FLAVOUR_OF}
        for flavour in FLAVOURS:
            for order in sorted(orders):
                # Every flavour in every order, each run where it is known not to work too
                # (export_nir's warning about that is what the table measures).
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    deploy.export_nir(net, workdir / graph_file(network, flavour, order),
                                      neuron=flavour, dt=DT, flatten=order, overwrite=True)
        manifest["layers"][network] = list(net.layer_names)
        manifest["keras_accuracy"][network] = float(np.mean(classes == data.y_test))
    (workdir / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def score(workdir: Path, manifest: dict, toolchain: str, network: str, flavour: str) -> dict:
    """Compare one toolchain run with Keras: per-layer spikes, classes, accuracy."""
    from whetstone_lab.layers import decode

    row = {"toolchain": toolchain, "network": network, "flavour": flavour,
           "flatten": manifest.get("flatten", {}).get(toolchain, {}).get(network, "chw")}
    status = workdir / toolchain / network / f"{flavour}.json"
    if not status.exists():
        row.update(imported=False, ran=False, error="toolchain not installed", workarounds=[])
        return row
    record = json.loads(status.read_text())
    row.update({k: record[k] for k in ("imported", "ran", "error", "workarounds")})
    if "unchanged" in record:
        row["run_unchanged"] = record["unchanged"]
    if "dropped" in record:
        row["dropped"] = record["dropped"]
    if not record["ran"]:
        return row
    ref = np.load(workdir / network / "reference.npz")
    got = np.load(workdir / toolchain / network / f"{flavour}.npz")
    step1, every, last = {}, {}, {}
    for name in manifest["layers"][network]:
        a = got[name] if name in got else None
        want = ref[name]
        if a is None or a.shape[1:] != want.shape:
            step1[name] = every[name] = last[name] = None
            continue
        binary = (a == 0) | (a == 1)
        same = (a == want[None]) & binary
        step1[name] = float(same[0].mean())
        every[name] = float(same.mean())
        last[name] = float(same[-1].mean())
    row["layer_agreement_step1"] = step1
    row["layer_agreement_all_steps"] = every
    row["layer_agreement_last_step"] = last
    output = got["output"][0]
    n = len(ref["y"])
    if output.size == n * ref["key"].shape[1] and np.isin(output, (0, 1)).all():
        classes = decode(output.reshape(n, -1).astype(np.float32), ref["key"])
        row["class_agreement"] = float(np.mean(classes == ref["classes"]))
        row["accuracy"] = float(np.mean(classes == ref["y"]))
    else:
        # Not spikes (Spyx's dropped Threshold leaves real values): decode the scores.
        scores = output.reshape(n, -1) @ ref["key"].T.astype(np.float64)
        classes = scores.argmax(-1)
        row["class_agreement"] = float(np.mean(classes == ref["classes"]))
        row["accuracy"] = float(np.mean(classes == ref["y"]))
        row["output_not_binary"] = True
    return row


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}"


def _unchanged(rows: list[dict]) -> str:
    """What happened to the torch imports run without the Flatten workaround."""
    runs = [r for r in rows if "run_unchanged" in r]
    failed = sorted({r["run_unchanged"] for r in runs if r["run_unchanged"] != "ran"})
    ran = [f"{r['toolchain']} {r['flavour']} {r['network']}" for r in runs
           if r["run_unchanged"] == "ran"]
    text = (f"* Run unchanged (a fresh import, no workaround), {len(runs) - len(ran)} of "
            f"{len(runs)} imported torch graphs failed")
    text += (": " + "; ".join(f"`{e}`" for e in failed)) if failed else ""
    return text + (f"; these ran: {', '.join(ran)}." if ran else ".")


def _worst(values: dict | None):
    """The lowest agreement over the layers; None if a layer was not recorded."""
    if not values or any(v is None for v in values.values()):
        return None
    return min(values.values())


def _layers(values: dict | None) -> str:
    if not values:
        return "—"
    return " / ".join(_pct(v) for v in values.values())


NOTES = {
    ("snntorch", "threshold"): "snnTorch has no mapping for NIR's Threshold node.",
    ("snntorch", "li_threshold"): "snnTorch has no mapping for LI or Threshold nodes.",
    ("norse", "threshold"): "Norse maps Threshold to nothing; the graph then breaks.",
    ("norse", "li_threshold"): "Norse maps LI and Threshold to nothing.",
    ("spyx", "threshold"): "Spyx drops Threshold nodes silently: the outputs are the last "
                           "Affine's real values, decoded here by their scores.",
    ("spyx", "lif"): "Spyx's LIF spikes from the membrane before adding the input (step 1 "
                     "is silent, a delay of one step per layer) and subtracts the threshold "
                     "on reset.",
    ("spyx", "cuba_lif"): "Spyx's CuBaLIF spikes before integrating, like its LIF; on a conv "
                          "map its `initial_state` doubles every axis of the shape (`2 * v for "
                          "v in hidden_shape`), not only the channel axis it splits, so conv "
                          "graphs fail in `from_nir`.",
    ("spyx", "li_threshold"): "LI + Threshold becomes Spyx's PSU_LIF, which integrates "
                              "before it spikes.",
}
NAMES = {"snntorch": "snnTorch", "norse": "Norse", "spyx": "Spyx"}


def summarize(rows: list[dict]) -> list[dict]:
    """Per toolchain × network, with the toolchain's flavour (``FLAVOUR_OF``): the % of
    classes and of spikes (lowest layer, every step) equal to Keras'; None if it did not run."""
    by_key = {(r["toolchain"], r["flavour"], r["network"]): r for r in rows}
    summary = []
    for toolchain, flavour in FLAVOUR_OF.items():
        for network in NETWORKS:
            row = by_key.get((toolchain, flavour, network), {})
            summary.append({
                "toolchain": toolchain, "network": network, "flavour": flavour,
                "flatten": row.get("flatten", flatten_order(toolchain, network)),
                "classes": row.get("class_agreement"),
                "spikes": _worst(row.get("layer_agreement_all_steps")),
                "error": row.get("error", "not run") if not row.get("ran") else ""})
    return summary


def goal_met(rows: list[dict]) -> bool:
    """Every toolchain with its flavour, both networks: every spike and class as Keras'."""
    return all(s["classes"] == 1.0 and s["spikes"] == 1.0 for s in summarize(rows))


def _network(row: dict) -> str:
    return row["network"] + ("" if row.get("flatten", "chw") == "chw"
                             else f" (`{row['flatten']}`)")


def report(results: dict) -> str:
    """The Markdown report, from the results file's content alone, through the template
    ``benchmarks/templates/interop.md``: the tables and numbers filled in here, the prose
    there."""
    rows, acc = results["rows"], results["keras_accuracy"]
    summary = [
        f"| {NAMES[s['toolchain']]} | `\"{s['flavour']}\"` | {s['network']} | "
        f"`\"{s['flatten']}\"` | {_pct(s['classes'])} | {_pct(s['spikes'])} |"
        for s in results["summary"]]
    table = []
    for row in rows:
        every = row.get("layer_agreement_all_steps") or {}
        worst, worst_last = _worst(every), _worst(row.get("layer_agreement_last_step"))
        note = row.get("error") or NOTES.get((row["toolchain"], row["flavour"]), "")
        if row.get("dropped"):
            note = f"dropped {', '.join(row['dropped'])}. " + note
        flavour = row["flavour"] + (" (default)" if row["flavour"] == "lif" else "")
        table.append(
            f"| {row['toolchain']} | {flavour}"
            f" | {_network(row)} | {'yes' if row['imported'] else 'no'} | "
            f"{'yes' if row.get('ran') else 'no'} | {_layers(row.get('layer_agreement_step1'))} | "
            f"{_pct(worst)} | {_pct(worst_last)} | {_pct(row.get('class_agreement'))} | "
            f"{_pct(row.get('accuracy'))} | {', '.join(row.get('workarounds') or []) or '—'} | "
            f"{note.strip()} |")
    return render("interop", {
        "fast": " **in fast mode (shortened recipes; a smoke run)**" if results["fast"] else "",
        "dense_accuracy": f"{acc['dense']:.3f}", "conv_accuracy": f"{acc['conv']:.3f}",
        "dt": f"{results['dt']:g}", "steps": results["steps"],
        "summary_table": "\n".join(summary), "table": "\n".join(table),
        "goal": "met" if results["goal_met"] else "**not met**",
        "unchanged": _unchanged(rows),
        "versions": ", ".join(f"{k} {v}" for k, v in sorted(results["versions"].items())),
        "seconds": f"{results['wall_seconds']:.0f}", "load": results["load_average"],
        "machine": results["machine"], "python": results["python"]})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=tuple(TOOLCHAINS), help=argparse.SUPPRESS)
    parser.add_argument("workdir", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("--torch-python", default=".venv-interop/bin/python")
    parser.add_argument("--spyx-python", default=".venv-spyx/bin/python")
    parser.add_argument("--fast", action="store_true", help="shortened recipes (smoke run)")
    parser.add_argument("--keep", help="keep the exported graphs and runs in this folder")
    parser.add_argument("--report", action="store_true",
                        help="only render results/interop.md again from results/interop.json")
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker, Path(args.workdir))
        return 0
    if args.report:
        text = report(json.loads((RESULTS / "interop.json").read_text()))
        (RESULTS / "interop.md").write_text(text)
        print(text)
        return 0

    start = time.perf_counter()
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        manifest = export_all(workdir, args.fast)
        import nir

        versions = {"nir (export)": nir.__version__ if hasattr(nir, "__version__") else "?"}
        for kind, python in (("torch", args.torch_python), ("spyx", args.spyx_python)):
            if not Path(python).exists():
                print(f"{python} does not exist: {kind} toolchains reported as not installed")
                continue
            proc = subprocess.run([python, __file__, "--worker", kind, str(workdir)],
                                  check=False, timeout=3600)
            if proc.returncode != 0:
                print(f"the {kind} worker exited with {proc.returncode}", file=sys.stderr)
            vfile = workdir / f"versions_{kind}.json"
            if vfile.exists():
                versions.update(json.loads(vfile.read_text()))
        rows = [score(workdir, manifest, toolchain, network, flavour)
                for toolchain in ("snntorch", "norse", "spyx")
                for flavour in FLAVOURS for network in NETWORKS]
    seconds = time.perf_counter() - start
    results = {"dt": DT, "steps": STEPS, "fast": args.fast,
               "keras_accuracy": manifest["keras_accuracy"], "layers": manifest["layers"],
               "flavour_of": FLAVOUR_OF, "flatten": manifest["flatten"],
               "versions": versions, "summary": summarize(rows), "goal_met": goal_met(rows),
               "rows": rows, "wall_seconds": round(seconds, 1), "load_average": load,
               "machine": platform.machine(), "python": platform.python_version()}
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(results, indent=1)
    (RESULTS / "interop.json").write_text(text)
    report_text = report(json.loads(text))  # the report is what the results file renders
    (RESULTS / "interop.md").write_text(report_text)
    print(report_text)
    print("goal (each toolchain with its flavour, 100 % on both networks):",
          "met" if results["goal_met"] else "NOT met")
    return 0 if results["goal_met"] else 1

if __name__ == "__main__":
    sys.exit(main())
