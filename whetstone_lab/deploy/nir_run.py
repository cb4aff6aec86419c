"""Running a NIR graph in NumPy: the runner behind :func:`~whetstone_lab.deploy.run_nir`.

Executes the chains :func:`~whetstone_lab.deploy.export_nir` writes, in every neuron flavour
(``Threshold``, ``LIF``, ``LI`` + ``Threshold``, ``CubaLIF``, and ``IF``), for one time step
or for ``T`` steps with the input held constant. See docs/design.md, "Deployment".
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from ..layers import decode
from ..validation import check_choice, check_int, check_number, check_samples, describe
from .convert import same_pads
from .exactness import check_batch_size, lowest_bit, resolve_near_ties, uncertain_decisions
from .simulate import SpikingResult

__all__ = ["run_nir", "import_nir", "chw", "nhwc_shape", "hwc_to_chw_perm", "NEURONS",
           "FLATTEN_ORDERS"]

#: ``export_nir``'s neuron flavours; the graphs they write are the ones ``run_nir`` runs.
NEURONS = ("lif", "threshold", "li_threshold", "cuba_lif")
#: The orders a Flatten of a conv map may give the next Affine's columns: NIR's channels-first
#: ``"chw"``, or channels-last ``"hwc"`` (Keras', and Spyx's).
FLATTEN_ORDERS = ("chw", "hwc")

_NODES = ("Input, Affine, Linear, Conv2d, SumPool2d, Flatten, Threshold, LIF, IF, LI, CubaLIF, "
          "Output")


def import_nir():
    """The ``nir`` module, or an ImportError that says how to install it."""
    try:
        import nir
    except ImportError as err:  # pragma: no cover - nir is installed with the test extra
        raise ImportError("NIR export needs the 'nir' package: "
                          "pip install whetstone_lab[nir]") from err
    return nir


def chw(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Keras' HWC shape as NIR's CHW (other ranks unchanged)."""
    return (shape[2], shape[0], shape[1]) if len(shape) == 3 else tuple(shape)


def nhwc_shape(shape: tuple[int, ...]) -> tuple[int, ...]:
    """NIR's CHW shape as Keras' HWC (other ranks unchanged)."""
    return (shape[1], shape[2], shape[0]) if len(shape) == 3 else tuple(shape)


def hwc_to_chw_perm(shape: tuple[int, int, int]) -> np.ndarray:
    """``perm[j]`` = the HWC-flat index of the element at CHW-flat index ``j``."""
    return np.arange(int(np.prod(shape))).reshape(shape).transpose(2, 0, 1).ravel()


# ----------------------------------------------------------------------------------------
# Running a graph
# ----------------------------------------------------------------------------------------
def run_nir(graph, x, key=None, *, steps: int | None = None, dt: float | None = None,
            batch_size: int | None = 32, flatten: str | None = None) -> SpikingResult:
    """Execute a NIR chain of linear, pooling and neuron nodes in NumPy.

    Nodes: ``Affine``/``Linear``/``Conv2d``, ``SumPool2d``, ``Flatten``, and the neurons
    ``Threshold`` (spike iff ``v > t``), ``LIF``, ``LI`` (its membrane feeds the next node),
    ``CubaLIF`` and ``IF``. The neurons are integrated with forward Euler at time step
    ``dt``, the input ``x`` held constant over ``steps`` steps, and every edge passes its
    signal on within the same step::

        LIF:     v ← v + dt/τ·(v_leak − v + r·I);   z = v > v_threshold;   v ← v_reset where z
        LI:      v ← v + dt/τ·(v_leak − v + r·I)    (output: v)
        IF:      v ← v + dt·r·I;                    z = v > v_threshold;   v ← v_reset where z
        CubaLIF: i ← i + dt/τ_syn·(w_in·I − i);  v ← v + dt/τ_mem·(v_leak − v + r·i);  as LIF

    A neuron with ``dt/τ = 1`` (``dt/τ_syn = dt/τ_mem = 1``), ``r = 1`` (``w_in = 1``) and
    ``v_leak = 0`` has ``v = I`` at every step: it is a stateless threshold, and the graphs
    ``export_nir`` writes (in every flavour) spike like Keras at every step. For those (and
    for ``Threshold``, and an ``IF`` with ``dt·r = 1`` at its first step) the pre-activations
    are computed in float64 and rounded once to float32, and decisions too close to the
    threshold to be certified (near-ties) are recomputed with Keras' own float32 ops in
    Keras' layout, on chunks of ``batch_size`` samples, so the spikes equal
    ``model.predict``'s. Other neurons are integrated in float64 without that guarantee.

    Args:
        graph: a ``nir.NIRGraph`` or the path of a file written by :func:`export_nir` /
            ``nir.write``.
        x: inputs in Keras layout (NHWC for images, ``(n, features)`` otherwise); images are
            converted to NIR's CHW internally.
        key: N-hot key to decode the output spikes; default: ``graph.metadata["key"]``.
        steps: None for one step with results of shape ``(n, …)``; an int ``T >= 1`` for T
            steps with results of shape ``(T, n, …)`` (classes then decode the output's spike
            rate over the T steps).
        dt: the time step; default ``graph.metadata["dt"]`` (written by ``export_nir``).
            Needed only by graphs with LIF, LI, IF or CubaLIF nodes.
        batch_size: the ``predict`` batch size near-ties are resolved against (None: one
            call on the whole batch).
        flatten: the order a Flatten of a conv map gives the next node's inputs, ``"chw"``
            (NIR's) or ``"hwc"`` (channels-last, as Spyx reads a graph); default
            ``graph.metadata["flatten"]`` (written by ``export_nir(..., flatten="hwc")``),
            else ``"chw"``.

    Returns:
        A :class:`SpikingResult` keyed by the spiking nodes' names (Threshold, LIF, IF,
        CubaLIF), without counts (``spike_counts``, ``synops`` and ``counts`` are None);
        ``near_ties`` sums over the steps.

    Raises:
        FileNotFoundError: if ``graph`` is a path to no file.
        ValueError: if the file is not a NIR graph, the graph is not a chain this runner
            executes (a node type it does not know is named), a neuron needs a ``dt`` the
            graph does not record, or ``x`` does not fit its input.
        TypeError: for a ``graph`` that is neither a graph nor a path, or a bad ``x``,
            ``steps`` or ``dt``.

    Example:
        >>> run_nir("digits.nir", x_test).classes
        >>> run_nir("digits.nir", x_test, steps=3).spikes["spikes"].shape  # (3, n, width)
    """
    nir = import_nir()
    batch_size = check_batch_size(batch_size)
    if steps is not None:
        steps = check_int(steps, "steps", minimum=1)
    if dt is not None:
        dt = check_number(dt, "dt", minimum=0.0, min_open=True)
    if isinstance(graph, (str, os.PathLike)):
        graph = _read(graph, nir)
    if not isinstance(graph, nir.NIRGraph):
        raise TypeError(f"graph must be a nir.NIRGraph or the path of a NIR file, got "
                        f"{describe(graph)}.")
    meta = graph.metadata if isinstance(graph.metadata, Mapping) else {}
    if flatten is None:  # a file read back may hold the string as bytes or a 0-d array
        flatten = np.asarray(meta.get("flatten", "chw")).item()
        flatten = flatten.decode() if isinstance(flatten, bytes) else flatten
    flatten = check_choice(flatten, "flatten", FLATTEN_ORDERS)
    order = _nir_chain(graph, nir)
    body = _body(graph, order, nir)
    dt = _time_step(graph, body, dt, nir)
    in_type = getattr(graph.nodes[order[0]], "input_type", {}) or {}
    in_shape = tuple(int(d) for d in np.asarray(in_type.get("input", ())).ravel())
    if not in_shape:
        raise ValueError(f"the Input node {order[0]!r} of the NIR graph has no input shape.")
    a0 = check_samples(x, nhwc_shape(in_shape), "x")
    if a0.ndim == 4:
        a0 = a0.transpose(0, 3, 1, 2)  # NHWC → NCHW
    a0 = a0.astype(np.float64)
    states: dict[str, dict] = {name: {} for name in body}
    near_ties: dict[str, int] = {}
    per_step, outputs = [], []
    for _ in range(steps or 1):
        spikes, a = _step(graph, body, a0, states, dt, batch_size, near_ties, nir, flatten)
        per_step.append(spikes)
        outputs.append(nhwc(a).astype(np.uint8))
    if steps is None:
        spikes, output = per_step[0], outputs[0]
    else:
        spikes = {name: np.stack([s[name] for s in per_step]) for name in per_step[0]}
        output = np.stack(outputs)
    if key is None and isinstance(graph.metadata, Mapping) and "key" in graph.metadata:
        key = np.asarray(graph.metadata["key"])
    classes = None
    if key is not None:
        rate = output if steps is None else output.mean(axis=0)
        classes = decode(rate.reshape(len(rate), -1), key)
    return SpikingResult(spikes=spikes, output=output, classes=classes, near_ties=near_ties)


def _body(graph, order, nir) -> list[str]:
    """The chain between Input and Output; a node type the runner does not know is an error."""
    known = (nir.Affine, nir.Linear, nir.Conv2d, nir.SumPool2d, nir.Flatten, nir.Threshold,
             nir.LIF, nir.IF, nir.LI, nir.CubaLIF)
    body = []
    for name in order[1:]:
        node = graph.nodes[name]
        if isinstance(node, nir.Output):
            break
        if not isinstance(node, known):
            raise ValueError(
                f"run_nir cannot execute node {name!r} of type {type(node).__name__}; it runs "
                f"{_NODES}. Graphs written by export_nir(..., neuron=...) use only these, "
                f"in every flavour ({', '.join(map(repr, NEURONS))}).")
        body.append(name)
    return body


def _time_step(graph, body, dt, nir) -> float | None:
    dynamic = [n for n in body if isinstance(graph.nodes[n], (nir.LIF, nir.IF, nir.LI,
                                                               nir.CubaLIF))]
    if dt is not None or not dynamic:
        return dt
    meta = graph.metadata if isinstance(graph.metadata, Mapping) else {}
    if "dt" not in meta:
        node = graph.nodes[dynamic[0]]
        raise ValueError(f"node {dynamic[0]!r} ({type(node).__name__}) integrates over time "
                         "but the graph's metadata records no time step 'dt'; pass "
                         "run_nir(..., dt=...).")
    return check_number(float(np.asarray(meta["dt"])), "the graph's metadata 'dt'",
                        minimum=0.0, min_open=True)


def _step(graph, body, a, states, dt, batch_size, near_ties, nir, flatten):
    """One time step through the chain: the spikes of every spiking node, and the output."""
    spikes = {}
    pending, flat_from = None, None  # flat_from: CHW shape a Flatten just flattened
    for name in body:
        node = graph.nodes[name]
        if isinstance(node, (nir.Affine, nir.Linear, nir.Conv2d)):
            a, pending = _linear_nir(node, a, flat_from, nir)
            flat_from = None
            continue
        if isinstance(node, nir.SumPool2d):
            a, pending, flat_from = _sumpool_nchw(a, node), None, None
            continue
        if isinstance(node, nir.Flatten):
            start = int(node.start_dim) + 1  # NIR shapes exclude the batch axis
            end = a.ndim if int(node.end_dim) == -1 else int(node.end_dim) + 2
            flat_from = a.shape[1:] if (a.ndim == 4 and start == 1 and end == 4) else None
            if flat_from is not None and flatten == "hwc":  # channels-last: Keras' own order
                a, flat_from = a.transpose(0, 2, 3, 1), None
            a = a.reshape((*a.shape[:start], -1, *a.shape[end:]))
            continue
        flat_from = None
        if isinstance(node, nir.LI):
            v, exact = _membrane(node, a, states[name], dt, nir)
            a, pending = v, (pending if exact else None)
            continue
        v, exact = (a, True) if isinstance(node, nir.Threshold) else _membrane(
            node, a, states[name], dt, nir)
        threshold = node.threshold if isinstance(node, nir.Threshold) else node.v_threshold
        fired = _threshold_nir(v, threshold, pending if exact else None, batch_size, name,
                               near_ties)
        if not isinstance(node, nir.Threshold):  # reset where the neuron fired
            reset = np.broadcast_to(np.asarray(node.v_reset, np.float64), v.shape[1:])
            states[name]["v"] = np.where(fired > 0, reset, v)
        a, pending = fired, None
        spikes[name] = nhwc(a).astype(np.uint8)
    return spikes, a


def _params(node, a, *names) -> list[np.ndarray]:
    return [np.broadcast_to(np.asarray(getattr(node, n), np.float64), a.shape[1:])
            for n in names]


def _membrane(node, a, state, dt, nir) -> tuple[np.ndarray, bool]:
    """A neuron's membrane after one Euler step of input ``a``; True if it equals ``a``."""
    v0 = state.get("v", np.zeros(a.shape))
    if isinstance(node, nir.IF):
        (r,) = _params(node, a, "r")
        gain = dt * r
        if np.all(gain == 1.0) and not np.any(v0):
            return a, True
        return v0 + gain * a, False
    if isinstance(node, nir.CubaLIF):
        tau_syn, tau_mem, r, leak, w_in = _params(node, a, "tau_syn", "tau_mem", "r", "v_leak",
                                                  "w_in")
        g_syn, g_mem = dt / tau_syn, dt / tau_mem
        if (np.all(g_syn == 1.0) and np.all(g_mem == 1.0) and np.all(r == 1.0)
                and np.all(w_in == 1.0) and not np.any(leak)):
            return a, True
        i0 = state.get("i", np.zeros(a.shape))
        state["i"] = i0 + g_syn * (w_in * a - i0)
        return v0 + g_mem * (leak - v0 + r * state["i"]), False
    tau, r, leak = _params(node, a, "tau", "r", "v_leak")  # LIF, LI
    gain = dt / tau
    if np.all(gain == 1.0) and np.all(r == 1.0) and not np.any(leak):
        v = a
    else:
        v = v0 + gain * (leak - v0 + r * a)
    if isinstance(node, nir.LI):
        state["v"] = v
    return v, v is a


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


def nhwc(a: np.ndarray) -> np.ndarray:
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
            perm = hwc_to_chw_perm(nhwc_shape(flat_from))
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
