"""A short slide deck from the lessons' stored figures: ``python scripts/make_slides.py``.

Writes ``docs/slides.pdf`` (16:9, one figure per slide): each picture is the one a lesson
stored (``make notebooks`` renders them from the lessons' runs), found by a piece of the code
that drew it, and each caption's numbers are read from ``notebooks/results.json``, so the deck
says what the stored course says. No kernel runs here; it takes a few seconds.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import re
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"

#: (lesson stem, a piece of the code cell that drew the figure, title, caption). The caption
#: may name results as {stem.metric}; they are filled from notebooks/results.json.
SLIDES = [
    ("01_the_sharpening_activation", "plots.activation_family(",
     "A neuron that learns to spike",
     "The bounded ReLU is sharpened during training, from a ramp (s = 0) into a step (s = 1): "
     "a neuron that fires iff its input is at least 0.5. The ramp always passes through "
     "(0.5, 0.5); its band narrows as s grows."),
    ("01_the_sharpening_activation", "plots.score_vs_sharpness(sweep)",
     "Why not threshold a trained network afterwards?",
     "Lesson 01, the paper's decoder (T = 1): float {01_the_sharpening_activation."
     "float_accuracy:.3f}, the same weights with steps {01_the_sharpening_activation."
     "thresholded_accuracy:.3f}, sharpened while training {01_the_sharpening_activation."
     "sharp_accuracy:.3f} (test accuracy, one seed)."),
    ("00_welcome", "frames of the live view",
     "Training while sharpening",
     "One test digit's spikes after the float warm-up, during sharpening and at the end "
     "(lesson 00). Grey is an output between 0 and 1; even at sharpness 0 a saturated neuron "
     "is black or white. Fully sharp test accuracy: {00_welcome.sharp_accuracy:.3f}."),
    ("00_welcome", "plots.schedules.staircase(",
     "Bottom-up: one layer after another",
     "Each spiking layer's sharpness after every batch (lesson 00's recipe): the layer above "
     "learns to read the spikes of the layer below while it is still a ramp."),
    ("02_dense_classifier", "output neurons that never fire",
     "Why several output neurons per class",
     "Output neurons die as the network sharpens; with one neuron per class a dead neuron "
     "silences its class ({02_dense_classifier.one_hot_dead_classes:d} here: test accuracy "
     "{02_dense_classifier.one_hot_accuracy:.3f} against {02_dense_classifier.sharp_accuracy_t1"
     ":.3f} with 10 per class, lesson 02)."),
    ("02_dense_classifier", "x_sorted, y_sorted",
     "Spikes grouped by class",
     "Test images sorted by label through the fully sharp network; in the output layer each "
     "class's codeword is one block. The decoder temperature T = 20 (this lab's addition): "
     "{02_dense_classifier.sharp_accuracy:.3f} fully sharp, against "
     "{02_dense_classifier.sharp_accuracy_t1:.3f} at the paper's T = 1 (same seed)."),
    ("03_convolutional_classifier", "plots.spike_maps(",
     "Convolutions spike too",
     "Every feature-map position of lesson 03's conv network is a neuron (no pooling, no "
     "BatchNorm, T = 20): {03_convolutional_classifier.sharp_accuracy:.3f} fully sharp; "
     "the paper's setting (pooling, BatchNorm, T = 1) {03_convolutional_classifier."
     "paper_setting_accuracy:.3f} with the same recipe."),
    ("04_adaptive_sharpening_and_optimizers", "activation_histograms(",
     "Graded values disappear",
     "Every output of every spiking layer before, midway and after sharpening (lesson 04): at "
     "the end nothing is left between 0 and 1. The Adaptive schedule stopped after "
     "{04_adaptive_sharpening_and_optimizers.adaptive_epochs:d} epochs at "
     "{04_adaptive_sharpening_and_optimizers.adaptive:.3f}."),
    ("05_spiking_autoencoder", "plots.reconstructions(x_test, float_out",
     "A 64-bit spiking code",
     "Lesson 05's conv autoencoder: test MSE {05_spiking_autoencoder.spiking_mse:.4f} spiking, "
     "{05_spiking_autoencoder.float_mse:.4f} for its float twin, "
     "{05_spiking_autoencoder.mean_image_mse:.4f} for the mean image. Not every digit "
     "survives 64 bits."),
    ("06_spiking_segmentation", "plots.segmentation(x_test",
     "A class for every pixel",
     "Lesson 06's U-Net, fully sharp: mean IoU {06_spiking_segmentation.shapes_spiking:.3f} "
     "on the test scenes, float twin {06_spiking_segmentation.shapes_float:.3f}, "
     "\"background everywhere\" {06_spiking_segmentation.shapes_background:.3f}."),
    ("07_neuromorphic_deployment", "accuracy against operations per inference",
     "Threshold neurons on a budget",
     "Deployed as threshold neurons, every spike equals Keras' (lesson 07). Event-driven, the "
     "conv network needs {07_neuromorphic_deployment.conv_synops_ratio:.1%} of its dense "
     "multiply-accumulates; three towers cost {07_neuromorphic_deployment.towers_synops_ratio"
     ":.1f} x one network's synaptic operations."),
]

CLOSING = ("What is whose",
           "From the paper: the sharpenable activation, N-hot codes and their decoder, bottom-up "
           "sharpening, the Simple and Adaptive schedules, BatchNorm folding.\n"
           "From its 2018 code: sharpening per batch, the score of the fully sharp network each "
           "epoch, random overlapping keys, Adadelta at learning rate 4.0.\n"
           "Added by this lab: the decoder temperature, recipes with phases and a "
           "straight-through fine-tune, pixel weights, towers, the exact simulator and the "
           "NIR export.\n"
           "Each ingredient with its measured effect: docs/paper.md.")


def stored_png(stem: str, code: str) -> bytes:
    """The last PNG output of the one code cell of ``stem`` whose source holds ``code``."""
    nb = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and code in c.source]
    if len(cells) != 1:
        raise SystemExit(f"{stem}: {len(cells)} code cells hold {code!r}; expected one")
    pictures = [o for o in cells[0].outputs if "image/png" in o.get("data", {})]
    if not pictures:
        raise SystemExit(f"{stem}: the cell with {code!r} stored no picture; run make notebooks")
    return base64.b64decode(pictures[-1]["data"]["image/png"])


def caption(text: str, results: dict) -> str:
    """``text`` with every {stem.metric[:format]} filled from results.json."""
    flat = {f"{stem}.{name}": value for stem, numbers in results.items()
            for name, value in numbers.items()}

    def fill(match):
        name, spec = match.group(1), match.group(2) or ""
        if name not in flat:
            raise SystemExit(f"results.json has no {name}")
        return format(flat[name], spec)

    return re.sub(r"\{([\w.]+?)(?::([^}]+))?\}", fill, text)


def slide(pdf: PdfPages, title: str, text: str, png: bytes | None = None) -> None:
    fig = plt.figure(figsize=(13.33, 7.5))
    fig.text(0.05, 0.93, title, fontsize=26, weight="bold", va="top")
    width = 110 if png is not None else 90
    wrapped = "\n".join(textwrap.fill(p, width) for p in text.split("\n"))
    if png is None:
        fig.text(0.05, 0.8, wrapped, fontsize=16, va="top", linespacing=1.6)
    else:
        ax = fig.add_axes((0.05, 0.2, 0.9, 0.62))
        ax.imshow(matplotlib.image.imread(io.BytesIO(png)))
        ax.set_axis_off()
        fig.text(0.05, 0.15, wrapped, fontsize=13, va="top", linespacing=1.4)
    fig.text(0.95, 0.03, "whetstone_lab · figures from the stored lessons", fontsize=9,
             ha="right", color="0.5")
    pdf.savefig(fig)
    plt.close(fig)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "slides.pdf")
    args = parser.parse_args(argv)
    results = json.loads((NOTEBOOKS / "results.json").read_text())
    with PdfPages(args.out, metadata={"Title": "Whetstone: networks that talk in spikes",
                                      "CreationDate": None, "ModDate": None}) as pdf:
        slide(pdf, "Whetstone: deep networks that talk in single spikes",
              "Severa, Vineyard, Dellana, Verzi & Aimone, Nature Machine Intelligence 1, 86-94 "
              "(2019).\nTrain an ordinary network while sharpening its activations into steps: "
              "every neuron ends up answering with one binary spike, in one time step.\n"
              "Every picture that follows is a figure the lessons stored; every number comes "
              "from notebooks/results.json.")
        for stem, code, title, text in SLIDES:
            slide(pdf, title, caption(text, results), stored_png(stem, code))
        slide(pdf, *CLOSING)
    print(f"wrote {args.out}: {len(SLIDES) + 2} slides")


if __name__ == "__main__":
    main()
