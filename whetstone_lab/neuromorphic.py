"""Deploying a fully sharp network as threshold neurons (DESIGN.md §1.4).

* :func:`to_spiking` turns a fully sharp Keras model into a :class:`SpikingNetwork`: plain
  threshold neurons that fire iff ``W·x + b >= θ`` (θ = 0.5 for SpikingBReLU, 0 for
  SpikingSigmoid), max-pooling as an OR over spikes, BatchNorm folded away.
* :meth:`SpikingNetwork.run` evaluates it event-driven (after the first layer only the
  inputs that spiked are touched) and counts spikes, synaptic operations and the
  multiply–accumulates a dense float network of the same shape would need.
* :func:`export_nir` writes the network as a NIR graph, :func:`run_nir` executes such a
  graph in NumPy.

Both give exactly the spikes of Keras' ``predict``, layer by layer, ties at the threshold
included; :class:`SpikingNetwork` explains how.

Example:
    >>> net = to_spiking(model)                 # model trained fully sharp
    >>> result = net.run(x_test)
    >>> (result.classes == y_test).mean()
    >>> result.summary()
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import keras
import numpy as np
from scipy import sparse

from .layers import SHARP_TOLERANCE, SoftmaxDecode, SpikingActivation, SpikingSigmoid
from .layers import decode as _decode

__all__ = [
    "LayerCounts",
    "SpikingResult",
    "SpikingNetwork",
    "NirResult",
    "to_spiking",
    "keras_spikes",
    "export_nir",
    "run_nir",
]

_U32 = 2.0**-24  # unit roundoff of float32
_DENSE_ROWS_LIMIT = 2**22  # unrolled conv matrices up to 32 MB are stored dense
_SUPPORTED = ("Dense, Conv2D, MaxPooling2D, Flatten, BatchNormalization (folded), Dropout, "
              "SpikingBReLU, SpikingSigmoid, SoftmaxDecode")


# ----------------------------------------------------------------------------------------
# Small numeric helpers
# ----------------------------------------------------------------------------------------
def _lowest_bit(values: np.ndarray) -> float:
    """The largest power of two that divides every non-zero float32 in ``values`` (inf if none)."""
    v = np.abs(np.asarray(values, np.float32)).ravel().astype(np.float64)
    v = v[v > 0]
    if v.size == 0:
        return math.inf
    mant, exp = np.frexp(v)  # v = mant · 2^exp with mant in [0.5, 1)
    ints = (mant * 2.0**24).astype(np.int64)  # a float32 mantissa is a 24-bit integer
    trailing = np.log2((ints & -ints).astype(np.float64)).astype(np.int64)
    return float(2.0 ** np.min(exp - 24 + trailing))


def _gamma(n: np.ndarray) -> np.ndarray:
    """Higham's γ_n = n·u / (1 − n·u): the float32 error bound of an n-term sum in any order."""
    nu = n * _U32
    return nu / (1.0 - nu)


def _same_pads(size: int, kernel: int, stride: int, dilation: int) -> tuple[int, int, int]:
    """Keras/TF 'same' padding: (output size, pad before, pad after)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return out, total // 2, total - total // 2


def _valid_out(size: int, kernel: int, stride: int, dilation: int) -> int:
    return (size - (kernel - 1) * dilation - 1) // stride + 1


def _uncertain(v, mass, events, threshold, grid: float) -> np.ndarray:
    """Decisions ``v >= threshold`` that float32 rounding could flip (shapes (n, neurons)).

    ``v`` is the float64 pre-activation, ``mass`` = Σ|w·x| + |b|, ``events`` the non-zero
    inputs per sample. Any float32 summation order (Keras) and our float64 sum lie within
    ``bound`` of the exact value; a decision is also exact when every term and partial sum
    lies on a float32 grid of spacing ``grid``.
    """
    terms = events + 2.0
    bound = (_gamma(terms) + terms * 2.0**-52)[:, None] * mass
    uncertain = np.abs(v - threshold) <= bound
    if uncertain.any():
        uncertain &= ~(mass <= 2.0**24 * grid)
    return uncertain


def _resolve_chunks(fired, uncertain, step: int, compute, threshold) -> None:
    """Replace near-tie decisions by float32 ones, computed chunk by chunk like predict."""
    rows = np.flatnonzero(uncertain.any(axis=1))
    for start in sorted({int(r) // step * step for r in rows}):
        stop = start + step
        pre = np.asarray(compute(start, stop), np.float32).reshape(len(fired[start:stop]), -1)
        sub = uncertain[start:stop]
        fired[start:stop][sub] = (pre >= threshold)[sub]


# ----------------------------------------------------------------------------------------
# The network's stages
# ----------------------------------------------------------------------------------------
@dataclass
class _Synapses:
    """A Dense or Conv2D layer followed by its threshold neurons."""

    name: str  # the Keras spiking layer's name (the key of its spikes)
    linear_name: str
    kind: str  # "dense" or "conv2d"
    kernel: np.ndarray  # Keras layout, float32
    bias: np.ndarray  # float32
    threshold: float
    in_shape: tuple[int, ...]  # one sample, Keras layout (HWC or (features,))
    out_shape: tuple[int, ...]
    strides: tuple[int, int] = (1, 1)
    padding: str = "valid"
    dilation: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, bottom, left, right
    keras_layer: object = None  # the linear Keras layer, for resolving near-ties
    matrix: object = None  # (inputs, outputs) float64: ndarray (dense) or CSR (conv)
    abs_matrix: object = None
    fan_out: np.ndarray | None = None  # synapses leaving each input neuron
    bias_flat: np.ndarray | None = None  # the bias of every neuron (HWC order), float64
    grid_w: float = 0.0  # largest power of two dividing every weight
    grid_b: float = 0.0  # ... and every bias

    @property
    def dense_macs(self) -> int:
        """Connections (in-bounds taps) = multiply–accumulates of one dense evaluation."""
        return int(self.fan_out.sum())


@dataclass
class _Pool:
    """MaxPooling2D over spikes: an OR over each window."""

    name: str
    pool: tuple[int, int]
    strides: tuple[int, int]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]


@dataclass
class _Flatten:
    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


def _dense_unrolled(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return kernel.astype(np.float64), np.full(kernel.shape[0], kernel.shape[1], np.int64)


def _conv_unrolled(stage: _Synapses) -> tuple[sparse.csr_matrix, np.ndarray]:
    """The convolution as an (H·W·Cin, Ho·Wo·Cout) sparse matrix in HWC order.

    Row ``i`` lists the fan-out of input neuron ``i``: every output it reaches, with the
    kernel weight of that tap (zero-valued weights stay as explicit entries, so the
    structure is the true connectivity).
    """
    h_in, w_in, c_in = stage.in_shape
    h_out, w_out, c_out = stage.out_shape
    kh, kw = stage.kernel.shape[:2]
    (sh, sw), (dh, dw) = stage.strides, stage.dilation
    top, _, left, _ = stage.pads
    rows, cols, vals = [], [], []
    oi, oj = np.meshgrid(np.arange(h_out), np.arange(w_out), indexing="ij")
    for di in range(kh):
        for dj in range(kw):
            hi = oi * sh - top + di * dh
            wj = oj * sw - left + dj * dw
            ok = (hi >= 0) & (hi < h_in) & (wj >= 0) & (wj < w_in)
            src = (hi[ok] * w_in + wj[ok])[:, None, None] * c_in + np.arange(c_in)[None, :, None]
            dst = (oi[ok] * w_out + oj[ok])[:, None, None] * c_out + np.arange(c_out)[None, None]
            src, dst = np.broadcast_arrays(src, dst)
            rows.append(src.ravel())
            cols.append(dst.ravel())
            vals.append(np.broadcast_to(stage.kernel[di, dj], src.shape).ravel())
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    shape = (h_in * w_in * c_in, h_out * w_out * c_out)
    # Built from (data, indices, indptr) by hand so explicit zeros are never dropped.
    order = np.lexsort((cols, rows))
    indptr = np.zeros(shape[0] + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    matrix = sparse.csr_matrix(
        (vals[order].astype(np.float64), cols[order], indptr), shape=shape
    )
    return matrix, np.diff(indptr)


# ----------------------------------------------------------------------------------------
# Results
# ----------------------------------------------------------------------------------------
@dataclass
class LayerCounts:
    """Per-inference activity of one layer of threshold neurons (means over the batch).

    Attributes:
        name: the Keras spiking layer's name.
        kind: ``"dense"`` or ``"conv2d"``.
        neurons: number of neurons in the layer.
        input_events: non-zero inputs it received (spikes, or non-zero pixels for the first
            layer).
        spikes: neurons that fired.
        synops: synaptic operations: each input spike times its fan-out, counted in the
            event-driven run (for the first layer, whose inputs are real values, the
            multiply–accumulates of its non-zero inputs).
        dense_macs: multiply–accumulates of the same layer with dense float activations
            (every in-bounds connection once).
        event_driven: False for the first layer (real-valued inputs).
    """

    name: str
    kind: str
    neurons: int
    input_events: float
    spikes: float
    synops: float
    dense_macs: int
    event_driven: bool


@dataclass
class SpikingResult:
    """What :meth:`SpikingNetwork.run` returns.

    Attributes:
        spikes: every layer's spikes in input-to-output order, keyed by the Keras layer's
            name (spiking layers and the max-pooling ORs), ``uint8`` arrays of shape
            ``(n, *layer_shape)`` in Keras layout.
        output: the last spiking layer's spikes, shape ``(n, width)``.
        classes: decoded class indices (nearest codeword of the N-hot key), or None when
            the model has no :class:`~whetstone_lab.layers.SoftmaxDecode`.
        spike_counts / synops: per-sample counts (``int64``, shape ``(n,)``) per layer.
        counts: per-layer means, see :class:`LayerCounts`.
        near_ties: per layer, how many neuron decisions were too close to the threshold
            to be certified by the float32 error bound and were resolved with the Keras
            layer's own float32 op (normally 0).
    """

    spikes: dict[str, np.ndarray]
    output: np.ndarray
    classes: np.ndarray | None
    spike_counts: dict[str, np.ndarray]
    synops: dict[str, np.ndarray]
    counts: list[LayerCounts]
    near_ties: dict[str, int]

    @property
    def total_synops(self) -> float:
        """Mean operations per inference: first-layer MACs plus later synaptic events."""
        return float(sum(c.synops for c in self.counts))

    @property
    def total_dense_macs(self) -> int:
        return int(sum(c.dense_macs for c in self.counts))

    def summary(self, print_fn=print) -> str:
        """A table of spikes, synaptic operations and dense MACs per inference.

        Returns the table and prints it with ``print_fn`` (pass ``None`` to only return it).
        """
        head = (f"{'layer':<16}{'kind':<8}{'neurons':>8}{'in events':>11}{'spikes':>9}"
                f"{'synops':>11}{'dense MACs':>12}{'ratio':>8}")
        lines = [head, "-" * len(head)]
        for c in self.counts:
            ratio = c.synops / c.dense_macs if c.dense_macs else float("nan")
            mark = "" if c.event_driven else "*"
            lines.append(f"{c.name + mark:<16}{c.kind:<8}{c.neurons:>8}{c.input_events:>11.1f}"
                         f"{c.spikes:>9.1f}{c.synops:>11.1f}{c.dense_macs:>12}{ratio:>8.3f}")
        lines.append("-" * len(head))
        total = self.total_synops / self.total_dense_macs
        lines.append(f"{'total':<32}{'':>11}{sum(c.spikes for c in self.counts):>9.1f}"
                     f"{self.total_synops:>11.1f}{self.total_dense_macs:>12}{total:>8.3f}")
        lines.append("* real-valued input: multiply–accumulates of its non-zero inputs. "
                     "Means per inference.")
        table = "\n".join(lines)
        if print_fn is not None:
            print_fn(table)
        return table


# ----------------------------------------------------------------------------------------
# The simulator
# ----------------------------------------------------------------------------------------
class SpikingNetwork:
    """A fully sharp Whetstone network as plain threshold neurons, evaluated event-driven.

    Build it with :func:`to_spiking`. Every neuron fires iff ``Σ w·x + b >= θ``; max-pooling
    is an OR; the output spikes are decoded with the model's N-hot key.

    How exactness is achieved. Keras computes each pre-activation in float32, and the
    result depends on the summation order of its kernels, which changes with the batch
    size (a 1-ulp difference can flip a neuron sitting at the threshold). The simulator
    computes every pre-activation in float64 (as a gather-and-add over the active inputs)
    and certifies each decision with a rigorous bound on *any* float32 evaluation order:
    ``|fl32 − exact| <= γ_{k+2}·(Σ|w·x| + |b|)`` with ``k`` the sample's non-zero inputs
    and ``γ_n = n·u/(1 − n·u)``, ``u = 2⁻²⁴``. A decision whose margin ``|v − θ|`` exceeds
    the bound is the one Keras makes, whatever its batch size. A decision is also certain
    when every weight, bias and input lies on a common power-of-two grid small enough that
    float32 sums are exact (hand-set weights: exact ties at 0.5 fire, as in Keras). The rare
    remaining "near-ties" are resolved by running the Keras layer's own float32 op on the
    same chunk of ``batch_size`` samples that ``model.predict(x, batch_size=...)`` would
    use, so the result equals ``predict`` spike for spike; their number is reported in
    :attr:`SpikingResult.near_ties`.

    Measured on the 360 digits test images (``benchmarks/spiking_inference.py``): the dense
    64-256-64-100 network makes 151,200 spike decisions, none of them a near-tie; the conv
    network (32-64 filters, 128, 100; BatchNorm folded) makes 1,464,480, of which 58 are
    near-ties. Every spike of every layer equals ``predict``'s, and so do the spikes of
    :func:`run_nir` on the exported graph, which resolves near-ties the same way.

    Attributes:
        stages: the network's layers (synapses + neurons, pools, flattens) in order.
        key: the N-hot key, or None.
        source: the Keras model it was built from (BatchNorm folded, if there was any).
        batch_size: chunk size of the Keras evaluation that near-ties are resolved against.
    """

    def __init__(self, stages, key, source, input_shape, batch_size: int | None = 32):
        self.stages = stages
        self.key = None if key is None else np.asarray(key, np.int8)
        self.source = source
        self.input_shape = tuple(input_shape)
        self.batch_size = batch_size
        for stage in self._synapses():
            if stage.kind == "dense":
                stage.matrix, stage.fan_out = _dense_unrolled(stage.kernel)
            else:
                stage.matrix, stage.fan_out = _conv_unrolled(stage)
                if np.prod(stage.matrix.shape) <= _DENSE_ROWS_LIMIT:
                    # Gathering whole dense rows (zeros included) beats SciPy's
                    # sparse × sparse product by ~6× at lesson sizes; counts use fan_out.
                    stage.matrix = stage.matrix.toarray()
            stage.abs_matrix = abs(stage.matrix)
            stage.bias_flat = np.tile(stage.bias.astype(np.float64),
                                      int(np.prod(stage.out_shape[:-1])))
            stage.grid_w, stage.grid_b = _lowest_bit(stage.kernel), _lowest_bit(stage.bias)

    def _synapses(self) -> list[_Synapses]:
        return [s for s in self.stages if isinstance(s, _Synapses)]

    @property
    def layer_names(self) -> list[str]:
        """Names of the recorded layers (spiking layers and pooling ORs), in order."""
        return [s.name for s in self.stages if not isinstance(s, _Flatten)]

    def __repr__(self) -> str:
        parts = [f"{s.name}({type(s).__name__.strip('_').lower()})" for s in self.stages]
        return f"SpikingNetwork({' → '.join(parts)})"

    # -- running ---------------------------------------------------------------------
    def _check_input(self, x) -> np.ndarray:
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)
                                       or arr.dtype == bool):
            raise TypeError(f"x must be a numeric array, got dtype {arr.dtype}.")
        if arr.shape[1:] != self.input_shape:
            raise ValueError(
                f"x must have shape (n, {', '.join(map(str, self.input_shape))}) like the "
                f"model's input, got {arr.shape}."
            )
        # Keras casts its inputs to float32 first; so do we.
        return arr.astype(np.float32)

    def run(self, x, *, batch_size: int | None | str = "default") -> SpikingResult:
        """Run the network on a batch, event-driven, recording every layer's spikes.

        Args:
            x: inputs of shape ``(n, *input_shape)`` in Keras layout (e.g. NHWC).
            batch_size: chunk size of the Keras evaluation near-ties are resolved against
                (``model.predict``'s ``batch_size``; None: one call on the whole batch).
                Defaults to the network's ``batch_size``.

        Returns:
            A :class:`SpikingResult`.

        Example:
            >>> result = net.run(data.x_test)
            >>> result.spikes["spikes_0"].mean()   # firing rate of the first layer
        """
        if batch_size == "default":
            batch_size = self.batch_size
        xs = self._check_input(x)
        n = xs.shape[0]
        a = xs.reshape(n, -1)  # current activity, flattened in Keras (HWC) order
        shape = self.input_shape
        first = True
        spikes, spike_counts, synops, counts, near = {}, {}, {}, [], {}
        for stage in self.stages:
            if isinstance(stage, _Flatten):
                shape = stage.out_shape
                continue
            if isinstance(stage, _Pool):
                a = _or_pool(a.reshape((n, *stage.in_shape)), stage).astype(np.float32)
                a = a.reshape(n, -1)
                shape = stage.out_shape
                spikes[stage.name] = a.reshape((n, *shape)).astype(np.uint8)
                continue
            fired, events, ops, ties = self._fire(stage, a, first, batch_size)
            a = fired.astype(np.float32)
            shape = stage.out_shape
            spikes[stage.name] = fired.reshape((n, *shape)).astype(np.uint8)
            spike_counts[stage.name] = fired.sum(axis=1).astype(np.int64)
            synops[stage.name] = ops
            near[stage.name] = ties
            counts.append(LayerCounts(
                name=stage.name, kind=stage.kind, neurons=int(np.prod(shape)),
                input_events=float(events.mean()) if n else 0.0,
                spikes=float(spike_counts[stage.name].mean()) if n else 0.0,
                synops=float(ops.mean()) if n else 0.0,
                dense_macs=stage.dense_macs, event_driven=not first,
            ))
            first = False
        output = spikes[self._synapses()[-1].name].reshape(n, -1)
        classes = None if self.key is None else _decode(output, self.key)
        return SpikingResult(spikes=spikes, output=output, classes=classes,
                             spike_counts=spike_counts, synops=synops, counts=counts,
                             near_ties=near)

    def _fire(self, stage: _Synapses, a: np.ndarray, first: bool, batch_size):
        """Threshold one layer: (spikes, input events, synaptic ops, near-ties resolved)."""
        active = sparse.csr_matrix(a.astype(np.float64))  # only non-zero inputs are touched
        # Event-driven: each active input adds its row of weights (its fan-out) to the
        # targets; for spikes (0/1) the product is a pure gather-and-add.
        v = _product(active, stage.matrix) + stage.bias_flat
        mass = _product(abs(active), stage.abs_matrix) + np.abs(stage.bias_flat)
        events = np.diff(active.indptr).astype(np.int64)
        ops = active.astype(bool).astype(np.int64) @ stage.fan_out
        grid = min(stage.grid_w * (_lowest_bit(a) if first else 1.0), stage.grid_b)
        uncertain = _uncertain(v, mass, events, stage.threshold, grid)
        # Rounded once to float32: outside the bound this cannot change a decision, and at a
        # near-tie without a Keras layer it is the correctly rounded float32 value.
        fired = v.astype(np.float32) >= np.float32(stage.threshold)
        ties = int(uncertain.sum())
        if ties and stage.keras_layer is not None:
            # The Keras layer's own float32 op, on the chunks predict(batch_size) uses.
            def compute(start, stop):
                chunk = a[start:stop].reshape((-1, *stage.in_shape))
                return keras.ops.convert_to_numpy(stage.keras_layer(chunk))

            _resolve_chunks(fired, uncertain, batch_size or len(a), compute,
                            np.float32(stage.threshold))
        return fired, events, ops, ties

    def predict(self, x) -> np.ndarray:
        """Decoded class indices for ``x`` (needs an N-hot key)."""
        if self.key is None:
            raise ValueError("this network has no SoftmaxDecode layer, so there are no "
                             "classes to decode; use run(x).output for the spikes.")
        return self.run(x).classes

    def summary(self, x, print_fn=print) -> str:
        """Run on ``x`` and return (and print) the table of per-inference counts."""
        return self.run(x).summary(print_fn=print_fn)


def _product(active: sparse.csr_matrix, matrix) -> np.ndarray:
    out = active @ matrix
    return out.toarray() if sparse.issparse(out) else np.asarray(out)


def _or_pool(spikes: np.ndarray, stage: _Pool) -> np.ndarray:
    """OR over each pooling window of (n, H, W, C) spikes (= max-pooling for 0/1)."""
    (ph, pw), (sh, sw) = stage.pool, stage.strides
    ho, wo, _ = stage.out_shape
    out = np.zeros((spikes.shape[0], *stage.out_shape), dtype=bool)
    for di in range(ph):
        for dj in range(pw):
            out |= spikes[:, di:di + sh * (ho - 1) + 1:sh, dj:dj + sw * (wo - 1) + 1:sw] > 0
    return out


# ----------------------------------------------------------------------------------------
# Conversion
# ----------------------------------------------------------------------------------------
def _chain(model: keras.Model) -> list[keras.layers.Layer]:
    layers = [ly for ly in model.layers if not isinstance(ly, keras.layers.InputLayer)]
    if isinstance(model, keras.Sequential):
        return layers
    prev = None
    for layer in layers:
        nodes = layer._inbound_nodes
        inputs = keras.tree.flatten(nodes[0].input_tensors) if len(nodes) == 1 else []
        if len(nodes) != 1 or len(inputs) != 1:
            raise ValueError(
                f"to_spiking converts chains of layers; layer {layer.name!r} is shared or has "
                f"{len(inputs)} inputs."
            )
        src = inputs[0]._keras_history.operation
        if prev is not None and src is not prev:
            raise ValueError(
                f"to_spiking converts chains of layers; layer {layer.name!r} does not take "
                f"the output of {prev.name!r}, the layer before it."
            )
        prev = layer
    return layers


def _check_layers(layers) -> None:
    bad = [ly for ly in layers if not isinstance(ly, (
        keras.layers.Dense, keras.layers.Conv2D, keras.layers.MaxPooling2D,
        keras.layers.Flatten, keras.layers.BatchNormalization, keras.layers.Dropout,
        SpikingActivation, SoftmaxDecode))]
    bad += [ly for ly in layers if isinstance(ly, keras.layers.Conv2D)
            and type(ly) is not keras.layers.Conv2D]  # e.g. Conv2DTranspose, depthwise
    if bad:
        listed = ", ".join(f"{ly.name!r} ({type(ly).__name__})" for ly in bad)
        raise ValueError(f"to_spiking cannot convert these layers: {listed}. "
                         f"Supported: {_SUPPORTED}.")
    blunt = [ly for ly in layers if isinstance(ly, SpikingActivation)
             and ly.get_sharpness() < 1.0 - SHARP_TOLERANCE]
    if blunt:
        listed = ", ".join(f"{ly.name!r} (sharpness {ly.get_sharpness():.3g})" for ly in blunt)
        raise ValueError(
            f"to_spiking needs a fully sharp model, but these spiking layers are not sharp: "
            f"{listed}. Finish sharpening (e.g. wl.SimpleSharpener) or set "
            "wl.set_sharpness(model, 1.0) and fine-tune."
        )


def _linear_stage(layer, act, in_shape) -> _Synapses:
    if layer.activation not in (None, keras.activations.linear):
        raise ValueError(
            f"layer {layer.name!r} has activation {layer.activation.__name__!r}; a threshold "
            "neuron needs a linear Dense/Conv2D followed by a spiking activation."
        )
    kernel = np.asarray(keras.ops.convert_to_numpy(layer.kernel), np.float32)
    bias = (np.asarray(keras.ops.convert_to_numpy(layer.bias), np.float32) if layer.use_bias
            else np.zeros(kernel.shape[-1], np.float32))
    threshold = 0.0 if isinstance(act, SpikingSigmoid) else 0.5
    common = dict(name=act.name, linear_name=layer.name, kernel=kernel, bias=bias,
                  threshold=threshold, in_shape=in_shape, keras_layer=layer)
    if isinstance(layer, keras.layers.Dense):
        if len(in_shape) != 1:
            raise ValueError(
                f"Dense layer {layer.name!r} receives inputs of shape {in_shape}; put a "
                "Flatten before it (only Dense on flat vectors is supported)."
            )
        return _Synapses(kind="dense", out_shape=(kernel.shape[1],), **common)
    if layer.data_format != "channels_last" or layer.groups != 1:
        raise ValueError(f"Conv2D {layer.name!r}: only channels_last with groups=1 is supported.")
    kh, kw = kernel.shape[:2]
    (sh, sw), (dh, dw) = tuple(layer.strides), tuple(layer.dilation_rate)
    h, w, _ = in_shape
    if layer.padding == "same":
        ho, top, bottom = _same_pads(h, kh, sh, dh)
        wo, left, right = _same_pads(w, kw, sw, dw)
    else:
        ho, wo = _valid_out(h, kh, sh, dh), _valid_out(w, kw, sw, dw)
        top = bottom = left = right = 0
    return _Synapses(kind="conv2d", out_shape=(ho, wo, kernel.shape[3]), strides=(sh, sw),
                     padding=layer.padding, dilation=(dh, dw),
                     pads=(top, bottom, left, right), **common)


def _pool_stage(layer, in_shape) -> _Pool:
    if layer.padding != "valid" or layer.data_format != "channels_last":
        raise ValueError(f"MaxPooling2D {layer.name!r}: only padding='valid' and "
                         "channels_last are supported.")
    (ph, pw), (sh, sw) = tuple(layer.pool_size), tuple(layer.strides)
    h, w, c = in_shape
    return _Pool(name=layer.name, pool=(ph, pw), strides=(sh, sw), in_shape=in_shape,
                 out_shape=((h - ph) // sh + 1, (w - pw) // sw + 1, c))


def _build_stages(layers, input_shape):
    stages, key = [], None
    shape, binary = tuple(input_shape), False  # binary: the current activity is spikes
    i = 0
    while i < len(layers):
        layer = layers[i]
        if key is not None:
            raise ValueError(f"SoftmaxDecode {key[0]!r} must be the last layer; "
                             f"{layer.name!r} follows it.")
        if isinstance(layer, keras.layers.Dropout):  # identity at inference
            i += 1
        elif isinstance(layer, keras.layers.Flatten):
            new = (int(np.prod(shape)),)
            stages.append(_Flatten(layer.name, shape, new))
            shape, i = new, i + 1
        elif isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D)):
            act = layers[i + 1] if i + 1 < len(layers) else None
            if not isinstance(act, SpikingActivation):
                nxt = "nothing" if act is None else repr(act.name)
                raise ValueError(
                    f"{type(layer).__name__} {layer.name!r} is followed by {nxt}; every "
                    "Dense/Conv2D must feed a spiking activation (SpikingBReLU or "
                    "SpikingSigmoid) to become threshold neurons."
                )
            stage = _linear_stage(layer, act, shape)
            stages.append(stage)
            shape, binary, i = stage.out_shape, True, i + 2
        elif isinstance(layer, keras.layers.MaxPooling2D):
            if not binary:
                raise ValueError(f"MaxPooling2D {layer.name!r} must follow a spiking layer "
                                 "(on spikes, max-pooling is an OR).")
            stage = _pool_stage(layer, shape)
            stages.append(stage)
            shape, i = stage.out_shape, i + 1
        elif isinstance(layer, SoftmaxDecode):
            if not binary or not isinstance(stages[-1], _Synapses):
                raise ValueError(f"SoftmaxDecode {layer.name!r} must directly follow a "
                                 "spiking layer.")
            key = (layer.name, layer.key)
            i += 1
        elif isinstance(layer, SpikingActivation):
            raise ValueError(f"spiking layer {layer.name!r} must directly follow a Dense or "
                             "Conv2D layer (it thresholds that layer's pre-activations).")
        else:  # pragma: no cover - _check_layers refused it already
            raise ValueError(f"cannot convert layer {layer.name!r}.")
    if not any(isinstance(s, _Synapses) for s in stages):
        raise ValueError("the model has no Dense/Conv2D + spiking layer to convert.")
    return stages, (None if key is None else key[1])


def to_spiking(model: keras.Model, *, batch_size: int | None = 32) -> SpikingNetwork:
    """Convert a fully sharp Keras model into a :class:`SpikingNetwork` of threshold neurons.

    Supported: Sequential or Functional chains of Dense, Conv2D, MaxPooling2D (after spikes:
    an OR), Flatten, Dropout (identity), BatchNormalization (folded into the layer before it
    with :func:`whetstone_lab.fold_batchnorm`), SpikingBReLU (fires iff ``W·x + b >= 0.5``)
    and SpikingSigmoid (iff ``W·x + b >= 0``) at sharpness 1, and a final SoftmaxDecode
    whose key decodes the output spikes.

    Args:
        model: a fully sharp Keras model.
        batch_size: the ``model.predict`` batch size that rare near-ties are resolved against
            (see :class:`SpikingNetwork`); None for one call on the whole batch.

    Raises:
        TypeError: if ``model`` is not a Keras model.
        ValueError: naming the layers, for layers that cannot be converted, spiking layers
            that are not fully sharp, or an arrangement that is not threshold neurons.

    Example:
        >>> net = to_spiking(model)
        >>> net.run(x).classes[:5]
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"to_spiking expects a Keras model, got {type(model).__name__}.")
    if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(
            batch_size, (int, np.integer)) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}.")
    layers = _chain(model)
    _check_layers(layers)
    if any(isinstance(ly, keras.layers.BatchNormalization) for ly in layers):
        from .models import fold_batchnorm

        model = fold_batchnorm(model)
        layers = _chain(model)
    input_shape = tuple(model.input_shape[1:])
    if any(d is None for d in input_shape):
        raise ValueError(f"the model's input shape must be fully known, got {input_shape}.")
    stages, key = _build_stages(layers, input_shape)
    return SpikingNetwork(stages, key, model, input_shape, batch_size)


def keras_spikes(model: keras.Model, x, names=None, *, batch_size: int = 32
                 ) -> dict[str, np.ndarray]:
    """The outputs of ``model``'s layers ``names`` on ``x`` via ``predict`` (the reference).

    Args:
        model: the Keras model (for a model with BatchNorm, pass ``net.source``, the folded
            model the spiking network was built from).
        x: inputs.
        names: layer names; default: every spiking and max-pooling layer.
        batch_size: ``predict``'s batch size.
    """
    if names is None:
        names = [ly.name for ly in model.layers
                 if isinstance(ly, (SpikingActivation, keras.layers.MaxPooling2D))]
    names = list(names)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, [model.get_layer(n).output for n in names])
    outs = probe.predict(np.asarray(x, np.float32), batch_size=batch_size, verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return dict(zip(names, (np.asarray(o) for o in outs), strict=True))


# ----------------------------------------------------------------------------------------
# NIR
# ----------------------------------------------------------------------------------------
def _nir():
    try:
        import nir
    except ImportError as err:  # pragma: no cover - nir is installed with the test extra
        raise ImportError("NIR export needs the 'nir' package: "
                          "pip install whetstone_lab[nir]") from err
    return nir


def _chw(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def _hwc_to_chw_perm(shape: tuple[int, int, int]) -> np.ndarray:
    """``perm[j]`` = the HWC-flat index of the element at CHW-flat index ``j``."""
    return np.arange(int(np.prod(shape))).reshape(shape).transpose(2, 0, 1).ravel()


def _nir_threshold(value: float, shape) -> np.ndarray:
    # NIR fires on v > threshold; the largest float32 below θ makes that v >= θ.
    below = np.nextafter(np.float32(value), np.float32(-np.inf), dtype=np.float32)
    return np.full(shape, below, dtype=np.float32)


def _conv_padding(stage: _Synapses):
    top, bottom, left, right = stage.pads
    if top == bottom and left == right:
        return (top, left)
    if stage.strides == (1, 1):
        return "same"  # asymmetric (even kernel): extra row/column after, as in Keras
    raise ValueError(f"Conv2D {stage.linear_name!r}: strided 'same' padding with uneven "
                     "pads has no NIR equivalent.")


def export_nir(model, path: str | os.PathLike | None = None):
    """Write a fully sharp model (or a :class:`SpikingNetwork`) as a NIR graph.

    The graph is ``Input → Affine/Conv2d → Threshold → … → Output`` in NIR's channels-first
    layout: Dense kernels ``(in, out)`` become Affine weights ``(out, in)``; Conv2D kernels
    ``(kh, kw, cin, cout)`` become ``(cout, cin, kh, kw)``; a Flatten becomes ``nir.Flatten``
    of the CHW tensor, and the next Affine's columns are permuted from Keras' HWC order to
    CHW accordingly. NIR's Threshold is strict (``v > t``): the inclusive step ``v >= θ`` is
    written with ``t = nextafter(θ, -inf)`` in float32. Max-pooling of spikes (an OR) is
    ``SumPool2d`` followed by ``Threshold(0)``. Node names are the Keras layer names (the
    SumPool is ``<pool>_sum``), so spikes can be compared layer by layer. The N-hot key is
    stored in the graph's metadata (``metadata["key"]``).

    Args:
        model: a fully sharp Keras model or a :class:`SpikingNetwork`.
        path: file to write (HDF5, NIR's format); None to only build the graph.

    Returns:
        The ``nir.NIRGraph``.

    Example:
        >>> export_nir(model, "digits.nir")
        >>> run_nir("digits.nir", x_test).classes
    """
    nir = _nir()
    net = model if isinstance(model, SpikingNetwork) else to_spiking(model)
    nodes, shape = {}, net.input_shape
    nodes["input"] = nir.Input(input_type={"input": np.array(_chw(shape))})
    perm = None  # pending HWC → CHW reordering of the next Dense's inputs
    for stage in net.stages:
        if isinstance(stage, _Flatten):
            if len(stage.in_shape) > 1:
                nodes[stage.name] = nir.Flatten(
                    input_type={"input": np.array(_chw(stage.in_shape))},
                    start_dim=0, end_dim=-1)
                if len(stage.in_shape) == 3:
                    perm = _hwc_to_chw_perm(stage.in_shape)
        elif isinstance(stage, _Pool):
            nodes[f"{stage.name}_sum"] = nir.SumPool2d(
                kernel_size=np.array(stage.pool), stride=np.array(stage.strides),
                padding=np.array([0, 0]))
            nodes[stage.name] = nir.Threshold(threshold=np.zeros(_chw(stage.out_shape),
                                                                 np.float32))
        elif stage.kind == "dense":
            weight = stage.kernel if perm is None else stage.kernel[perm]
            nodes[stage.linear_name] = nir.Affine(weight=np.ascontiguousarray(weight.T),
                                                  bias=stage.bias.copy())
            nodes[stage.name] = nir.Threshold(
                threshold=_nir_threshold(stage.threshold, stage.out_shape))
            perm = None
        else:
            if stage.kernel.shape[0] != stage.kernel.shape[1]:
                raise ValueError(
                    f"Conv2D {stage.linear_name!r} has a {stage.kernel.shape[0]}×"
                    f"{stage.kernel.shape[1]} kernel; NIR's Conv2d infers its shapes from a "
                    "square kernel, so only square kernels can be exported."
                )
            nodes[stage.linear_name] = nir.Conv2d(
                input_shape=tuple(stage.in_shape[:2]),
                weight=np.ascontiguousarray(stage.kernel.transpose(3, 2, 0, 1)),
                stride=stage.strides, padding=_conv_padding(stage),
                dilation=stage.dilation, groups=1, bias=stage.bias.copy())
            nodes[stage.name] = nir.Threshold(
                threshold=_nir_threshold(stage.threshold, _chw(stage.out_shape)))
        shape = stage.out_shape
    nodes["output"] = nir.Output(output_type={"output": np.array(_chw(shape))})
    names = list(nodes)
    metadata = {"producer": "whetstone_lab"}
    if net.key is not None:
        metadata["key"] = net.key.astype(np.int8)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:], strict=True)),
                         metadata=metadata)
    if path is not None:
        nir.write(path, graph)
    return graph


@dataclass
class NirResult:
    """What :func:`run_nir` returns.

    Attributes:
        spikes: the output of every Threshold node, keyed by node name (channels-last
            layout for images, like Keras), ``uint8``.
        output: the spikes reaching the Output node, shape ``(n, width)``.
        classes: decoded classes (from the key passed in or stored in the graph), or None.
        near_ties: per Threshold node, decisions resolved with Keras' float32 ops.
    """

    spikes: dict[str, np.ndarray] = field(default_factory=dict)
    near_ties: dict[str, int] = field(default_factory=dict)
    output: np.ndarray | None = None
    classes: np.ndarray | None = None


def _nir_chain(graph) -> list[str]:
    nir = _nir()
    nxt = dict(graph.edges)
    if len(nxt) != len(graph.edges):
        raise ValueError("run_nir executes chains; a node of this graph has several outputs.")
    starts = [k for k, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(starts) != 1:
        raise ValueError(f"run_nir needs exactly one Input node, found {len(starts)}.")
    order = [starts[0]]
    while order[-1] in nxt:
        order.append(nxt[order[-1]])
        if len(order) > len(graph.nodes):
            raise ValueError("the NIR graph has a cycle.")
    return order


def _pair(value) -> tuple[int, int]:
    return tuple(int(v) for v in np.broadcast_to(np.asarray(value), (2,)))


def _nir_conv_pads(node, h: int, w: int) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of a NIR Conv2d on an h×w input."""
    kh, kw = node.weight.shape[2:]
    (dh, dw) = _pair(node.dilation)
    pad = node.padding
    pad = pad.decode() if isinstance(pad, bytes) else pad
    if isinstance(pad, str) and pad == "same":
        _, top, bottom = _same_pads(h, kh, 1, dh)
        _, left, right = _same_pads(w, kw, 1, dw)
        return top, bottom, left, right
    if isinstance(pad, str) and pad == "valid":
        return 0, 0, 0, 0
    top, left = _pair(pad)
    return top, top, left, left


def _keras_padding(node, h: int, w: int) -> str | None:
    """The Keras padding that gives the same pads as this NIR Conv2d, if there is one."""
    pads = _nir_conv_pads(node, h, w)
    if pads == (0, 0, 0, 0):
        return "valid"
    (kh, kw), (sh, sw), (dh, dw) = node.weight.shape[2:], _pair(node.stride), _pair(node.dilation)
    same = (*_same_pads(h, kh, sh, dh)[1:], *_same_pads(w, kw, sw, dw)[1:])
    return "same" if pads == same else None


def _conv_nchw(x: np.ndarray, weight, bias, node) -> np.ndarray:
    """NIR Conv2d (cross-correlation, NCHW) in float64."""
    c_out, _, kh, kw = weight.shape
    (sh, sw), (dh, dw) = _pair(node.stride), _pair(node.dilation)
    top, bottom, left, right = _nir_conv_pads(node, *x.shape[2:])
    xp = np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)))
    ho = (xp.shape[2] - (kh - 1) * dh - 1) // sh + 1
    wo = (xp.shape[3] - (kw - 1) * dw - 1) // sw + 1
    out = np.zeros((x.shape[0], c_out, ho, wo))
    for di in range(kh):
        for dj in range(kw):
            patch = xp[:, :, di * dh:di * dh + sh * (ho - 1) + 1:sh,
                       dj * dw:dj * dw + sw * (wo - 1) + 1:sw]
            out += np.einsum("nchw,oc->nohw", patch, weight[:, :, di, dj])
    return out + bias[None, :, None, None]


def _sumpool_nchw(x: np.ndarray, node) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = (_pair(node.kernel_size), _pair(node.stride),
                                    _pair(node.padding))
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    ho, wo = (xp.shape[2] - kh) // sh + 1, (xp.shape[3] - kw) // sw + 1
    out = np.zeros((x.shape[0], x.shape[1], ho, wo))
    for di in range(kh):
        for dj in range(kw):
            out += xp[:, :, di:di + sh * (ho - 1) + 1:sh, dj:dj + sw * (wo - 1) + 1:sw]
    return out


def _nhwc(a: np.ndarray) -> np.ndarray:
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


@dataclass
class _Pending:
    """A linear node's float64 result, waiting for its threshold (see :func:`_uncertain`)."""

    v: np.ndarray  # (n, neurons) in NIR order
    mass: np.ndarray
    events: np.ndarray
    grid: float
    compute: object  # (start, stop) -> Keras' float32 pre-activations in NIR order, or None


def _linear_nir(node, a: np.ndarray, flat_from, nir) -> tuple[np.ndarray, _Pending]:
    """Run an Affine/Linear/Conv2d node in float64, with Keras' float32 twin for near-ties.

    The twin recomputes the node with Keras' own ops in Keras' layout (NHWC, kernels
    ``(in, out)`` / ``(kh, kw, cin, cout)``, inputs of a flattened conv map in HWC order),
    so its float32 sums are the ones Keras computes.
    """
    n = a.shape[0]
    weight = np.asarray(node.weight, np.float32)
    bias = (np.zeros(weight.shape[0], np.float32) if isinstance(node, nir.Linear)
            else np.asarray(node.bias, np.float32))
    w64, b64 = weight.astype(np.float64), bias.astype(np.float64)
    events = np.count_nonzero(a.reshape(n, -1), axis=1)
    grid = min(_lowest_bit(weight) * _lowest_bit(a), _lowest_bit(bias))
    if isinstance(node, nir.Conv2d):
        v = _conv_nchw(a, w64, b64, node)
        mass = _conv_nchw(np.abs(a), np.abs(w64), np.abs(b64), node)
        padding = _keras_padding(node, *a.shape[2:])
        kernel = np.ascontiguousarray(weight.transpose(2, 3, 1, 0))
        x_keras = a.transpose(0, 2, 3, 1).astype(np.float32)

        def compute(start, stop):
            y = keras.ops.conv(x_keras[start:stop], kernel, strides=list(_pair(node.stride)),
                               padding=padding, dilation_rate=_pair(node.dilation),
                               data_format="channels_last")
            y = keras.ops.add(y, keras.ops.reshape(bias, (1, 1, 1, -1)))
            return keras.ops.convert_to_numpy(y).transpose(0, 3, 1, 2)

        if padding is None:
            compute = None
    else:
        v = a @ w64.T + b64
        mass = np.abs(a) @ np.abs(w64).T + np.abs(b64)
        kernel = np.ascontiguousarray(weight.T)
        x_keras = a.astype(np.float32)
        if flat_from is not None:  # back to Keras' HWC flattening
            perm = _hwc_to_chw_perm(_nhwc_shape(flat_from))
            kernel = kernel[np.argsort(perm)]
            x_keras = a.reshape((n, *flat_from)).transpose(0, 2, 3, 1).reshape(n, -1)
            x_keras = x_keras.astype(np.float32)

        def compute(start, stop):
            y = keras.ops.add(keras.ops.matmul(x_keras[start:stop], kernel), bias)
            return keras.ops.convert_to_numpy(y)

    pending = _Pending(v.reshape(n, -1), mass.reshape(n, -1), events, grid, compute)
    return v, pending


def _threshold_nir(a, threshold, pending, batch_size, name, result) -> np.ndarray:
    """NIR's strict threshold on the float32-rounded value, near-ties as Keras decides them."""
    n = a.shape[0]
    t = np.broadcast_to(np.asarray(threshold, np.float32), a.shape[1:]).reshape(-1)
    fired = a.reshape(n, -1).astype(np.float32) > t
    if pending is not None and pending.compute is not None:
        inclusive = np.nextafter(t, np.float32(np.inf), dtype=np.float32)  # v > t ⇔ v >= this
        uncertain = _uncertain(pending.v, pending.mass, pending.events, inclusive,
                               pending.grid)
        result.near_ties[name] = int(uncertain.sum())
        _resolve_chunks(fired, uncertain, batch_size or n, pending.compute, inclusive)
    return fired.reshape(a.shape).astype(np.float64)


def run_nir(graph, x, key=None, *, batch_size: int | None = 32) -> NirResult:
    """Execute a NIR graph of Affine/Conv2d/Threshold/SumPool2d/Flatten nodes in NumPy.

    Pre-activations are computed in float64 and rounded once to float32 before NIR's strict
    threshold ``v > t``. As in :class:`SpikingNetwork`, decisions too close to the threshold
    to be certified (near-ties) are recomputed with Keras' own float32 ops in Keras' layout,
    on chunks of ``batch_size`` samples, so the spikes equal ``model.predict``'s. A one-step
    ``IF`` node (``v = r·input``, spike iff ``v > v_threshold``) is accepted too.

    Args:
        graph: a ``nir.NIRGraph`` or the path of a file written by :func:`export_nir` /
            ``nir.write``.
        x: inputs in Keras layout (NHWC for images, ``(n, features)`` otherwise); images are
            converted to NIR's CHW internally.
        key: N-hot key to decode the output spikes; default: ``graph.metadata["key"]``.
        batch_size: the ``predict`` batch size near-ties are resolved against (None: one
            call on the whole batch).

    Returns:
        A :class:`NirResult`.

    Example:
        >>> run_nir("digits.nir", x_test).classes
    """
    nir = _nir()
    if isinstance(graph, (str, os.PathLike)):
        graph = nir.read(graph)
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph or a file path, got "
                        f"{type(graph).__name__}.")
    order = _nir_chain(graph)
    in_shape = tuple(int(d) for d in np.asarray(graph.nodes[order[0]].input_type["input"]))
    a = np.asarray(x, np.float32)
    if a.ndim == 4:
        a = a.transpose(0, 3, 1, 2)  # NHWC → NCHW
    if a.shape[1:] != in_shape:
        raise ValueError(f"x must have shape (n, {', '.join(map(str, _nhwc_shape(in_shape)))})"
                         f" in Keras layout for this graph, got {np.shape(x)}.")
    a = a.astype(np.float64)
    result = NirResult()
    pending, flat_from = None, None  # flat_from: CHW shape a Flatten just flattened
    for name in order[1:]:
        node = graph.nodes[name]
        if isinstance(node, nir.Output):
            break
        if isinstance(node, (nir.Affine, nir.Linear, nir.Conv2d)):
            a, pending = _linear_nir(node, a, flat_from, nir)
            flat_from = None
            continue
        if isinstance(node, nir.Threshold):
            a = _threshold_nir(a, node.threshold, pending, batch_size, name, result)
            result.spikes[name] = _nhwc(a).astype(np.uint8)
        elif isinstance(node, nir.IF):
            r = np.asarray(node.r, np.float64)
            keep = pending if np.all(r == 1.0) else None  # v = r·input is then the input
            a = _threshold_nir(r * a, node.v_threshold, keep, batch_size, name, result)
            result.spikes[name] = _nhwc(a).astype(np.uint8)
        elif isinstance(node, nir.SumPool2d):
            a = _sumpool_nchw(a, node)
        elif isinstance(node, nir.Flatten):
            start = int(node.start_dim) + 1  # NIR shapes exclude the batch axis
            end = a.ndim if int(node.end_dim) == -1 else int(node.end_dim) + 2
            flat_from = a.shape[1:] if (a.ndim == 4 and start == 1 and end == 4) else None
            a = a.reshape((*a.shape[:start], -1, *a.shape[end:]))
            continue
        else:
            raise ValueError(f"run_nir cannot execute node {name!r} of type "
                             f"{type(node).__name__}; supported: Affine, Linear, Conv2d, "
                             "SumPool2d, Flatten, Threshold, IF.")
        pending, flat_from = None, None
    result.output = _nhwc(a).astype(np.uint8)
    if key is None and isinstance(graph.metadata, Mapping) and "key" in graph.metadata:
        key = np.asarray(graph.metadata["key"])
    if key is not None:
        result.classes = _decode(result.output.reshape(len(result.output), -1), key)
    return result


def _nhwc_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else shape
