"""Batched NEB images: every image of a band evaluated in one model call per optimizer step.

ase.mep.NEB asks its images for energies and forces one after another (end points, then images
1…n). For ML potentials that accept batches (CHGNet, SevenNet, MACE) one forward/backward pass over
a batch of n graphs costs less than n passes over one graph: the per-call overhead (graph building,
Python dispatch, small tensor kernels) is paid once. :class:`BatchedBand` gives every image a thin
calculator (:class:`BandImageCalculator`); the first image asked after the positions changed
triggers one batched evaluation of every image whose structure changed, and the others are served
from that result. Each image's ``calculate`` is still called once per step, so force-call counts
(:class:`~atomflow.jobs.ase_run.CallCounter`) mean the same with and without batching.

Only energies and forces are computed (NEB needs nothing else). The numbers are the single-structure
calculator's up to floating-point summation order: float64 models (MACE here) agree to ~1e-10 eV,
float32 models (SevenNet-0, CHGNet) to the float32 resolution of the total energy (~1e-5 eV for 63
atoms) and ~1e-6 eV/Å in the forces (tests/test_neb_batched.py).

Each backend owns its batch evaluator and the rule for when batching pays
(:mod:`atomflow.calculators.backends`); this module asks :func:`~atomflow.calculators.can_batch`,
:func:`~atomflow.calculators.batch_pays` and :func:`~atomflow.calculators.batch_evaluator`. DFT and
classical calculators keep the per-image path (:func:`batch_evaluator` returns None).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes, compare_atoms

from atomflow.calculators import (
    CalculatorSpec,
    batch_evaluator,
    batch_pays,
    batching_backends,
    can_batch,
    check_structure,
)
from atomflow.calculators.backend import BatchEvaluator, EnergyForces
from atomflow.errors import InputError

__all__ = ["BandImageCalculator", "BatchEvaluator", "BatchedBand", "EnergyForces", "attach_batched",
           "batch_by_default", "batch_evaluator", "check_batched"]


# --- what the backend says about batching ----------------------------------------------------------

def batch_by_default(spec: CalculatorSpec | str) -> bool:
    """What ``batched=None`` means: batch where the backend can and it pays (its ``batch_pays`` rule)."""
    return batch_pays(spec)


def check_batched(spec: CalculatorSpec | str, batched: bool | None) -> None:
    """Raise InputError (before any work) for ``batched=True`` with a backend that cannot batch."""
    spec = CalculatorSpec.parse(spec)
    if batched and not can_batch(spec):
        raise InputError(f"Calculator {spec.label!r} cannot evaluate NEB images in batches "
                         f"(batched backends: {', '.join(batching_backends())}); use batched=None or False.")


# --- the band ------------------------------------------------------------------------------------

class BatchedBand:
    """Gives each image of a band a :class:`BandImageCalculator` backed by one batched evaluator.

    When an image is asked for results and its structure changed since it was last evaluated, every
    image whose structure changed is evaluated in one call of ``evaluator`` (at most ``batch_size``
    structures per call; None: all). ``n_model_calls`` counts those calls, ``n_evaluated`` the
    structures they evaluated.
    """

    def __init__(self, images: Sequence[Atoms], evaluator: BatchEvaluator, *, batch_size: int | None = None):
        if batch_size is not None and batch_size < 1:
            raise InputError(f"batch_size must be ≥ 1 or None, got {batch_size}.")
        self.images = list(images)
        self.evaluator = evaluator
        self.batch_size = batch_size
        self.n_model_calls = 0
        self.n_evaluated = 0
        self._evaluated: list[Atoms | None] = [None] * len(self.images)  # each image as last evaluated
        self._results: list[dict | None] = [None] * len(self.images)
        for index, image in enumerate(self.images):
            image.calc = BandImageCalculator(self, index)

    def _stale(self, index: int) -> bool:
        seen = self._evaluated[index]
        return seen is None or bool(compare_atoms(seen, self.images[index]))

    def results_for(self, index: int) -> dict:
        """Energy and forces of image ``index`` at its current positions (evaluating the band if needed)."""
        if self._stale(index):
            stale = [j for j in range(len(self.images)) if j == index or self._stale(j)]
            size = self.batch_size or len(stale)
            for start in range(0, len(stale), size):
                chunk = stale[start:start + size]
                seen = [self.images[j].copy() for j in chunk]
                results = self.evaluator(seen)
                self.n_model_calls += 1
                self.n_evaluated += len(chunk)
                for j, atoms, (energy, forces) in zip(chunk, seen, results):
                    self._evaluated[j] = atoms
                    self._results[j] = {"energy": energy, "free_energy": energy,
                                        "forces": np.array(forces, dtype=float)}
        result = self._results[index]
        return {key: (value.copy() if isinstance(value, np.ndarray) else value) for key, value in result.items()}


class BandImageCalculator(Calculator):
    """The calculator of one image of a :class:`BatchedBand`: serves that image's batched results."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, band: BatchedBand, index: int):
        super().__init__()
        self.band = band
        self.index = index

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        if atoms is not None and atoms is not self.band.images[self.index]:
            raise InputError("A band image calculator serves only its own image of the band.")
        self.results = self.band.results_for(self.index)


def attach_batched(images: Sequence[Atoms], spec: CalculatorSpec | str, batched: bool | None = None,
                   *, batch_size: int | None = None) -> BatchedBand | None:
    """Give the images batched calculators if ``batched`` (None: :func:`batch_by_default`).

    Returns the band, or None when the images should get their own calculators. ``batched=True`` with a
    backend that cannot batch raises InputError; so does a model that cannot run batched (TorchScript
    SevenNet, compiled MACE) when batching was asked for explicitly.
    """
    spec = CalculatorSpec.parse(spec)
    check_batched(spec, batched)
    if not (batch_by_default(spec) if batched is None else batched):
        return None
    check_structure(spec, images[0])  # unsupported elements fail before any work, as get_calculator does
    evaluator = batch_evaluator(spec)
    if evaluator is None:
        if batched:
            raise InputError(f"The {spec.label!r} model cannot run batched (a TorchScript or compiled "
                             "model); use batched=None or False.")
        return None
    return BatchedBand(images, evaluator, batch_size=batch_size)
