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

    python benchmarks/spiking_inference.py           # writes results/spiking_inference.md
    python benchmarks/spiking_inference.py --quick   # smoke run, prints only
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import whetstone_lab as wl  # noqa: E402
from whetstone_lab import deploy, recipes, training  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "spiking_inference.md"
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
        "spikes": sum(c.spikes for c in result.counts),
        "synops": result.total_synops,
        "synops_later": sum(c.synops for c in result.counts if c.event_driven),
        "macs_later": sum(c.dense_macs for c in result.counts if c.event_driven),
        "macs": result.total_dense_macs,
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


def report(rows: list[dict], quick: bool, seconds: float, plan: tuple, repeats: int) -> str:
    spikes_changed = ("changed" if any(r["keras_batch_vs_whole"] or r.get("bn_vs_folded", 0)
                                       for r in rows) else "did not change")
    pre_changed = any(r["pre_diff"][0] for r in rows)
    lines = [
        "# Spiking inference: exact simulation, synaptic operations, throughput",
        "",
        f"`python benchmarks/spiking_inference.py{' --quick' if quick else ''}` — digits, "
        f"canonical split, 360 test images, seed {SEED}; TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPU cores (the load average is given beside each throughput row); "
        f"{seconds:.0f} s in all.",
        "",
        f"Networks trained fully sharp, batch 32: {plan[0]} warm-up epochs at Adam 1e-3, "
        f"{plan[1]} epochs of bottom-up sharpening per batch at 3e-4 (wl.SimpleSharpener), "
        f"{plan[2]} fully sharp epochs at 1e-4 with a straight-through gradient. The dense "
        "network and the conv network with BatchNorm (folded before conversion) and "
        "max-pooling use the paper's decoder (T = 1); the conv network without pooling or "
        "BatchNorm is that of benchmarks/retention.py (decoder temperature 20). The recipe "
        "is quick, not tuned for accuracy (see benchmarks/retention.py for that).",
        "",
        "## Agreement with Keras (`predict`, batch 32)",
        "",
        "| network | spiking layers | test accuracy (Keras = simulator) | spike decisions | "
        "differing spikes: simulator | classes | near-ties resolved | NIR round trip: "
        "spikes / classes (near-ties) | Keras itself: batch 32 vs whole batch | "
        "BN model vs folded |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['layers']} | {r['accuracy']:.4f} = {r['sim_accuracy']:.4f} | "
            f"{r['decisions']:,} | {r['mismatch']} | {r['class_mismatch']} | "
            f"{r['near_ties']} | {r['nir_mismatch']} / {r['nir_class_mismatch']} "
            f"({r['nir_near_ties']}) | "
            f"{r['keras_batch_vs_whole']} | {r.get('bn_vs_folded', '–')} |")
    lines += [
        "",
        "Spike decisions: neurons × test images over all spiking and pooling layers. The "
        "simulator certifies each decision with a float32 error bound valid for any "
        "summation order (on a float32 product, and in float64 for the few decisions that "
        "product cannot settle); only decisions inside the bound (near-ties) are "
        "resolved with the Keras layer's own float32 op on predict's batch. The last two "
        "columns count spikes that change within Keras itself: between `predict` in batches "
        "of 32 and one call on the whole batch, and between the BatchNorm model and its "
        f"folded twin. Spikes {spikes_changed} here; the float32 pre-activations "
        f"{'do' if pre_changed else 'did not'} depend on the batch the kernels see:",
        "",
    ]
    for r in rows:
        diff, total = r["pre_diff"]
        lines.append(f"* {r['name']}: {diff:,} of {total:,} float32 pre-activations differ "
                     "between batch 32 and the whole batch.")
    lines += [
        "",
        ("so a 1-ulp flip at the threshold is possible, and near-ties must be resolved "
         "against a definite Keras call." if pre_changed else
         "The kernels Keras runs may change with the batch size, so near-ties are still "
         "resolved against a definite Keras call."),
        "",
        "## Operations per inference",
        "",
        "| network | spikes | synaptic ops (all layers) | dense MACs | ratio | "
        "synaptic ops after the first layer | dense MACs after the first layer | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['spikes']:.1f} | {r['synops']:,.0f} | {r['macs']:,} | "
            f"**{r['synops'] / r['macs']:.3f}** | {r['synops_later']:,.0f} | "
            f"{r['macs_later']:,} | **{r['synops_later'] / r['macs_later']:.3f}** |")
    lines += [
        "",
        "The first layer receives real-valued pixels: its operations are the "
        "multiply–accumulates of its non-zero inputs. Every later layer receives spikes: an "
        "operation is one spike reaching one target (an addition, no multiplication). Dense "
        "MACs count every in-bounds connection once.",
        "",
    ]
    for r in rows:
        lines += [f"### {r['name']}", "", "```", r["table"], "```", ""]
    lines += [
        f"## Throughput (same 360 inputs, same run, {repeats} interleaved rounds)",
        "",
        "| network | simulator | Keras predict, batch 32 | Keras predict, batch 360 | "
        "simulator / predict(32) | load average (1 min) |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['sim_per_s']:,.0f} /s | {r['keras_per_s']:,.0f} /s | "
            f"{r['keras_full_per_s']:,.0f} /s | **{r['ratio']:.2f}×** | "
            f"{r['load'][0]:.1f} → {r['load'][1]:.1f} |")
    lines += [
        "",
        "Each round runs `predict(32)`, the simulator and `predict(360)` once, in turn; "
        "samples/s are medians over rounds, the ratio is the median of the rounds' ratios. "
        "The load average is the machine's (2 cores) before and after the rounds. The "
        "simulator's time includes the error bound, the near-ties resolved with Keras' own "
        "op and the per-layer bookkeeping of counts. Each layer is one float32 product on "
        "one BLAS thread, event-driven (each input spike adds the weights of its synapses) "
        f"when at most {deploy.products.EVENT_DENSITY:.0%} of the layer's inputs are "
        "non-zero and BLAS on the inputs or their im2col patches otherwise, with float64 "
        "only for the decisions the float32 screen cannot settle.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few epochs; print, don't write")
    args = parser.parse_args(argv)
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
    text = report(rows, args.quick, time.time() - start, plan, repeats)
    print(text)
    if not args.quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
