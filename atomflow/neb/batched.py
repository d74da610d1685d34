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

DFT and classical calculators keep the per-image path (:func:`batch_evaluator` returns None).
"""

from __future__ import annotations

import copy
from typing import Callable, Sequence

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes, compare_atoms

from atomflow.calculators import BACKENDS, CalculatorSpec, check_structure
from atomflow.calculators.registry import derived_from_model, require_backend
from atomflow.errors import InputError

#: Energy (eV) and forces (N×3, eV/Å) of one structure.
EnergyForces = tuple[float, np.ndarray]
#: Evaluates many structures in one model call, results in input order.
BatchEvaluator = Callable[[Sequence[Atoms]], list[EnergyForces]]


# --- one evaluator per backend, built on the calculator's already-loaded model -------------------

def _split(forces: np.ndarray, counts: Sequence[int]) -> list[np.ndarray]:
    return np.split(forces, np.cumsum(counts)[:-1])


def _sevennet_evaluator(calc) -> BatchEvaluator | None:
    from torch_geometric.data import Batch

    import sevenn._keys as KEY
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.nn.sequential import AtomGraphSequential
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    if not isinstance(calc.model, AtomGraphSequential):
        return None  # a TorchScript (deployed) model has its batch mode compiled out
    # The shared model runs in single-graph mode for the per-structure calculators; a private copy
    # in batch mode (as sevenn's trainer and inference script run it) leaves them untouched.
    model = copy.deepcopy(calc.model)
    model.set_is_batch_data(True)
    model.eval()
    cutoff, device = calc.cutoff, calc.device

    def evaluate(images: Sequence[Atoms]) -> list[EnergyForces]:
        graphs = [AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(a, cutoff)) for a in images]
        batch = Batch.from_data_list(graphs).to(device)
        output = model(batch)
        energies = output[KEY.PRED_TOTAL_ENERGY].detach().cpu().numpy().reshape(-1)
        forces = output[KEY.PRED_FORCE].detach().cpu().numpy()
        return [(float(e), f) for e, f in zip(energies, _split(forces, [len(a) for a in images]))]

    return evaluate


def _chgnet_evaluator(calc) -> BatchEvaluator:
    from pymatgen.io.ase import AseAtomsAdaptor

    model = calc.model

    def evaluate(images: Sequence[Atoms]) -> list[EnergyForces]:
        graphs = [model.graph_converter(AseAtomsAdaptor.get_structure(a)).to(calc.device) for a in images]
        predictions = model.predict_graph(graphs, task="ef", batch_size=len(graphs))
        if isinstance(predictions, dict):
            predictions = [predictions]
        out = []
        for atoms, p in zip(images, predictions):
            # CHGNet predicts eV/atom; scale to the cell's energy in the model's float32, as CHGNetCalculator
            # does, so that NEB's energy comparisons (tangents, climbing image) see the same numbers
            factor = len(atoms) if model.is_intensive else 1
            out.append((float(p["e"] * factor), np.asarray(p["f"], dtype=float)))
        return out

    return evaluate


def _mace_evaluator(calc) -> BatchEvaluator | None:
    import torch
    from mace import data as mace_data
    from mace.tools import torch_geometric, torch_tools

    if getattr(calc, "use_compile", False) or getattr(calc, "model_type", "MACE") != "MACE":
        return None  # compiled models are padded to fixed shapes; other heads are not energy models
    keyspec = mace_data.KeySpecification(info_keys=calc.info_keys,
                                         arrays_keys={**calc.arrays_keys, calc.charges_key: "charges"})

    def evaluate(images: Sequence[Atoms]) -> list[EnergyForces]:
        # The graphs MACECalculator._atoms_to_batch builds for one structure, collated into one batch.
        with torch_tools.default_dtype(calc.default_dtype):
            graphs = [
                mace_data.AtomicData.from_config(
                    mace_data.config_from_atoms(a, key_specification=keyspec, head_name=calc.head),
                    z_table=calc.z_table, cutoff=calc.r_max, heads=calc.available_heads)
                for a in images
            ]
        base = torch_geometric.Batch.from_data_list(graphs).to(calc.device)
        energies = np.zeros(len(images))
        forces = np.zeros((sum(len(a) for a in images), 3))
        for model in calc.models:  # a committee is averaged, as the calculator does
            batch = base.clone()
            dtype = next(model.parameters()).dtype
            for key in batch.keys:
                value = batch[key]
                if torch.is_tensor(value) and torch.is_floating_point(value):
                    batch[key] = value.to(dtype=dtype)
            out = model(batch.to_dict(), compute_stress=False, training=False)
            energies += out["energy"].detach().cpu().numpy().reshape(-1) * calc.energy_units_to_eV
            forces += (out["forces"].detach().cpu().numpy()
                       * calc.energy_units_to_eV / calc.length_units_to_A)
        n = len(calc.models)
        return [(float(e / n), f / n) for e, f in zip(energies, _split(forces, [len(a) for a in images]))]

    return evaluate


#: backend name → builds a batch evaluator from a calculator of that backend (None: cannot batch it)
EVALUATORS: dict[str, Callable[[Calculator], BatchEvaluator | None]] = {
    "sevennet": _sevennet_evaluator,
    "chgnet": _chgnet_evaluator,
    "mace": _mace_evaluator,
}


#: Backends whose batched evaluation measured faster than per-image evaluation on CPU
#: (benchmarks/bench_batched.py, 5 images of the 63-atom NaCl hop: CHGNet 0.88–0.92× per CI-NEB). SevenNet-0
#: on CPU has almost no per-call overhead to save (5 images cost 5× one at best) and at glibc's default malloc
#: settings its 5-graph backward pass is 1.4–2× slower than 5 single calls (benchmarks/README.md).
BATCH_ON_CPU = frozenset({"chgnet"})


def batch_by_default(spec: CalculatorSpec | str) -> bool:
    """What ``batched=None`` means: batch where the backend can and it pays (a GPU, or BATCH_ON_CPU)."""
    spec = CalculatorSpec.parse(spec)
    if not BACKENDS[spec.name].batched or spec.name not in EVALUATORS:
        return False
    device = str(spec.parameters.get("device", "cpu"))
    return device != "cpu" or spec.name in BATCH_ON_CPU


def check_batched(spec: CalculatorSpec | str, batched: bool | None) -> None:
    """Raise InputError (before any work) for ``batched=True`` with a backend that cannot batch."""
    spec = CalculatorSpec.parse(spec)
    if batched and not (BACKENDS[spec.name].batched and spec.name in EVALUATORS):
        able = ", ".join(name for name in EVALUATORS if BACKENDS[name].batched)
        raise InputError(f"Calculator {spec.label!r} cannot evaluate NEB images in batches "
                         f"(batched backends: {able}); use batched=None or False.")


def batch_evaluator(spec: CalculatorSpec | str) -> BatchEvaluator | None:
    """A batched energy+forces function for the spec's model, or None where the backend cannot batch.

    The evaluator shares the model loaded by :func:`~atomflow.calculators.get_calculator` (loaded once
    per process) and is built once per model (SevenNet's private batch-mode copy costs 0.1 s on CPU).
    """
    spec = CalculatorSpec.parse(spec)
    backend = BACKENDS[spec.name]
    build = EVALUATORS.get(spec.name)
    if not backend.batched or build is None:
        return None
    require_backend(spec)
    return derived_from_model(spec, "batch evaluator", build)


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
