"""ML-seeded DFT (atomflow.seeding) with cheap real stand-ins: a test-registered 'DFT' backend (EMT declared as
DFT) seeded by Lennard-Jones (another minimum geometry than EMT's, so the seed's geometry is told apart from
the start and from the DFT result), and a seed that moves an atom into the vacancy (provokes the guard).

The real GPAW path (a seeded relaxation and a seeded CI-NEB) is in tests/test_gpaw.py; the VASP path (the
image folders' POSCARs come from the seed's band) in tests/test_vasp.py.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from ase.build import bulk
from jobflow import Flow, run_locally
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.calculators import Backend, CalculatorSpec, register, unregister
from atomflow.documents import RelaxDocument
from atomflow.errors import CalculatorError, InputError
from atomflow.jobs import RelaxMaker, StaticMaker, relax_step
from atomflow.seeding import DEFAULT_SEED, GUARD_ENERGY_TOL, guard_flags, resolve_seed
from atomflow.store import open_store
from atomflow.structures.convert import to_atoms

_counter = itertools.count()
LJ_SEED = "lj:sigma=2.3,epsilon=0.2"  # r_min = 2^(1/6)·2.3 = 2.58 Å; EMT Cu's nearest-neighbour distance 2.55 Å


def _emt_elements(params):
    from ase.calculators.emt import parameters

    return frozenset(parameters)


#: (positions of the first structure each 'toy_dft' calculator was asked about), in order
FIRST_SEEN: list[np.ndarray] = []


def _build_emt(params):
    from ase.calculators.emt import EMT

    class FirstSeen(EMT):
        """EMT that notes the positions of its first calculation (where a run started from)."""

        def calculate(self, atoms=None, properties=("energy",), system_changes=("positions",)):
            if not getattr(self, "_seen", False):
                self._seen = True
                FIRST_SEEN.append(atoms.positions.copy())
            super().calculate(atoms, properties, system_changes)

    return FirstSeen()


def _hop_relax(structure, spec, *, ase_driver, **kwargs):
    """A seed that lands elsewhere: moves atom ``move[0]`` to the empty fractional site ``move[1:]``, then relaxes."""
    atoms = to_atoms(structure).copy()
    move = spec.parameters.get("move")
    if move and move[0] < len(atoms):
        target = np.asarray(move[1:], float) @ np.asarray(atoms.cell)
        others = np.delete(atoms.positions, move[0], axis=0)
        from ase.geometry import get_distances

        _, d = get_distances([target], others, cell=atoms.cell, pbc=True)
        if d.min() > 1.0:  # only into an empty site (the vacancy), never onto an atom
            atoms.positions[move[0]] = target
    return ase_driver(atoms, spec, **kwargs)


@pytest.fixture(autouse=True)
def toy_backends():
    """'toy_dft': EMT declared as a DFT code; 'hop_seed': EMT whose relaxation first moves an atom."""
    register(Backend(name="toy_dft", description="EMT declared as DFT (tests)", build=_build_emt,
                     elements=_emt_elements, static_elements=frozenset(["Cu", "Al", "Ni"]), parameters=(),
                     dft=True))
    register(Backend(name="hop_seed", description="EMT after moving an atom (tests)", build=_build_emt,
                     elements=_emt_elements, drivers={"relax": _hop_relax}))
    yield
    unregister("toy_dft")
    unregister("hop_seed")


def cu_cell(a: float = 3.70, rattle: float = 0.05) -> Structure:
    atoms = bulk("Cu", "fcc", a=a, cubic=True)
    atoms.rattle(rattle, seed=1)
    return AseAtomsAdaptor.get_structure(atoms)


def cu_vacancy_cell() -> tuple[Structure, np.ndarray, int]:
    """2×2×2 conventional fcc Cu (EMT lattice) without atom 0; the removed site and the index of a neighbour."""
    perfect = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.59, cubic=True) * (2, 2, 2))
    site = perfect[0].frac_coords.copy()
    cell = perfect.copy()
    cell.remove_sites([0])
    d = [cell.lattice.get_distance_and_image(site, s.frac_coords)[0] for s in cell]
    return cell, site, int(np.argmin(d))


def run(flow) -> tuple:
    store = open_store(f"memory://seed-{next(_counter)}")
    run_locally(flow, store=store, log=False, ensure_success=True, raise_immediately=True)
    return store


def output(store, job) -> RelaxDocument:
    return RelaxDocument.model_validate(store.get_output(job.uuid))


# --- resolving the seed and bad input -------------------------------------------------------------------

def test_auto_seeds_dft_with_the_default_potential_and_nothing_else():
    assert resolve_seed("auto", "toy_dft") == CalculatorSpec.parse(DEFAULT_SEED) == CalculatorSpec.parse("sevennet")
    assert resolve_seed("auto", "vasp").name == "sevennet"
    assert resolve_seed("auto", "emt") is None
    assert resolve_seed(None, "toy_dft") is None
    assert RelaxMaker(calculator="toy_dft").seed_spec.name == "sevennet"
    assert StaticMaker(calculator="toy_dft").seed_spec is None  # a single point is never seeded


def test_a_seed_for_a_non_dft_calculator_is_one_clear_error():
    with pytest.raises(InputError, match="seed='lj' was given but the calculator 'emt' is not DFT.*seed=None"):
        RelaxMaker(calculator="emt", seed="lj")
    with pytest.raises(InputError, match="is a DFT code"):
        RelaxMaker(calculator="toy_dft", seed="vasp")
    from atomflow.elastic import ElasticMaker
    from atomflow.neb import MigrationMaker
    from atomflow.vacancy import VacancyFormationMaker

    for maker in (ElasticMaker, VacancyFormationMaker, MigrationMaker):
        with pytest.raises(InputError, match="the calculator 'emt' is not DFT"):
            maker(calculator="emt", seed="lj")


def test_gpaw_missing_names_make_install_gpaw_before_any_job(monkeypatch):
    import sys

    from atomflow.elastic import ElasticMaker
    from atomflow.errors import MissingDependencyError
    from atomflow.neb import MigrationMaker
    from atomflow.vacancy import VacancyFormationMaker

    monkeypatch.setitem(sys.modules, "gpaw", None)  # as if GPAW were not installed
    na = AseAtomsAdaptor.get_structure(bulk("Na", "bcc", a=4.2))
    for make in (lambda: ElasticMaker(calculator="gpaw").make(na),
                 lambda: VacancyFormationMaker(calculator="gpaw").make(na),
                 lambda: MigrationMaker(calculator="gpaw").make(na)):
        with pytest.raises(MissingDependencyError, match="make install-gpaw"):
            make()


def test_a_seed_that_cannot_handle_an_element_fails_before_any_job():
    from atomflow.elastic import ElasticMaker
    from atomflow.neb import MigrationMaker
    from atomflow.vacancy import VacancyFormationMaker

    nacl = AseAtomsAdaptor.get_structure(bulk("NaCl", "rocksalt", a=5.64))
    for make in (lambda: relax_step(RelaxMaker(calculator="toy_dft", seed="emt"), nacl),
                 lambda: ElasticMaker(calculator="vasp", seed="emt").make(nacl),
                 lambda: VacancyFormationMaker(calculator="vasp", seed="emt", mu=-1.0).make(nacl),
                 lambda: MigrationMaker(calculator="vasp", seed="emt").make(nacl)):
        with pytest.raises(CalculatorError) as err:
            make()
        message = str(err.value)
        assert "seed" in message and "Cl" in message and "Na" in message  # the elements …
        assert "seed='fumi_tosi'" in message or "seed='sevennet'" in message  # … and a seed that can


# --- the guard on numbers ------------------------------------------------------------------------------

def test_guard_rule_on_numbers():
    cell = np.eye(3) * 4.0
    start = np.array([[0.0, 0.0, 0.0], [2.0, 2.0, 0.0]])  # shortest distance 2.83 Å: limit 1.41 Å
    small = start + [[0.1, 0.0, 0.0], [0.0, -0.1, 0.0]]
    ok = guard_flags(start, cell, small, cell, start_energy=-1.0, seeded_energy=-1.2)
    assert ok.flags == [] and ok.max_displacement == pytest.approx(0.1) and ok.displacement_limit == pytest.approx(2 ** 0.5)
    # a homogeneously relaxed cell moves no atom from its site
    assert guard_flags(start, cell, start * 1.05, cell * 1.05, -1.0, -1.1).flags == []
    # across the periodic boundary (the result wrapped into the cell): 0.1 Å, not 3.9 Å
    wrapped = start + [[3.9, 0, 0], [0, 0, 0]]
    assert guard_flags(start, cell, wrapped, cell, -1.0, -1.1).max_displacement == pytest.approx(0.1)
    higher = guard_flags(start, cell, small, cell, start_energy=-1.0, seeded_energy=-1.0 + 2 * GUARD_ENERGY_TOL)
    assert len(higher.flags) == 1 and "above that of the unseeded start" in higher.flags[0]
    assert guard_flags(start, cell, small, cell, -1.0, -1.0 + 0.5 * GUARD_ENERGY_TOL).flags == []  # SCF noise
    moved = guard_flags(start, cell, start + [[1.5, 0, 0], [0, 0, 0]], cell, -1.0, -1.1)
    assert len(moved.flags) == 1 and "configuration changed" in moved.flags[0]


# --- seeded relaxations as jobs -------------------------------------------------------------------------

def test_seeded_relaxation_starts_dft_from_the_seed_geometry_with_the_dft_criteria():
    start = cu_cell()
    maker = RelaxMaker(calculator="toy_dft", seed=LJ_SEED, relax_cell=True)
    step = relax_step(maker, start, name="relax Cu")
    assert isinstance(step, Flow) and len(step.jobs) == 3
    ml_job, start_job, dft_job = step.jobs
    store = run(step)
    ml, static, dft = (output(store, j) for j in (ml_job, start_job, dft_job))
    assert ml.provenance.calculator["name"] == "lj" and static.n_steps == 0
    assert static.provenance.calculator["name"] == dft.provenance.calculator["name"] == "toy_dft"
    # DFT started from the seed's relaxed geometry, not from the given structure
    assert np.allclose(dft.input_structure.lattice.matrix, ml.structure.lattice.matrix, atol=1e-8)
    assert np.allclose(dft.input_structure.cart_coords, ml.structure.cart_coords, atol=1e-8)
    assert abs(ml.structure.lattice.a - start.lattice.a) > 0.02  # the seed did move it
    # … with the DFT criteria unchanged, and it ends in the DFT minimum (EMT's own lattice)
    assert dft.fmax == maker.fmax == 0.01 and dft.converged and dft.max_force < 0.01
    unseeded = output(run(Flow([j := RelaxMaker(calculator="toy_dft", seed=None, relax_cell=True).make(start)])), j)
    assert not unseeded.seed_check and unseeded.flags == []
    assert dft.structure.lattice.a == pytest.approx(unseeded.structure.lattice.a, abs=2e-3)
    assert dft.energy == pytest.approx(unseeded.energy, abs=2e-3)
    # provenance and guard: the seed is recorded; the guard compared with the DFT energy of the start
    assert dft.provenance.settings["seed"]["calculator"]["name"] == "lj"
    assert dft.seed_check.seed == "lj(epsilon=0.2, sigma=2.3)" and dft.seed_check.start_energy == static.energy
    assert dft.flags == []  # the same minimum: the guard stays quiet


def test_seed_is_in_the_reuse_key_of_the_dft_job_only():
    start = cu_cell()
    plain = RelaxMaker(calculator="toy_dft", seed=None)
    seeded = RelaxMaker(calculator="toy_dft", seed=CalculatorSpec.parse(LJ_SEED))
    other = RelaxMaker(calculator="toy_dft", seed=CalculatorSpec.parse("lj:sigma=2.2"))
    info = {"start": start, "start_energy": 0.0}
    assert plain.reuse_key(start) == seeded.reuse_key(start)  # unseeded keys do not change with the field
    keys = {plain.reuse_key(start), seeded.reuse_key(cu_cell(rattle=0.1), info), other.reuse_key(start, info)}
    assert len(keys) == 3
    # the seeded key is that of the unseeded start: it does not depend on where the seed's geometry came out
    assert seeded.reuse_key(cu_cell(rattle=0.1), info) == seeded.reuse_key(cu_cell(rattle=0.2), info)


def test_a_rerun_of_a_seeded_relaxation_reuses_every_job():
    store = open_store(f"memory://seed-reuse-{next(_counter)}")
    maker = RelaxMaker(calculator="toy_dft", seed=LJ_SEED, relax_cell=False)
    first = relax_step(maker, cu_cell())
    run_locally(first, store=store, log=False, ensure_success=True)
    again = relax_step(maker, cu_cell())
    run_locally(again, store=store, log=False, ensure_success=True)
    a, b = (RelaxDocument.model_validate(store.get_output(f.jobs[-1].uuid)) for f in (first, again))
    assert a.cache_key == b.cache_key and a.energy == b.energy and a.n_calls == b.n_calls


def test_make_on_a_seeded_maker_becomes_the_seeded_jobs():
    job = RelaxMaker(calculator="toy_dft", seed=LJ_SEED, relax_cell=False).make(cu_cell())
    store = run(Flow([job]))
    doc = RelaxDocument.model_validate(store.get_output(job.uuid))
    assert doc.seed_check is not None and doc.provenance.settings["seed"]["calculator"]["name"] == "lj"
    names = {d["name"] for d in store.query({}, properties=["name"])}
    assert {"relax [seed lj(epsilon=0.2, sigma=2.3)]", "relax [unseeded start, guard]"} <= names


def test_the_seed_hessian_starts_an_ion_relaxation_but_not_a_cell_relaxation():
    """ASE-driven DFT (toy_dft: EMT declared DFT) relaxing ions in a fixed cell starts from the seed's Hessian
    (atomflow.seed_hessian), recorded in the guard and the seed key; a cell relaxation is seeded by geometry."""
    from atomflow.seed_hessian import HESSIAN_DELTA

    cell, _, _ = cu_vacancy_cell()
    ions = relax_step(RelaxMaker(calculator="toy_dft", seed=LJ_SEED, relax_cell=False), cell)
    dft = output(run(ions), ions.jobs[-1])
    assert dft.seed_check.curvature_calls == 6 * len(cell)
    assert dft.provenance.settings["seed"]["curvature"]["delta"] == HESSIAN_DELTA
    assert dft.converged and dft.max_force < dft.fmax and dft.flags == []
    whole = relax_step(RelaxMaker(calculator="toy_dft", seed=LJ_SEED, relax_cell=True), cu_cell())
    doc = output(run(whole), whole.jobs[-1])
    assert doc.seed_check.curvature_calls is None and "curvature" not in doc.provenance.settings["seed"]


def test_the_guard_single_point_is_skipped_when_the_seed_moved_nothing():
    """Strained fcc Cu (a = 3.70 Å, EMT's is 3.59): every atom sits on an inversion centre, so the seed moves
    nothing and the DFT relaxation starts at the start itself — its first energy is the guard's reference,
    and no separate single point is computed (a seeded elastic tensor of rock salt costs what an unseeded
    one does)."""
    from atomflow.jobs import StaticMaker

    strained = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.70, cubic=True))
    step = relax_step(RelaxMaker(calculator="toy_dft", seed=LJ_SEED, relax_cell=False), strained)
    store = run(step)
    ml_job, start_job, dft_job = step.jobs
    assert output(store, ml_job).n_steps == 0  # the seed took no step
    assert store.get_output(start_job.uuid) is None  # the guard's single point was skipped
    dft = output(store, dft_job)
    reference = output(run(Flow([j := StaticMaker(calculator="toy_dft").make(strained)])), j)
    assert dft.seed_check.start_energy == pytest.approx(reference.energy, abs=1e-10)
    assert dft.flags == [] and dft.converged


def _operations(structure, tol):
    import spglib

    atoms = to_atoms(structure)
    return len(spglib.get_symmetry_dataset((atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers),
                                           symprec=tol).rotations)


def test_the_seed_geometry_gets_back_the_symmetry_its_noise_took_but_never_more_than_the_start_had():
    """A float32 seed leaves ~1e-8 Å of noise in a relaxed cell; a DFT code's tight symmetry finder then sees
    less symmetry (more k-points). keep_start_symmetry makes the seed's symmetry exact, within 1e-4 Å."""
    from atomflow.seeding import keep_start_symmetry

    start = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.60, cubic=True))
    noisy_atoms = to_atoms(start)
    rng = np.random.default_rng(3)
    noisy_atoms.set_cell(noisy_atoms.cell[:] + rng.normal(scale=5e-9, size=(3, 3)), scale_atoms=True)
    noisy = AseAtomsAdaptor.get_structure(noisy_atoms)
    assert _operations(noisy, 1e-10) < _operations(start, 1e-10) == 192  # the noise hides the symmetry
    refined, changed = keep_start_symmetry(noisy, start)
    assert changed and _operations(refined, 1e-10) == 192
    assert np.abs(refined.lattice.matrix - noisy.lattice.matrix).max() < 1e-6  # orientation kept, tiny move
    # a real distortion (tetragonal, 0.02 Å) is kept: refined to its own group, not to the start's
    tetragonal = Structure(np.diag([3.60, 3.60, 3.62]), start.species, start.frac_coords)
    kept, _ = keep_start_symmetry(tetragonal, start)
    assert kept.lattice.c == pytest.approx(3.62, abs=1e-6) and _operations(kept, 1e-5) < 192
    # a seed more symmetric than a rattled start is left alone: DFT may still break what the seed made
    rattled = cu_cell(a=3.60, rattle=0.05)
    assert keep_start_symmetry(start, rattled) == (start, False)


# --- the guard in flows ---------------------------------------------------------------------------------

def test_guard_flags_a_seed_that_moves_a_neighbour_into_the_vacancy():
    cell, site, neighbour = cu_vacancy_cell()
    bad = CalculatorSpec(name="hop_seed", parameters={"move": [neighbour, *site.tolist()]})
    step = relax_step(RelaxMaker(calculator="toy_dft", seed=bad, relax_cell=False), cell)
    dft = output(run(step), step.jobs[-1])
    assert dft.seed_check.max_displacement > 2.0  # the neighbour now sits on the vacancy site
    assert any("configuration changed" in f for f in dft.flags)
    from atomflow.properties import trusted

    assert not trusted(dft)
    # the same seed with nothing to move (no empty site at the target) leaves the guard quiet
    quiet = relax_step(RelaxMaker(calculator="toy_dft", seed=bad.model_copy(update={"parameters": {
        "move": [neighbour, *cell[neighbour].frac_coords.tolist()]}}), relax_cell=False), cell)
    assert output(run(quiet), quiet.jobs[-1]).flags == []


def test_vacancy_document_is_flagged_when_a_seeded_cell_changed_configuration():
    from atomflow.vacancy import VacancyDocument, VacancyFormationMaker
    from atomflow.vacancy.sites import vacancy_cells

    host = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.59, cubic=True))
    common = {"calculator": "toy_dft", "species": "Cu", "min_length": 7.0, "schottky": False}
    cells = vacancy_cells(host, "Cu", min_length=7.0, max_atoms=300, schottky=False)
    vac = cells.vacancies[0]
    site = cells.perfect[vac.removed[0]].frac_coords
    d = [vac.structure.lattice.get_distance_and_image(site, s.frac_coords)[0] for s in vac.structure]
    bad = CalculatorSpec(name="hop_seed", parameters={"move": [int(np.argmin(d)), *site.tolist()]})
    flagged = VacancyDocument.model_validate(run_flow_output(VacancyFormationMaker(seed=bad, **common).make(host)))
    assert any("configuration changed" in f for f in flagged.flags), flagged.flags
    fine = VacancyDocument.model_validate(run_flow_output(VacancyFormationMaker(seed="emt", **common).make(host)))
    assert not any("seeded" in f for f in fine.flags)
    assert fine.provenance.settings["seed"]["calculator"]["name"] == "emt"
    assert fine.e_f_min == pytest.approx(flagged.e_f_min, abs=1e-3)  # the vacancy moved to an equivalent site


def run_flow_output(flow):
    store = run(flow)
    return store.get_output(flow.output.uuid)


def test_seeded_band_starts_from_the_seed_band_and_climbs_at_once():
    """The DFT band's images are first evaluated at the seed's converged band, not at an interpolation."""
    from atomflow.neb import MigrationDocument, MigrationMaker
    from atomflow.structures.band import interpolate_band

    perfect = bulk("Cu", "fcc", a=3.59, cubic=True) * (2, 2, 2)
    initial = perfect.copy()
    del initial[1]  # atom 0 hops into site 1 (nearest neighbours, 2.54 Å)
    final = initial.copy()
    final.positions[0] = perfect.positions[1]
    maker = MigrationMaker(calculator="toy_dft", seed=LJ_SEED, supercell_min_length=None, bulk_relax_maker=None,
                           n_images=3, fmax=0.03)  # below the pre-convergence stage's 0.05 eV/Å
    flow = maker.make_hop_flow(AseAtomsAdaptor.get_structure(initial), AseAtomsAdaptor.get_structure(final),
                               name="Cu hop", moving_index=0)
    FIRST_SEEN.clear()
    store = run(flow)
    doc = MigrationDocument.model_validate(store.get_output(flow.output.uuid, load=True))
    (seed_band,) = store.query({"name": "neb Cu hop [seed lj(epsilon=0.2, sigma=2.3)]"}, properties=["uuid"])
    seed_images = [Structure.from_dict(s) if isinstance(s, dict) else s
                   for s in store.get_output(seed_band["uuid"], load=True)["image_structures"]]
    inner = [im.cart_coords for im in seed_images[1:-1]]
    started = [p for p in FIRST_SEEN if any(np.allclose(p, x, atol=1e-8) for x in inner)]
    assert len(started) == 3  # each DFT image's calculator first saw the seed's image
    fresh = interpolate_band(to_atoms(doc.image_structures[0]), to_atoms(doc.image_structures[-1]), 3)  # unseeded
    assert not any(np.allclose(p, fresh[2].positions, atol=1e-3) for p in FIRST_SEEN)
    assert [s["climb"] for s in doc.stages] == [True]  # climbing from the first step
    assert doc.converged and doc.fmax == 0.03 and max(doc.image_max_forces) < 0.03
    assert doc.provenance.settings["seed"]["calculator"]["name"] == "lj" and doc.flags == []
    # the DFT band's optimizer started from the seed band's Hessians (3 images × (6N + 1) seed calls)
    assert doc.provenance.settings["seed"]["curvature"]["floor"] > 0
    (dft_band,) = store.query({"name": "neb Cu hop"}, properties=["uuid"])
    assert store.get_output(dft_band["uuid"])["seed_curvature_calls"] == 3 * (6 * len(initial) + 1)
