"""What a newcomer gets: the builders' defaults, Adam and a plain Simple schedule.

For the dense and the conv classifier built with their defaults (``wl.models.dense_classifier()``,
three towers voting, and ``wl.models.conv_classifier()``), trained on the canonical digits split
with Adam 1e-3, batch 32 and a plain ``wl.SimpleSharpener`` (no recipe, no fine-tune), this
script reports the test accuracy fully sharp against the same network never sharpened (same
data, epochs and learning rate), over seeds 0-2. It also runs the paper's single dense network
(``towers=1``), the README's quickstart as printed there (the default dense network with the
``digits_dense`` recipe), and the paper's exact setting (``towers=1, temperature=1`` and, for
conv, ``pool=True, batchnorm=True``) for comparison.

Usage::

    python benchmarks/defaults.py            # 3 seeds, writes results/defaults.json and its .md
    python benchmarks/defaults.py --quick    # 1 seed, few epochs, prints only
    python benchmarks/defaults.py --report   # the .md again from the .json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS, machine, mean_sd, render

import whetstone_lab as wl
from whetstone_lab import metrics

#: (label, builder, SimpleSharpener arguments, epochs)
SETTINGS = [
    ("dense, defaults (three towers)", lambda: wl.models.dense_classifier(), {}, 56),
    ("dense, one tower (towers=1)", lambda: wl.models.dense_classifier(towers=1), {}, 56),
    ("dense, defaults, the paper's 2018 schedule", lambda: wl.models.dense_classifier(),
     dict(start_epoch=5, steps=5), 21),
    ("dense, one tower, the paper's 2018 schedule",
     lambda: wl.models.dense_classifier(towers=1), dict(start_epoch=5, steps=5), 21),
    ("dense, the paper's network and decoder (towers=1, temperature=1)",
     lambda: wl.models.dense_classifier(towers=1, temperature=1.0),
     dict(start_epoch=5, steps=5), 21),
    ("conv, defaults", lambda: wl.models.conv_classifier(), dict(start_epoch=5, steps=5), 26),
    ("conv, the paper's setting (pool, BatchNorm, temperature=1)",
     lambda: wl.models.conv_classifier(pool=True, batchnorm=True, temperature=1.0),
     dict(start_epoch=5, steps=5), 26),
    ("conv, defaults, start_epoch=8, steps=3, 40 epochs",
     lambda: wl.models.conv_classifier(), dict(start_epoch=8, steps=3), 40),
]


def train(build, sharpener_args: dict | None, epochs: int, data, seed: int) -> float:
    """Fully sharp test accuracy (or float accuracy when ``sharpener_args`` is None)."""
    keras.utils.set_random_seed(seed)
    model = build()
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    callbacks = [] if sharpener_args is None else [wl.SimpleSharpener(**sharpener_args)]
    model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, verbose=0,
              callbacks=callbacks)
    if sharpener_args is not None:
        if not wl.is_fully_sharp(model):
            raise RuntimeError(f"not fully sharp after {epochs} epochs: "
                               f"{wl.get_sharpness(model)}")
        wl.spikes.assert_binary(model, data.x_test)
    return metrics.evaluate(model, data.x_test, data.y_test)


def quickstart(data, seed: int) -> tuple[float, list[float]]:
    """The README's quickstart, line for line, with ``seed`` in place of its 0: the vote's
    test accuracy and each tower's alone (its own block of output neurons and of the key)."""
    keras.utils.set_random_seed(seed)
    model = wl.models.dense_classifier()
    recipe = wl.recipes.recipe("digits_dense", fast=False)
    wl.training.fit(model, data.x_train, data.y_train, recipe, seed=seed, progress=False)
    if not wl.is_fully_sharp(model):
        raise RuntimeError("the quickstart did not end fully sharp")
    output = wl.spikes.record(model, data.x_test)[wl.spiking_layers(model)[-1].name]
    each = wl.layers.decode_towers(output, wl.layers.find_decoder(model).key, wl.models.TOWERS)
    alone = [float(a) for a in np.mean(each == data.y_test[:, None], axis=0)]
    return metrics.evaluate(model, data.x_test, data.y_test), alone


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--only", nargs="+", default=None, metavar="PREFIX",
                        help="re-run only the settings whose label starts with one of these "
                             "(and 'quickstart'); keep the others from results/defaults.json")
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args(argv)
    if args.report:
        out = json.loads((RESULTS / "defaults.json").read_text())
        (RESULTS / "defaults.md").write_text(markdown(out))
        return
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    data = wl.data.load("digits")
    kept = {}
    if args.only and (RESULTS / "defaults.json").exists():
        old = json.loads((RESULTS / "defaults.json").read_text())
        kept = {r["setting"]: r for r in old["rows"]} | {
            "quickstart": old["quickstart"],
            "quickstart_towers_alone": old.get("quickstart_towers_alone", [])}
    rows = []
    start, load = time.perf_counter(), os.getloadavg()[0]
    for label, build, sharpener, epochs in SETTINGS:
        if args.only and not any(label.startswith(p) for p in args.only) and label in kept:
            rows.append(kept[label])
            continue
        if args.quick:
            sharpener, epochs = dict(start_epoch=1, steps=1), 4
        sharp = [train(build, sharpener, epochs, data, s) for s in seeds]
        float_ = [train(build, None, epochs, data, s) for s in seeds]
        rows.append({"setting": label, "epochs": epochs, "sharpener": sharpener,
                     "whetstone": sharp, "float": float_})
        print(f"{label}: sharp {np.mean(sharp):.4f} float {np.mean(float_):.4f}", flush=True)
    if args.quick:
        qs, alone = [], []
    elif args.only and "quickstart" not in args.only and "quickstart" in kept:
        qs, alone = kept["quickstart"], kept["quickstart_towers_alone"]
    else:
        qs, alone = (list(v) for v in zip(*[quickstart(data, s) for s in seeds]))
    out = {"rows": rows, "quickstart": qs, "quickstart_towers_alone": alone, "seeds": seeds,
           "seconds": time.perf_counter() - start, "load": load, "cpus": os.cpu_count(),
           "machine": machine()}
    text = markdown(out)
    print(text)
    if not args.quick:
        (RESULTS / "defaults.json").write_text(json.dumps(out, indent=1))
        (RESULTS / "defaults.md").write_text(text)


def markdown(out: dict) -> str:
    """The report, from the results file's contents alone."""
    rows = []
    for r in out["rows"]:
        gap = 100 * (np.mean(r["float"]) - np.mean(r["whetstone"]))
        sched = ", ".join(f"{k}={v}" for k, v in r["sharpener"].items()) or "its defaults"
        rows.append(f"| {r['setting']} | {sched} | {r['epochs']} | {mean_sd(r['float'])} | "
                    f"{mean_sd(r['whetstone'])} | {gap:.1f} pt |")
    qs, alone = out["quickstart"], out["quickstart_towers_alone"]
    quickstart = render("defaults_quickstart", {"quickstart": mean_sd(qs)}) if qs else ""
    if qs and alone:
        quickstart += render("defaults_towers_alone", {"alone": mean_sd(np.ravel(alone)),
                                                       "towers": np.size(alone)})
    return render("defaults", {
        "seeds": out["seeds"], "rows": "\n".join(rows), "quickstart": quickstart,
        "seconds": f"{out['seconds']:.0f}", "load": f"{out['load']:.1f}", "cpus": out["cpus"]})


if __name__ == "__main__":
    main()
