"""NIR export of a spiking network, and a NumPy runner for NIR graphs.

:func:`export_nir` writes a fully sharp model (or a
:class:`~whetstone_lab.deploy.SpikingNetwork`) as a NIR graph (https://neuroir.org);
:func:`run_nir` executes such a graph and gives exactly Keras' spikes, near-ties resolved
as in the simulator. Both need the ``nir`` package (``pip install whetstone_lab[nir]``).
See docs/design.md, "Deployment".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..layers import decode
from ..validation import check_samples, describe
from .convert import same_pads, to_spiking
from .exactness import check_batch_size, lowest_bit, resolve_near_ties, uncertain_decisions
from .simulate import FlattenStage, PoolStage, SpikingNetwork, SpikingResult, SynapseStage

__all__ = ["export_nir", "run_nir"]

_NODES = "Affine, Linear, Conv2d, SumPool2d, Flatten, Threshold, IF"


def _nir():
    try:
        import nir
    except ImportError as err:  # pragma: no cover - nir is installed with the test extra
        raise ImportError("NIR export needs the 'nir' package: "
                          "pip install whetstone_lab[nir]") from err
    return nir


# ----------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------
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

    Raises:
        TypeError: for a ``model`` that is neither, or a ``path`` that is not a path.
        ValueError: for a model :func:`to_spiking` refuses, or a Conv2D NIR cannot express.

    Example:
        >>> export_nir(model, "digits.nir")
        >>> run_nir("digits.nir", x_test).classes
    """
    nir = _nir()
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or pathlib.Path) or None, got "
                        f"{describe(path)}.")
    if not isinstance(model, (SpikingNetwork, keras.Model)):
        raise TypeError(f"model must be a fully sharp Keras model or a SpikingNetwork, got "
                        f"{describe(model)}.")
    net = model if isinstance(model, SpikingNetwork) else to_spiking(model)
    nodes, shape = {}, net.input_shape
    nodes["input"] = nir.Input(input_type={"input": np.array(_chw(shape))})
    perm = None  # pending HWC → CHW reordering of the next Dense's inputs
    for stage in net.stages:
        if isinstance(stage, FlattenStage):
            if len(stage.in_shape) > 1:
                nodes[stage.name] = nir.Flatten(
                    input_type={"input": np.array(_chw(stage.in_shape))},
                    start_dim=0, end_dim=-1)
                if len(stage.in_shape) == 3:
                    perm = _hwc_to_chw_perm(stage.in_shape)
        elif isinstance(stage, PoolStage):
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


def _chw(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def _nhwc_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else tuple(shape)


def _hwc_to_chw_perm(shape: tuple[int, int, int]) -> np.ndarray:
    """``perm[j]`` = the HWC-flat index of the element at CHW-flat index ``j``."""
    return np.arange(int(np.prod(shape))).reshape(shape).transpose(2, 0, 1).ravel()


def _nir_threshold(value: float, shape) -> np.ndarray:
    # NIR fires on v > threshold; the largest float32 below θ makes that v >= θ.
    below = np.nextafter(np.float32(value), np.float32(-np.inf), dtype=np.float32)
    return np.full(shape, below, dtype=np.float32)


def _conv_padding(stage: SynapseStage):
    top, bottom, left, right = stage.pads
    if top == bottom and left == right:
        return (top, left)
    if stage.strides == (1, 1):
        return "same"  # asymmetric (even kernel): extra row/column after, as in Keras
    raise ValueError(f"Conv2D {stage.linear_name!r}: strided 'same' padding with uneven "
                     "pads has no NIR equivalent.")


# ----------------------------------------------------------------------------------------
# Running a graph
# ----------------------------------------------------------------------------------------
def run_nir(graph, x, key=None, *, batch_size: int | None = 32) -> SpikingResult:
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
        A :class:`SpikingResult` keyed by Threshold/IF node names, without counts
        (``spike_counts``, ``synops`` and ``counts`` are None).

    Raises:
        FileNotFoundError: if ``graph`` is a path to no file.
        ValueError: if the file is not a NIR graph, the graph is not a chain this runner
            executes, or ``x`` does not fit its input.
        TypeError: for a ``graph`` that is neither a graph nor a path, or a bad ``x``.

    Example:
        >>> run_nir("digits.nir", x_test).classes
    """
    nir = _nir()
    batch_size = check_batch_size(batch_size)
    if isinstance(graph, (str, os.PathLike)):
        graph = _read(graph, nir)
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph or the path of a NIR file, got "
                        f"{describe(graph)}.")
    order = _nir_chain(graph, nir)
    in_type = getattr(graph.nodes[order[0]], "input_type", {}) or {}
    in_shape = tuple(int(d) for d in np.asarray(in_type.get("input", ())).ravel())
    if not in_shape:
        raise ValueError(f"the Input node {order[0]!r} of the NIR graph has no input shape.")
    a = check_samples(x, _nhwc_shape(in_shape), "x")
    if a.ndim == 4:
        a = a.transpose(0, 3, 1, 2)  # NHWC → NCHW
    a = a.astype(np.float64)
    spikes, near_ties = {}, {}
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
            a = _threshold_nir(a, node.threshold, pending, batch_size, name, near_ties)
            spikes[name] = _nhwc(a).astype(np.uint8)
        elif isinstance(node, nir.IF):
            r = np.asarray(node.r, np.float64)
            keep = pending if np.all(r == 1.0) else None  # v = r·input is then the input
            a = _threshold_nir(r * a, node.v_threshold, keep, batch_size, name, near_ties)
            spikes[name] = _nhwc(a).astype(np.uint8)
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
                             f"{type(node).__name__}; supported: {_NODES}.")
        pending, flat_from = None, None
    output = _nhwc(a).astype(np.uint8)
    if key is None and isinstance(graph.metadata, Mapping) and "key" in graph.metadata:
        key = np.asarray(graph.metadata["key"])
    classes = None if key is None else decode(output.reshape(len(output), -1), key)
    return SpikingResult(spikes=spikes, output=output, classes=classes, near_ties=near_ties)


def _read(path, nir):
    """``nir.read(path)``, with errors that name the path instead of HDF5's."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"graph: no such NIR file {str(path)!r}.")
    if not path.is_file():
        raise ValueError(f"graph must be a NIR file, but {str(path)!r} is a directory.")
    try:
        return nir.read(path)
    except (OSError, KeyError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise ValueError(f"graph: {str(path)!r} is not a NIR graph file (an HDF5 file written "
                         f"by export_nir or nir.write); reading it failed with "
                         f"{type(err).__name__}: {err}") from err


def _nir_chain(graph, nir) -> list[str]:
    nxt = dict(graph.edges)
    if len(nxt) != len(graph.edges):
        raise ValueError("run_nir executes chains; a node of this graph has several outputs.")
    starts = [k for k, node in graph.nodes.items() if isinstance(node, nir.Input)]
    if len(starts) != 1:
        raise ValueError(f"run_nir needs exactly one Input node, found {len(starts)}.")
    order = [starts[0]]
    while order[-1] in nxt:
        order.append(nxt[order[-1]])
        if order[-1] not in graph.nodes:
            raise ValueError(f"the NIR graph has an edge to {order[-1]!r}, which is not one "
                             "of its nodes.")
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
        _, top, bottom = same_pads(h, kh, 1, dh)
        _, left, right = same_pads(w, kw, 1, dw)
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
    same = (*same_pads(h, kh, sh, dh)[1:], *same_pads(w, kw, sw, dw)[1:])
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
    """A linear node's float64 result, waiting for its threshold."""

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
    grid = min(lowest_bit(weight) * lowest_bit(a), lowest_bit(bias))
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


def _threshold_nir(a, threshold, pending, batch_size, name, near_ties) -> np.ndarray:
    """NIR's strict threshold on the float32-rounded value, near-ties as Keras decides them."""
    n = a.shape[0]
    t = np.broadcast_to(np.asarray(threshold, np.float32), a.shape[1:]).reshape(-1)
    fired = a.reshape(n, -1).astype(np.float32) > t
    if pending is not None and pending.compute is not None:
        inclusive = np.nextafter(t, np.float32(np.inf), dtype=np.float32)  # v > t ⇔ v >= this
        uncertain = uncertain_decisions(pending.v, pending.mass, pending.events, inclusive,
                                        pending.grid)
        near_ties[name] = int(uncertain.sum())
        resolve_near_ties(fired, uncertain, batch_size or n, pending.compute, inclusive)
    return fired.reshape(a.shape).astype(np.float64)
