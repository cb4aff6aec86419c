"""Latency of one sharpness-slider update in every sharpness dashboard.

One update = set the model's sharpness, run the model on the dashboard's samples, score
them, update the network overview's artists, the sample's verdict and the score curve's
marker, and render both PNG frames: exactly what happens in JupyterLab at each step of a
drag or of the Play sweep (minus sending the PNGs to the browser). Measured for the
lessons' four dashboards: dense and convolutional digits classifiers (256 digits), the
autoencoder (256 digits) and the segmenter (128 scenes of 16 × 16); the budget is a median
of at most 100 ms per update on 2 CPU cores.

The time is split into the model part (one forward pass through the cached compiled
recorder) and the drawing part, and the machine's load average is recorded with each run,
because a shared CPU slows everything down.

Every run is kept in ``benchmarks/results/widget_latency.json``; the ``.md`` is rendered from it.

    python benchmarks/widget_latency.py            # this run alone: widget_latency.json and .md
    python benchmarks/widget_latency.py --append   # adds this run below the earlier ones
    python benchmarks/widget_latency.py --report   # the .md again from the .json
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time

import common  # noqa: F401  (the shared preamble, before Keras)
import keras
import numpy as np
from common import RESULTS, machine, render, write_report

import whetstone_lab as wl
from whetstone_lab import spikes, widgets

JSON = RESULTS / "widget_latency.json"
BUDGET_MS = 100.0
SAMPLES = 256
SEGMENTATION_SAMPLES = 128


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def measure(name: str, model: keras.Model, x: np.ndarray, y: np.ndarray | None,
            updates: int, warmup: int = 3, **kwargs) -> dict:
    """Time ``updates`` slider moves (after ``warmup`` untimed ones)."""
    explorer = widgets.sharpness_explorer(model, x, y, **kwargs)
    rec = spikes.recorder(model)
    # Visit distinct values so every move really changes the model and the picture.
    values = [round(v, 2) for v in np.linspace(0.05, 1.0, 20)]
    totals, model_part, cpu = [], [], []
    for i in range(warmup + updates):
        value = values[i % len(values)]
        if value == explorer.slider.value:
            value = 0.0
        start, cpu_start = time.perf_counter(), time.process_time()
        explorer.slider.value = value
        total = time.perf_counter() - start
        cpu_used = time.process_time() - cpu_start
        # The model part on its own, same input, same sharpness.
        start = time.perf_counter()
        rec(x)
        forward = time.perf_counter() - start
        if i >= warmup:
            totals.append(total * 1e3)
            cpu.append(cpu_used * 1e3)
            model_part.append(forward * 1e3)
    explorer.close()
    return {
        "model": name,
        "params": model.count_params(),
        "median": statistics.median(totals),
        "p90": _percentile(totals, 90),
        "forward": statistics.median(model_part),
        "cpu": statistics.median(cpu),
        "goal": BUDGET_MS,
        "samples": len(x),
        "updates": updates,
        "traces": rec.trace_count,
    }


def run(updates: int) -> tuple[list[dict], dict]:
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    data = wl.data.load("digits")
    x, y = data.x_test[:SAMPLES], data.y_test[:SAMPLES]
    shapes = wl.data.load("shapes", n_train=10, n_test=SEGMENTATION_SAMPLES, size=16)
    load_before = os.getloadavg()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    rows = [
        measure("dense", wl.models.dense_classifier((8, 8, 1), towers=1), x, y, updates),
        measure("conv", wl.models.conv_classifier((8, 8, 1)), x, y, updates),
        measure("autoencoder", wl.models.autoencoder((8, 8, 1), filters=(32, 32),
                                                     code_channels=16), x, None, updates,
                task="autoencoder"),
        measure("segmentation", wl.models.segmenter(shapes.input_shape,
                                                    shapes.num_mask_classes, filters=(8, 16)),
                shapes.x_test, shapes.masks_test, updates, task="segmentation",
                class_names=shapes.mask_names),
    ]
    info = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "cpus": os.cpu_count(),
        "machine": machine(),
        "cpu_share": (time.process_time() - cpu0) / (time.perf_counter() - wall0),
        "seconds": time.perf_counter() - start,
    }
    return rows, info


def table(rows: list[dict], info: dict) -> str:
    """One run's section of the report."""
    lb, la = info["load_before"], info["load_after"]
    lines = []
    for r in rows:
        met = "yes" if r["median"] <= r["goal"] else "no"
        lines.append(
            f"| {r['model']} | {r['params']:,} | {r['samples']} | {r['updates']} | "
            f"{r['median']:.0f} | {r['p90']:.0f} | {r['forward']:.0f} | {r['cpu']:.0f} | "
            f"≤ {r['goal']:.0f} ms | {met} | {r['traces']} |")
    return render("widget_latency_run", {
        "date": info["date"], "cpus": info["cpus"],
        "load_before": "/".join(f"{v:.1f}" for v in lb),
        "load_after": "/".join(f"{v:.1f}" for v in la),
        "cpu_share": f"{info['cpu_share']:.2f}", "rows": "\n".join(lines)})


def markdown(out: dict) -> str:
    """The report, every run in the results file in turn."""
    runs = "\n".join(table(run["rows"], run["info"]) for run in out["runs"])
    return render("widget_latency", {"runs": runs.rstrip("\n")})


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=40, help="timed updates per model")
    parser.add_argument("--append", action="store_true",
                        help="keep the earlier runs in the results file")
    parser.add_argument("--report", action="store_true", help="rewrite the .md from the .json")
    args = parser.parse_args(argv)
    results = None
    if not args.report:
        rows, info = run(args.updates)
        earlier = json.loads(JSON.read_text())["runs"] if args.append and JSON.exists() else []
        results = {"runs": [*earlier, {"info": info, "rows": rows}]}
    print(write_report(JSON, markdown, results))


if __name__ == "__main__":
    main()
