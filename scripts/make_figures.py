"""Render the README's pictures into docs/images/ (run by ``make figures``).

Trains the lesson's dense digits classifier (64→256→64→100, N-hot with 10 neurons per
class) with per-batch bottom-up sharpening, and its float twin that is never sharpened,
then draws:

* ``activation_family.png``  the activation from bounded ReLU to step;
* ``activation.png``         the activation and its gradient at sharpness 0.9;
* ``network_overview.png``   one test digit through the fully sharp network;
* ``accuracy_vs_sharpness.png``  test accuracy as each network is sharpened, bottom-up
  and uniform: the Whetstone-trained one keeps its accuracy, the float twin loses some
  (dense, left) or all of it (lesson 03's conv network, ``recipe("digits_conv")``, right);
* ``history.png``            the training curves with the sharpness schedule and the
  fully sharp (spiking) validation accuracy;
* ``activity.png``           firing rate and Gini coefficient per layer, fully sharp.

Seeded; about a minute and a half on two quiet cores.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import whetstone_lab as wl  # noqa: E402
from whetstone_lab import metrics, plots, recipes, spikes, stats, training, widgets  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
DPI = 110
# The lessons' recipe (the 2018 Simple schedule: start after epoch 5, 5 steps per layer, one per
# epoch, 21 epochs) with the decoder temperature of the lessons.
RECIPE = recipes.recipe("lesson", fast=False)


def train(data):
    x, y, x_val, y_val = training.validation_split(data.x_train, data.y_train)
    keras.utils.set_random_seed(0)  # the initial weights too, not only the training
    model = wl.models.dense_classifier((8, 8, 1), towers=1, temperature=wl.models.TEMPERATURE)
    hist = training.fit(model, x, y, RECIPE, validation_data=(x_val, y_val),
                        spiking_evaluator=True, progress=False)
    keras.utils.set_random_seed(0)
    naive = wl.models.dense_classifier((8, 8, 1), towers=1, temperature=wl.models.TEMPERATURE,
                                       name="float_twin")
    training.fit(naive, x, y, RECIPE, sharpen=False, progress=False)
    return model, naive, hist


def train_conv(data):
    """Lesson 03's network and its float twin, same initial weights, data and epochs."""
    recipe = recipes.recipe("digits_conv", fast=False)
    pair = []
    for sharpen in (True, False):
        wl.lessons.deterministic(0)  # as lesson 03 does: the same network, the same 0.989
        model = wl.models.conv_classifier(data.input_shape, data.num_classes)
        training.fit(model, data.x_train, data.y_train, recipe, sharpen=sharpen,
                     progress=False)
        pair.append(model)
    return pair


def save(fig, name: str) -> None:
    path = OUT / name
    fig.savefig(path, dpi=DPI)
    print(f"wrote {path.relative_to(OUT.parent.parent)}")


def main() -> None:
    start = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    data = wl.data.load("digits")
    model, naive, hist = train(data)
    print(f"trained in {time.perf_counter() - start:.0f} s; sharpness "
          f"{wl.get_sharpness(model)}")

    save(plots.activation_family(), "activation_family.png")
    save(plots.activation(0.9), "activation.png")

    x_test, y_test = data.x_test, data.y_test
    with wl.fully_sharp(model):
        probs = spikes.record_with_output(model, x_test)[1]
        acc = metrics.accuracy(y_test, probs)
        # Show the first test digit the spiking network gets right.
        index = int(np.flatnonzero(probs.argmax(-1) == y_test)[0])
        fig = widgets.network_overview(model, x_test, index=index,
                                       class_names=data.class_names, y=y_test)
        fig.suptitle(f"one test digit through the fully sharp network "
                     f"(test accuracy {acc:.3f})")
        save(fig, "network_overview.png")
        save(plots.activity_bars(stats.activity(spikes.record(model, x_test))),
             "activity.png")
    print(f"fully sharp test accuracy {acc:.3f}")

    conv, conv_naive = train_conv(data)
    fig, axes = plt.subplots(1, 2, figsize=(10.4, 3.8), sharey=True, layout="constrained")
    for ax, title, pair in ((axes[0], "dense 64-256-64-100", (model, naive)),
                            (axes[1], "conv 32-64-128-100 (lesson 03)", (conv, conv_naive))):
        sweeps = [metrics.sharpness_sweep(m, x_test, y_test) for m in pair]
        plots.score_vs_sharpness(sweeps[0], ax=ax, label="Whetstone-trained")
        plots.score_vs_sharpness(sweeps[1], ax=ax, label="float, never sharpened")
        ax.set_title(f"{title}: test accuracy as it is sharpened", fontsize=10)
        for name, s in zip(("sharpened", "naive"), sweeps, strict=True):
            print(f"{title}, {name}: float {s['bottom_up'][0]:.3f}, fully sharp "
                  f"{s['bottom_up'][-1]:.3f}; uniform at 0.5: {s['uniform'][5]:.3f}")
    save(fig, "accuracy_vs_sharpness.png")

    save(plots.history(hist), "history.png")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
