"""The exact simulator of threshold neurons, its results and its event-driven counts.

A :class:`SpikingNetwork` is a list of stages built by
:func:`~whetstone_lab.deploy.to_spiking`: :class:`SynapseStage` (a Dense or Conv2D layer and
its threshold neurons), :class:`PoolStage` (max-pooling of spikes, an OR),
:class:`UpsampleStage` (nearest up-sampling of spikes, a copy), :class:`FlattenStage` and,
last, an optional :class:`ReadoutStage` (the host-side read-out of an autoencoder or a
regressor). :meth:`SpikingNetwork.run` returns a :class:`SpikingResult`;
:func:`keras_spikes` gives the reference spikes of Keras' ``predict``.
See docs/design.md, "Deployment".
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import keras
import numpy as np

from ..layers import decode
from ..sharpening import spiking_layers
from ..validation import check_int, check_samples, describe
from .exactness import check_batch_size
from .products import threshold_stage

__all__ = [
    "SynapseStage",
    "PoolStage",
    "FlattenStage",
    "UpsampleStage",
    "ReadoutStage",
    "LayerCounts",
    "SpikingResult",
    "SpikingNetwork",
    "keras_spikes",
    "spike_agreement",
]


#: Samples :meth:`SpikingNetwork.run` simulates at a time by default (a multiple of the
#: default ``batch_size``, 32): what bounds its memory on a large batch.
CHUNK_SIZE = 1024
#: Chunks simulated at once, in threads.
WORKERS = min(2, os.cpu_count() or 1)


# ----------------------------------------------------------------------------------------
# The network's stages
# ----------------------------------------------------------------------------------------
@dataclass
class SynapseStage:
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
    weights: np.ndarray | None = None  # (inputs of one neuron, channels) float32: the kernel
    weights64: np.ndarray | None = None  # ... in float64, for the decisions near θ
    w_max: float | np.ndarray = 0.0  # largest |w|: per neuron for Dense, of the layer for Conv2D
    b_max: float | np.ndarray = 0.0  # largest |b|, likewise
    fan_out: np.ndarray | None = None  # synapses leaving each input neuron
    tap_targets: np.ndarray | None = None  # conv: output position of each (pixel, tap)
    grid_w: float = 0.0  # largest power of two dividing every weight
    grid_b: float = 0.0  # ... and every bias

    @property
    def dense_macs(self) -> int:
        """Connections (in-bounds taps) = multiply–accumulates of one dense evaluation."""
        return int(self.fan_out.sum())


@dataclass
class PoolStage:
    """MaxPooling2D over spikes: an OR over each window."""

    name: str
    pool: tuple[int, int]
    strides: tuple[int, int]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]


@dataclass
class FlattenStage:
    """A Flatten: Keras' HWC order is kept, only the shape changes."""

    name: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]


@dataclass
class UpsampleStage:
    """UpSampling2D (nearest) of spikes: each spike is copied to a ``size`` block."""

    name: str
    size: tuple[int, int]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]


@dataclass
class ReadoutStage:
    """The read-out that turns the last spikes into real values, computed on the host.

    A Dense or Conv2D whose own activation is not a spiking one (an autoencoder's sigmoid,
    a regressor's linear output), optionally followed by a Reshape. It leaves the chip as a
    classifier's decoder does: the simulator runs the Keras layer itself on the recorded
    spikes (float32), and its operations are not counted.
    """

    name: str  # the Keras layer's name
    layer: object  # the Keras Dense or Conv2D layer
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]  # after the Reshape, if there is one


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
    """What :meth:`SpikingNetwork.run` and :func:`~whetstone_lab.deploy.run_nir` return.

    Attributes:
        spikes: every recorded layer's spikes in input-to-output order, ``uint8`` arrays of
            shape ``(n, *layer_shape)`` in Keras layout. :meth:`SpikingNetwork.run` keys
            them by the Keras layer's name (spiking layers and max-pooling ORs);
            ``run_nir`` by the name of each spiking node (Threshold, LIF, IF, CubaLIF),
            which is the same name for a graph written by ``export_nir``. ``run_nir(...,
            steps=T)`` adds a leading time axis: ``(T, n, *layer_shape)``.
        output: the last spiking layer's spikes, shape ``(n, width)`` (``(T, n, width)``
            for ``run_nir(..., steps=T)``).
        classes: decoded class indices (nearest codeword of the N-hot key), or None when
            there is no key (no :class:`~whetstone_lab.layers.SoftmaxDecode`).
        readout: the host read-out's values (:class:`ReadoutStage`), shape ``(n,
            *output_shape)`` (e.g. an autoencoder's reconstructions), or None without one.
        near_ties: per spiking layer, how many neuron decisions were too close to the
            threshold to be certified by the float32 error bound and were resolved with
            Keras' own float32 op (normally 0).
        spike_counts / synops: per-sample counts (``int64``, shape ``(n,)``) per spiking
            layer; None for ``run_nir``, which does not count.
        counts: per-layer means, see :class:`LayerCounts`; None for ``run_nir``.
    """

    spikes: dict[str, np.ndarray]
    output: np.ndarray
    classes: np.ndarray | None = None
    near_ties: dict[str, int] = field(default_factory=dict)
    spike_counts: dict[str, np.ndarray] | None = None
    synops: dict[str, np.ndarray] | None = None
    counts: list[LayerCounts] | None = None
    readout: np.ndarray | None = None

    def _require_counts(self) -> list[LayerCounts]:
        if self.counts is None:
            raise ValueError("this result has no operation counts (run_nir does not count); "
                             "use to_spiking(model).run(x) for spikes and synaptic "
                             "operations per layer.")
        return self.counts

    @property
    def total_synops(self) -> float:
        """Mean operations per inference: first-layer MACs plus later synaptic events."""
        return float(sum(c.synops for c in self._require_counts()))

    @property
    def total_dense_macs(self) -> int:
        """Multiply–accumulates per inference of the same network with dense activations."""
        return int(sum(c.dense_macs for c in self._require_counts()))

    def summary(self, print_fn=print) -> str:
        """A table of spikes, synaptic operations and dense MACs per inference.

        Returns the table and prints it with ``print_fn`` (pass ``None`` to only return it).

        Raises:
            ValueError: for a result without counts (from ``run_nir``).
        """
        counts = self._require_counts()
        head = (f"{'layer':<16}{'kind':<8}{'neurons':>8}{'in events':>11}{'spikes':>9}"
                f"{'synops':>11}{'dense MACs':>12}{'ratio':>8}")
        lines = [head, "-" * len(head)]
        for c in counts:
            ratio = c.synops / c.dense_macs if c.dense_macs else float("nan")
            mark = "" if c.event_driven else "*"
            lines.append(f"{c.name + mark:<16}{c.kind:<8}{c.neurons:>8}{c.input_events:>11.1f}"
                         f"{c.spikes:>9.1f}{c.synops:>11.1f}{c.dense_macs:>12}{ratio:>8.3f}")
        lines.append("-" * len(head))
        total = self.total_synops / self.total_dense_macs
        lines.append(f"{'total':<32}{'':>11}{sum(c.spikes for c in counts):>9.1f}"
                     f"{self.total_synops:>11.1f}{self.total_dense_macs:>12}{total:>8.3f}")
        lines.append("* real-valued input: multiply–accumulates of its non-zero inputs. "
                     "Means per inference.")
        if self.readout is not None:
            lines.append("The read-out runs on the host and is not counted.")
        table = "\n".join(lines)
        if print_fn is not None:
            print_fn(table)
        return table


# ----------------------------------------------------------------------------------------
# The simulator
# ----------------------------------------------------------------------------------------
class SpikingNetwork:
    """A fully sharp Whetstone network as plain threshold neurons, simulated exactly.

    Build it with :func:`~whetstone_lab.deploy.to_spiking`. Every neuron fires iff
    ``Σ w·x + b >= θ``; max-pooling is an OR; up-sampling copies spikes; the output spikes
    are decoded with the model's N-hot key, or read out on the host (:class:`ReadoutStage`).

    How exactness is achieved (:mod:`whetstone_lab.deploy.exactness`). Keras computes each
    pre-activation in float32, and the result depends on the summation order of its kernels,
    which changes with the batch size. The simulator certifies each decision with a
    rigorous bound on *any* float32 evaluation order: ``|fl32 − exact| <=
    γ_{k+2}·(Σ|w·x| + |b|)`` with ``k`` the non-zero inputs of the neuron's sum (the
    sample's for Dense, its patch's for Conv2D). It computes every
    pre-activation first as a float32 product (:mod:`~whetstone_lab.deploy.products`):
    event-driven, each input spike adding the weights of its synapses, when few inputs
    spiked; one BLAS product of the inputs or of their im2col patches otherwise. A decision
    whose margin from θ exceeds three times the bound is the one Keras makes, whatever its
    batch size; the few others are recomputed in float64, and a decision whose float64
    margin ``|v − θ|`` exceeds the bound is certain too. A
    decision is also certain when every weight, bias and input lies on a common
    power-of-two grid small enough that float32 sums are exact (hand-set weights: exact
    ties at 0.5 fire, as in Keras). The rare remaining "near-ties" are resolved by running
    the Keras layer's own float32 op on the same chunk of ``batch_size`` samples that
    ``model.predict(x, batch_size=...)`` would use, so the result equals ``predict`` spike
    for spike; their number is reported in :attr:`SpikingResult.near_ties`.

    :func:`~whetstone_lab.deploy.run_nir` resolves near-ties the same way on the exported
    graph. How many decisions the lesson networks make, how many of them are near-ties, the
    agreement with ``predict`` layer by layer and the throughput against it are measured in
    ``benchmarks/results/spiking_inference.md``.

    Attributes:
        stages: the network's stages (:class:`SynapseStage`, :class:`PoolStage`,
            :class:`UpsampleStage`, :class:`FlattenStage`, :class:`ReadoutStage`) in order,
            with their kernels and fan-outs.
        key: the N-hot key, or None.
        source: the Keras model it was built from (BatchNorm folded, if there was any).
        input_shape: the shape of one input sample, Keras layout.
        batch_size: chunk size of the Keras evaluation that near-ties are resolved against.
    """

    def __init__(self, stages: list, key, source, input_shape, batch_size: int | None = 32):
        self.stages = list(stages)
        self.key = None if key is None else np.asarray(key, np.int8)
        self.source = source
        self.input_shape = tuple(input_shape)
        self.batch_size = check_batch_size(batch_size)
        if not self.synapses:
            raise ValueError("a SpikingNetwork needs at least one Dense/Conv2D stage with "
                             "threshold neurons.")

    @property
    def synapses(self) -> list[SynapseStage]:
        """The stages with threshold neurons, in order."""
        return [s for s in self.stages if isinstance(s, SynapseStage)]

    @property
    def layer_names(self) -> list[str]:
        """Names of the recorded layers (spiking layers, pooling ORs, up-sampling copies), in
        order."""
        return [s.name for s in self.stages if not isinstance(s, (FlattenStage, ReadoutStage))]

    @property
    def readout(self) -> ReadoutStage | None:
        """The host-side read-out stage, if the network ends in one."""
        last = self.stages[-1]
        return last if isinstance(last, ReadoutStage) else None

    def __repr__(self) -> str:
        kinds = {SynapseStage: "synapses", PoolStage: "pool", FlattenStage: "flatten",
                 UpsampleStage: "upsample", ReadoutStage: "read-out"}
        parts = [f"{s.name}({kinds[type(s)]})" for s in self.stages]
        return f"SpikingNetwork({' → '.join(parts)})"

    # -- running ---------------------------------------------------------------------
    def run(self, x, *, batch_size: int | None | str = "default",
            chunk_size: int = CHUNK_SIZE) -> SpikingResult:
        """Run the network on a batch, recording every layer's spikes and its counts.

        Args:
            x: inputs of shape ``(n, *input_shape)`` in Keras layout (e.g. NHWC); a single
                sample without its batch axis is accepted. Cast to float32, as Keras does.
            batch_size: chunk size of the Keras evaluation near-ties are resolved against
                (``model.predict``'s ``batch_size``; None: one call on the whole batch).
                Defaults to the network's ``batch_size``.
            chunk_size: samples simulated at a time (rounded down to a multiple of
                ``batch_size``, so near-ties still see ``predict``'s chunks): what bounds the
                memory of a large batch. Only the recorded spikes (``uint8``) grow with
                ``n``.

        Returns:
            A :class:`SpikingResult` with counts.

        Raises:
            TypeError / ValueError: for inputs that are not numeric samples of the model's
                input shape, a bad ``batch_size`` or ``chunk_size``.

        Example:
            >>> result = net.run(data.x_test)
            >>> result.spikes["spikes_0"].mean()   # firing rate of the first layer
        """
        if isinstance(batch_size, str) and batch_size == "default":
            batch_size = self.batch_size
        else:
            batch_size = check_batch_size(batch_size)
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
        xs = check_samples(x, self.input_shape, "x")
        n = xs.shape[0]
        step = max(n, 1) if batch_size is None else \
            max(batch_size, chunk_size // batch_size * batch_size)
        starts = range(0, n, step) or range(1)
        # Every chunk writes its spikes into one array per layer (joining per-chunk arrays
        # would copy them all once more).
        recorded = {s.name: np.empty((n, *s.out_shape), np.uint8) for s in self.stages
                    if not isinstance(s, (FlattenStage, ReadoutStage))}
        # Chunks are independent: NumPy, BLAS and the Keras op release the GIL, so threads
        # use every core, and the results are joined in order.
        with ThreadPoolExecutor(max_workers=min(WORKERS, len(starts))) as pool:
            parts = list(pool.map(lambda i: self._run_chunk(
                xs[i:i + step], batch_size, {k: v[i:i + step] for k, v in recorded.items()}),
                starts))
        merged = {key: {name: np.concatenate([p[key][name] for p in parts])
                        for name in parts[0][key]}
                  for key in ("spike_counts", "synops", "events")}
        merged["spikes"] = recorded
        near = {name: sum(p["near"][name] for p in parts) for name in parts[0]["near"]}
        readout = None if parts[0]["readout"] is None else \
            np.concatenate([p["readout"] for p in parts])
        counts = [LayerCounts(
            name=stage.name, kind=stage.kind, neurons=int(np.prod(stage.out_shape)),
            input_events=float(merged["events"][stage.name].mean()),
            spikes=float(merged["spike_counts"][stage.name].mean()),
            synops=float(merged["synops"][stage.name].mean()), dense_macs=stage.dense_macs,
            event_driven=i > 0,
        ) for i, stage in enumerate(self.synapses)]
        output = merged["spikes"][self.synapses[-1].name].reshape(n, -1)
        classes = None if self.key is None else decode(output, self.key)
        return SpikingResult(spikes=merged["spikes"], output=output, classes=classes,
                             near_ties=near, spike_counts=merged["spike_counts"],
                             synops=merged["synops"], counts=counts, readout=readout)

    def _run_chunk(self, xs: np.ndarray, batch_size: int | None,
                   recorded: dict[str, np.ndarray]) -> dict:
        """One chunk through every stage: each layer's spikes go into ``recorded`` (uint8
        arrays of the chunk's samples, by layer name); returns the per-sample counts."""
        n = xs.shape[0]
        a = xs.reshape(n, -1)  # current activity, flattened in Keras (HWC) order
        first = True
        out = {"spike_counts": {}, "synops": {}, "events": {}, "near": {}, "readout": None}
        for stage in self.stages:
            if isinstance(stage, FlattenStage):
                continue
            # Spikes stay bool (a view of the recorded uint8): pooling is an OR, up-sampling
            # a copy, and the next product casts them.
            spikes = None if isinstance(stage, ReadoutStage) else \
                recorded[stage.name].reshape(n, int(np.prod(stage.out_shape))).view(bool)
            if isinstance(stage, (PoolStage, UpsampleStage)):
                a = a.reshape((n, *stage.in_shape))
                if isinstance(stage, PoolStage):
                    _or_pool(a, stage, out=spikes.reshape((n, *stage.out_shape)))
                else:
                    spikes[...] = _upsample(a, stage).reshape(n, -1)
                a = spikes
                continue
            if isinstance(stage, ReadoutStage):  # the last stage: on the host, not counted
                out["readout"] = _read_out(stage, a.reshape((n, *stage.in_shape)), batch_size)
                continue
            fired, events, ops, ties = threshold_stage(stage, a, first, batch_size, out=spikes)
            a = fired
            out["spike_counts"][stage.name] = np.count_nonzero(fired, axis=1).astype(np.int64)
            out["synops"][stage.name] = ops
            out["events"][stage.name] = events
            out["near"][stage.name] = ties
            first = False
        return out

    def predict(self, x) -> np.ndarray:
        """Decoded class indices for ``x`` (needs an N-hot key)."""
        if self.key is None:
            raise ValueError("this network has no SoftmaxDecode layer, so there are no "
                             "classes to decode; use run(x).output for the spikes"
                             + (", run(x).readout for the read-out's values."
                                if self.readout is not None else "."))
        return self.run(x).classes

    def summary(self, x, print_fn=print) -> str:
        """Run on ``x`` and return (and print) the table of per-inference counts."""
        return self.run(x).summary(print_fn=print_fn)


def _or_pool(spikes: np.ndarray, stage: PoolStage, out: np.ndarray) -> np.ndarray:
    """OR over each pooling window of (n, H, W, C) bool spikes (= max-pooling for 0/1),
    written into ``out`` (bool, ``(n, *stage.out_shape)``)."""
    (ph, pw), (sh, sw) = stage.pool, stage.strides
    ho, wo, _ = stage.out_shape
    out[...] = False
    for di in range(ph):
        for dj in range(pw):
            out |= spikes[:, di:di + sh * (ho - 1) + 1:sh, dj:dj + sw * (wo - 1) + 1:sw]
    return out


def _upsample(spikes: np.ndarray, stage: UpsampleStage) -> np.ndarray:
    """Nearest up-sampling of (n, H, W, C) spikes: each copied to a size block."""
    (sh, sw) = stage.size
    return np.repeat(np.repeat(spikes, sh, axis=1), sw, axis=2)


def _read_out(stage: ReadoutStage, spikes: np.ndarray, batch_size: int | None) -> np.ndarray:
    """The Keras read-out layer on the spikes, in ``predict``'s chunks, as float32 arrays."""
    step = batch_size or len(spikes)
    spikes = spikes.astype(np.float32)  # as Keras sees them
    parts = [keras.ops.convert_to_numpy(stage.layer(spikes[i:i + step]))
             for i in range(0, len(spikes), step)]
    return np.concatenate(parts).astype(np.float32).reshape((len(spikes), *stage.out_shape))


# ----------------------------------------------------------------------------------------
# The reference
# ----------------------------------------------------------------------------------------
def keras_spikes(model: keras.Model, x, names: Iterable[str] | None = None, *,
                 batch_size: int = 32) -> dict[str, np.ndarray]:
    """The outputs of ``model``'s layers ``names`` on ``x`` via ``predict`` (the reference).

    Args:
        model: the Keras model (for a model with BatchNorm, pass ``net.source``, the folded
            model the spiking network was built from).
        x: inputs of the model's input shape.
        names: layer names; default: every spiking, max-pooling and up-sampling layer.
        batch_size: ``predict``'s batch size.

    Returns:
        ``{name: output}`` in the order of ``names``.

    Raises:
        TypeError / ValueError: for a model that is not a single-input Keras model, inputs
            of the wrong shape, unknown layer names or a bad ``batch_size``.
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a Keras model, got {describe(model)}.")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if len(model.inputs) != 1:
        raise ValueError(f"keras_spikes needs a single-input model, {model.name!r} has "
                         f"{len(model.inputs)} inputs.")
    xs = check_samples(x, model.input_shape[1:], "x")
    known = [ly.name for ly in model.layers]
    if names is None:
        spiking = {id(ly) for ly in spiking_layers(model)}
        names = [ly.name for ly in model.layers if id(ly) in spiking or isinstance(
            ly, (keras.layers.MaxPooling2D, keras.layers.UpSampling2D))]
    elif isinstance(names, str) or not isinstance(names, Iterable):
        raise TypeError(f"names must be a list of layer names, got {describe(names)}.")
    names = list(names)
    unknown = [n for n in names if not isinstance(n, str) or n not in known]
    if unknown:
        raise ValueError(f"names must be layers of model {model.name!r}; unknown: "
                         f"{', '.join(map(repr, unknown))}. Its layers: {', '.join(known)}.")
    if not names:
        raise ValueError(f"model {model.name!r} has no spiking, max-pooling or up-sampling "
                         "layers; pass the layer names to record.")
    probe = keras.Model(model.inputs[0], [model.get_layer(n).output for n in names])
    outs = probe.predict(xs, batch_size=batch_size, verbose=0)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return dict(zip(names, (np.asarray(o) for o in outs), strict=True))


def spike_agreement(net: SpikingNetwork, x, result: SpikingResult, *,
                    chunk_size: int = CHUNK_SIZE) -> dict[str, tuple[int, int]]:
    """Per recorded layer, how many of ``result``'s spikes equal Keras' ``predict`` on ``x``.

    The reference is :func:`keras_spikes` of ``net.source`` at ``net.batch_size``, taken in
    chunks of ``chunk_size`` samples, so comparing a large batch never holds every layer's
    float outputs at once.

    Args:
        net: the network that produced ``result``.
        x: the inputs ``result`` was run on.
        result: what ``net.run(x)`` returned.
        chunk_size: samples compared at a time (an integer ≥ 1).

    Returns:
        ``{layer name: (equal spikes, spikes compared)}`` in input-to-output order.

    Raises:
        TypeError / ValueError: ``result`` does not come from ``net`` on ``x``, or a bad
            ``chunk_size``.
    """
    if not isinstance(net, SpikingNetwork) or not isinstance(result, SpikingResult):
        raise TypeError("spike_agreement needs the SpikingNetwork and the SpikingResult of "
                        f"its run, got {describe(net)} and {describe(result)}.")
    chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    xs = check_samples(x, net.input_shape, "x")
    if set(result.spikes) != set(net.layer_names) or len(result.output) != len(xs):
        raise ValueError(f"result must be what net.run(x) returned for these {len(xs)} "
                         f"inputs; it holds {len(result.output)} samples of layers "
                         f"{list(result.spikes)}.")
    agree = {name: [0, 0] for name in net.layer_names}
    step = chunk_size if net.batch_size is None else max(
        net.batch_size, chunk_size // net.batch_size * net.batch_size)
    for start in range(0, len(xs), step):
        reference = keras_spikes(net.source, xs[start:start + step], net.layer_names,
                                 batch_size=net.batch_size or step)
        for name, ref in reference.items():
            agree[name][0] += int(np.sum(result.spikes[name][start:start + step] == ref))
            agree[name][1] += ref.size
    return {name: (equal, total) for name, (equal, total) in agree.items()}
