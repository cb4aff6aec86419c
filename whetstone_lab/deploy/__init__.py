"""Deploying a fully sharp network as threshold neurons (docs/design.md, "Deployment").

* :func:`to_spiking` turns a fully sharp Keras model into a :class:`SpikingNetwork`: plain
  threshold neurons that fire iff ``W·x + b >= θ`` (θ = 0.5 for SpikingBReLU, 0 for
  SpikingSigmoid), max-pooling as an OR over spikes, up-sampling as copies, BatchNorm folded
  away, an autoencoder's sigmoid read-out on the host
  (:mod:`~whetstone_lab.deploy.convert`).
* :meth:`SpikingNetwork.run` evaluates it exactly and counts spikes, the synaptic operations
  of the event-driven network (each input spike times its fan-out) and the
  multiply–accumulates a dense float network of the same shape would need
  (:mod:`~whetstone_lab.deploy.simulate`). Each layer is one float32 product, event-driven
  when few inputs spiked and BLAS otherwise, with float64 only for the decisions close to
  the threshold (:mod:`~whetstone_lab.deploy.products`).
* :func:`export_nir` writes the network as a NIR graph, its neurons as LIF (default),
  Threshold, LI + Threshold or CubaLIF nodes for different toolchains; :func:`run_nir`
  executes such a graph in NumPy, for one time step or T steps
  (:mod:`~whetstone_lab.deploy.nir`, :mod:`~whetstone_lab.deploy.nir_run`).
* :func:`energy_estimate` turns a run's operation counts into an estimate of the energy per
  inference on a neuromorphic chip against its dense twin's multiply-accumulates, each
  energy with its published source (:mod:`~whetstone_lab.deploy.energy`).

Both runners return a :class:`SpikingResult` and give exactly the spikes of Keras'
``predict``, layer by layer, ties at the threshold included
(:mod:`~whetstone_lab.deploy.exactness` explains how).

Example:
    >>> net = to_spiking(model)                 # model trained fully sharp
    >>> result = net.run(x_test)
    >>> (result.classes == y_test).mean()
    >>> result.summary()
"""

from .convert import to_spiking
from .energy import CHIPS, PROCESSORS, EnergyEstimate, energy_estimate
from .nir import export_nir, run_nir
from .simulate import (
    LayerCounts,
    SpikingNetwork,
    SpikingResult,
    keras_spikes,
    spike_agreement,
)

__all__ = [
    "to_spiking",
    "SpikingNetwork",
    "SpikingResult",
    "LayerCounts",
    "keras_spikes",
    "spike_agreement",
    "export_nir",
    "run_nir",
    "energy_estimate",
    "EnergyEstimate",
    "CHIPS",
    "PROCESSORS",
]
