"""The network overview: one input through every spiking layer to the output, from a recording.

Nothing here runs a model. The recordings come from :func:`whetstone_lab.spikes.record` or
:func:`whetstone_lab.spikes.record_with_output` (``{layer name: array (n, ...)}`` in
input-to-output order, and the model's output); :func:`whetstone_lab.widgets.network_overview`
records a model and draws its overview in one call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..layers import decoder_probabilities
from ..validation import check_array, check_int, check_number, check_same_length, describe
from .figure import (
    ACCENT,
    INPUT_CMAP,
    as_grid,
    as_image,
    bare,
    binary_note,
    class_colors,
    mosaic,
    spike_image,
    target_fig,
)

__all__ = ["NetworkOverview", "network_overview", "OVERVIEW_WIDTH", "GOOD", "TEXT_SIZE"]

#: Width of the overview in inches: 944 px at the dashboards' 80 dpi (a notebook cell).
OVERVIEW_WIDTH = 11.8
#: Spiking layers per row of the overview.
_PER_ROW = 6
#: Smallest font size of the overview in points (10 px at 80 dpi).
TEXT_SIZE = 9
#: Colour of a correct verdict (wrong ones use :data:`ACCENT`); the probability bars' colours.
GOOD, _BAR_COLOR, _DECIDED = "#1e7b34", "#95a5a6", "#34495e"
_LEGEND = "spikes: white = 0, black = 1, grey = inside the ramp (0 < a < 1)."
_CONV_LEGEND = "   Conv layers: the first channels side by side, beige gaps between channels."


def _is_mosaic(a: np.ndarray) -> bool:
    """A convolutional layer's spikes of one sample, ``(h, w, channels)``: drawn as a mosaic."""
    return a.ndim == 3


class NetworkOverview:
    """One input travelling through the network: input, every spiking layer, the output.

    Drawn from a recording, never from the model. The figure is 944 px wide at 80 dpi (a
    notebook cell) and has two rows: the spiking layers (six per row), then the input and
    the output panels. Dense layers are drawn as a grid of neurons, convolutional layers as
    a mosaic of their first channels (one-pixel beige gaps between channels, the title
    says which channels: "channels 1–8 of 32"). Every text is at least 9 pt. The output
    panels depend on the data: with an N-hot ``key`` and a per-sample output of ``classes``
    probabilities, the output code arranged by class (row c holds the neurons the key gives
    class c) and the class probabilities, decoded class in red; with per-pixel
    probabilities, the predicted class mask, the true one and a colour key of the classes;
    otherwise the output as an image. Without ``output`` the probabilities are decoded
    from the last layer of ``spikes`` with
    :func:`~whetstone_lab.layers.decoder_probabilities` at ``temperature`` (pass the
    model's :class:`~whetstone_lab.layers.SoftmaxDecode` temperature so the bars match the
    model); without ``output`` and ``key`` there is no output panel.

    The artists are kept: :meth:`update` swaps in a new sample or recording.

    Args:
        inputs: the recorded inputs ``(n, ...)``.
        spikes: ``{layer name: spikes (n, ...)}`` of every spiking layer in input-to-output
            order, as :func:`whetstone_lab.spikes.record` returns; the last one is the
            output code.
        output: the model's output for ``inputs`` (``(n, classes)``, ``(n, h, w, classes)``
            or images), as :func:`whetstone_lab.spikes.record_with_output` returns it.
        key: the decoder's N-hot key ``(classes, width)`` (``layer.key`` of the model's
            ``SoftmaxDecode``), or None for a model without one.
        temperature: the decoder's temperature (``layer.temperature``).
        index: which sample to show.
        class_names: names of the classes.
        y: targets for ``inputs`` (labels, masks or images), shown when given.
        max_channels: channels per convolutional layer.
        layers: names of the layers of ``spikes`` to draw (default: all).
        fig: a Figure to draw into (cleared first).

    Example:
        >>> rec, out = spikes.record_with_output(model, x)
        >>> view = NetworkOverview(x, rec, out, key=spikes.find_key(model))
        >>> view.update(3)
    """

    def __init__(self, inputs, spikes: Mapping[str, np.ndarray], output=None, *, key=None,
                 temperature: float = 1.0, index: int = 0,
                 class_names: Sequence[str] | None = None, y=None, max_channels: int = 8,
                 layers: Sequence[str] | None = None, fig: Figure | None = None):
        self.x = check_array(inputs, "inputs", min_samples=1, dtype=np.float32)
        if self.x.ndim < 2:
            raise ValueError(f"inputs must be an array of samples (n, ...), got shape "
                             f"{self.x.shape}.")
        self.key = None if key is None else check_array(key, "key", ndim=2, integer=True)
        self.temperature = check_number(temperature, "temperature", minimum=0.0, min_open=True)
        self.max_channels = check_int(max_channels, "max_channels", minimum=1)
        self.y = None if y is None else check_array(y, "y", min_samples=1)
        if self.y is not None:
            check_same_length(self.x, self.y, ("inputs", "y"))
        if class_names is not None:
            if isinstance(class_names, str) or not isinstance(class_names, Sequence):
                raise TypeError(f"class_names must be a sequence of names, got "
                                f"{describe(class_names)}.")
            class_names = [str(c) for c in class_names]
            if self.key is not None and len(class_names) != self.key.shape[0]:
                raise ValueError(f"class_names has {len(class_names)} names but the key "
                                 f"decodes {self.key.shape[0]} classes.")
        self.class_names = class_names
        self.spikes, self.output = self._checked(spikes, output)
        self.code_name = list(self.spikes)[-1]
        self.layer_names = self._select(layers)
        i = self._check_index(index)
        rec, out, code = self._sample(i)
        self.kind = self._output_kind(out, code)
        self._build(fig, rec, out, code)
        # the mosaic's legend only where a shown layer is drawn as one
        conv = any(_is_mosaic(rec[name]) for name in self.layer_names)
        self.figure.supxlabel(_LEGEND + (_CONV_LEGEND if conv else ""), fontsize=TEXT_SIZE,
                              color="#222222")
        self.update(i)

    # -- data ------------------------------------------------------------------------
    def _checked(self, spikes, output):
        if not isinstance(spikes, Mapping):
            raise TypeError(f"spikes must be the dict spikes.record() returns "
                            f"({{layer name: array}}), got {describe(spikes)}.")
        if not spikes:
            raise ValueError("spikes must hold at least one layer, got an empty dict.")
        checked = {}
        for name, a in spikes.items():
            a = check_array(a, f"spikes[{name!r}]", min_samples=1)
            if a.ndim < 2 or a[0].size == 0:
                raise ValueError(f"spikes[{name!r}] must have shape (samples, neurons...) "
                                 f"with at least one neuron, got {a.shape}.")
            check_same_length(self.x, a, ("inputs", f"spikes[{name!r}]"))
            checked[str(name)] = a
        return checked, self._check_output(output)

    def _check_output(self, output):
        if output is None:
            return None
        output = check_array(output, "output", min_samples=1)
        check_same_length(self.x, output, ("inputs", "output"))
        return output

    def _select(self, layers) -> list[str]:
        names = list(self.spikes)
        if layers is None:
            return names
        if isinstance(layers, str):
            layers = [layers]
        unknown = [n for n in layers if n not in names]
        if unknown:
            raise ValueError(f"layers {unknown} are not in spikes; its layers are {names}.")
        return [n for n in names if n in set(layers)]

    def _check_index(self, index) -> int:
        n = len(self.x)
        return check_int(index, "index", minimum=-n, maximum=n - 1) % n

    def _sample(self, i: int):
        """``({layer: spikes}, output, output code)`` of sample ``i``.

        The output code (the last layer of the recording, for the class panel) is kept even
        when ``layers`` leaves that layer out of the picture.
        """
        code = self.spikes[self.code_name][i]
        if self.output is not None:
            out = self.output[i]
        elif self.key is not None:
            self._check_code(code)
            out = decoder_probabilities(code, self.key, self.temperature)
        else:
            out = None
        return {n: self.spikes[n][i] for n in self.layer_names}, out, code

    def _check_code(self, code: np.ndarray) -> None:
        width = self.key.shape[1]
        if code.shape[-1] != width:
            raise ValueError(
                f"the last layer of spikes ({self.code_name!r}, {code.shape[-1]} neurons per "
                f"position) must be the output code, {width} neurons wide like the key: pass "
                "the recording of every spiking layer."
            )

    def _output_kind(self, out, code) -> str:
        if out is None:
            return "none"
        if self.key is None:
            return "image"
        classes = self.key.shape[0]
        if out.ndim not in (1, 3) or out.shape[-1] != classes:
            raise ValueError(f"output must hold the probabilities of the key's {classes} "
                             f"classes per sample, (n, {classes}) or (n, h, w, {classes}); "
                             f"got per-sample shape {out.shape}.")
        self._check_code(code)
        if out.ndim == 1 and code.ndim != 1:
            raise ValueError(f"the output code {self.code_name!r} must be one vector per "
                             f"sample, got per-sample shape {code.shape}.")
        return "classes" if out.ndim == 1 else "mask"

    # -- drawing ---------------------------------------------------------------------
    def _build(self, fig, rec, out, code):
        names = list(rec)
        rows = -(-len(names) // _PER_ROW) if names else 0
        n_out = {"none": 0, "classes": 2}.get(self.kind, 2 if self.y is not None else 1)
        legend = self.kind == "mask"
        self.figure = target_fig(fig, (OVERVIEW_WIDTH, 2.25 * rows + 2.55))
        if rows:
            top, bottom = self.figure.subfigures(2, 1, height_ratios=[2.25 * rows, 2.55])
        else:
            top, bottom = None, self.figure
        ratios = [1.0] + ([1.7, 1.7] if self.kind == "classes" else [1.0] * n_out)
        ratios += [0.8] if legend else []
        grid = bottom.add_gridspec(1, len(ratios), width_ratios=ratios)
        # Axes in reading order (input, layers, outputs): figure.axes lists them so.
        self.input_ax = bottom.add_subplot(grid[0, 0])
        layer_axes = []
        if rows:
            cols = min(len(names), _PER_ROW)
            layer_grid = top.add_gridspec(rows, cols)
            layer_axes = [top.add_subplot(layer_grid[k // cols, k % cols])
                          for k in range(len(names))]
        axes = [self.input_ax] + [bottom.add_subplot(grid[0, k]) for k in range(1, len(ratios))]
        self.layer_axes = dict(zip(names, layer_axes, strict=True))
        self.out_axes = list(axes[1: 1 + n_out])
        self.input_im = self.input_ax.imshow(as_image(self.x[0]), cmap=INPUT_CMAP,
                                             vmin=0.0, vmax=1.0, interpolation="nearest")
        bare(self.input_ax)
        self.layer_ims = {}
        self._note_texts = {}
        for name in names:
            ax = self.layer_axes[name]
            self.layer_ims[name] = spike_image(ax, self._layer_image(rec[name]))
            bare(ax)
            self._note_texts[name] = ax.text(0.5, -0.04, " ", transform=ax.transAxes,
                                              ha="center", va="top", fontsize=TEXT_SIZE)
        if self.kind == "classes":
            self._build_classes(code, out)
        elif self.kind != "none":
            self._build_image_output(out)
        if legend:
            self._build_mask_key(axes[-1], out.shape[-1])
        for ax in self.figure.axes:
            ax.title.set_fontsize(TEXT_SIZE + 1)
            ax.tick_params(labelsize=TEXT_SIZE)
            ax.xaxis.label.set_fontsize(TEXT_SIZE)
            ax.yaxis.label.set_fontsize(TEXT_SIZE)

    def _build_mask_key(self, ax, classes: int) -> None:
        cmap, _ = class_colors(classes)
        names = self.class_names or [str(c) for c in range(classes)]
        if len(names) != classes:
            raise ValueError(f"class_names has {len(names)} names but the output has "
                             f"{classes} classes per pixel.")
        ax.axis("off")
        handles = [Patch(facecolor=cmap(c), edgecolor="#222222", label=str(nm))
                   for c, nm in enumerate(names)]
        ax.legend(handles=handles, loc="center left", fontsize=TEXT_SIZE, title="class",
                  title_fontsize=TEXT_SIZE + 1, frameon=False, labelcolor="#111111")

    def _layer_image(self, a: np.ndarray) -> np.ndarray:
        if _is_mosaic(a):
            return mosaic(a, self.max_channels)
        return as_grid(a.ravel())

    def _code_grid(self, code: np.ndarray) -> np.ndarray:
        n = int(self.key.sum(axis=1).max())
        grid = np.full((self.key.shape[0], n), np.nan)
        for c, row in enumerate(self.key):
            grid[c, : row.sum()] = code[row == 1]
        return grid

    def _names(self) -> list[str]:
        return self.class_names or [str(c) for c in range(self.key.shape[0])]

    def _build_classes(self, code, probs):
        code_ax, prob_ax = self.out_axes
        self.code_im = spike_image(code_ax, self._code_grid(code), aspect="auto")
        code_ax.set_yticks(range(self.key.shape[0]), self._names())
        code_ax.set_xticks([])
        code_ax.set_ylabel("class")
        code_ax.set_xlabel("row c: the output neurons the key\ngives class c (black = fired)")
        code_ax.set_title("output code, grouped by the key")
        ticks = np.arange(self.key.shape[0])
        self.bars = prob_ax.barh(ticks, probs, color=_BAR_COLOR)
        prob_ax.set_yticks(ticks, self._names())
        prob_ax.invert_yaxis()
        prob_ax.set(xlim=(0, 1), xlabel="probability", ylabel="class")

    def _mask_image(self, out):
        return np.argmax(out, axis=-1) if self.kind == "mask" else as_image(out)

    def _build_image_output(self, out):
        ax = self.out_axes[0]
        cmap, norm = class_colors(out.shape[-1]) if self.kind == "mask" else (None, None)
        if self.kind == "mask":
            self.out_im = ax.imshow(self._mask_image(out), cmap=cmap, norm=norm,
                                    interpolation="nearest")
            ax.set_title("predicted classes")
        else:
            self.out_im = ax.imshow(self._mask_image(out), cmap=INPUT_CMAP, vmin=0, vmax=1,
                                    interpolation="nearest")
            ax.set_title("output")
        bare(ax)
        if self.y is not None:
            tax = self.out_axes[1]
            if self.kind == "mask":
                self.target_im = tax.imshow(self.y[0], cmap=cmap, norm=norm,
                                            interpolation="nearest")
                tax.set_title("true classes")
            else:
                self.target_im = tax.imshow(as_image(self.y[0]), cmap=INPUT_CMAP, vmin=0,
                                            vmax=1, interpolation="nearest")
                tax.set_title("target")
            bare(tax)

    def _label(self, i: int) -> str:
        if self.y is None or self.kind != "classes":
            return ""
        label = self.y[i]
        label = int(np.argmax(label)) if np.ndim(label) else int(label)
        names = self._names()
        return f" (label {names[label] if 0 <= label < len(names) else label})"

    def update(self, index: int = 0, *, spikes: Mapping[str, np.ndarray] | None = None,
               output=None) -> None:
        """Show sample ``index``, optionally of a new recording of the same inputs.

        Args:
            index: which sample to show.
            spikes: a new recording of ``inputs`` (same layers); its ``output`` replaces the
                old one too (None: decode the new spikes with the key).
            output: the model's output for the new recording (alone: replaces the output).
        """
        if spikes is not None:
            new_spikes, new_output = self._checked(spikes, output)
            missing = [n for n in self.spikes if n not in new_spikes]
            if missing:
                raise ValueError(f"spikes lacks the layers {missing}; pass a recording of the "
                                 "same layers as before.")
            if new_output is None and self.kind == "image":
                raise ValueError("output is needed with new spikes: this view shows the "
                                 "model's output, which cannot be decoded from spikes.")
            self.spikes, self.output = new_spikes, new_output
        elif output is not None:
            self.output = self._check_output(output)
        i = self._check_index(index)
        rec, out, code = self._sample(i)
        self.index = i
        self.input_im.set_data(as_image(self.x[i]))
        self.input_ax.set_title(f"input #{i}{self._label(i)}", fontsize=TEXT_SIZE + 1)
        for name, a in rec.items():
            self.layer_ims[name].set_data(self._layer_image(a))
            # The name and channels never change (drawn once); the spike count below does.
            ax = self.layer_axes[name]
            ax.set_title(self._layer_title(name, a), fontsize=TEXT_SIZE + 1)
            self._note_texts[name].set_text(f"{binary_note(a)}s")
        if self.kind == "classes":
            self.code_im.set_data(self._code_grid(code))
            winner = self._winner = int(np.argmax(out))
            for c, bar in enumerate(self.bars):  # mark() colours the winner right or wrong
                bar.set_width(float(out[c]))
                bar.set_color(_DECIDED if c == winner else _BAR_COLOR)
            self.out_axes[1].set_title(f"decoded: {self._names()[winner]}", color="black",
                                        fontsize=TEXT_SIZE + 1)
        elif self.kind != "none":
            self.out_im.set_data(self._mask_image(out))
            if self.y is not None:
                self.target_im.set_data(self.y[i] if self.kind == "mask"
                                        else as_image(self.y[i]))

    def _layer_title(self, name: str, a: np.ndarray) -> str:
        if _is_mosaic(a):
            k, c = min(a.shape[-1], self.max_channels), a.shape[-1]
            return f"{name}\n" + (f"channels 1–{k} of {c}" if k < c else f"all {c} channels")
        return name

    def layer_notes(self) -> dict[str, str]:
        """``{layer: "k of n spikes" or "p% in ramps"}`` as shown under each layer."""
        return {n: t.get_text() for n, t in self._note_texts.items()}

    @property
    def verdict_ax(self):
        """The panel :meth:`mark` titles: the class probabilities, or the model's output."""
        if not self.out_axes:
            raise ValueError("this overview has no output panel to mark.")
        return self.out_axes[1] if self.kind == "classes" else self.out_axes[0]

    def mark(self, text: str, good: bool | None = None) -> None:
        """Title the last output panel with a verdict on the sample shown.

        Args:
            text: e.g. ``"decoded: 8, wrong (label 7)"`` or ``"predicted, IoU 0.71"``.
            good: True draws it (and a decoded class's bar) green, False red, None black.
        """
        color = "black" if good is None else (GOOD if good else ACCENT)
        if self.kind == "classes":
            self.bars[self._winner].set_color(_DECIDED if good is None else color)
        self.verdict_ax.set_title(str(text), color=color, fontsize=TEXT_SIZE + 1)

    def dynamic_artists(self) -> list:
        """The artists :meth:`update` changes (for :class:`~whetstone_lab.plots.BlitRenderer`)."""
        images = [self.input_im, *self.layer_ims.values()]
        titles = [self.input_ax.title, *self._note_texts.values()]
        extra = []
        titles += [ax.title for ax in self.out_axes]
        if self.kind == "classes":
            images.append(self.code_im)
            extra = list(self.bars)
        elif self.kind != "none":
            images += [self.out_im] + ([self.target_im] if self.y is not None else [])
        # An image covers its axes' frame, so the frame is redrawn after it.
        frames = [sp for im in images for sp in im.axes.spines.values()]
        return [*images, *frames, *titles, *extra]

    def spike_images(self) -> dict[str, np.ndarray]:
        """The arrays currently shown for each spiking layer (NaN marks gaps)."""
        shown = {n: np.asarray(im.get_array()) for n, im in self.layer_ims.items()}
        if self.kind == "classes":
            shown["output code"] = np.asarray(self.code_im.get_array())
        return shown


def network_overview(inputs, spikes: Mapping[str, np.ndarray], output=None, *, key=None,
                     temperature: float = 1.0, index: int = 0,
                     class_names: Sequence[str] | None = None, fig: Figure | None = None,
                     **kwargs) -> Figure:
    """One input through the whole network, from a recording: input, spikes, output, class.

    See :class:`NetworkOverview` for the panels and the other keyword arguments
    (``y``, ``max_channels``, ``layers``). To record a model and draw it in one call, use
    :func:`whetstone_lab.widgets.network_overview`.

    Example:
        >>> rec, out = spikes.record_with_output(model, data.x_test)
        >>> fig = network_overview(data.x_test, rec, out, key=spikes.find_key(model),
        ...                        index=3, class_names=data.class_names)
    """
    return NetworkOverview(inputs, spikes, output, key=key, temperature=temperature,
                           index=index, class_names=class_names, fig=fig, **kwargs).figure
