"""Render the README's pictures into docs/images/ (run by ``make figures``).

Trains the lesson's dense digits classifier (64→256→64→100, N-hot with 10 neurons per
class) with per-batch bottom-up sharpening, and its float twin that is never sharpened,
then draws:

* ``activation_family.png``  the activation from bounded ReLU to step;
* ``activation.png``         the activation and its gradient at sharpness 0.9;
* ``network_overview.png``   one test digit through the fully sharp network;
* ``accuracy_vs_sharpness.png``  test accuracy as each network is sharpened, bottom-up
  and uniform: the Whetstone-trained one keeps its accuracy, the float twin collapses;
* ``history.png``            the training curves with the sharpness schedule and the
  fully sharp (spiking) validation accuracy;
* ``activity.png``           firing rate and Gini coefficient per layer, fully sharp.

Seeded; about a minute on two quiet cores.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MPLBACKEND", "Agg")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import whetstone_lab as wl  # noqa: E402
from whetstone_lab import plots, spikes  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "docs" / "images"
DPI = 110
# The 2018 Simple schedule (start after epoch 5, 5 steps per layer, one per epoch, 21 epochs)
# with the decoder temperature of 2 × 10 neurons per class.
WARMUP_EPOCHS = 5
EPOCHS_PER_LAYER = 5
SHARP_EPOCHS = 1
TEMPERATURE = 20.0


def _split(data):
    """A validation split carved from the training data (the test split stays unseen)."""
    n_val = len(data.x_train) // 5
    return ((data.x_train[n_val:], data.y_train[n_val:]),
            (data.x_train[:n_val], data.y_train[:n_val]))


def _compile(model, lr: float = 1e-3):
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def train(data):
    (x, y), (x_val, y_val) = _split(data)
    batch = 32
    layers = 3
    epochs = WARMUP_EPOCHS + EPOCHS_PER_LAYER * layers + SHARP_EPOCHS

    keras.utils.set_random_seed(0)
    model = _compile(wl.models.dense_classifier((8, 8, 1), temperature=TEMPERATURE))
    sharpener = wl.SimpleSharpener(start_epoch=WARMUP_EPOCHS, steps=EPOCHS_PER_LAYER)
    hist = model.fit(x, y, epochs=epochs, batch_size=batch, verbose=0,
                     validation_data=(x_val, y_val),
                     callbacks=[sharpener, wl.SpikingEvaluator((x_val, y_val))])

    keras.utils.set_random_seed(0)
    naive = _compile(wl.models.dense_classifier((8, 8, 1), temperature=TEMPERATURE,
                                                name="float_twin"))
    naive.fit(x, y, epochs=epochs, batch_size=batch, verbose=0)
    return model, naive, hist


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
        acc = spikes.accuracy(y_test, probs)
        # Show the first test digit the spiking network gets right.
        index = int(np.flatnonzero(probs.argmax(-1) == y_test)[0])
        fig = plots.network_overview(model, x_test, index=index,
                                     class_names=data.class_names, y=y_test)
        fig.suptitle(f"one test digit through the fully sharp network "
                     f"(test accuracy {acc:.3f})")
        save(fig, "network_overview.png")
        save(plots.activity_bars(spikes.activity(spikes.record(model, x_test))),
             "activity.png")
    print(f"fully sharp test accuracy {acc:.3f}")

    sweep = spikes.sharpness_sweep(model, x_test, y_test)
    naive_sweep = spikes.sharpness_sweep(naive, x_test, y_test)
    fig = plots.score_vs_sharpness(sweep, label="Whetstone-trained")
    plots.score_vs_sharpness(naive_sweep, ax=fig.axes[0], label="float, never sharpened")
    fig.axes[0].set_title("test accuracy as the network is sharpened")
    save(fig, "accuracy_vs_sharpness.png")
    for name, s in (("sharpened", sweep), ("naive", naive_sweep)):
        print(f"{name}: float {s['bottom_up'][0]:.3f}, fully sharp {s['bottom_up'][-1]:.3f}; "
              f"uniform at 0.5: {s['uniform'][5]:.3f}")

    save(plots.history(hist), "history.png")
    print(f"done in {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
