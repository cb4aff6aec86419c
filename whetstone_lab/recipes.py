"""A :class:`Recipe`: how a lesson network is trained, phase by phase, and the named ones.

A recipe has four phases, in epochs (docs/design.md, "Training")::

    warm-up (float) → sharpening → fully sharp → straight-through fine-tune

with a learning rate per phase, an optimizer and a batch size. :func:`recipe` returns the
recipes the lessons and benchmarks use by name; :func:`whetstone_lab.training.fit` trains
with one. ``training`` re-exports everything here under the same names.

Example:
    >>> from whetstone_lab.recipes import recipe
    >>> recipe("digits_conv").describe()[:33]
    '30 epochs, batch 32, adam: 8 float'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

import keras

from .config import fast_mode
from .sharpening import MODES, SimpleSharpener
from .validation import check_bool, check_choice, check_int, check_number

__all__ = ["OPTIMIZERS", "MAX_LEARNING_RATE", "Recipe", "RECIPES", "recipe", "make_optimizer",
           "check_learning_rate"]

#: Optimizers of the lessons and the learning rate each one works well with on digits.
#: Adadelta's Keras 3 default (1e-3) barely moves; 1.0 is the value of its paper and of Keras 2.
OPTIMIZERS: dict[str, float] = {"adam": 1e-3, "rmsprop": 1e-3, "adadelta": 1.0, "sgd": 0.02}

#: The largest learning rate accepted (Adadelta's usual rate is 1.0, the others' ~1e-3): a
#: larger one is almost surely a typo (1e3 for 1e-3), refused rather than trained on.
MAX_LEARNING_RATE = 10.0


def check_learning_rate(value: object, name: str = "learning_rate") -> float:
    """A learning rate: a finite number in (0, :data:`MAX_LEARNING_RATE`]."""
    return check_number(value, name, minimum=0.0, min_open=True, maximum=MAX_LEARNING_RATE)


def make_optimizer(name: str = "adam", learning_rate: float | None = None):
    """A fresh Keras optimizer by name.

    Args:
        name: one of ``"adam"``, ``"rmsprop"``, ``"adadelta"``, ``"sgd"`` (SGD uses momentum 0.9).
        learning_rate: defaults to the value in :data:`OPTIMIZERS`; in (0,
            :data:`MAX_LEARNING_RATE`].

    Example:
        >>> make_optimizer("adadelta").learning_rate.numpy()  # 1.0
    """
    name = check_choice(name.lower() if isinstance(name, str) else name, "optimizer",
                        tuple(OPTIMIZERS))
    lr = OPTIMIZERS[name] if learning_rate is None else check_learning_rate(learning_rate)
    if name == "adam":
        return keras.optimizers.Adam(lr)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(lr)
    if name == "adadelta":
        return keras.optimizers.Adadelta(lr)
    return keras.optimizers.SGD(lr, momentum=0.9)


@dataclass(frozen=True)
class Recipe:
    """How to train a network into a fully sharp spiking network.

    ``warmup_epochs`` float epochs, then ``sharpen_epochs`` epochs in which the global
    sharpness rises from 0 to 1 (per batch or per epoch, bottom-up or uniform), then
    ``sharp_epochs`` fully sharp epochs, then ``finetune_epochs`` fully sharp epochs with a
    straight-through gradient. Per batch, the sharpness rises after every batch of the
    sharpening epochs and is 1 at their end. Per epoch, it rises at the end of the last
    warm-up epoch and of every sharpening epoch but the last, which trains fully sharp (the
    2018 recipe: 6 + 15 epochs, steps at the ends of epochs 5..19, epoch 20 fully sharp).

    Learning rates, by phase (:meth:`learning_rate_at`): ``learning_rate`` in the warm-up,
    ``sharpen_learning_rate`` while sharpening and fully sharp (a smaller step lets the
    layers above follow each change below), ``finetune_learning_rate`` in the fine-tune,
    decaying geometrically to ``finetune_learning_rate_end`` if given; None: the previous rate.

    Attributes:
        name: a label for tables.
        warmup_epochs, sharpen_epochs, sharp_epochs, finetune_epochs: the phases, in epochs.
        per: ``"batch"`` or ``"epoch"``: how often the sharpness rises.
        mode: ``"bottom_up"`` or ``"uniform"``.
        optimizer: a name from :data:`OPTIMIZERS`.
        learning_rate: warm-up learning rate (None: the optimizer's default).
        sharpen_learning_rate: from the start of sharpening (None: unchanged).
        finetune_learning_rate: from the start of the fine-tune (None: unchanged).
        finetune_learning_rate_end: where the fine-tune's rate ends (None: constant).
        batch_size: mini-batch size.
    """

    name: str = "custom"
    warmup_epochs: int = 10
    sharpen_epochs: int = 10
    sharp_epochs: int = 0
    finetune_epochs: int = 0
    per: str = "batch"
    mode: str = "bottom_up"
    optimizer: str = "adam"
    learning_rate: float | None = None
    sharpen_learning_rate: float | None = None
    finetune_learning_rate: float | None = None
    finetune_learning_rate_end: float | None = None
    batch_size: int = 32

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"name must be a string, got {self.name!r}.")
        check_int(self.warmup_epochs, "warmup_epochs", minimum=0)
        check_int(self.sharpen_epochs, "sharpen_epochs", minimum=1)
        check_int(self.sharp_epochs, "sharp_epochs", minimum=0)
        check_int(self.finetune_epochs, "finetune_epochs", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_choice(self.per, "per", ("batch", "epoch"))
        check_choice(self.mode, "mode", MODES)
        check_choice(self.optimizer.lower() if isinstance(self.optimizer, str)
                     else self.optimizer, "optimizer", tuple(OPTIMIZERS))
        for field in ("learning_rate", "sharpen_learning_rate", "finetune_learning_rate",
                      "finetune_learning_rate_end"):
            if getattr(self, field) is not None:
                check_learning_rate(getattr(self, field), field)

    @property
    def epochs(self) -> int:
        """Total epochs: warm-up + sharpening + fully sharp + straight-through fine-tune."""
        return (self.warmup_epochs + self.sharpen_epochs + self.sharp_epochs
                + self.finetune_epochs)

    @property
    def finetune_start(self) -> int:
        """The first epoch (0-based) of the straight-through fine-tune."""
        return self.epochs - self.finetune_epochs

    def with_(self, **changes) -> Recipe:
        """A copy with some fields changed: ``recipe("lesson").with_(optimizer="sgd")``."""
        known = [f.name for f in fields(self)]
        unknown = sorted(set(changes) - set(known))
        if unknown:  # e.g. epochs, which the phases add up to
            raise TypeError(f"Recipe has no field {', '.join(map(repr, unknown))}; its fields "
                            f"are {', '.join(known)}.")
        return replace(self, **changes)

    def shortened(self) -> Recipe:
        """The fast-mode copy (for CI): at most 3 warm-up and 3 per-batch sharpening epochs
        and 1 fine-tune epoch, no fully sharp epochs without straight-through."""
        return self.with_(warmup_epochs=min(self.warmup_epochs, 3), sharpen_epochs=3,
                          sharp_epochs=0, finetune_epochs=min(self.finetune_epochs, 1),
                          per="batch")

    def steps(self, num_samples: int, num_spiking_layers: int) -> int:
        """The :class:`SimpleSharpener` steps (per layer bottom-up, in all uniform) that
        spread sharpening over ``sharpen_epochs`` for this many samples and layers."""
        num_samples = check_int(num_samples, "num_samples", minimum=1)
        layers = check_int(num_spiking_layers, "num_spiking_layers", minimum=1)
        points = self.sharpen_epochs
        if self.per == "batch":
            points *= math.ceil(num_samples / self.batch_size)
        return max(1, points // layers) if self.mode == "bottom_up" else points

    def sharpener(self, num_samples: int, num_spiking_layers: int) -> SimpleSharpener:
        """The :class:`SimpleSharpener` that spreads sharpening over ``sharpen_epochs``."""
        steps = self.steps(num_samples, num_spiking_layers)
        # Per epoch, the first step lands at the end of the first sharpening epoch, so the
        # sharpener starts one epoch earlier to finish within the window.
        start = self.warmup_epochs if self.per == "batch" else max(self.warmup_epochs - 1, 0)
        return SimpleSharpener(start_epoch=start, steps=steps, per=self.per, mode=self.mode)

    def learning_rate_at(self, epoch: int) -> float:
        """The learning rate of epoch ``epoch`` (0-based)."""
        epoch = check_int(epoch, "epoch", minimum=0)
        lr = OPTIMIZERS[self.optimizer.lower()] if self.learning_rate is None \
            else self.learning_rate
        if epoch < self.warmup_epochs:
            return lr
        if self.sharpen_learning_rate is not None:
            lr = self.sharpen_learning_rate
        if epoch < self.finetune_start:
            return lr
        if self.finetune_learning_rate is not None:
            lr = self.finetune_learning_rate
        end = self.finetune_learning_rate_end
        if end is None or self.finetune_epochs < 2:
            return lr
        done = min((epoch - self.finetune_start) / (self.finetune_epochs - 1), 1.0)
        return lr * (end / lr) ** done

    def describe(self) -> str:
        """The recipe in one sentence, for reports."""
        rates = [self.learning_rate_at(e) for e in range(self.epochs)]
        text = (f"{self.epochs} epochs, batch {self.batch_size}, {self.optimizer}: "
                f"{self.warmup_epochs} float epochs at lr {rates[0]:g}, {self.sharpen_epochs} "
                f"epochs sharpening {self.mode.replace('_', '-')} per {self.per}")
        if self.warmup_epochs < self.epochs:
            text += f" at lr {rates[self.warmup_epochs]:g}"
        if self.sharp_epochs:
            text += f", {self.sharp_epochs} fully sharp epochs"
        if self.finetune_epochs:
            text += (f", {self.finetune_epochs} fully sharp straight-through epochs at lr "
                     f"{rates[self.finetune_start]:g}")
            if self.finetune_learning_rate_end is not None and self.finetune_epochs > 1:
                text += f" decaying to {rates[-1]:g}"
        return text

    def as_dict(self) -> dict:
        """The fields as a plain dict (for results files)."""
        return asdict(self)


#: The named recipes. Where a recipe was chosen on a validation split, the comment says where.
RECIPES: dict[str, Recipe] = {
    # The schedule of the 2018 code's dense MNIST example (sharpen one layer a fifth at a
    # time, once per epoch, 21 epochs), with Adam 1e-3 and batch 32 instead of its Adadelta
    # at 4.0 and batch 128 (docs/paper.md).
    "simple_2018": Recipe("simple_2018", warmup_epochs=6, sharpen_epochs=15, per="epoch",
                          learning_rate=1e-3),
    # The same schedule, for the builders' decoder temperature: short, and one change away
    # from the paper, so the early lessons measure the temperature with it. Not the best
    # dense recipe (that is digits_dense, below).
    "lesson": Recipe("lesson", warmup_epochs=6, sharpen_epochs=15, per="epoch",
                     learning_rate=1e-3),
    # Per-batch sharpening and a straight-through fine-tune: lesson 00, whose pictures show
    # sharpening batch by batch.
    "straight_through": Recipe("straight_through", warmup_epochs=10, sharpen_epochs=15,
                               finetune_epochs=10, per="batch", learning_rate=1e-3),
    # The recipes of the retention benchmark (benchmarks/results/retention.md), chosen on a
    # validation split carved from the training data (its notes list what was tried).
    # Dense: slow per-epoch sharpening (15 epochs per layer), no fine-tune (the README's
    # SimpleSharpener(start_epoch=10, steps=15)): the best of the variants cross-validated
    # there (the notes).
    "digits_dense": Recipe("digits_dense", warmup_epochs=11, sharpen_epochs=45, per="epoch",
                           learning_rate=1e-3),
    "digits_conv": Recipe("digits_conv", warmup_epochs=8, sharpen_epochs=10,
                          finetune_epochs=12, learning_rate=1e-3, sharpen_learning_rate=1e-3,
                          finetune_learning_rate=1e-3),
    "digits_autoencoder": Recipe("digits_autoencoder", warmup_epochs=10, sharpen_epochs=15,
                                 finetune_epochs=15, learning_rate=1e-3,
                                 sharpen_learning_rate=1e-3, finetune_learning_rate=1e-3),
    # models.dense_autoencoder: a short sharpening, then a long straight-through fine-tune
    # whose rate decays tenfold, in batches of 16 (benchmarks/results/autoencoder.md).
    "digits_dense_autoencoder": Recipe("digits_dense_autoencoder", warmup_epochs=2,
                                       sharpen_epochs=8, finetune_epochs=90,
                                       learning_rate=1e-3, sharpen_learning_rate=1e-3,
                                       finetune_learning_rate=1e-3,
                                       finetune_learning_rate_end=1e-4, batch_size=16),
    # MNIST, all 60,000 training digits (benchmarks/results/paper_scale.md, lesson 08): a
    # short float warm-up and per-batch sharpening, then a straight-through fine-tune whose
    # rate decays a hundredfold, in batches of 64.
    "mnist_dense": Recipe("mnist_dense", warmup_epochs=5, sharpen_epochs=5, finetune_epochs=20,
                          learning_rate=1e-3, sharpen_learning_rate=1e-3,
                          finetune_learning_rate=1e-3, finetune_learning_rate_end=1e-5,
                          batch_size=64),
    "mnist_conv": Recipe("mnist_conv", warmup_epochs=3, sharpen_epochs=3, finetune_epochs=6,
                         learning_rate=1e-3, sharpen_learning_rate=1e-3,
                         finetune_learning_rate=1e-3, finetune_learning_rate_end=1e-5,
                         batch_size=64),
    "mnist_autoencoder": Recipe("mnist_autoencoder", warmup_epochs=2, sharpen_epochs=4,
                                finetune_epochs=14, learning_rate=1e-3,
                                sharpen_learning_rate=1e-3, finetune_learning_rate=1e-3,
                                finetune_learning_rate_end=1e-4, batch_size=64),
    "segmentation": Recipe("segmentation", warmup_epochs=3, sharpen_epochs=7,
                           finetune_epochs=4, learning_rate=3e-3, sharpen_learning_rate=1e-3,
                           finetune_learning_rate=1e-3, batch_size=16),
    # Digit scenes (11 mask values): a longer straight-through fine-tune than segmentation's
    # (30 epochs instead of 4) narrows the gap of mean IoU to the float twin; how far, and
    # with wider channels, is measured in benchmarks/results/segmentation.md.
    "digit_scenes": Recipe("digit_scenes", warmup_epochs=3, sharpen_epochs=7,
                           finetune_epochs=30, learning_rate=3e-3, sharpen_learning_rate=1e-3,
                           finetune_learning_rate=1e-3, batch_size=16),
}


def recipe(name: str = "lesson", *, fast: bool | None = None) -> Recipe:
    """A named recipe from :data:`RECIPES`, shortened in fast mode.

    Args:
        name: ``"simple_2018"`` (the paper's recipe: Adam 1e-3, batch 32, Simple schedule
            starting after epoch 5, 5 steps per layer, one per epoch, bottom-up; 21 epochs),
            ``"lesson"`` (the same schedule, for classifiers with the builders' decoder
            temperature ``whetstone_lab.models.TEMPERATURE``), ``"straight_through"`` (10 float
            epochs, 15 epochs of per-batch bottom-up sharpening, 10 straight-through epochs;
            35 epochs), or one of the retention benchmark's: ``"digits_dense"``,
            ``"digits_conv"``, ``"digits_autoencoder"``, ``"digits_dense_autoencoder"`` (for
            :func:`whetstone_lab.models.dense_autoencoder`), ``"segmentation"``,
            ``"digit_scenes"``; or MNIST's (``benchmarks/paper_scale.py``, lesson 08):
            ``"mnist_dense"``, ``"mnist_conv"``, ``"mnist_autoencoder"``.
        fast: at most 3 warm-up and 3 per-batch sharpening epochs and 1 fine-tune epoch (for
            CI); default: ``whetstone_lab.fast_mode()``.

    Example:
        >>> recipe("simple_2018").epochs
        21
    """
    check_choice(name, "recipe name", tuple(RECIPES))
    if fast is None:
        fast = fast_mode()
    r = RECIPES[name]
    return r.shortened() if check_bool(fast, "fast") else r
