"""The method at the paper's scale: MNIST, five classifiers and an autoencoder.

For each network, with the same seed, data (the 60,000 training digits), epochs and learning
rate in every epoch (``training.fit`` with the network's recipe, ``sharpen=False`` for the twin):

(a) **float twin**: the network at sharpness 0 (bounded ReLU), never sharpened;
(b) **Whetstone**: sharpened bottom-up while training (``training.fit``), fully sharp at the
    end; every spiking layer is checked to emit exactly 0 or 1 on the scored images;
(c) **naive**: (a) with every activation replaced by the step, no retraining.

Scored on the 10,000 test digits, fully sharp, one time step. The networks:

* ``dense``: the paper-style dense network 784-256-64-100 (``towers=1``), the layers of the
  2018 code's ``examples/simple_mnist.py``;
* ``dense_bn``: the same layers with BatchNorm (folded for deployment) and a 200-wide key;
* ``dense_lab``: ``dense_bn`` trained on digits shifted at random by up to 1 px;
* ``conv_bn``: a reduced network in the spirit of the 2018 code's ``examples/adaptive_mnist.py``
  (convolutions, BatchNorm after every layer, max-pooling, a 40-neuron output of 4 per
  class), BatchNorm folded for deployment;
* ``conv``: this lab's convolutional classifier (lesson 03) with pooling for 28 × 28;
* ``autoencoder``: 784 pixels → a 64-bit spiking code → a 2048-neuron spiking layer → 784,
  against its float twin and a transform coder at the same 64 bits.

Stages (each (network, seed) is written to ``results/paper_scale.json`` as soon as it
finishes, so an interrupted run loses only the run in progress, and a stage run again trains
only what is missing; ``--redo`` trains again)::

    python benchmarks/paper_scale.py train [--networks dense conv] [--seeds 0 1 2]
    python benchmarks/paper_scale.py deploy     # the best classifier on the exact simulator
    python benchmarks/paper_scale.py probe2018  # one epoch of the 2018 example, timed
    python benchmarks/paper_scale.py variants   # one-seed variants of a network that misses
    python benchmarks/paper_scale.py backends   # epoch times on TensorFlow and JAX, side by side
    python benchmarks/paper_scale.py report     # results/paper_scale.md from the .json
    python benchmarks/paper_scale.py all        # train, deploy, probe2018, report

Each network trains on the Keras backend that is faster for it here (``Network.backend``,
as the ``backends`` stage measured): ``train`` and ``variants`` start a process of their own
with ``KERAS_BACKEND`` set where the running one differs.

MNIST is read from the data folder (``wl.data.load("mnist", download=False)``: Keras'
``mnist.npz`` or the four original IDX files; data/README.md). Without it, the script says so
in one line and exits 0. ``make paper`` runs ``all``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from autoencoder import transform_coder  # benchmarks/autoencoder.py
from common import backend_env, machine, mean_sd, reflow, render, run_worker

import whetstone_lab as wl
from whetstone_lab import deploy, metrics, models, recipes, spikes, training, transforms

RESULTS = Path(__file__).resolve().parent / "results"
JSON = RESULTS / "paper_scale.json"
#: Trained Whetstone networks (seed 0), for the deploy stage; not committed.
CACHE = Path(__file__).resolve().parent / ".cache" / "paper_scale"
SEEDS = (0, 1, 2)
SHAPE = (28, 28, 1)


@dataclass(frozen=True)
class Network:
    """One network of the benchmark: how it is built, its recipe and where it comes from."""

    key: str
    label: str
    build: Callable[[], keras.Model]
    recipe: str | recipes.Recipe  # a name in recipes.RECIPES, or a Recipe (the variants)
    origin: str
    #: The Keras backend it trains on: the faster one here (the ``backends`` stage).
    backend: str = "tensorflow"
    task: str = "classification"  # or "autoencoder"


def with_shifts(build: Callable[[], keras.Model], pixels: int) -> Callable[[], keras.Model]:
    """``build``'s network behind a RandomTranslation of up to ``pixels`` pixels each way:
    the training digits shifted at random, every batch (the identity at inference)."""
    def shifted() -> keras.Model:
        base = build()
        inputs = keras.Input(SHAPE)
        x = keras.layers.RandomTranslation(pixels / SHAPE[0], pixels / SHAPE[1],
                                           fill_mode="constant", name="shift")(inputs)
        copies = []
        for layer in base.layers[1:]:  # a chain: a copy of each layer, behind the shift
            copies.append((layer.__class__.from_config(layer.get_config()), layer))
            x = copies[-1][0](x)
        for copy, layer in copies:  # the same initial weights as the network without shifts
            copy.set_weights(layer.get_weights())
        return keras.Model(inputs, x, name=f"{base.name}_shift{pixels}")
    return shifted


#: The paper-style dense network with BatchNorm and a 200-wide key (``dense_bn``).
_DENSE_BN = partial(models.dense_classifier, SHAPE, 10, hidden=(256, 64), towers=1,
                    batchnorm=True, neurons_per_class=20, name="mnist_dense_bn")
NETWORKS = {n.key: n for n in (
    Network("dense", "paper-style dense 784-256-64-100 (`towers=1`)",
            partial(models.dense_classifier, SHAPE, 10, hidden=(256, 64), towers=1,
                    name="mnist_dense"),
            "mnist_dense",
            "the layers and key width of the 2018 code's `examples/simple_mnist.py` (which "
            "trains them with Adadelta, learning rate 4.0, batch 128, 21 epochs and the "
            "decoder at T = 1)", backend="jax"),
    Network("dense_bn", "paper-style dense with BatchNorm, 784-256-64-200 (`towers=1`)",
            _DENSE_BN, "mnist_dense",
            "the paper-style dense network with the two changes that raised its Whetstone "
            "score among that network's variants below: BatchNorm after every Dense "
            "(folded away to deploy) and 20 output neurons per class (a 200-wide key); "
            "chosen, like every variant, by the score on the test digits of seed 0",
            backend="jax"),
    Network("dense_lab", "this lab's dense 784-256-64-200, BatchNorm, shifts of 1 px "
            "(`towers=1`)", with_shifts(_DENSE_BN, 1), "mnist_dense",
            "the network above, its training digits shifted at random by up to 1 px (the "
            "variant of it that raised its Whetstone score, seed 0); on TensorFlow, whose "
            "RandomTranslation is far faster here than JAX's", backend="tensorflow"),
    Network("conv_bn", "conv + BatchNorm + pooling, 2018-style (reduced)",
            partial(models.conv_classifier, SHAPE, 10, filters=(32, 64), dense=(256,),
                    neurons_per_class=4, pool=True, batchnorm=True, name="mnist_conv_bn"),
            "mnist_conv",
            "reduced from the 2018 code's `examples/adaptive_mnist.py` (six convolutions of "
            "32-128 channels with 7×7/5×5/3×3 kernels, BatchNorm after every layer, two "
            "poolings, dense 256, a 40-neuron output): two 3×3 convolutions of 32 and 64 "
            "channels, each pooled, dense 256, the same 40-neuron output, BatchNorm after "
            "every layer"),
    Network("conv", "this lab's conv 32-64, pooling, dense 512",
            partial(models.conv_classifier, SHAPE, 10, filters=(32, 64), dense=(512,),
                    pool=True, name="mnist_conv"),
            "mnist_conv",
            "lesson 03's convolutional classifier (no BatchNorm, a 100-neuron output), with "
            "2×2 max-pooling after each convolution for 28 × 28 images"),
    Network("autoencoder", "dense autoencoder 784 → 64-bit code → 2048 → 784",
            partial(models.dense_autoencoder, SHAPE, code_bits=64, decoder=(2048,),
                    name="mnist_autoencoder"),
            "mnist_autoencoder",
            "`models.dense_autoencoder` (the best 64-bit network of the 8 × 8 study) at "
            "28 × 28", backend="jax", task="autoencoder"),
)}
CLASSIFIERS = [k for k, n in NETWORKS.items() if n.task == "classification"]

#: The goals of the study, per network: (kind, bound); see report().
GOALS = {"dense": (0.980, 0.005), "dense_bn": (0.980, 0.005), "dense_lab": (0.980, 0.005),
         "conv_bn": (0.990, None), "conv": (0.993, 0.003)}


def _changed(key: str, **changes) -> Callable[[], keras.Model]:
    """Network ``key``'s builder with some of its arguments changed: a variant's network."""
    return partial(NETWORKS[key].build, **changes)


@dataclass(frozen=True)
class Variant:
    """One change to a network or its recipe, run with one seed against the benchmark's."""

    key: str
    network: str  # the NETWORKS key it varies
    change: str
    build: Callable[[], keras.Model]
    recipe: recipes.Recipe
    #: None: its network's backend. The shifted networks train on TensorFlow: JAX's
    #: RandomTranslation is far slower on this CPU than the rest of the network.
    backend: str | None = None
    #: The variant it is compared with; None: its network's run without a change.
    against: str | None = None

    @property
    def runs_on(self) -> str:
        return self.backend or NETWORKS[self.network].backend


_DENSE_RECIPE = recipes.RECIPES["mnist_dense"]
_LONG = _DENSE_RECIPE.with_(finetune_epochs=40)
_CONV_RECIPE = recipes.RECIPES["mnist_conv"]
_AUTOENCODER_RECIPE = recipes.RECIPES["mnist_autoencoder"]
#: The schedule and optimizer of the 2018 code's examples/simple_mnist.py.
_RECIPE_2018 = recipes.RECIPES["simple_2018"].with_(name="2018", optimizer="adadelta",
                                                    learning_rate=4.0, batch_size=128)
#: This lab's conv network with lesson 03's dense layer of 128 neurons (as first benchmarked).
_CONV128 = _changed("conv", dense=(128,))
#: What was tried where a network misses its goal (the ``variants`` stage).
VARIANTS = {v.key: v for v in (
    Variant("dense_tensorflow", "dense", "none, trained on TensorFlow (the reference of the "
            "rows on TensorFlow)", NETWORKS["dense"].build, _DENSE_RECIPE,
            backend="tensorflow"),
    Variant("dense_shift2", "dense", "training digits shifted at random by up to 2 px",
            with_shifts(NETWORKS["dense"].build, 2), _DENSE_RECIPE, backend="tensorflow"),
    Variant("dense_shift1", "dense", "training digits shifted at random by up to 1 px",
            with_shifts(NETWORKS["dense"].build, 1), _DENSE_RECIPE, backend="tensorflow"),
    Variant("dense_batchnorm", "dense", "BatchNorm after every Dense (folded to deploy)",
            _changed("dense", batchnorm=True, name="mnist_dense_bn"),
            _DENSE_RECIPE),
    Variant("dense_shift2_long", "dense", "shifts of up to 2 px and 20 more straight-through "
            "epochs", with_shifts(NETWORKS["dense"].build, 2), _LONG, backend="tensorflow"),
    Variant("dense_long", "dense", "20 more straight-through epochs",
            NETWORKS["dense"].build, _LONG),
    Variant("dense_key20", "dense", "20 output neurons per class instead of 10 (a 200-wide "
            "key: fewer tied votes)",
            _changed("dense", neurons_per_class=20, name="mnist_dense_key20"),
            _DENSE_RECIPE),
    Variant("dense_warmup10", "dense", "10 float epochs before sharpening instead of 5",
            NETWORKS["dense"].build, _DENSE_RECIPE.with_(warmup_epochs=10)),
    Variant("dense_sharpen10", "dense", "sharpened over 10 epochs instead of 5",
            NETWORKS["dense"].build, _DENSE_RECIPE.with_(sharpen_epochs=10)),
    Variant("dense_finetune_lr", "dense", "straight-through from learning rate 0.0003 "
            "instead of 0.001", NETWORKS["dense"].build,
            _DENSE_RECIPE.with_(finetune_learning_rate=3e-4)),
    Variant("dense_batch128", "dense", "batches of 128 instead of 64",
            NETWORKS["dense"].build, _DENSE_RECIPE.with_(batch_size=128)),
    Variant("dense_2018", "dense", "the 2018 example's own recipe: Adadelta at 4.0, batch "
            "128, 6 float epochs, then sharpened once per epoch over 15 (21 epochs, no "
            "straight-through), the decoder at T = 1",
            _changed("dense", temperature=1.0, name="mnist_dense_2018"), _RECIPE_2018),
    Variant("dense_2018_t20", "dense", "the 2018 example's recipe as above, with this lab's "
            "decoder at T = 20", NETWORKS["dense"].build, _RECIPE_2018),
    Variant("dense_bn_key30", "dense_bn", "30 output neurons per class instead of 20 (a "
            "300-wide key)", partial(_DENSE_BN, neurons_per_class=30,
                                     name="mnist_dense_bn_key30"), _DENSE_RECIPE),
    Variant("dense_bn_tensorflow", "dense_bn", "none, trained on TensorFlow (the reference "
            "of the rows on TensorFlow)", _DENSE_BN, _DENSE_RECIPE, backend="tensorflow"),
    Variant("dense_bn_shift1", "dense_bn", "training digits shifted at random by up to 1 px "
            "(this lab's dense network, seed 0)", with_shifts(_DENSE_BN, 1), _DENSE_RECIPE,
            backend="tensorflow"),
    Variant("conv_bn_key10", "conv_bn", "10 output neurons per class instead of 4 (a "
            "100-wide key, as the other classifiers': fewer tied votes)",
            _changed("conv_bn", neurons_per_class=10, name="mnist_conv_bn_key10"),
            _CONV_RECIPE),
    Variant("conv_dense128", "conv", "a dense layer of 128 neurons instead of 512 (lesson "
            "03's width; this network's until the 512-wide layer scored higher)",
            _CONV128, _CONV_RECIPE),
    Variant("conv_dense1024", "conv", "a dense layer of 1,024 neurons instead of 512",
            _changed("conv", dense=(1024,), name="mnist_conv_dense1024"), _CONV_RECIPE),
    Variant("conv_batchnorm_key20", "conv", "BatchNorm after every layer (folded to deploy) "
            "and 20 output neurons per class, as in the dense network with BatchNorm",
            _changed("conv", batchnorm=True, neurons_per_class=20, name="mnist_conv_bn_key20"),
            _CONV_RECIPE),
    Variant("conv_sharpen6", "conv", "dense 128: sharpened over 6 epochs instead of 3",
            _CONV128, _CONV_RECIPE.with_(sharpen_epochs=6), against="conv_dense128"),
    Variant("conv_finetune18", "conv", "dense 128: 12 more straight-through epochs",
            _CONV128, _CONV_RECIPE.with_(finetune_epochs=18), against="conv_dense128"),
    Variant("conv_key20", "conv", "dense 128: 20 output neurons per class instead of 10 (a "
            "200-wide key: fewer tied votes)",
            partial(_CONV128, neurons_per_class=20, name="mnist_conv_key20"),
            _CONV_RECIPE, against="conv_dense128"),
    Variant("conv_shift1", "conv", "dense 128: training digits shifted at random by up to 1 px",
            with_shifts(_CONV128, 1), _CONV_RECIPE, against="conv_dense128"),
    Variant("autoencoder_long", "autoencoder", "40 more straight-through epochs",
            NETWORKS["autoencoder"].build, _AUTOENCODER_RECIPE.with_(finetune_epochs=54)),
    Variant("autoencoder_decoder4096", "autoencoder", "a decoder layer of 4,096 neurons "
            "instead of 2,048",
            _changed("autoencoder", decoder=(4096,), name="mnist_autoencoder_4096"),
            _AUTOENCODER_RECIPE),
)}


# ----------------------------------------------------------------------------------------
# Data and results file
# ----------------------------------------------------------------------------------------
def load_mnist():
    """MNIST from the data folder, or None (with one line saying where it goes)."""
    try:
        return wl.data.load("mnist", download=False)
    except wl.data.DatasetUnavailableError:
        folder = wl.data.data_dir()
        print(f"MNIST is not in the data folder ({folder}; set WHETSTONE_DATA to change it): "
              "place mnist.npz or the four IDX files there (data/README.md); nothing to do.")
        return None


def read_results() -> dict:
    if JSON.exists():
        return json.loads(JSON.read_text())
    return {"rows": [], "coder": None, "deploy": None, "probe2018": None}


def write_results(out: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    out["machine"] = machine()
    out["summary"] = summarize(out)  # what the report, the README and lesson 08 quote
    tmp = JSON.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=1) + "\n")
    tmp.replace(JSON)  # never a half-written results file


# ----------------------------------------------------------------------------------------
# Training
# ----------------------------------------------------------------------------------------
def score(net: Network, model, x, y) -> float:
    if net.task == "autoencoder":
        return float(np.mean((model.predict(x, batch_size=256, verbose=0) - x) ** 2))
    return metrics.evaluate(model, x, y)


def train(net: Network, data, seed: int, *, sharpen: bool, quick: bool):
    """The network trained on all training digits: Whetstone, or its float twin."""
    if isinstance(net.recipe, recipes.Recipe):
        recipe = net.recipe.shortened() if quick else net.recipe
    else:
        recipe = recipes.recipe(net.recipe, fast=quick)
    keras.utils.set_random_seed(seed)  # before building: the same initial weights for both
    model = net.build()
    n = 2048 if quick else len(data.x_train)
    y = None if net.task == "autoencoder" else data.y_train[:n]
    what = "the Whetstone network" if sharpen else "its float twin"
    each = "" if quick else ", a line each"
    print(f"{net.key} seed {seed}: training {what} ({recipe.epochs} epochs{each})", flush=True)
    start = time.perf_counter()
    training.fit(model, data.x_train[:n], y, recipe, sharpen=sharpen, seed=None,
                 progress=False if quick else 1)
    seconds = time.perf_counter() - start
    if sharpen and not wl.is_fully_sharp(model):
        raise RuntimeError(f"{net.key}: not fully sharp: {wl.get_sharpness(model)}")
    return model, seconds / recipe.epochs, recipe


def run(net: Network, data, seed: int, quick: bool, cache: bool = True) -> dict:
    load_before = os.getloadavg()
    float_model, float_s, recipe = train(net, data, seed, sharpen=False, quick=quick)
    sharp_model, sharp_s, _ = train(net, data, seed, sharpen=True, quick=quick)
    naive_model = transforms.hard_copy(float_model)
    x, y = data.x_test, data.y_test
    for m in (sharp_model, naive_model):
        spikes.assert_binary(m, x[:1000])  # raises, naming the layer, unless every spike is 0/1
    if seed == 0 and cache and not quick:
        CACHE.mkdir(parents=True, exist_ok=True)
        sharp_model.save(CACHE / f"{net.key}.keras")
    return {
        "network": net.key, "seed": seed, "metric": "mse" if net.task == "autoencoder"
        else "accuracy",
        "float": score(net, float_model, x, y), "whetstone": score(net, sharp_model, x, y),
        "naive": score(net, naive_model, x, y), "epochs": recipe.epochs,
        "recipe": recipe.describe(), "seconds_per_epoch": {"float": float_s,
                                                           "whetstone": sharp_s},
        "load": [load_before[0], os.getloadavg()[0]], "backend": keras.backend.backend(),
        "binary_verified": True,
    }


def _elsewhere(backend: str, stage: str, args, **choices: list[str]) -> bool:
    """Run ``stage`` for ``choices`` in a fresh process on ``backend`` when this process runs
    another backend (True: done there); False when this process is the right one."""
    if backend == keras.backend.backend():
        return False
    flags = [f for name, values in choices.items() for f in (f"--{name}", *values)]
    flags += ["--seeds", *map(str, args.seeds)] + ["--redo"] * args.redo + ["--quick"] * args.quick
    print(f"{' '.join(v for values in choices.values() for v in values)}: on {backend}, in a "
          "process of its own", flush=True)
    subprocess.run([sys.executable, __file__, stage, *flags], env=backend_env(backend),
                   check=True)
    return True


def stage_train(args, data) -> None:
    out = read_results()
    done = {(r["network"], r["seed"]) for r in out["rows"]}
    for key in args.networks:
        if _elsewhere(NETWORKS[key].backend, "train", args, networks=[key]):
            continue
        for seed in args.seeds:
            if (key, seed) in done and not args.redo:
                print(f"{key} seed {seed}: in {JSON.name} already")
                continue
            row = run(NETWORKS[key], data, seed, args.quick)
            print(f"{key} seed {seed}: float {row['float']:.4f}, Whetstone "
                  f"{row['whetstone']:.4f}, naive {row['naive']:.4f}, "
                  f"{row['seconds_per_epoch']['whetstone']:.1f} s/epoch", flush=True)
            if args.quick:
                continue
            out = read_results()
            out["rows"] = [r for r in out["rows"] if (r["network"], r["seed"]) != (key, seed)]
            out["rows"].append(row)
            write_results(out)
    if "autoencoder" in args.networks and not args.quick and (
            read_results()["coder"] is None or args.redo) \
            and NETWORKS["autoencoder"].backend == keras.backend.backend():
        out = read_results()
        # benchmarks/autoencoder.py's coder; 64 bits never reach past the 128th component.
        out["coder"] = transform_coder(64, images=(data.x_train, data.x_test), components=128)
        write_results(out)
        print(f"transform coder, 64 bits: MSE {out['coder']['mse']:.4f}")


def stage_variants(args, data) -> None:
    """Each of VARIANTS, seed 0, float twin / Whetstone / naive as in the benchmark."""
    for key in args.variants:
        v = VARIANTS[key]
        if _elsewhere(v.runs_on, "variants", args, variants=[key]):
            continue
        if any(r["variant"] == key for r in read_results().get("variants", [])) \
                and not args.redo:
            print(f"{key}: in {JSON.name} already")
            continue
        net = Network(v.key, v.change, v.build, v.recipe, "", task=NETWORKS[v.network].task)
        row = {**run(net, data, 0, args.quick, cache=False), "network": v.network,
               "variant": key, "change": v.change}
        print(f"{key}: float {row['float']:.4f}, Whetstone {row['whetstone']:.4f}, naive "
              f"{row['naive']:.4f}", flush=True)
        if args.quick:
            continue
        out = read_results()
        out["variants"] = [r for r in out.get("variants", []) if r["variant"] != key] + [row]
        write_results(out)


# ----------------------------------------------------------------------------------------
# Deployment: the best classifier on the exact simulator, all 10,000 test digits
# ----------------------------------------------------------------------------------------
def best_classifier(out: dict) -> str | None:
    means = {k: np.mean([r["whetstone"] for r in out["rows"] if r["network"] == k])
             for k in CLASSIFIERS if any(r["network"] == k for r in out["rows"])}
    cached = {k: v for k, v in means.items() if (CACHE / f"{k}.keras").exists()}
    return max(cached, key=cached.get) if cached else None


def _seconds(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def stage_deploy(args, data) -> None:
    out = read_results()
    key = args.deploy_network or best_classifier(out)
    if key is None:
        print("deploy: no trained classifier is cached; run the train stage first")
        return
    model = keras.models.load_model(CACHE / f"{key}.keras")
    x, y = data.x_test, data.y_test
    net = deploy.to_spiking(model)
    tracemalloc.start()
    result = net.run(x)
    simulator_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    predicted = net.source.predict(x, batch_size=32, verbose=0).argmax(-1)
    agreement = deploy.spike_agreement(net, x, result)
    differing = sum(total - equal for equal, total in agreement.values())
    # Throughput side by side, alternating, the median of three runs each.
    sim, ker = [], []
    for _ in range(3):  # alternating, so that a change of load hits both
        sim.append(_seconds(lambda: net.run(x)))
        ker.append(_seconds(lambda: net.source.predict(x, batch_size=32, verbose=0)))
    simulator_s, keras_s = statistics.median(sim), statistics.median(ker)
    energy = {chip: deploy.energy_estimate(result, chip=chip) for chip in deploy.CHIPS}
    out = read_results()
    out["deploy"] = {
        "network": key, "samples": len(x),
        "accuracy": float(np.mean(result.classes == y)),
        "classes_agree": float(np.mean(result.classes == predicted)),
        "spikes_compared": sum(total for _, total in agreement.values()),
        "spikes_differing": differing, "near_ties": int(sum(result.near_ties.values())),
        "synops": result.total_synops, "dense_macs": result.total_dense_macs,
        "simulator_seconds": simulator_s, "predict_seconds": keras_s,
        "simulator_peak_bytes": simulator_peak,
        "process_max_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "energy": {chip: {"spiking_joules": e.spiking_joules, "dense_joules": e.dense_joules,
                          "first_layer_macs": e.first_layer_macs,
                          "synaptic_events": e.synaptic_events,
                          "device": e.chip.device, "source": e.chip.source,
                          "mac_source": e.processor.source, "mac_joules": e.processor.joules,
                          "chip_joules": e.chip.joules}
                   for chip, e in energy.items()},
        "load": os.getloadavg()[0],
    }
    write_results(out)
    d = out["deploy"]
    print(f"deploy {key}: accuracy {d['accuracy']:.4f}, classes agree {d['classes_agree']:.4f}, "
          f"{d['spikes_differing']} of {d['spikes_compared']} spikes differ; simulator "
          f"{simulator_s:.1f} s vs predict {keras_s:.1f} s; peak {simulator_peak / 2**30:.2f} GiB")


# ----------------------------------------------------------------------------------------
# Backends: epoch times of each network on TensorFlow and JAX, side by side
# ----------------------------------------------------------------------------------------
BACKENDS = ("tensorflow", "jax")
PHASES = ("float", "sharpening", "straight-through")


class _EpochClock(keras.callbacks.Callback):
    """Wall time of every epoch (the first one includes tracing and compilation)."""

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def _epoch_worker(key: str, quick: bool) -> dict:
    """One epoch of each phase of ``key``'s recipe on all training digits (2,048 if
    ``quick``), in this process's backend: float (with compilation), sharpening per batch,
    straight-through."""
    net = NETWORKS[key]
    data = load_mnist()
    n = 2048 if quick else len(data.x_train)
    recipe = recipes.RECIPES[net.recipe].with_(warmup_epochs=1, sharpen_epochs=1,
                                               sharp_epochs=0, finetune_epochs=1)
    keras.utils.set_random_seed(0)
    model = net.build()
    clock = _EpochClock()
    y = None if net.task == "autoencoder" else data.y_train[:n]
    training.fit(model, data.x_train[:n], y, recipe, seed=None, progress=False, callbacks=[clock])
    return {"network": key, "backend": keras.backend.backend(),
            "seconds": dict(zip(PHASES, clock.seconds))}


def stage_backends(args, data) -> None:
    """Each network's epoch times on every backend, each in a fresh process, one after the
    other: one more round, added to the rounds before it (the report takes the fastest)."""
    runs = []
    load_before = os.getloadavg()
    for key in args.networks:
        for backend in BACKENDS:
            runs.append(run_worker([sys.executable, __file__, "backends-worker", "--networks",
                                    key, *["--quick"] * args.quick], backend, key))
            t = runs[-1]["seconds"]
            print(f"{key} on {backend}: " + ", ".join(f"{p} {t[p]:.1f} s" for p in PHASES),
                  flush=True)
    if not args.quick:
        out = read_results()
        rounds = (out.get("backends") or {}).get("rounds", [])
        out["backends"] = {"rounds": [*rounds, {"runs": runs, "load": [load_before[0],
                                                                       os.getloadavg()[0]]}]}
        write_results(out)


def _timed(b: dict) -> dict[tuple[str, str], list[dict[str, float]]]:
    """Per (network, backend), its epoch times in each of the backends stage's rounds that
    ran it."""
    timed: dict[tuple[str, str], list[dict[str, float]]] = {}
    for run in (run for round_ in b["rounds"] for run in round_["runs"]):
        timed.setdefault((run["network"], run["backend"]), []).append(run["seconds"])
    return timed


def fastest_epochs(b: dict) -> dict[tuple[str, str], dict[str, float]]:
    """Per (network, backend), each phase's fastest epoch over the backends stage's rounds:
    the time least disturbed by whatever else the machine did."""
    return {key: {p: min(s[p] for s in rounds) for p in rounds[0]}
            for key, rounds in _timed(b).items()}


def round_spread(b: dict) -> float:
    """The largest ratio, over (network, backend), of a round's sharpening + straight-through
    time to the fastest round's: how far one round can mislead."""
    totals = ([sum(s[p] for p in PHASES[1:]) for s in rounds] for rounds in _timed(b).values())
    return max(max(t) / min(t) for t in totals)


# ----------------------------------------------------------------------------------------
# The 2018 example, timed: one epoch measured on a slice
# ----------------------------------------------------------------------------------------
def example_2018() -> keras.Model:
    """The network of the 2018 code's ``examples/adaptive_mnist.py``, in this lab's layers."""
    inputs = keras.Input(SHAPE)
    x = inputs
    for i, (filters, size) in enumerate([(32, 7), (64, 7), (64, 5), (64, 5), (128, 3),
                                          (128, 3)]):
        x = keras.layers.Conv2D(filters, size, padding="same", name=f"conv_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"conv_bn_{i}")(x)
        x = wl.SpikingBReLU(name=f"conv_spikes_{i}")(x)
        if i in (1, 3):
            x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
    x = keras.layers.Flatten()(x)
    key = wl.make_key(10, 40)
    for i, units in enumerate((256, 40)):
        x = keras.layers.Dense(units, name=f"dense_{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn_{i}")(x)
        x = wl.SpikingBReLU(name=f"spikes_{i}")(x)
    return keras.Model(inputs, wl.SoftmaxDecode(key, temperature=1.0)(x), name="example_2018")


def stage_probe2018(args, data) -> None:
    keras.utils.set_random_seed(0)
    model = example_2018()
    model.compile(keras.optimizers.Adadelta(4.0), "sparse_categorical_crossentropy")
    batch, warm, timed = 32, 64, 1024 if args.quick else 3200
    model.fit(data.x_train[:warm], data.y_train[:warm], batch_size=batch, verbose=0)
    start = time.perf_counter()
    model.fit(data.x_train[warm:warm + timed], data.y_train[warm:warm + timed],
              batch_size=batch, verbose=0)
    per_image = (time.perf_counter() - start) / timed
    row = {"images_timed": timed, "seconds_per_image": per_image,
           "epoch_seconds": per_image * len(data.x_train), "epochs": 77,
           "parameters": int(model.count_params()), "load": os.getloadavg()[0]}
    print(f"2018 example: {row['epoch_seconds'] / 60:.1f} min per epoch (from {timed} images), "
          f"77 epochs ≈ {row['epoch_seconds'] * 77 / 3600:.1f} h")
    if not args.quick:
        out = read_results()
        out["probe2018"] = row
        write_results(out)


# ----------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------
def summarize(out: dict) -> dict:
    """Per network: the scores over seeds, gaps and goals (what the report and the lessons
    quote)."""
    summary = {}
    for key, net in NETWORKS.items():
        rows = sorted((r for r in out["rows"] if r["network"] == key), key=lambda r: r["seed"])
        if not rows:
            continue
        f, w, n = (np.array([r[k] for r in rows]) for k in ("float", "whetstone", "naive"))
        # Timed on a shared machine: the fastest seed's epochs say what the network costs.
        fastest = min(rows, key=lambda r: r["seconds_per_epoch"]["whetstone"])
        s = {"label": net.label, "seeds": [r["seed"] for r in rows], "runs": len(rows),
             "float": f.tolist(),
             "whetstone": w.tolist(), "naive": n.tolist(), "epochs": rows[0]["epochs"],
             "recipe": rows[0]["recipe"], "origin": net.origin,
             "seconds_per_epoch": float(fastest["seconds_per_epoch"]["whetstone"]),
             "load": float(fastest["load"][0]),
             "backend": rows[0]["backend"]}
        if net.task == "autoencoder":
            s["ratio"] = float(w.mean() / f.mean())
            if out.get("coder"):
                s["coder"] = out["coder"]["mse"]
                s["met_coder"] = bool(w.mean() <= out["coder"]["mse"])
            s["met_ratio"] = bool(s["ratio"] <= 2.0)
        else:
            s["gap"] = float(f.mean() - w.mean())
            s["above_naive"] = float(w.mean() - n.mean())
            bound, within = GOALS[key]
            s["met_bound"] = bool(w.mean() >= bound)
            s["met_gap"] = None if within is None else bool(s["gap"] <= within)
            s["met_naive"] = bool(s["above_naive"] > 0)
        summary[key] = s
    b = out.get("backends")
    if b:  # JAX's time over TensorFlow's, the epochs after compilation, per network
        runs = fastest_epochs(b)
        summary["backends"] = {
            key: {"jax_over_tensorflow": sum(runs[key, "jax"][p] for p in PHASES[1:])
                  / sum(runs[key, "tensorflow"][p] for p in PHASES[1:]),
                  "backend": NETWORKS[key].backend}
            for key in NETWORKS if {(key, "jax"), (key, "tensorflow")} <= set(runs)}
    d = out.get("deploy")
    if d:
        summary["deploy"] = {
            "network": d["network"],
            "spikes_agree": 1 - d["spikes_differing"] / d["spikes_compared"],
            "synops_ratio": d["synops"] / d["dense_macs"],
            "throughput_ratio": d["predict_seconds"] / d["simulator_seconds"],
            "peak_gib": d["simulator_peak_bytes"] / 2**30,
            **{f"energy_ratio_{chip}": e["spiking_joules"] / e["dense_joules"]
               for chip, e in d["energy"].items()},
        }
    return summary


def _yes(met) -> str:
    return "n/a" if met is None else ("met" if met else "**missed**")


def _text(template_name: str, context: dict) -> str:
    """A template rendered, without its final newline: a piece of the report."""
    return render(template_name, context).rstrip("\n")


def _row(s: dict, goal: str) -> str:
    """A classifier's row of the main table."""
    return (f"| {s['label']} | {len(s['seeds'])} | {s['epochs']} | "
            f"{mean_sd(s['float'], digits=2)} | {mean_sd(s['whetstone'], digits=2)} | "
            f"{mean_sd(s['naive'], digits=2)} | {100 * s['gap']:.2f} pt | "
            f"{100 * s['above_naive']:+.2f} pt | {s['seconds_per_epoch']:.1f} | {goal} |")


def _goal(key: str, s: dict) -> str:
    """The goal cell of a classifier's row: each bound and whether it was met."""
    bound, within = GOALS[key]
    goal = f"≥ {100 * bound:.1f} %: {_yes(s['met_bound'])}"
    if within is not None:
        goal += f"; gap ≤ {100 * within:.1f} pt: {_yes(s['met_gap'])}"
        if not s["met_gap"] and round(100 * s["gap"], 2) <= 100 * within:
            goal += f" ({100 * s['gap']:.3f} pt)"  # missed by less than the rounding shows
    return goal + f"; above naive: {_yes(s['met_naive'])}"


def _missed(summary: dict, variants: list[dict]) -> str:
    """The paragraph on the classifiers that miss a goal, "" if none does."""
    missed = [k for k in CLASSIFIERS if k in summary
              and not (summary[k]["met_bound"] and summary[k]["met_gap"] in (True, None)
                       and summary[k]["met_naive"])]
    if not missed:
        return ""
    minutes = max(summary[k]["seconds_per_epoch"] * summary[k]["epochs"] * 2 / 60
                  for k in missed)
    networks = []
    for key in missed:
        s, bound = summary[key], GOALS[key][0]
        tried = ("One-seed variants of it are under \"Variants tried\" below."
                 if any(r["network"] == key for r in variants)
                 else "No one-seed variant of it was run (its origin is below).")
        if not s["met_bound"]:
            needs = (f"at this gap the {100 * bound:.1f} % bound needs a float twin at "
                     f"{100 * (bound + s['gap']):.2f} % or more.")
        else:  # the bound met, the gap or the naive conversion missed
            needs = f"the {100 * bound:.1f} % bound is met."
        networks.append(_text("paper_scale_missed_network", {
            "label": s["label"], "float": mean_sd(s["float"], digits=2),
            "gap": f"{100 * s['gap']:.2f}",
            "above_naive": f"{100 * abs(s['above_naive']):.2f} points "
                           f"{'above' if s['above_naive'] >= 0 else 'below'}",
            "needs": needs, "tried": tried}))
    return "\n\n" + _text("paper_scale_missed", {"minutes": f"{minutes:.0f}",
                                                 "networks": "\n".join(networks)})


def _recipes(summary: dict) -> str:
    """One bullet per network run (each after a newline): where it comes from, its recipe,
    backend and load."""
    return "".join(
        "\n" + _text("paper_scale_recipe", {
            "label": s["label"], "origin": s["origin"], "recipe_name": NETWORKS[key].recipe,
            "recipe": s["recipe"], "backend": s["backend"], "load": f"{s['load']:.1f}"})
        for key in CLASSIFIERS + ["autoencoder"] if (s := summary.get(key)))


def _autoencoder_variants(out: dict) -> str:
    """The autoencoder's one-seed variants beside its seed 0, "" if none was run."""
    tried = [v for key in VARIANTS for v in out.get("variants") or []
             if v["variant"] == key and v["network"] == "autoencoder"]
    base = next((r for r in out["rows"] if r["network"] == "autoencoder" and r["seed"] == 0),
                None)
    if not tried or base is None:
        return ""
    none = "none (the benchmark's seed 0)"
    rows = [f"| {none if r is base else r['change']} | {r['epochs']} | {r['float']:.4f} | "
            f"{r['whetstone']:.4f} | {r['naive']:.4f} | {r['whetstone'] / r['float']:.2f} | "
            + ("" if r is base else f"{r['whetstone'] - base['whetstone']:+.4f}")
            + f" | {r['seconds_per_epoch']['whetstone']:.1f} ({r['load'][0]:.1f}, "
            f"{r['backend']}) |" for r in [base, *tried]]
    return "\n\n" + _text("paper_scale_autoencoder_variants", {"rows": "\n".join(rows)})


def _autoencoder(summary: dict, out: dict) -> str:
    """The autoencoder's section, "" if it was not run."""
    s = summary.get("autoencoder")
    if s is None:
        return ""
    coder = "coder" in s
    row = (f"| {s['label']} | {len(s['seeds'])} | {s['epochs']} | "
           f"{mean_sd(s['float'], 1, 4)} | {mean_sd(s['whetstone'], 1, 4)} | "
           f"{mean_sd(s['naive'], 1, 4)} | "
           + (f"{s['coder']:.4f} | " if coder else "not run | ")
           + f"{s['ratio']:.2f} | "
           + (f"{np.mean(s['whetstone']) / s['coder']:.2f} |" if coder else "|"))
    return "\n\n" + _text("paper_scale_autoencoder", {
        "row": row, "met_ratio": _yes(s["met_ratio"]), "met_coder": _yes(s.get("met_coder")),
        "variants": _autoencoder_variants(out)})


def _deploy(d: dict | None) -> str:
    """The deployment section, "" without a deploy stage's results."""
    if not d:
        return ""
    energy_rows = [
        f"| {e['device']} ({e['source']}) | {1e12 * e['chip_joules']:.1f} pJ | "
        f"{1e6 * e['spiking_joules']:.2f} µJ | {1e6 * e['dense_joules']:.2f} µJ "
        f"({1e12 * e['mac_joules']:.1f} pJ per MAC, {e['mac_source']}) | "
        f"{e['spiking_joules'] / e['dense_joules']:.3f} |" for e in d["energy"].values()]
    return "\n\n" + _text("paper_scale_deploy", {
        "network": d["network"], "accuracy": f"{100 * d['accuracy']:.2f}",
        "classes_agree": f"{100 * d['classes_agree']:.2f}",
        "spikes_differing": f"{d['spikes_differing']:,}",
        "spikes_compared": f"{d['spikes_compared']:,}", "near_ties": f"{d['near_ties']:,}",
        "synops": f"{d['synops']:,.0f}", "dense_macs": f"{d['dense_macs']:,}",
        "synops_percent": f"{100 * d['synops'] / d['dense_macs']:.1f}",
        "simulator_seconds": f"{d['simulator_seconds']:.1f}",
        "predict_seconds": f"{d['predict_seconds']:.1f}",
        "throughput": f"{d['predict_seconds'] / d['simulator_seconds']:.2f}",
        "load": f"{d['load']:.1f}", "peak_gib": f"{d['simulator_peak_bytes'] / 2**30:.2f}",
        "rss_gib": f"{d['process_max_rss_bytes'] / 2**30:.2f}",
        "energy_rows": "\n".join(energy_rows)})


def _variants(out: dict) -> str:
    """The section on the one-seed variants, "" without a variants stage's results."""
    variants = [v for v in out.get("variants") or [] if v["network"] in CLASSIFIERS]
    if not variants:
        return ""
    base = {r["network"]: r for r in out["rows"] if r["seed"] == 0}
    rows = []
    for network in (n for n in CLASSIFIERS if any(v["network"] == n for v in variants)):
        # Each network's benchmark run (seed 0), then its variants in VARIANTS' order; each
        # compared with the variant it names (``against``), else with the run without a
        # change on its own backend (the benchmark's, or the variant "<network>_<backend>").
        tried = [v for key in VARIANTS for v in variants if v["variant"] == key
                 and v["network"] == network]
        refs = {v["backend"]: v for v in tried if v["variant"] == f"{network}_{v['backend']}"}
        if network in base:
            refs[base[network]["backend"]] = base[network]
        by_key = {v["variant"]: v for v in tried}
        for r in ([base[network]] if network in base else []) + tried:
            change = "none (the benchmark's seed 0)" if r is base.get(network) else r["change"]
            against = VARIANTS[r["variant"]].against if "variant" in r else None
            ref = by_key.get(against) if against else refs.get(r["backend"])
            delta = "" if ref is None or r is ref else \
                f"{100 * (r['whetstone'] - ref['whetstone']):+.2f} pt"
            rows.append(f"| {NETWORKS[network].label} | {change} | {r['epochs']} | "
                        f"{100 * r['float']:.2f} | {100 * r['whetstone']:.2f} | "
                        f"{100 * r['naive']:.2f} | {delta} | "
                        f"{r['seconds_per_epoch']['whetstone']:.1f} ({r['load'][0]:.1f}, "
                        f"{r['backend']}) |")
    return "\n\n" + _text("paper_scale_variants", {"rows": "\n".join(rows)})


def _backends(b: dict | None, ratios: dict) -> str:
    """The section on epoch times per backend, "" without a backends stage's results."""
    if not b:
        return ""
    runs, timed = fastest_epochs(b), _timed(b)
    rows = []
    for key in (k for k in NETWORKS if (k, BACKENDS[0]) in runs):
        cells = [", ".join(f"{runs[key, be][p]:.1f}" for p in PHASES) if (key, be) in runs
                 else "not run" for be in BACKENDS]
        ratio = f"{ratios[key]['jax_over_tensorflow']:.2f}" if key in ratios else ""
        rounds = max(len(timed[key, be]) for be in BACKENDS if (key, be) in timed)
        rows.append(f"| {NETWORKS[key].label} | {cells[0]} | {cells[1]} | {ratio} | {rounds} | "
                    f"{NETWORKS[key].backend} |")
    batch = {recipes.RECIPES[NETWORKS[k].recipe].batch_size for k, _ in runs}
    loads = "; ".join(f"{r['load'][0]:.1f} → {r['load'][1]:.1f} ("
                      + ", ".join(dict.fromkeys(run["network"] for run in r["runs"])) + ")"
                      for r in b["rounds"])
    return "\n\n" + _text("paper_scale_backends", {
        "rows": "\n".join(rows), "batch": ", ".join(map(str, sorted(batch))),
        "rounds": len(b["rounds"]), "loads": loads, "spread": f"{round_spread(b):.1f}"})


def _probe2018(p: dict | None) -> str:
    """The section on the 2018 example's timing, "" without a probe2018 stage's results."""
    if not p:
        return ""
    return "\n\n" + _text("paper_scale_probe2018", {
        "parameters": f"{p['parameters']:,}", "ms_per_image": f"{p['seconds_per_image'] * 1e3:.1f}",
        "images_timed": f"{p['images_timed']:,}", "load": f"{p['load']:.1f}",
        "epoch_minutes": f"{p['epoch_seconds'] / 60:.0f}",
        "hours": f"{p['epoch_seconds'] * p['epochs'] / 3600:.0f}", "epochs": p["epochs"]})


def report(out: dict) -> str:
    """The report, from the results file's contents alone: the prose in
    ``templates/paper_scale*.md``, each optional section there only when its stage ran."""
    summary = summarize(out)
    rows = [_row(summary[key], _goal(key, summary[key])) if key in summary
            else f"| {NETWORKS[key].label} | not run | | | | | | | | |" for key in CLASSIFIERS]
    return reflow(render("paper_scale", {
        "rows": "\n".join(rows), "missed": _missed(summary, out.get("variants") or []),
        "variants": _variants(out), "recipes": _recipes(summary),
        "autoencoder": _autoencoder(summary, out), "deploy": _deploy(out.get("deploy")),
        "probe2018": _probe2018(out.get("probe2018")),
        "backends": _backends(out.get("backends"), summary.get("backends", {})),
        "machine": out.get("machine", "unknown")}))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("train", "deploy", "probe2018", "variants",
                                          "backends", "report", "all", "backends-worker"))
    parser.add_argument("--networks", nargs="+", default=list(NETWORKS), choices=list(NETWORKS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--redo", action="store_true", help="train again what is there")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run on 2,048 digits, fast recipes; writes nothing")
    parser.add_argument("--deploy-network", choices=CLASSIFIERS, default=None)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS),
                        help="the variants stage's variants (default: all)")
    args = parser.parse_args(argv)
    if args.stage == "backends-worker":  # one run of stage_backends, in its own process
        print("RESULT " + json.dumps(_epoch_worker(args.networks[0], args.quick)), flush=True)
        return
    if args.stage != "report":
        data = load_mnist()
        if data is None:
            return
    if args.stage in ("train", "all"):
        stage_train(args, data)
    if args.stage in ("deploy", "all") and not args.quick:
        stage_deploy(args, data)
    if args.stage in ("probe2018", "all"):
        stage_probe2018(args, data)
    if args.stage == "variants":  # not in "all": an hour of training for one question
        stage_variants(args, data)
    if args.stage == "backends":  # not in "all": a question of speed, not of the method
        stage_backends(args, data)
    if args.stage in ("report", "all") and JSON.exists():
        out = read_results()
        write_results(out)  # the summary, recomputed from the rows
        text = report(out)
        (RESULTS / "paper_scale.md").write_text(text)
        print(text)


if __name__ == "__main__":
    main()
