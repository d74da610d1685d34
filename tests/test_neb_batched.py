"""Batched NEB images (atomflow.neb.batched): the same numbers as one calculator per image, fewer model calls.

Small cells (the 7-atom conventional NaCl cell with one Na removed) so every test runs in seconds.
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from pymatgen.core import Lattice, Structure

from atomflow.calculators import get_calculator
from atomflow.errors import InputError
from atomflow.neb import MigrationMaker, run_neb
from atomflow.neb.batched import (
    BatchedBand,
    attach_batched,
    batch_by_default,
    batch_evaluator,
    check_batched,
)
from atomflow.neb.path import interpolate_band
from atomflow.neb.run import run_neb_with_ase


def nacl() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def small_hop():
    """End points of a partial Na hop towards a vacancy in the conventional cell (7 atoms), not relaxed.

    The cell is too small for a real hop (atomflow.neb.hops refuses it); the tests only compare two ways
    of evaluating the same band.
    """
    initial = nacl()
    initial.remove_sites([0])  # the vacancy at the origin
    moving = next(i for i, site in enumerate(initial) if site.specie.symbol == "Na")  # at (0, a/2, a/2)
    final = initial.copy()
    final.translate_sites([moving], -0.4 * final[moving].coords, frac_coords=False, to_unit_cell=False)
    return initial, final


def band(n_images: int = 3):
    from pymatgen.io.ase import AseAtomsAdaptor

    initial, final = small_hop()
    images = interpolate_band(AseAtomsAdaptor.get_atoms(initial), AseAtomsAdaptor.get_atoms(final), n_images)
    for k, image in enumerate(images[1:-1], start=1):  # off the straight path: non-zero forces everywhere
        image.rattle(0.05, seed=k)
    return images


def assert_same_as_single_structure(spec: str, e_tol: float, f_tol: float) -> None:
    images = band()
    results = batch_evaluator(spec)(images)
    assert len(results) == len(images)
    for image, (energy, forces) in zip(images, results):
        single = image.copy()
        single.calc = get_calculator(spec, single)
        assert energy == pytest.approx(single.get_potential_energy(), abs=e_tol)
        assert np.abs(forces - single.get_forces()).max() < f_tol


def assert_same_band(spec: str, steps: int = 15) -> None:
    """Batched and per-image runs follow the same optimizer trajectory to the same barrier."""
    initial, final = small_hop()
    kw = {"n_images": 3, "max_steps": steps, "fmax": 1e-4, "preconverge_fmax": None}
    one = run_neb_with_ase(initial, final, spec, batched=False, **kw)
    many = run_neb_with_ase(initial, final, spec, batched=True, **kw)
    assert not one.batched and many.batched
    assert many.n_steps == one.n_steps and many.n_force_calls == one.n_force_calls  # same meaning of a call
    # one model call per band evaluation: the first evaluates the 3 images and both end points, the rest 3
    assert many.n_model_calls == 1 + (many.n_force_calls - 5) // 3
    assert many.n_model_calls <= many.n_steps + 2  # + 1 if GuardedLBFGS went back to its best band
    # float64 and the same trajectory: the same numbers to rounding. (This band's barrier is only ~4 meV, so
    # a 1 meV tolerance would not test it.)
    barrier = lambda run: run.energies.max() - run.energies[0]  # noqa: E731
    assert barrier(many) == pytest.approx(barrier(one), abs=1e-9)  # eV
    assert np.abs(many.energies - one.energies).max() < 1e-9


# --- the band's bookkeeping, with a stand-in evaluator (no ML) -----------------------------------

class PairEvaluator:
    """EMT through the batch interface, recording what each call evaluated."""

    def __init__(self):
        self.calls: list[int] = []

    def __call__(self, images):
        self.calls.append(len(images))
        out = []
        for image in images:
            atoms = image.copy()
            atoms.calc = get_calculator("emt")
            out.append((atoms.get_potential_energy(), atoms.get_forces()))
        return out


def cu_band():
    images = [bulk("Cu", "fcc", a=3.61, cubic=True) for _ in range(5)]
    for k, image in enumerate(images):
        image.positions[0] += 0.05 * k
    return images


def test_band_evaluates_every_changed_image_in_one_call_and_serves_the_rest_from_cache():
    images, evaluator = cu_band(), PairEvaluator()
    band = BatchedBand(images, evaluator)
    first = [image.get_potential_energy() for image in images]
    assert evaluator.calls == [5]  # the first image asked evaluated all five
    images[2].positions[1] += 0.01
    images[3].positions[1] += 0.01
    assert images[1].get_potential_energy() == first[1]  # unchanged: no new call
    assert evaluator.calls == [5]
    images[2].get_forces()
    assert evaluator.calls == [5, 2]  # the two moved images, together
    images[3].get_forces()
    assert evaluator.calls == [5, 2] and band.n_model_calls == 2 and band.n_evaluated == 7
    for image in images:  # each image's own numbers, as EMT gives them one at a time
        reference = image.copy()
        reference.calc = get_calculator("emt")
        assert image.get_potential_energy() == pytest.approx(reference.get_potential_energy(), abs=1e-12)


def test_batch_size_splits_the_calls():
    images, evaluator = cu_band(), PairEvaluator()
    BatchedBand(images, evaluator, batch_size=2)
    images[0].get_forces()
    assert evaluator.calls == [2, 2, 1]
    with pytest.raises(InputError, match="batch_size"):
        BatchedBand(cu_band(), evaluator, batch_size=0)


def test_non_batched_calculators_keep_the_per_image_path_and_refuse_batched_true():
    assert not batch_by_default("emt") and not batch_by_default("fumi_tosi")
    assert attach_batched(cu_band(), "emt", None) is None
    with pytest.raises(InputError, match="cannot evaluate NEB images in batches"):
        check_batched("emt", True)
    initial, final = small_hop()
    with pytest.raises(InputError, match="batches"):
        run_neb(initial, final, "fumi_tosi", batched=True)
    with pytest.raises(InputError, match="batches"):
        MigrationMaker(calculator="fumi_tosi", batched=True, supercell_min_length=None).make(nacl())


def test_batched_setting_reaches_the_settings_only_when_given():
    assert "batched" not in MigrationMaker(calculator="fumi_tosi").settings  # stored bands keep their keys
    assert MigrationMaker(calculator="sevennet", batched=False).settings["batched"] is False


def test_default_batches_where_it_pays():
    assert batch_by_default("sevennet:device=cuda") and batch_by_default("chgnet")
    assert not batch_by_default("sevennet")  # slower batched on CPU (benchmarks/bench_batched.py)


# --- MACE (tiny random model, float64): exact agreement --------------------------------------------

def test_mace_batched_equals_single_structure(tiny_mace_model):
    assert_same_as_single_structure(f"mace:{tiny_mace_model}", e_tol=1e-8, f_tol=1e-8)


def test_evaluator_is_built_once_per_loaded_model(tiny_mace_model):
    from atomflow.calculators import clear_cache

    spec = f"mace:{tiny_mace_model}"
    first = batch_evaluator(spec)
    assert batch_evaluator(spec) is first  # every NEB run of a study shares it
    clear_cache()  # frees the model: the evaluator must go with it, not keep the model alive
    assert batch_evaluator(spec) is not first


def test_mace_batched_band_follows_the_same_trajectory(tiny_mace_model):
    assert_same_band(f"mace:{tiny_mace_model}")


def test_maker_passes_batched_through_its_settings(tiny_mace_model):
    import uuid

    from jobflow import run_locally

    from atomflow.neb.flow import run_ci_neb
    from atomflow.store import open_store

    spec = f"mace:{tiny_mace_model}"
    # FIRE: five plain steps (GuardedLBFGS may re-evaluate its best band on this random model's forces)
    maker = MigrationMaker(calculator=spec, batched=True, n_images=3, max_steps=5, fmax=1e-6,
                           preconverge_fmax=None, optimizer="FIRE")
    initial, final = small_hop()
    job = run_ci_neb(initial, final, maker.spec, maker.settings)
    store = open_store(f"memory://{uuid.uuid4()}")
    out = run_locally(job, store=store, log=False, ensure_success=True)[job.uuid][1].output
    assert out["n_steps"] == 5 and out["n_force_calls"] == 2 + 3 * 6


# --- CHGNet and SevenNet (float32): agreement to float32 resolution ---------------------------------

@pytest.mark.mlip
@pytest.mark.parametrize("name", ["chgnet", "sevennet"])
def test_universal_potentials_batched_equal_single_structure(name):
    # float32 models: the total energy's resolution is ~1e-6 eV per eV; 7 atoms ≈ 25 eV
    assert_same_as_single_structure(name, e_tol=1e-4, f_tol=1e-4)


def full_hop(spec: str):
    """A whole Na hop into the vacancy of the 7-atom cell, end points relaxed with ``spec``.

    Periodic images of the moving atom are 5.6 Å apart, so this is no physical barrier; it is a smooth,
    converging band, which the float32 comparison below needs.
    """
    from atomflow.jobs.ase_run import relax

    initial = nacl()
    initial.remove_sites([0])
    moving = next(i for i, site in enumerate(initial) if site.specie.symbol == "Na")
    final = initial.copy()
    final.translate_sites([moving], -final[moving].coords, frac_coords=False, to_unit_cell=False)
    return relax(initial, spec).atoms, relax(final, spec).atoms


@pytest.mark.mlip
@pytest.mark.parametrize("name", ["chgnet", "sevennet"])
def test_universal_potentials_batched_band_converges_to_the_same_barrier(name):
    # float32 models: a batch sums in another order, so energies differ by ~1e-6 eV per evaluation; NEB compares
    # image energies (tangents, climbing image), so the two optimizer paths may part, but a converged band is
    # the same band. (The identical-trajectory check is the float64 MACE test above.)
    initial, final = full_hop(name)
    one = run_neb_with_ase(initial, final, name, batched=False, n_images=3)
    many = run_neb_with_ase(initial, final, name, batched=True, n_images=3)
    assert one.converged and many.converged and max(one.max_force, many.max_force) < 0.01
    assert not one.batched and many.batched and many.n_model_calls < many.n_force_calls / 2
    barrier = lambda run: run.energies.max() - run.energies[0]  # noqa: E731
    assert barrier(one) > 0.05  # a real saddle between the two end points
    assert barrier(many) == pytest.approx(barrier(one), abs=1e-3)  # eV
    assert np.abs(many.energies - one.energies).max() < 1e-3
