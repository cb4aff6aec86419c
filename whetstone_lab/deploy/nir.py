"""NIR export of a spiking network; the NumPy runner is in :mod:`.nir_run`.

:func:`export_nir` writes a fully sharp model (or a
:class:`~whetstone_lab.deploy.SpikingNetwork`) as a NIR graph (https://neuroir.org), with
its threshold neurons in one of several NIR node flavours so that neuromorphic toolchains
can load it; :func:`run_nir` executes such a graph and gives exactly Keras' spikes, near-ties
resolved as in the simulator. Both need the ``nir`` package
(``pip install whetstone_lab[nir]``). See docs/design.md, "Deployment".
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import keras
import numpy as np

from ..validation import check_bool, check_choice, check_number, describe
from . import simulate as sim
from .convert import to_spiking
from .nir_run import FLATTEN_ORDERS, NEURONS, chw, hwc_to_chw_perm, import_nir, run_nir
from .simulate import SpikingNetwork

__all__ = ["export_nir", "run_nir"]

#: The time step of the flavours with dynamics: snnTorch 1.0.0's fixed step.
DEFAULT_DT = 1e-4
#: The flavours snnTorch 1.0.0 imports, always with its fixed step DEFAULT_DT.
_SNNTORCH = ("lif", "cuba_lif")


# ----------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------
def export_nir(model, path: str | os.PathLike | None = None, *, neuron: str = "lif",
               dt: float = DEFAULT_DT, flatten: str = "chw", overwrite: bool = False,
               strict: bool = False):
    """Write a fully sharp model (or a :class:`SpikingNetwork`) as a NIR graph.

    The graph is a chain ``Input → Affine/Conv2d → neuron → … → Output`` in NIR's
    channels-first layout: Dense kernels ``(in, out)`` become Affine weights ``(out, in)``;
    Conv2D kernels ``(kh, kw, cin, cout)`` become ``(cout, cin, kh, kw)``; a Flatten becomes
    ``nir.Flatten`` of the CHW tensor, and the next Affine's columns are permuted from Keras'
    HWC order to CHW accordingly. Max-pooling of spikes (an OR) is ``SumPool2d`` (named
    ``<pool>_sum``) followed by a neuron of threshold 0. NIR neurons fire on ``v > t``
    (strict): the inclusive step ``v >= θ`` is written with ``t = nextafter(θ, -inf)`` in
    float32. The spiking node of each layer has the Keras layer's name, so spikes can be
    compared layer by layer. The metadata holds ``producer``, ``neuron`` (the flavour), ``dt``
    (flavours with dynamics) and the N-hot key (``key``).

    Neuron flavours (``neuron=``); with ``τ = dt`` every neuron is a stateless threshold,
    so the graph spikes like Keras at every time step:

    * ``"lif"`` (default): ``LIF(tau=dt, r=1, v_leak=0, v_threshold=t)``. Runs in snnTorch
      1.0.0 (``snntorch.import_nir.import_from_nir``; its step is fixed at ``dt = 1e-4``, the
      default here) and Norse 1.1.0 (``norse.torch.from_nir(graph, dt=1e-4)``, the same
      ``dt``); how each toolchain agrees with Keras, layer by layer and step by step, on
      dense and conv networks is in benchmarks/results/interop.md (``make interop``).
    * ``"cuba_lif"``: ``CubaLIF(tau_syn=dt, tau_mem=dt, r=1, v_leak=0, w_in=1,
      v_threshold=t)``; NIR semantics with the current updated before the membrane (as
      :func:`run_nir` does). Runs in snnTorch 1.0.0 and Norse 1.1.0 like ``"lif"``
      (benchmarks/results/interop.md).
    * ``"threshold"``: ``Threshold(t)``, NIR's exact stateless semantics, no ``dt``.
      snnTorch 1.0.0 refuses the node ("Unknown node type"), Norse 1.1.0 fails on it
      (``KeyError``), Spyx 1.0.0 drops it silently: for NIR itself and :func:`run_nir`.
    * ``"li_threshold"``: ``LI(tau=dt, r=1, v_leak=0)`` (named ``<layer>_li``) followed by
      ``Threshold(t)``, for Spyx 1.0.0 (``spyx.nir.from_nir(graph, x, dt=1e-4)``), which
      reads the pair as its ``PSU_LIF`` neuron (it integrates, then spikes): exact at every
      step for dense networks, and for conv networks exported with ``flatten="hwc"``. Spyx's
      own LIF and CuBaLIF spike from the membrane before adding the input (one step of delay
      per layer), so ``"lif"`` does not run there. Spyx runs channels-last and flattens conv
      maps in HWC order while NIR's Affine columns are CHW: for conv networks pass
      ``flatten="hwc"`` (below).

    Flatten: NIR shapes have no batch axis, so the Flatten of an image or a conv map has
    ``start_dim = 0``. snnTorch's and Norse's importers build ``torch.nn.Flatten(0, -1)``
    from it, which flattens the batch too; set ``start_dim = 1`` on that module after
    import (writing 1 into the file breaks NIR's own type check, so the file keeps 0).
    ``flatten`` chooses the order of the Affine's columns after the Flatten of a conv map:
    ``"chw"`` (default) is NIR's, which snnTorch, Norse and :func:`run_nir` read; ``"hwc"``
    keeps Keras' order for toolchains that flatten channels-last (Spyx), and is recorded in
    the metadata (``flatten``), which :func:`run_nir` follows.

    Known mismatches: ``"lif"``/``"cuba_lif"`` with a ``dt`` other than :data:`DEFAULT_DT`
    (snnTorch 1.0.0 imports them with its fixed step, so its neurons would not be the
    stateless thresholds exported), ``"lif"``/``"cuba_lif"`` of a
    conv network with ``flatten="hwc"`` (snnTorch and Norse flatten channels-first), and
    ``"li_threshold"`` of a conv network with ``flatten="chw"`` (Spyx flattens
    channels-last) each give a warning naming the toolchain, or a ValueError with
    ``strict=True``.

    Args:
        model: a fully sharp Keras model or a :class:`SpikingNetwork`.
        path: file to write (HDF5, NIR's format); None to only build the graph. Its folder
            must exist; an existing file is never replaced unless ``overwrite=True``.
        neuron: the neuron flavour, one of ``"lif"``, ``"threshold"``, ``"li_threshold"``,
            ``"cuba_lif"``.
        dt: the time step the neurons' ``tau`` is set to (positive; ignored by
            ``"threshold"``). Pass the same ``dt`` to the importer that runs the graph.
        flatten: ``"chw"`` (NIR's order) or ``"hwc"`` (Keras' and Spyx's): the column order
            of the Affine after the Flatten of a conv map.
        overwrite: replace a file already at ``path``.
        strict: refuse (ValueError), instead of warning about, a setting known not to run
            as exported in a named toolchain.

    Returns:
        The ``nir.NIRGraph`` (type-checked by NIR when built).

    Raises:
        TypeError: for a ``model`` that is neither, a ``path`` that is not a path, or a
            ``neuron``/``dt``/``flatten``/``overwrite``/``strict`` of the wrong type.
        FileExistsError: for an existing ``path`` without ``overwrite=True``.
        FileNotFoundError: for a ``path`` in a folder that does not exist.
        ValueError: for a model :func:`to_spiking` refuses, a layer NIR cannot express (a
            Conv2D with a non-square kernel, up-sampling, a host read-out: NIR 1.0 has no
            node for the last two), an unknown ``neuron`` or a ``dt`` that is not positive.

    Example:
        >>> export_nir(model, "digits.nir")                 # LIF neurons, dt = 1e-4
        >>> run_nir("digits.nir", x_test).classes
        >>> export_nir(model, "digits_spyx.nir", neuron="li_threshold", flatten="hwc")
    """
    nir = import_nir()
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (str or pathlib.Path) or None, got "
                        f"{describe(path)}.")
    neuron = check_choice(neuron, "neuron", NEURONS)
    dt = check_number(dt, "dt", minimum=0.0, min_open=True)
    flatten = check_choice(flatten, "flatten", FLATTEN_ORDERS)
    overwrite, strict = check_bool(overwrite, "overwrite"), check_bool(strict, "strict")
    if path is not None:  # before any work: the file is the user's until they say otherwise
        _check_target(Path(path), overwrite)
    if not isinstance(model, (SpikingNetwork, keras.Model)):
        raise TypeError(f"model must be a fully sharp Keras model or a SpikingNetwork, got "
                        f"{describe(model)}.")
    net = model if isinstance(model, SpikingNetwork) else to_spiking(model)
    inexpressible = [
        f"{s.name!r} ({'read-out' if isinstance(s, sim.ReadoutStage) else 'up-sampling'})"
        for s in net.stages if isinstance(s, (sim.ReadoutStage, sim.UpsampleStage))]
    if inexpressible:
        raise ValueError(f"export_nir cannot write {', '.join(inexpressible)}: NIR 1.0 has "
                         "no up-sampling node, and the graph holds spiking layers only (a "
                         "read-out runs on the host). The simulator runs such networks: "
                         "to_spiking(model).run(x).")
    # Only maps of several channels have two orders: a one-channel image flattens alike.
    conv_flatten = any(isinstance(s, sim.FlattenStage) and len(s.in_shape) == 3
                       and s.in_shape[-1] > 1 for s in net.stages)
    _check_toolchains(neuron, dt, flatten if conv_flatten else None, strict)
    nodes, shape = {}, net.input_shape
    nodes["input"] = nir.Input(input_type={"input": np.array(chw(shape))})
    perm = None  # pending HWC → CHW reordering of the next Dense's inputs
    for stage in net.stages:
        if isinstance(stage, sim.FlattenStage):
            if len(stage.in_shape) > 1:
                nodes[stage.name] = nir.Flatten(
                    input_type={"input": np.array(chw(stage.in_shape))},
                    start_dim=0, end_dim=-1)
                if len(stage.in_shape) == 3 and flatten == "chw":
                    perm = hwc_to_chw_perm(stage.in_shape)
        elif isinstance(stage, sim.PoolStage):
            nodes[f"{stage.name}_sum"] = nir.SumPool2d(
                kernel_size=np.array(stage.pool), stride=np.array(stage.strides),
                padding=np.array([0, 0]))
            threshold = np.zeros(chw(stage.out_shape), np.float32)  # OR: v > 0
            _add_neuron(nodes, nir, neuron, stage.name, threshold, dt)
        elif stage.kind == "dense":
            weight = stage.kernel if perm is None else stage.kernel[perm]
            nodes[stage.linear_name] = nir.Affine(weight=np.ascontiguousarray(weight.T),
                                                  bias=stage.bias.copy())
            _add_neuron(nodes, nir, neuron, stage.name,
                        _nir_threshold(stage.threshold, stage.out_shape), dt)
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
            _add_neuron(nodes, nir, neuron, stage.name,
                        _nir_threshold(stage.threshold, chw(stage.out_shape)), dt)
        shape = stage.out_shape
    nodes["output"] = nir.Output(output_type={"output": np.array(chw(shape))})
    names = list(nodes)
    metadata = {"producer": "whetstone_lab", "neuron": neuron}
    if neuron != "threshold":
        metadata["dt"] = dt
    if conv_flatten and flatten == "hwc":  # not NIR's order: readers must be told
        metadata["flatten"] = flatten
    if net.key is not None:
        metadata["key"] = net.key.astype(np.int8)
    graph = nir.NIRGraph(nodes=nodes, edges=list(zip(names[:-1], names[1:], strict=True)),
                         metadata=metadata)
    if path is not None:
        try:
            nir.write(path, graph)
        except OSError as err:  # HDF5's words name no file: say which one
            raise OSError(f"export_nir could not write {str(path)!r}: {err}") from err
    return graph


def _check_target(path: Path, overwrite: bool) -> None:
    """Refuse, naming the file, to replace a file or to write into a missing folder."""
    if path.is_dir():
        raise IsADirectoryError(f"path {str(path)!r} is a folder; export_nir writes a file: "
                                "pass a file name in it.")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} already exists; export_nir does not replace "
                              "files: pass overwrite=True to replace it, or another path.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"the folder {str(parent)!r} of {str(path)!r} does not exist; "
                                "create it first (Path(...).mkdir(parents=True)).")


def _check_toolchains(neuron: str, dt: float, flatten: str | None, strict: bool) -> None:
    """Warn (or refuse, ``strict``) about settings known not to run as exported somewhere.

    ``flatten`` is None when the graph flattens no conv map (the order then does not matter).
    """
    problems = []
    if neuron in _SNNTORCH and dt != DEFAULT_DT:
        problems.append(f"neuron={neuron!r} with dt={dt:g}: snnTorch 1.0.0 imports it with its "
                        f"fixed step {DEFAULT_DT:g}, so there the neurons are not the stateless "
                        f"thresholds exported (Norse and run_nir take dt={dt:g})")
    if neuron in _SNNTORCH and flatten == "hwc":
        problems.append(f"neuron={neuron!r} with flatten='hwc': snnTorch and Norse flatten conv "
                        "maps channels-first, so the dense layer after the Flatten would read "
                        "permuted inputs there; use flatten='chw'")
    if neuron == "li_threshold" and flatten == "chw":
        problems.append("neuron='li_threshold' (Spyx's flavour) with flatten='chw': Spyx "
                        "flattens conv maps channels-last, so the dense layer after the "
                        "Flatten would read permuted inputs there; use flatten='hwc'")
    if problems:
        message = "export_nir: " + "; ".join(problems) + "."
        if strict:
            raise ValueError(message)
        warnings.warn(message, UserWarning, stacklevel=3)


def _add_neuron(nodes: dict, nir, neuron: str, name: str, threshold: np.ndarray,
                dt: float) -> None:
    """The flavour's node(s) for a threshold neuron ``v > threshold`` (stateless: τ = dt)."""
    shape = threshold.shape
    tau = np.full(shape, dt, np.float64)  # float64: dt/τ is exactly 1 for float64 dt
    ones, zeros = np.ones(shape, np.float64), np.zeros(shape, np.float64)
    if neuron == "threshold":
        nodes[name] = nir.Threshold(threshold=threshold)
    elif neuron == "lif":
        nodes[name] = nir.LIF(tau=tau, r=ones, v_leak=zeros, v_threshold=threshold,
                              v_reset=zeros.copy())
    elif neuron == "li_threshold":
        nodes[f"{name}_li"] = nir.LI(tau=tau, r=ones, v_leak=zeros)
        nodes[name] = nir.Threshold(threshold=threshold)
    else:  # cuba_lif
        nodes[name] = nir.CubaLIF(tau_syn=tau, tau_mem=tau.copy(), r=ones, v_leak=zeros,
                                  v_threshold=threshold, v_reset=zeros.copy(),
                                  w_in=ones.copy())


def _nir_threshold(value: float, shape) -> np.ndarray:
    # NIR fires on v > threshold; the largest float32 below θ makes that v >= θ.
    below = np.nextafter(np.float32(value), np.float32(-np.inf), dtype=np.float32)
    return np.full(shape, below, dtype=np.float32)


def _conv_padding(stage: sim.SynapseStage):
    top, bottom, left, right = stage.pads
    if top == bottom and left == right:
        return (top, left)
    if stage.strides == (1, 1):
        return "same"  # asymmetric (even kernel): extra row/column after, as in Keras
    raise ValueError(f"Conv2D {stage.linear_name!r}: strided 'same' padding with uneven "
                     "pads has no NIR equivalent.")
