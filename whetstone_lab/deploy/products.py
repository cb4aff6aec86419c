"""One layer of threshold neurons, fast and exact: float32 products, a screen, float64.

:func:`threshold_stage` decides every neuron of a :class:`~whetstone_lab.deploy.simulate.
SynapseStage` for a batch:

1. The pre-activations of a block of samples are one float32 product of the inputs and the
   kernel. When few inputs are non-zero (spikes are sparse after the first layer) it is
   event-driven: each event adds its weights to the neurons it reaches, from a list of
   (target, weight row) pairs (:func:`event_product`). Otherwise it is one BLAS product of
   the inputs (Dense) or of their im2col patches (Conv2D, :func:`patches`); a zero input
   adds exactly nothing there, so the sum is the same. The counts (events, synaptic
   operations) are those of the event-driven network either way.
2. :func:`~whetstone_lab.deploy.exactness.float32_screen` keeps the decisions this product
   settles (nearly all) and flags the few it cannot.
3. The flagged decisions are recomputed in float64 and certified with
   :func:`~whetstone_lab.deploy.exactness.uncertain_decisions`; the near-ties among them are
   resolved with the Keras layer's own float32 op
   (:func:`~whetstone_lab.deploy.exactness.resolve_near_ties`).

The products run on one BLAS thread: at these sizes waking more threads costs more than it
saves, and far more on a machine busy with other work. See docs/design.md, "Deployment",
and :mod:`whetstone_lab.deploy.exactness`.
"""

from __future__ import annotations

import contextlib
import functools
import weakref

import keras
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse

from .exactness import float32_screen, lowest_bit, resolve_near_ties, uncertain_decisions

__all__ = [
    "BLOCK_ELEMENTS",
    "EVENT_DENSITY",
    "patches",
    "patch_sums",
    "conv_taps",
    "event_product",
    "one_blas_thread",
    "layer_op",
    "threshold_stage",
]

#: Elements of the largest array of a block of samples (its inputs, or patch matrix for a
#: convolution, or its pre-activations): 8 MB of float32, so memory stays bounded for any
#: batch size, and the allocator reuses a block's arrays for the next one instead of mapping
#: fresh pages (on larger blocks the page faults cost more than the arithmetic).
BLOCK_ELEMENTS = 2**21
#: With at most this fraction of non-zero inputs the product is event-driven, BLAS above:
#: timed on the second conv layer of MNIST's conv network (benchmarks/results/
#: paper_scale.md), whose input density lies just above the lesson networks' crossing
#: (benchmarks/results/spiking_inference.md) and where the event-driven product still won.
EVENT_DENSITY = 0.1


def patches(stage, a: np.ndarray) -> np.ndarray:
    """The im2col matrix of a Conv2D stage: one row per (sample, output position).

    Args:
        stage: a ``conv2d`` SynapseStage (kernel, strides, dilation, pads, shapes).
        a: inputs of shape ``(n, H, W, C)``; C is the stage's input channels, or 1 for a
            map of per-pixel values (see :func:`patch_sums`).

    Returns:
        ``(n·Ho·Wo, kh·kw·C)``, rows in HWC order of the outputs, columns in the order of
        ``kernel.reshape(kh·kw·Cin, Cout)``; taps in the padding are zeros.
    """
    kh, kw = stage.kernel.shape[:2]
    (sh, sw), (dh, dw) = stage.strides, stage.dilation
    top, bottom, left, right = stage.pads
    ho, wo = stage.out_shape[:2]
    if top or bottom or left or right:
        a = np.pad(a, ((0, 0), (top, bottom), (left, right), (0, 0)))
    if a.shape[-1] < 4:  # few channels (an image): one strided copy per tap is faster
        out = np.empty((a.shape[0], ho, wo, kh * kw, a.shape[-1]), a.dtype)
        for di in range(kh):
            for dj in range(kw):
                out[:, :, :, di * kw + dj] = a[:, di * dh:di * dh + (ho - 1) * sh + 1:sh,
                                               dj * dw:dj * dw + (wo - 1) * sw + 1:sw]
        return out.reshape(-1, kh * kw * a.shape[-1])
    win = sliding_window_view(a, ((kh - 1) * dh + 1, (kw - 1) * dw + 1), axis=(1, 2))
    win = win[:, :(ho - 1) * sh + 1:sh, :(wo - 1) * sw + 1:sw, :, ::dh, ::dw]
    return win.transpose(0, 1, 2, 4, 5, 3).reshape(-1, kh * kw * a.shape[-1])


def patch_sums(stage, pixels: np.ndarray) -> np.ndarray:
    """Σ over each row of :func:`patches` of per-pixel values ``pixels`` (``(n, H, W)``),
    in float64: with ``pixels`` = Σ|x| over a pixel's channels, Σ|x| over each patch."""
    kh, kw = stage.kernel.shape[:2]
    (sh, sw), (dh, dw) = stage.strides, stage.dilation
    top, bottom, left, right = stage.pads
    ho, wo = stage.out_shape[:2]
    padded = np.pad(np.asarray(pixels, np.float64), ((0, 0), (top, bottom), (left, right)))
    sums = np.zeros((len(padded), ho, wo))
    for di in range(kh):
        for dj in range(kw):
            sums += padded[:, di * dh:di * dh + (ho - 1) * sh + 1:sh,
                           dj * dw:dj * dw + (wo - 1) * sw + 1:sw]
    return sums.reshape(-1)


def conv_taps(stage) -> tuple[np.ndarray, np.ndarray]:
    """Where each input pixel of a Conv2D stage sends its spikes.

    Returns:
        ``(targets, fan_out)``: ``targets[p, t]`` is the output position (``oi·Wo + oj``)
        that kernel tap ``t`` (``di·kw + dj``) of input pixel ``p`` (``h·W + w``) reaches,
        −1 where none does; ``fan_out`` the synapses leaving each input neuron (HWC
        order): its in-bounds taps times the output channels.
    """
    h_in, w_in, c_in = stage.in_shape
    h_out, w_out, c_out = stage.out_shape
    kh, kw = stage.kernel.shape[:2]
    (sh, sw), (dh, dw) = stage.strides, stage.dilation
    top, _, left, _ = stage.pads
    targets = np.full((h_in * w_in, kh * kw), -1, np.int64)
    oi, oj = np.meshgrid(np.arange(h_out), np.arange(w_out), indexing="ij")
    for di in range(kh):
        for dj in range(kw):
            hi, wj = oi * sh - top + di * dh, oj * sw - left + dj * dw
            ok = (hi >= 0) & (hi < h_in) & (wj >= 0) & (wj < w_in)
            targets[hi[ok] * w_in + wj[ok], di * kw + dj] = oi[ok] * w_out + oj[ok]
    fan_out = np.repeat((targets >= 0).sum(axis=1), c_in) * c_out
    return targets, fan_out


def event_product(stage, chunk: np.ndarray, nonzero: np.ndarray) -> np.ndarray:
    """The float32 product of :func:`threshold_stage` from the events alone.

    Each non-zero input ``x`` of ``chunk`` (``(m, inputs)``, HWC) becomes one (row, kernel
    row, ``x``) entry per neuron group it reaches: for Dense its sample's row, for Conv2D
    the row of each output position one of its taps reaches (kernel row ``t·Cin + c``).
    The sparse matrix of these entries times the kernel adds, for every output, the
    weights of the events that reach it.

    Returns:
        The same ``(rows, channels)`` product as BLAS on the inputs or their patches.
    """
    flat = np.flatnonzero(nonzero)
    values = chunk.ravel()[flat]
    if stage.kind != "conv2d":
        rows, cols = np.divmod(flat, chunk.shape[1])
        shape = chunk.shape
    else:
        # Every event gets one entry per kernel tap; taps that reach no output (beyond the
        # border) go to one extra row, dropped from the product.
        c_in, taps = stage.in_shape[-1], stage.tap_targets.shape[1]
        positions = stage.out_shape[0] * stage.out_shape[1]
        sample, rest = np.divmod(flat, chunk.shape[1])
        pixel, channel = np.divmod(rest, c_in)
        target = stage.tap_targets[pixel]  # (events, taps)
        rows = sample[:, None] * positions + target
        rows[target < 0] = chunk.shape[0] * positions
        cols = np.arange(taps) * c_in + channel[:, None]
        values = np.repeat(values, taps)
        shape = (chunk.shape[0] * positions + 1, stage.weights.shape[0])
    index = np.int32 if max(shape) < 2**31 else np.int64
    events = sparse.coo_matrix((values, (rows.ravel().astype(index), cols.ravel().astype(index))),
                               shape=shape)
    product = np.asarray(events @ stage.weights, np.float32)
    return product if stage.kind != "conv2d" else product[:-1]


def _rows64(stage, chunk: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The inputs (Dense) or patches (Conv2D) of rows ``r`` of a block, in float64."""
    if stage.kind != "conv2d":
        return chunk[r].astype(np.float64)
    positions = stage.out_shape[0] * stage.out_shape[1]
    samples, inverse = np.unique(r // positions, return_inverse=True)
    rows = patches(stage, chunk[samples].reshape((-1, *stage.in_shape)))
    return rows[inverse.ravel() * positions + r % positions].astype(np.float64)


_COMPILED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def layer_op(layer):
    """The Keras layer's own op, compiled once per layer on TensorFlow (as ``predict`` runs
    it): a near-tie is resolved per chunk of ``batch_size`` samples, and an eager call costs
    several times a compiled one. Other backends call the layer as it is."""
    if keras.backend.backend() != "tensorflow":
        return layer
    op = _COMPILED.get(layer)
    if op is None:
        import tensorflow as tf

        op = _COMPILED[layer] = tf.function(layer.__call__, reduce_retracing=True)
    return op


@functools.cache
def _blas_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover - installed with scikit-learn
        return None
    return ThreadpoolController()


def one_blas_thread():
    """A context in which BLAS runs on one thread (a no-op without threadpoolctl)."""
    controller = _blas_controller()
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=1, user_api="blas")


def threshold_stage(stage, a: np.ndarray, first: bool, batch_size: int | None,
                    out: np.ndarray | None = None):
    """Decide every neuron of ``stage`` for inputs ``a`` (``(n, inputs)``, HWC; cast to
    float32).

    Returns:
        ``(fired, events, ops, ties)``: spikes ``(n, neurons)`` bool (written into ``out``,
        a C-contiguous bool array of that shape, if given), non-zero inputs and synaptic
        operations per sample (int64), and the number of near-ties resolved with the Keras
        layer's own float32 op on the chunks of ``batch_size`` samples that
        ``predict(batch_size=...)`` uses (None: the whole batch).
    """
    with one_blas_thread():
        return _threshold(stage, np.ascontiguousarray(a, np.float32), first, batch_size, out)


def _threshold(stage, a: np.ndarray, first: bool, batch_size: int | None, out):
    n = a.shape[0]
    nonzero = a != 0
    # After the first layer every input is a 0/1 spike: a is its own indicator and |a| = a.
    indicator = nonzero.astype(np.float32) if first else a
    events = np.count_nonzero(nonzero, axis=1).astype(np.int64)
    exact = np.float32 if stage.dense_macs < 2**24 else np.float64  # integer sums exact
    ops = np.rint(indicator.astype(exact, copy=False) @ stage.fan_out.astype(exact))
    grid = min(stage.grid_w * (lowest_bit(a) if first else 1.0), stage.grid_b)
    threshold = np.float32(stage.threshold)
    positions = int(np.prod(stage.out_shape[:-1]))  # output positions (1 for Dense)
    channels = stage.out_shape[-1]
    fired = np.empty((n, positions * channels), bool) if out is None else out
    flagged = []  # (samples, neurons, float64 values and masses, terms) of each block
    block = max(1, BLOCK_ELEMENTS // (positions * max(stage.weights.shape)))
    for start in range(0, n, block):
        stop = min(start + block, n)
        chunk, spiking = a[start:stop], nonzero[start:stop]
        maps = chunk.reshape((-1, *stage.in_shape))
        if events[start:stop].sum() <= EVENT_DENSITY * spiking.size:
            v32 = event_product(stage, chunk, spiking)
        elif stage.kind == "conv2d":
            v32 = patches(stage, maps) @ stage.weights
        else:
            v32 = chunk @ stage.weights
        v32 += stage.bias
        np.greater_equal(v32, threshold, out=fired[start:stop].reshape(v32.shape))
        # Σ|x| and the non-zero terms of each neuron's sum: the sample's for Dense; for
        # Conv2D its patch's (at most kh·kw·Cin, far fewer than the sample's events), from
        # per-pixel sums. After the first layer the inputs are 0/1, so both are one count.
        if stage.kind == "conv2d":
            counts = patch_sums(stage, np.count_nonzero(maps, axis=-1))
            abs_sum = counts if not first else \
                patch_sums(stage, np.abs(maps).sum(axis=-1, dtype=np.float64))
        else:
            counts = events[start:stop]
            abs_sum = counts if not first else np.abs(chunk).sum(axis=1, dtype=np.float64)
        # flatnonzero: np.nonzero of a 2-D mask is far slower.
        r, c = np.divmod(np.flatnonzero(float32_screen(v32, abs_sum, stage.w_max, stage.b_max,
                                                       counts, threshold)), channels)
        if r.size:
            x64 = _rows64(stage, chunk, r)
            w64 = stage.weights64[:, c].T
            b64 = stage.bias[c].astype(np.float64)
            v64 = np.einsum("ij,ij->i", x64, w64) + b64
            mass64 = np.einsum("ij,ij->i", np.abs(x64), np.abs(w64)) + np.abs(b64)
            flagged.append((start + r // positions, (r % positions) * channels + c, v64, mass64,
                            counts[r]))
    ops = ops.astype(np.int64)
    if not flagged:
        return fired, events, ops, 0
    samples, neurons, v64, mass64, terms = (np.concatenate(parts) for parts in zip(*flagged))
    # Rounded once to float32: outside the bound this cannot change a decision, and at a
    # near-tie without a Keras layer it is the correctly rounded float32 value.
    fired[samples, neurons] = v64.astype(np.float32) >= threshold
    near = uncertain_decisions(v64[:, None], mass64[:, None], terms, stage.threshold,
                               grid)[:, 0]
    ties = int(near.sum())
    if ties and stage.keras_layer is not None:
        uncertain = np.zeros(fired.shape, bool)
        uncertain[samples[near], neurons[near]] = True

        op = layer_op(stage.keras_layer)

        def compute(start, stop):  # the Keras layer's own float32 op on predict's chunk
            chunk = a[start:stop].reshape((-1, *stage.in_shape))
            return keras.ops.convert_to_numpy(op(keras.ops.convert_to_tensor(chunk)))

        resolve_near_ties(fired, uncertain, batch_size or n, compute, threshold)
    return fired, events, ops, ties
