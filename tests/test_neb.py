"""Hops, end points and the CI-NEB flow, with EMT on small fcc cells (seconds each)."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass, field

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from jobflow import JobConfig, OnMissing, job, run_locally
from monty.json import MontyDecoder
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.errors import InputError
from atomflow.jobs.makers import RelaxMaker
from atomflow.neb import (
    Hop,
    MigrationDocument,
    MigrationMaker,
    build_endpoints,
    check_endpoints,
    find_hops,
    match_atom_order,
    resolve_hop,
    run_neb,
)
from atomflow.neb.hops import moving_atom_index
from atomflow.neb.analysis import FLAG_NOT_CONVERGED, mic_displacements
from atomflow.report import write_report
from atomflow.results import Results
from atomflow.runner import run_flow
from atomflow.store import open_store
from rich.console import Console

A_CU = 3.61  # Å, ase.build.bulk's Cu lattice constant (close to EMT's own minimum)


def cubic(symbol: str, crystal: str, a: float) -> Structure:
    return AseAtomsAdaptor.get_structure(bulk(symbol, crystal, a=a, cubic=True))


def nacl() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def run(flow):
    store = open_store(f"memory://{uuid.uuid4()}")
    run_locally(flow, store=store, log=False, ensure_success=True)
    return store


# --- hops and end points (no calculator) ---------------------------------------------------------

def test_fcc_has_one_distinct_nearest_neighbour_hop():
    hops = find_hops(cubic("Cu", "fcc", A_CU), "Cu")
    assert len(hops) == 1
    assert hops[0].length == pytest.approx(A_CU / np.sqrt(2), abs=1e-6)


def test_rocksalt_and_bcc_hops():
    (na,) = find_hops(nacl(), "Na")
    assert na.length == pytest.approx(5.64 / np.sqrt(2), abs=1e-6)  # Na-Na along <110>
    bcc = cubic("Na", "bcc", 4.23)
    (first,) = find_hops(bcc, "Na")
    assert first.length == pytest.approx(4.23 * np.sqrt(3) / 2, abs=1e-6)
    # a cutoff past the second shell (a) adds the <100> hop
    two = find_hops(bcc, "Na", max_hop_distance=4.3)
    assert [round(h.length, 3) for h in two] == [round(4.23 * np.sqrt(3) / 2, 3), 4.23]


def test_explicit_hop_between_wrong_species_names_sites_and_species():
    with pytest.raises(InputError, match=r"site 0 \(Na\) and site 4 \(Cl\)"):
        resolve_hop(nacl().get_sorted_structure(), (0, 4), "Na")
    with pytest.raises(InputError, match="does not exist"):
        resolve_hop(nacl(), (0, 99), "Na")
    with pytest.raises(InputError, match="no Na atoms"):
        find_hops(cubic("Cu", "fcc", A_CU), "Na")


def test_explicit_hop_with_image_and_name():
    cell = cubic("Cu", "fcc", A_CU)  # site 0 at the origin, site 1 at (0, a/2, a/2)
    near = resolve_hop(cell, (0, 1), "Cu")  # no image given: the nearest one (four are equally near)
    assert near.length == pytest.approx(A_CU / np.sqrt(2), abs=1e-9)
    home = resolve_hop(cell, (0, 1, (0, 0, 0)), "Cu")
    assert home.name == "0->1" and home.displacement == pytest.approx((0, A_CU / 2, A_CU / 2), abs=1e-9)
    # the same pair with site 1 taken in the next cell along x: the paper's primed site
    far = resolve_hop(cell, (0, 1, (1, 0, 0), "1->2'"), "Cu")
    assert far.name == "1->2'" and far.image == (1, 0, 0)
    assert far.displacement == pytest.approx((A_CU, A_CU / 2, A_CU / 2), abs=1e-9)
    assert Hop.parse({"site_a": 0, "site_b": 1}).image is None
    assert resolve_hop(cell, (0, 1, (1, 0, 0)), "Cu").name == "0->1'"


def test_endpoints_keep_one_atom_order_and_move_one_atom():
    cell = cubic("Cu", "fcc", A_CU)
    maker = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=7.0)
    (ep,) = maker.endpoints(cell)
    assert len(ep.initial) == len(ep.final) == ep.supercell_n_atoms - 1 == 31
    check_endpoints(ep.initial, ep.final)
    lattice = ep.initial.lattice.matrix
    d = np.linalg.norm(mic_displacements(ep.initial.cart_coords, ep.final.cart_coords, lattice), axis=1)
    assert d[ep.moving_index] == pytest.approx(ep.hop.length, abs=1e-9)
    assert np.delete(d, ep.moving_index).max() < 1e-9
    # the moving atom ends where the removed site was; it left site A empty
    full = maker_supercell(cell, 7.0)
    removed = full[ep.supercell_site_b].coords
    assert np.linalg.norm(mic_displacements(removed[None], ep.final.cart_coords[[ep.moving_index]],
                                            full.lattice.matrix)) < 1e-9


def emt_energies(structures) -> np.ndarray:
    """EMT energy of each structure (eV), computed here, independently of the workflow's numbers."""
    out = []
    for structure in structures:
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = EMT()
        out.append(atoms.get_potential_energy())
    return np.array(out)


def maker_supercell(cell, length):
    from atomflow.structures.supercell import make_supercell

    return make_supercell(cell, min_length=length)


def test_supercell_too_small_for_the_hop():
    cell = cubic("Cu", "fcc", A_CU)
    hop = resolve_hop(cell, (0, 1, (1, 0, 0), "long"), "Cu")  # 4.42 Å, more than half of 3.61 Å
    with pytest.raises(InputError, match="supercell_min_length"):
        build_endpoints(cell, hop)


def test_mismatched_endpoints_raise_before_running():
    cell = cubic("Cu", "fcc", A_CU) * (2, 2, 2)
    initial = cell.copy()
    initial.remove_sites([1])
    fewer = initial.copy()
    fewer.remove_sites([2])
    maker = MigrationMaker(calculator="emt", species="Cu")
    with pytest.raises(InputError, match="31 and 30 atoms"):
        maker.make_hop_flow(initial, fewer)
    alloy = initial.copy()
    alloy.replace(3, "Au")
    with pytest.raises(InputError, match=r"hold different atoms \(Cu31 and Cu30 Au1\)"):
        maker.make_hop_flow(initial, alloy)


def test_endpoints_in_another_atom_order_are_matched_before_the_band():
    initial, final = _endpoints_cu()
    order = np.random.default_rng(1).permutation(len(final))
    shuffled = Structure.from_sites([final[int(i)] for i in order])
    matched = match_atom_order(initial, shuffled)
    # each atom maps back to itself: the same positions as the unshuffled end point, atom by atom
    assert np.allclose(matched.cart_coords, final.cart_coords, atol=1e-9)
    assert match_atom_order(initial, final) is final  # already in order: untouched
    assert moving_atom_index(initial, matched) == 0


def test_maker_rejects_bad_settings_at_once():
    with pytest.raises(InputError, match="spring_constant"):
        MigrationMaker(calculator="emt", spring_constant=0.0)
    with pytest.raises(InputError, match="Unknown NEB optimizer"):
        MigrationMaker(calculator="emt", optimizer="Newton")
    with pytest.raises(InputError, match="relax_cell=False"):
        MigrationMaker(calculator="emt", endpoint_relax_maker=RelaxMaker(relax_cell=True))
    with pytest.raises(InputError, match="Cl"):  # explicit hop checked in make(), before any job
        MigrationMaker(calculator="emt", hops=[(0, 4)]).make(nacl().get_sorted_structure())
    maker = MigrationMaker(calculator="emt", species="Cu",
                           endpoint_relax_maker=RelaxMaker(calculator="lj", relax_cell=False))
    with pytest.raises(InputError, match="one calculator"):
        maker.make_hop_flow(*_endpoints_cu())


def _endpoints_cu():
    (ep,) = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=7.0).endpoints(
        cubic("Cu", "fcc", A_CU))
    return ep.initial, ep.final


# --- CI-NEB flows with EMT ---------------------------------------------------------------------------

def test_cu_vacancy_hop_at_the_paper_settings():
    """Full flow, default fmax 0.01 eV/Å: 31-atom Cu cell, one hop (≈ 2 s)."""
    cell = cubic("Cu", "fcc", A_CU)
    maker = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=7.0)
    flow = maker.make(cell)
    store = run(flow)
    docs = store.get_output(flow.output.uuid)
    assert len(docs) == 1
    doc = docs[0]
    assert isinstance(doc, MigrationDocument)
    assert doc.converged and doc.flags == []
    # symmetric hop: the band is its own reverse, and the two independently relaxed end points agree
    assert abs(doc.forward_barrier - doc.reverse_barrier) < 0.01
    assert abs(doc.final_energy - doc.initial_energy) < 0.01
    # the barrier is the stored saddle's energy (EMT, recomputed here) above the relaxed initial end point
    e_band = emt_energies(doc.image_structures)
    assert doc.forward_barrier == pytest.approx(e_band[3] - doc.initial_energy, abs=1e-6)
    assert doc.climbing_image_index == doc.highest_image_index == 3
    assert all(f < doc.fmax for f in doc.image_max_forces) and doc.fmax == 0.01
    # Sanity range, not a reference: EMT Cu vacancy migration comes out near 0.7–0.8 eV; experiment
    # for Cu is ~0.7 eV. Anything outside 0.5–1.0 eV means a broken band, not a different potential.
    assert 0.5 < doc.forward_barrier < 1.0
    assert len(doc.image_energies) == len(doc.reaction_coordinate) == doc.n_images + 2
    assert doc.spline_x[-1] == pytest.approx(doc.reaction_coordinate[-1])  # profile drawn over the path
    assert doc.n_force_calls >= doc.n_steps * doc.n_images
    assert doc.provenance.calculator["name"] == "emt"
    # the band lives in the data store; the main document holds a reference to it
    raw = store.docs_store.query_one({"output.@class": "MigrationDocument"})
    assert "blob_uuid" in raw["output"]["image_structures"]
    assert len(doc.image_structures) == doc.n_images + 2


def test_asymmetric_hop_forward_minus_reverse_is_endpoint_difference():
    """A Au solute next to the start site only: the hop is uphill or downhill, ΔE ≠ 0."""
    cell = cubic("Cu", "fcc", A_CU) * (2, 2, 2)  # 32 atoms, used as the supercell as given
    nn = A_CU / np.sqrt(2)

    def distances(point):
        d = mic_displacements(np.repeat(point[None], len(cell), 0), cell.cart_coords, cell.lattice.matrix)
        return np.linalg.norm(d, axis=1)

    d_a = distances(cell[0].coords)
    b = int(np.flatnonzero(abs(d_a - nn) < 0.01)[0])
    d_b = distances(cell[b].coords)
    solute = int(np.flatnonzero((abs(d_a - nn) < 0.01) & (d_b > nn + 0.5))[0])  # neighbours A, not B
    cell.replace(solute, "Au")
    maker = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=None, fmax=0.05,
                           hops=[(0, b, "solute")])
    flow = maker.make(cell)
    (doc,) = run(flow).get_output(flow.output.uuid)
    assert doc.name == "solute" and doc.site_a == 0 and doc.site_b == b
    assert abs(doc.delta_e) > 0.01  # the solute makes the two ends different
    # The two end points were relaxed in separate jobs: their energies give ΔE independently of the band.
    assert doc.forward_barrier - doc.reverse_barrier == pytest.approx(doc.final_energy - doc.initial_energy,
                                                                      abs=1e-6)
    # Each barrier is the stored top image's energy above its own end point, recomputed here with EMT.
    e_band = emt_energies(doc.image_structures)
    top = int(np.argmax(e_band))
    assert doc.forward_barrier == pytest.approx(e_band[top] - e_band[0], abs=1e-6)
    assert doc.reverse_barrier == pytest.approx(e_band[top] - e_band[-1], abs=1e-6)
    assert (e_band[0], e_band[-1]) == pytest.approx((doc.initial_energy, doc.final_energy), abs=1e-6)
    assert doc.converged and doc.climbing_image_index == doc.highest_image_index
    assert max(doc.image_max_forces) < 0.05


def test_converged_barrier_does_not_depend_on_the_starting_band():
    initial, final = _relaxed_cu_endpoints()
    idpp = run_neb(initial, final, "emt", fmax=0.01)
    linear = run_neb(initial, final, "emt", fmax=0.01, interpolation="linear", preconverge_fmax=None)
    assert idpp.converged and linear.converged
    assert idpp.max_force < 0.01 and linear.max_force < 0.01
    assert idpp.energies.max() - idpp.energies[0] == pytest.approx(linear.energies.max() - linear.energies[0],
                                                                   abs=0.005)


def test_step_limit_gives_converged_false_and_a_flag():
    cell = cubic("Cu", "fcc", A_CU)
    flow = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=7.0, max_steps=3).make(cell)
    (doc,) = run(flow).get_output(flow.output.uuid)
    assert not doc.converged
    assert FLAG_NOT_CONVERGED in doc.flags
    assert doc.n_steps <= 3


def _relaxed_cu_endpoints():
    from atomflow.jobs.ase_run import relax

    initial, final = _endpoints_cu()
    return relax(initial, "emt").atoms, relax(final, "emt").atoms


def test_single_hop_flow_from_given_endpoints():
    initial, final = _endpoints_cu()
    maker = MigrationMaker(calculator="emt", species="Cu", fmax=0.05)
    flow = maker.make_hop_flow(initial, final, name="given")
    raw = run(flow).get_output(flow.output.uuid, load=True)  # one job's output: a plain dict
    doc = MontyDecoder().process_decoded(raw)
    assert isinstance(doc, MigrationDocument) and len(doc.image_structures) == 7
    assert doc.name == "given" and doc.site_a is None
    assert doc.moving_index == 0  # found as the atom that moves between the end points
    assert doc.hop_length == pytest.approx(A_CU / np.sqrt(2), abs=1e-9)
    assert doc.converged and 0.5 < doc.forward_barrier < 1.0  # sanity range as above, not a reference


# --- partial failure: one hop's calculation fails ----------------------------------------------------

@dataclass
class CrashingRelaxMaker(RelaxMaker):
    """A relaxation that fails at run time, as a crashed calculation would, for the listed structures."""

    crash: list[Structure] = field(default_factory=list)

    @job(config=JobConfig(expose_store=True))
    def make(self, structure):
        for bad in self.crash:
            if len(bad) == len(structure) and np.allclose(bad.frac_coords, structure.frac_coords, atol=1e-8):
                raise RuntimeError("calculation crashed")
        return RelaxMaker.make.original(self, structure)


def test_a_failed_hop_keeps_the_other_hops_document_and_the_report(tmp_path):
    cell = cubic("Cu", "fcc", A_CU)  # two nearest-neighbour hops to different sites, in a 31-atom cell
    settings = {"calculator": "emt", "species": "Cu", "supercell_min_length": 7.0, "bulk_relax_maker": None,
                "fmax": 0.05, "hops": [(0, 1, "kept"), (0, 2, "crashed")]}
    (_, crashed) = MigrationMaker(**settings).endpoints(cell)
    endpoint = CrashingRelaxMaker(relax_cell=False, crash=[crashed.initial])
    flow = MigrationMaker(**settings, endpoint_relax_maker=endpoint).make(cell)
    store = str(tmp_path / "store")
    summary = run_flow(flow, store=store, console=Console(file=io.StringIO()))
    assert [(f.name, f.error) for f in summary.failures] == [("relax initial crashed",
                                                              "RuntimeError: calculation crashed")]
    (doc,) = Results(store).barriers().documents
    assert doc.name == "kept" and doc.converged and doc.forward_barrier > 0
    outputs = open_store(store).get_output(flow.output.uuid, on_missing=OnMissing.NONE)
    assert [getattr(d, "name", d) for d in outputs] == ["kept", None]  # None for the failed hop
    report = write_report(store=store, directory=tmp_path / "report").read_text()
    assert "| kept |" in report and "crashed" not in report  # the surviving hop has its row
