"""An estimate of the energy of one inference: synaptic events on a neuromorphic chip against
multiply-accumulates on a conventional processor.

The paper's motivation is energy: a binary spike costs an *event* (a weight added to a target)
only where a neuron fired, where a conventional network pays a multiply-accumulate (MAC) for
every connection. This module turns the operation counts of the exact simulator
(:class:`~whetstone_lab.deploy.SpikingResult`) into joules with published energies per
operation. It is an *estimate*, and :meth:`EnergyEstimate.describe` says so with its
assumptions:

* the spiking network's first layer reads real-valued pixels, so its operations are MACs
  (charged at the MAC energy); every later operation is a synaptic event (charged at the
  chip's energy per synaptic operation);
* the conventional network is the same network with dense float activations: every
  connection is one 32-bit floating-point MAC;
* only the arithmetic (conventional) or the synaptic operation (chip) is counted: no memory
  traffic, no neuron updates, no static power, no host, no read-out or decoder. Fetching
  operands from memory usually costs more than the arithmetic itself (the MAC source below
  lists a 64-bit read from an 8 KB cache at 10 pJ), so a real processor spends more per MAC
  than this.

The energies, each with its source:

* :data:`CHIPS` ``"loihi"``: 23.6 pJ per synaptic spike operation, Intel's Loihi (14 nm) —
  M. Davies et al., "Loihi: A Neuromorphic Manycore Processor with On-Chip Learning",
  IEEE Micro 38(1), 82–99, 2018, Table 1.
* :data:`CHIPS` ``"truenorth"``: 46 billion synaptic operations per second per watt, i.e.
  21.7 pJ per synaptic event, IBM's TrueNorth (28 nm) — P. A. Merolla et al., "A million
  spiking-neuron integrated circuit with a scalable communication network and interface",
  Science 345(6197), 668–673, 2014.
* :data:`PROCESSORS` ``"fp32_45nm"``: 4.6 pJ per 32-bit floating-point MAC, a 3.7 pJ multiply
  plus a 0.9 pJ add at 45 nm, 0.9 V — M. Horowitz, "Computing's energy problem (and what we
  can do about it)", ISSCC 2014, 10–14.

Example:
    >>> result = to_spiking(model).run(data.x_test)
    >>> print(energy_estimate(result).describe())
"""

from __future__ import annotations

from dataclasses import dataclass

from ..validation import check_choice, describe
from .simulate import SpikingResult

__all__ = ["EnergyFigure", "CHIPS", "PROCESSORS", "EnergyEstimate", "energy_estimate"]


@dataclass(frozen=True)
class EnergyFigure:
    """A published energy per operation.

    Attributes:
        device: what performs the operation.
        joules: energy of one operation, in joules.
        operation: what one operation is.
        source: where the figure is published.
    """

    device: str
    joules: float
    operation: str
    source: str


#: Energy per synaptic event of neuromorphic chips.
CHIPS: dict[str, EnergyFigure] = {
    "loihi": EnergyFigure(
        "Intel Loihi (14 nm)", 23.6e-12, "synaptic spike operation",
        "Davies et al., IEEE Micro 38(1), 2018, Table 1"),
    "truenorth": EnergyFigure(
        "IBM TrueNorth (28 nm)", 1 / 46e9, "synaptic event (46 billion per second per watt)",
        "Merolla et al., Science 345(6197), 2014"),
}

#: Energy per multiply-accumulate of conventional arithmetic.
PROCESSORS: dict[str, EnergyFigure] = {
    "fp32_45nm": EnergyFigure(
        "32-bit floating point, 45 nm", 4.6e-12, "multiply-accumulate (3.7 pJ × + 0.9 pJ +)",
        "Horowitz, ISSCC 2014"),
}


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy per inference of a spiking network and of its dense twin (an estimate).

    Attributes:
        first_layer_macs: mean MACs per inference of the first layer (real-valued inputs).
        synaptic_events: mean synaptic events per inference of every later layer.
        dense_macs: MACs per inference of the same network with dense float activations.
        chip, processor: the :class:`EnergyFigure` used for each.
        spiking_joules: ``first_layer_macs × processor + synaptic_events × chip``.
        dense_joules: ``dense_macs × processor``.
    """

    first_layer_macs: float
    synaptic_events: float
    dense_macs: int
    chip: EnergyFigure
    processor: EnergyFigure

    @property
    def spiking_joules(self) -> float:
        return (self.first_layer_macs * self.processor.joules
                + self.synaptic_events * self.chip.joules)

    @property
    def dense_joules(self) -> float:
        return self.dense_macs * self.processor.joules

    @property
    def ratio(self) -> float:
        """Spiking energy / dense energy (below 1: the spiking network uses less)."""
        return self.spiking_joules / self.dense_joules

    def describe(self) -> str:
        """The estimate in a few lines, with its sources and what it leaves out."""
        return (
            f"Energy per image, an estimate (arithmetic only):\n"
            f"  spiking on {self.chip.device}: {self.first_layer_macs:,.0f} first-layer MACs "
            f"× {self.processor.joules * 1e12:.1f} pJ + {self.synaptic_events:,.0f} synaptic "
            f"events × {self.chip.joules * 1e12:.1f} pJ = {_joules(self.spiking_joules)}\n"
            f"  dense, {self.processor.device}: {self.dense_macs:,} MACs × "
            f"{self.processor.joules * 1e12:.1f} pJ = {_joules(self.dense_joules)}\n"
            f"  ratio {self.ratio:.3f}. Sources: {self.chip.source}; "
            f"{self.processor.source}.\n"
            "  Not counted: memory traffic, neuron updates, static power, the host's "
            "read-out and decoder."
        )


def _joules(value: float) -> str:
    """``value`` joules in the unit that keeps it between 1 and 1000: ``"3.77 µJ"``."""
    for unit, scale in (("pJ", 1e-12), ("nJ", 1e-9), ("µJ", 1e-6), ("mJ", 1e-3)):
        if value < 1000 * scale:
            return f"{value / scale:#.3g} {unit}"
    return f"{value:#.3g} J"


def energy_estimate(result: SpikingResult, chip: str = "loihi",
                    processor: str = "fp32_45nm") -> EnergyEstimate:
    """Estimate the energy per inference of a simulated network and of its dense twin.

    Args:
        result: what :meth:`~whetstone_lab.deploy.SpikingNetwork.run` returned (it carries
            the operation counts; ``run_nir``'s results do not count).
        chip: a key of :data:`CHIPS` (``"loihi"`` or ``"truenorth"``).
        processor: a key of :data:`PROCESSORS` (``"fp32_45nm"``).

    Returns:
        An :class:`EnergyEstimate`.

    Raises:
        TypeError: ``result`` is not a :class:`~whetstone_lab.deploy.SpikingResult`.
        ValueError: an unknown ``chip`` or ``processor``, or a result without counts.
    """
    if not isinstance(result, SpikingResult):
        raise TypeError("result must be what SpikingNetwork.run returned (a SpikingResult), "
                        f"got {describe(result)}.")
    chip = check_choice(chip, "chip", tuple(CHIPS))
    processor = check_choice(processor, "processor", tuple(PROCESSORS))
    counts = result._require_counts()
    first = sum(c.synops for c in counts if not c.event_driven)
    events = sum(c.synops for c in counts if c.event_driven)
    return EnergyEstimate(first, events, result.total_dense_macs, CHIPS[chip],
                          PROCESSORS[processor])
