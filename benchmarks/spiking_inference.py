"""Spiking inference: exact agreement with Keras, synaptic operations, throughput.

Trains three digits networks fully sharp (seeded; warm-up, then bottom-up sharpening per
batch with wl.SimpleSharpener at a lower learning rate, then a few fully sharp epochs with a
straight-through gradient): the dense lesson network, the conv network with BatchNorm
(folded before conversion) and max-pooling, and the conv network of the retention
benchmark, without pooling or BatchNorm. Converts them with ``wl.deploy.to_spiking`` and
reports on the 360 test digits:

* agreement of every layer's spikes with Keras ``predict`` (must be 100 %), the number of
  near-ties the simulator resolved with Keras' own float32 op, and — to show why that
  matters — how many spikes Keras itself changes between ``predict(batch_size=32)`` and one
  call on the whole batch, and between the BatchNorm model and its folded twin;
* the NIR export → read → run round trip (spikes equal to Keras);
* spikes and synaptic operations per inference vs the multiply–accumulates of the same
  network with dense float activations;
* throughput (samples/s) of the simulator vs Keras ``predict`` on the same inputs, timed
  in interleaved rounds in the same run, with the machine's load average.

Usage::

    python benchmarks/spiking_inference.py           # writes results/spiking_inference.json, .md
    python benchmarks/spiking_inference.py --quick   # smoke run, prints only
    python benchmarks/spiking_inference.py --report  # the .md again from the .json
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS, machine, render, write_report

import whetstone_lab as wl
from whetstone_lab import deploy, recipes, training

JSON = RESULTS / "spiking_inference.json"
SEED = 0
BATCH = 32


def recipe(warmup: int, sharpen: int, finetune: int) -> recipes.Recipe:
    """Warm-up at 1e-3, sharpen bottom-up per batch over ``sharpen`` epochs at 3e-4, then
    ``finetune`` fully sharp epochs at 1e-4 with a straight-through gradient."""
    return recipes.Recipe("spiking_inference", warmup_epochs=warmup, sharpen_epochs=sharpen,
                          finetune_epochs=finetune, learning_rate=1e-3,
                          sharpen_learning_rate=3e-4, finetune_learning_rate=1e-4,
                          batch_size=BATCH)


def train(model, data, plan: tuple[int, int, int]) -> keras.Model:
    training.fit(model, data.x_train, data.y_train, recipe(*plan), seed=None, progress=False)
    if not wl.is_fully_sharp(model):
        raise RuntimeError(f"{model.name} is not fully sharp: {wl.get_sharpness(model)}")
    return model


def spike_mismatches(a: dict, b: dict) -> int:
    return int(sum((np.asarray(a[k]) != np.asarray(b[k])).sum() for k in a))


def whole_batch_spikes(model, x, names) -> dict:
    probe = keras.Model(model.input, [model.get_layer(n).output for n in names])
    return dict(zip(names, (np.asarray(o) for o in probe(x)), strict=True))


def preactivation_differences(model, x, names) -> tuple[int, int]:
    """Float32 pre-activations that differ between predict(batch 32) and one whole-batch call."""
    chunked = deploy.keras_spikes(model, x, names, batch_size=BATCH)
    whole = whole_batch_spikes(model, x, names)
    return spike_mismatches(chunked, whole), int(sum(v.size for v in chunked.values()))


def throughputs(fns: dict, n: int, repeats: int) -> tuple[dict, dict]:
    """Samples per second of each ``fn()`` on ``n`` samples, timed in interleaved rounds.

    Each of ``repeats`` rounds runs every function once, in turn, so a change of the
    machine's load hits all of them alike. Returns the median samples/s of each function
    and, per function, the median over rounds of its speed relative to the first one.
    """
    for fn in fns.values():
        fn()  # warm-up (tracing, caches)
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    first = np.asarray(times[next(iter(fns))])
    speed = {name: n / float(np.median(t)) for name, t in times.items()}
    relative = {name: float(np.median(first / np.asarray(t))) for name, t in times.items()}
    return speed, relative


def study(name: str, model: keras.Model, data, repeats: int) -> dict:
    x, y = data.x_test, data.y_test
    net = deploy.to_spiking(model, batch_size=BATCH)
    names = net.layer_names
    keras_ref = deploy.keras_spikes(net.source, x, [*names, "decode"], batch_size=BATCH)
    keras_classes = keras_ref.pop("decode").argmax(-1)
    result = net.run(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}.nir"
        deploy.export_nir(net, path)
        nir_result = deploy.run_nir(path, x)
    out = {
        "name": name,
        "layers": " → ".join(names),
        "accuracy": float((keras_classes == y).mean()),
        "sim_accuracy": float((result.classes == y).mean()),
        "decisions": int(sum(np.asarray(v).size for v in keras_ref.values())),
        "mismatch": spike_mismatches(keras_ref, result.spikes),
        "class_mismatch": int((result.classes != keras_classes).sum()),
        "near_ties": int(sum(result.near_ties.values())),
        "nir_mismatch": spike_mismatches(keras_ref, nir_result.spikes),
        "nir_class_mismatch": int((nir_result.classes != keras_classes).sum()),
        "nir_near_ties": int(sum(nir_result.near_ties.values())),
        "keras_batch_vs_whole": spike_mismatches(
            keras_ref, whole_batch_spikes(net.source, x, names)),
        "pre_diff": preactivation_differences(
            net.source, x, [s.linear_name for s in net.stages if hasattr(s, "linear_name")]),
        "table": result.summary(print_fn=None),
        "spikes": float(sum(c.spikes for c in result.counts)),
        "synops": float(result.total_synops),
        "synops_later": float(sum(c.synops for c in result.counts if c.event_driven)),
        "macs_later": int(sum(c.dense_macs for c in result.counts if c.event_driven)),
        "macs": int(result.total_dense_macs),
    }
    if net.source is not model:  # BatchNorm folded: how far is the folded twin from it?
        out["bn_vs_folded"] = spike_mismatches(
            keras_ref, deploy.keras_spikes(model, x, names, batch_size=BATCH))
    load_before = os.getloadavg()[0]
    speed, relative = throughputs({
        "keras": lambda: net.source.predict(x, batch_size=BATCH, verbose=0),
        "sim": lambda: net.run(x),
        "keras_full": lambda: net.source.predict(x, batch_size=len(x), verbose=0),
    }, len(x), repeats)
    out["load"] = (load_before, os.getloadavg()[0])
    out["sim_per_s"], out["keras_per_s"] = speed["sim"], speed["keras"]
    out["keras_full_per_s"], out["ratio"] = speed["keras_full"], relative["sim"]
    return out


def markdown(out: dict) -> str:
    """The report, from the results file's contents alone."""
    rows = out["rows"]
    pre_changed = any(r["pre_diff"][0] for r in rows)
    agreement = [
        f"| {r['name']} | {r['layers']} | {r['accuracy']:.4f} = {r['sim_accuracy']:.4f} | "
        f"{r['decisions']:,} | {r['mismatch']} | {r['class_mismatch']} | "
        f"{r['near_ties']} | {r['nir_mismatch']} / {r['nir_class_mismatch']} "
        f"({r['nir_near_ties']}) | {r['keras_batch_vs_whole']} | {r.get('bn_vs_folded', '–')} |"
        for r in rows]
    pre = [f"* {r['name']}: {r['pre_diff'][0]:,} of {r['pre_diff'][1]:,} float32 "
           "pre-activations differ between batch 32 and the whole batch." for r in rows]
    operations = [
        f"| {r['name']} | {r['spikes']:.1f} | {r['synops']:,.0f} | {r['macs']:,} | "
        f"**{r['synops'] / r['macs']:.3f}** | {r['synops_later']:,.0f} | "
        f"{r['macs_later']:,} | **{r['synops_later'] / r['macs_later']:.3f}** |" for r in rows]
    layer_tables = [f"### {r['name']}\n\n```\n{r['table']}\n```\n" for r in rows]
    throughput = [
        f"| {r['name']} | {r['sim_per_s']:,.0f} /s | {r['keras_per_s']:,.0f} /s | "
        f"{r['keras_full_per_s']:,.0f} /s | **{r['ratio']:.2f}×** | "
        f"{r['load'][0]:.1f} → {r['load'][1]:.1f} |" for r in rows]
    return render("spiking_inference", {
        "quick": " --quick" if out["quick"] else "", "seed": out["seed"],
        "seconds": f"{out['seconds']:.0f}", "machine": out["machine"], "cpus": out["cpus"],
        "warmup": out["plan"][0], "sharpen": out["plan"][1], "finetune": out["plan"][2],
        "repeats": out["repeats"], "event_density": f"{out['event_density']:.0%}",
        "spikes_changed": "changed" if any(r["keras_batch_vs_whole"] or r.get("bn_vs_folded", 0)
                                           for r in rows) else "did not change",
        "pre_changed": "do" if pre_changed else "did not",
        "pre_note": ("so a 1-ulp flip at the threshold is possible, and near-ties must be "
                     "resolved against a definite Keras call." if pre_changed else
                     "The kernels Keras runs may change with the batch size, so near-ties "
                     "are still resolved against a definite Keras call."),
        "agreement": "\n".join(agreement), "pre_diff": "\n".join(pre),
        "operations": "\n".join(operations), "layer_tables": "\n".join(layer_tables),
        "throughput": "\n".join(throughput)})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs; print, don't write")
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args(argv)
    if args.report:
        write_report(JSON, markdown)
        return
    start = time.time()
    data = wl.data.load("digits")
    plan = (1, 1, 1) if args.quick else (10, 10, 5)
    repeats = 2 if args.quick else 11
    # Every architecture argument is spelled out, so the builders' defaults cannot change
    # what is measured.
    networks = {
        "dense 64-256-64-100": lambda: wl.models.dense_classifier(
            (8, 8, 1), 10, (256, 64), 10, towers=1, batchnorm=False, temperature=1.0),
        "conv 32-64-128-100 (BN folded, pooling)": lambda: wl.models.conv_classifier(
            (8, 8, 1), 10, (32, 64), (128,), 10, kernel_size=3, pool=True, batchnorm=True,
            temperature=1.0),
        "conv 32-64-128-100 (no pooling, no BN)": lambda: wl.models.conv_classifier(
            (8, 8, 1), 10, (32, 64), (128,), 10, kernel_size=3, pool=False, batchnorm=False,
            temperature=20.0),
    }
    rows = []
    for name, build in networks.items():
        keras.utils.set_random_seed(SEED)
        rows.append(study(name, train(build(), data, plan), data, repeats))
    out = {"quick": args.quick, "seed": SEED, "seconds": time.time() - start, "plan": plan,
           "repeats": repeats, "machine": machine(), "cpus": os.cpu_count(),
           "event_density": deploy.products.EVENT_DENSITY, "rows": rows}
    if args.quick:
        print(markdown(json.loads(json.dumps(out))))
    else:
        print(write_report(JSON, markdown, out))
        print(f"wrote {JSON} and its .md")


if __name__ == "__main__":
    main()
