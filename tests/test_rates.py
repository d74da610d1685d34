"""Vineyard attempt frequencies: an analytic surface with a second-order point (exact ν* and barriers),
the order checks, and the EMT Cu vacancy hop end to end (MigrationMaker → AttemptFrequencyMaker)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from jobflow import run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.errors import InputError
from atomflow.neb import MigrationDocument, MigrationMaker
from atomflow.rates import (
    AttemptFrequencyDocument,
    AttemptFrequencyMaker,
    VineyardSettings,
    attempt_frequency,
    finite_difference_hessian,
    row,
    section,
    vineyard_prefactor,
)
from atomflow.rates.hessian import _THZ, normal_modes
from atomflow.rates.vineyard import FLAG_ENDPOINT_FORCES, FLAG_MIN_IMAGINARY, FLAG_SADDLE_ORDER, log_uncertainty
from atomflow.store import open_store

_counter = itertools.count()
_ORIGIN = np.array([5.0, 5.0, 5.0])


class Surface(Calculator):
    """V = (x²−1)² + y⁴ − y² + 2x²y² + z² (eV, Å; x, y, z from the origin) for one atom.

    Minima at x = ±1 (curvatures 8, 2, 2 eV/Å²). (0, 0, 0) is a second-order stationary point
    (curvatures −4, −2, 2), E = 1 eV: the symmetric straight path's 'climbing image'. The first-order
    saddles next to it are (0, ±1/√2, 0) with E = 0.75 eV and curvatures −2, 4, 2. So for mass m:
    ν* = √(8·2·2 / (4·2)) · √(1/m) = 2 √(1/m) (in √(eV/Å²/amu)).
    """

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y, z = self.atoms.positions[0] - _ORIGIN
        e = (x * x - 1) ** 2 + y**4 - y * y + 2 * x * x * y * y + z * z
        g = np.array([4 * x * (x * x - 1) + 4 * x * y * y, 4 * y**3 - 2 * y + 4 * x * x * y, 2 * z])
        self.results = {"energy": e, "forces": -g[None, :]}


def _atom(x, y=0.0, z=0.0):
    return Atoms("Cu", positions=[_ORIGIN + [x, y, z]], cell=[10, 10, 10], pbc=False)


def _local(**kw):
    # one atom, no translation symmetry in the model: the 'local' Hessian of that atom is the whole Hessian
    return VineyardSettings(hessian="local", cutoff=1.0, **kw)


def test_hessian_units_give_analytic_frequencies():
    atoms = _atom(1.0)
    atoms.calc = Surface()
    h, idx, calls = finite_difference_hessian(atoms)
    assert calls == 6 and idx == [0]
    assert np.allclose(np.diag(h), [8.0, 2.0, 2.0], atol=1e-3)  # eV/Å², central differences O(δ²)
    m = atoms.get_masses()[0]
    # independent of the module's constant: ν = √(k/m)/2π with k in J/m², m in kg
    nu = np.sqrt(8.0 * 1.602176634e-19 / 1e-20 / (m * 1.66053906660e-27)) / (2 * np.pi) / 1e12
    assert _THZ * np.sqrt(8.0 / m) == pytest.approx(nu, rel=1e-6)


def test_second_order_point_is_refined_to_the_first_order_saddle():
    atoms_min, ci = _atom(1.0), _atom(0.0)
    tangent = np.array([[1.0, 0.0, 0.0]])
    r = attempt_frequency(atoms_min, ci, tangent, 0, None, _local(), calculator=Surface())
    m = atoms_min.get_masses()[0]
    assert r["n_imaginary_climbing_image"] == 2  # the straight path's midpoint
    assert r["n_refinements"] >= 1
    assert r["n_imaginary_min"] == 0 and r["n_imaginary_saddle"] == 1
    assert r["barrier_first_order_eV"] == pytest.approx(0.75, abs=1e-4)
    assert r["nu_star_hz"] == pytest.approx(2 * np.sqrt(1 / m) * _THZ * 1e12, rel=1e-3)
    assert r["max_force_saddle"] <= 1e-3


def test_higher_order_point_without_refinement_gets_no_rate():
    r = attempt_frequency(_atom(1.0), _atom(0.0), np.array([[1.0, 0, 0]]), 0, None,
                          _local(max_refinements=0), calculator=Surface())
    assert r["n_imaginary_saddle"] == 2 and r["nu_star_hz"] is None
    assert FLAG_SADDLE_ORDER in r["flags"] and r["barrier_first_order_eV"] is None


def test_endpoint_with_residual_forces_is_refused():
    # near x = 1 the force is −8 (x − 1) eV/Å: 2e-3 eV/Å (twice fmax = 1e-3) is refused, 0.5e-3 accepted
    r = attempt_frequency(_atom(1.0 + 2.5e-4), _atom(0.0), np.array([[1.0, 0, 0]]), 0, None,
                          _local(refine_minimum=False), calculator=Surface())
    assert r["max_force_min"] == pytest.approx(2e-3, rel=0.01)
    assert FLAG_ENDPOINT_FORCES in r["flags"] and r["nu_star_hz"] is None
    assert r["n_force_calls"] <= 2  # refused before any Hessian or saddle search
    ok = attempt_frequency(_atom(1.0 + 0.625e-4), _atom(0.0), np.array([[1.0, 0, 0]]), 0, None,
                           _local(refine_minimum=False), calculator=Surface())
    assert FLAG_ENDPOINT_FORCES not in ok["flags"] and ok["nu_star_hz"] is not None


def test_vineyard_order_checks():
    real = np.array([1.0, 2.0, 3.0])
    ok = vineyard_prefactor(real, np.array([-2.0, 1.0, 3.0]))
    assert ok.nu_star_hz == pytest.approx(1.0 * 2.0 * 3.0 / (1.0 * 3.0) * 1e12) and not ok.flags
    zero = vineyard_prefactor(real, np.array([0.5, 1.0, 3.0]))
    two = vineyard_prefactor(real, np.array([-2.0, -1.0, 3.0]))
    bad_min = vineyard_prefactor(np.array([-1.0, 2.0, 3.0]), np.array([-2.0, 1.0, 3.0]))
    assert zero.nu_star_hz is None and FLAG_SADDLE_ORDER in zero.flags and zero.n_imaginary_saddle == 0
    assert two.nu_star_hz is None and FLAG_SADDLE_ORDER in two.flags and two.n_imaginary_saddle == 2
    assert bad_min.nu_star_hz is None and FLAG_MIN_IMAGINARY in bad_min.flags


def _cu_hop(n):
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))
    maker = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=3.6 * n - 0.1,
                           hops=[(0, 1, "nn")])
    store = open_store(f"memory://rates-{next(_counter)}")
    flow = maker.make(cu)
    run_locally(flow, store=store, log=False, ensure_success=True)
    return MigrationDocument.model_validate(store.get_output(flow.output.uuid, load=True)[0]), store


def _rate(maker, migration):
    store = open_store(f"memory://rates-{next(_counter)}")
    flow = maker.make(migration)
    run_locally(flow, store=store, log=False, ensure_success=True)
    return AttemptFrequencyDocument.model_validate(store.get_output(flow.output.uuid, load=True))


@pytest.fixture(scope="module")
def cu_hop():
    return _cu_hop(2)[0]  # 2×2×2 conventional, 31 atoms


@pytest.fixture(scope="module")
def cu_full(cu_hop):
    return _rate(AttemptFrequencyMaker(hessian="full"), cu_hop)


def test_cu_vacancy_hop_full_hessian(cu_hop, cu_full):
    doc = cu_full
    assert doc.n_imaginary_min == 0 and doc.n_imaginary_saddle == 1 and doc.converged and not doc.flags
    assert 1e12 < doc.nu_star_hz < 2e13  # THz range (metals: ~1–10 THz)
    assert len(doc.frequencies_min_thz) == 3 * doc.n_atoms - 3  # translations removed
    assert len(doc.frequencies_saddle_thz) == 3 * doc.n_atoms - 3
    # the fcc nearest-neighbour hop is first order already: refining does not change the barrier
    assert doc.barrier_first_order_eV == pytest.approx(cu_hop.forward_barrier, abs=0.01)
    assert (doc.site_a, doc.site_b, doc.image, doc.name) == (cu_hop.site_a, cu_hop.site_b, cu_hop.image, "nn")
    assert doc.n_force_calls >= 2 * 6 * doc.n_atoms  # two full central-difference Hessians
    assert doc.provenance.calculator["name"] == "emt"  # the barrier's own calculator
    # the points whose Hessians were taken are kept: the minimum and the saddle are stationary to fmax
    from ase.calculators.emt import EMT

    from atomflow.jobs.ase_run import to_atoms

    for structure, f in ((doc.minimum_structure, doc.max_force_min), (doc.saddle_structure, doc.max_force_saddle)):
        atoms = to_atoms(structure)
        atoms.calc = EMT()
        assert len(atoms) == doc.n_atoms and np.abs(atoms.get_forces()).max() <= doc.fmax
        assert np.linalg.norm(atoms.get_forces(), axis=1).max() == pytest.approx(f, abs=1e-6)
    assert "| Cu | nn | emt |" in section([doc]) and row(doc)["nu_star_THz"] == pytest.approx(doc.nu_star_hz / 1e12)


def test_cu_local_hessian_costs_less(cu_hop, cu_full):
    local = _rate(AttemptFrequencyMaker(hessian="local", cutoff=2.6), cu_hop)  # first shell: 12 + 1 atoms
    assert local.n_imaginary_min == 0 and local.n_imaginary_saddle == 1
    assert local.n_hessian_atoms < cu_full.n_hessian_atoms
    assert len(local.frequencies_min_thz) == 3 * local.n_hessian_atoms
    assert local.n_force_calls < cu_full.n_force_calls
    assert 1e12 < local.nu_star_hz < 2e13


@pytest.mark.slow
def test_nu_star_independent_of_supercell(cu_full):
    """2×2×2 (31 atoms) vs 3×3×3 (107 atoms) conventional cells, full Hessians.

    Bound 25 %: Γ-only modes of a 7.2 Å cell sample the acoustic branches at q ≥ 2π/7.2 Å⁻¹ only, and
    the vacancy's strain field reaches its images; ν* is a ratio of products over ~100–300 modes, and
    the measured change is 16 % (4.84 → 5.62 THz), while ν* itself varies over orders of magnitude
    between systems.
    """
    big, _ = _cu_hop(3)
    doc = _rate(AttemptFrequencyMaker(hessian="full"), big)
    assert doc.n_atoms == 107 and doc.n_imaginary_saddle == 1
    assert doc.nu_star_hz == pytest.approx(cu_full.nu_star_hz, rel=0.25)


def test_bad_settings_fail_at_construction():
    with pytest.raises(InputError):
        AttemptFrequencyMaker(hessian="partial")
    with pytest.raises(InputError):
        AttemptFrequencyMaker(fmax=0.0)


def test_rerun_reuses_the_attempt_frequency(cu_hop, monkeypatch):
    store = open_store(f"memory://rates-{next(_counter)}")
    maker = AttemptFrequencyMaker(hessian="local", cutoff=2.6)
    first = maker.make(cu_hop)
    run_locally(first, store=store, log=False, ensure_success=True)

    def refuse(*args, **kwargs):
        raise AssertionError("a finished attempt frequency was recomputed")

    monkeypatch.setattr("atomflow.rates.flow.attempt_frequency", refuse)
    second = maker.make(cu_hop)
    run_locally(second, store=store, log=False, ensure_success=True)
    a, b = (store.get_output(f.output.uuid, load=True) for f in (first, second))
    assert a["nu_star_hz"] == b["nu_star_hz"] and a["cache_key"] == b["cache_key"]


def test_chained_after_migration_maker():
    """MigrationMaker's output (a reference to the list of hops, bands in the data store) feeds make_many."""
    from jobflow import Flow

    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))
    neb = MigrationMaker(calculator="emt", species="Cu", supercell_min_length=7.1, hops=[(0, 1, "nn")]).make(cu)
    rates = AttemptFrequencyMaker().make_many(neb.output)  # the default: symmetric full Hessian
    store = open_store(f"memory://rates-{next(_counter)}")
    run_locally(Flow([neb, rates]), store=store, log=False, ensure_success=True)
    (doc,) = [AttemptFrequencyDocument.model_validate(d) for d in store.get_output(rates.output.uuid, load=True)]
    (hop,) = [MigrationDocument.model_validate(d) for d in store.get_output(neb.output.uuid, load=True)]
    assert doc.name == hop.name == "nn" and doc.barrier_paper_settings_eV == hop.forward_barrier
    assert doc.n_imaginary_saddle == 1 and doc.nu_star_hz > 1e12 and doc.hessian == "symmetric"


def test_symmetric_hessian_equals_the_full_one_for_fewer_calls(cu_hop):
    """phonopy's symmetry-distinct displacements (1×1×1 supercell) rebuild the same full Hessian."""
    from ase.calculators.emt import EMT

    from atomflow.jobs.ase_run import to_atoms
    from atomflow.rates.hessian import hessian_modes

    atoms = to_atoms(cu_hop.image_structures[0])
    atoms.calc = EMT()
    full, n_full = hessian_modes(atoms, kind="full", centre=cu_hop.moving_index, cutoff=1.0)
    sym, n_sym = hessian_modes(atoms, kind="symmetric", centre=cu_hop.moving_index, cutoff=1.0)
    assert len(sym.frequencies) == len(full.frequencies) == 3 * len(atoms) - 3
    assert np.allclose(sym.frequencies, full.frequencies, atol=0.01)  # THz
    assert n_full == 6 * len(atoms) and n_sym < n_full / 4  # the vacancy keeps the cubic point group


def test_forward_differences_halve_the_calls_with_an_error_of_order_delta(cu_hop):
    """+δ displacements only, less the undisplaced forces: 3N + 1 calls instead of 6N (phonopy's: half of its ±
    set, + 1), the same modes to O(δ) (EMT, measured: 0.008 THz of modes up to ~8 THz at δ = 0.01 Å; the matrix
    0.062 → 0.032 eV/Å² of elements up to 15 as δ halves; phonopy's set 0.029 THz); no noise
    estimate (the O(δ) error is antisymmetric too). A scheme that is neither: one error at construction."""
    from ase.calculators.emt import EMT

    from atomflow.jobs.ase_run import to_atoms
    from atomflow.rates.hessian import hessian_modes

    ci = cu_hop.climbing_image_index or cu_hop.highest_image_index
    atoms = to_atoms(cu_hop.image_structures[ci])
    atoms.rattle(0.03, seed=1)  # forces of ~0.5 eV/Å: an unsubtracted residual would be off by F/δ
    atoms.calc = EMT()
    n = len(atoms)
    central, n_c = hessian_modes(atoms, kind="full", centre=cu_hop.moving_index, cutoff=1.0)
    fwd, n_f = hessian_modes(atoms, kind="full", centre=cu_hop.moving_index, cutoff=1.0, central=False)
    assert n_c == 6 * n and n_f == 3 * n + 1 and fwd.noise_thz2 is None and central.noise_thz2 is not None
    assert np.abs(fwd.frequencies - central.frequencies).max() < 0.02  # THz
    # the matrix itself (a residual force left in would add F/δ to every row, which the translations'
    # projection hides from a one-element crystal's modes)
    h_c = finite_difference_hessian(atoms)[0]
    errors = [np.abs(finite_difference_hessian(atoms, delta=d, central=False)[0] - h_c).max() for d in (0.01, 0.005)]
    assert errors[0] < 0.15 and errors[1] < 0.6 * errors[0]  # eV/Å²; first order in δ (unsubtracted: 84)
    atoms = to_atoms(cu_hop.image_structures[ci])  # phonopy's symmetry needs the unrattled image
    atoms.calc = EMT()
    sym, n_s = hessian_modes(atoms, kind="symmetric", centre=cu_hop.moving_index, cutoff=1.0)
    sym_f, n_sf = hessian_modes(atoms, kind="symmetric", centre=cu_hop.moving_index, cutoff=1.0, central=False)
    assert n_sf <= n_s // 2 + 1 and np.allclose(sym_f.frequencies, sym.frequencies, atol=0.06)
    with pytest.raises(InputError, match="differences"):
        VineyardSettings(differences="backward")
    # central stays the key of results stored before the option existed
    assert "differences" not in VineyardSettings().as_dict()
    assert VineyardSettings(differences="forward").as_dict()["differences"] == "forward"


def test_lanczos_finds_the_lowest_modes_of_the_full_hessian(cu_hop):
    """The climbing image's order from Lanczos iterations (one force call each) agrees with its full Hessian:
    the same imaginary mode, the same lowest real one, the translations out, for a fraction of the calls."""
    from ase.calculators.emt import EMT

    from atomflow.jobs.ase_run import to_atoms
    from atomflow.rates.hessian import hessian_modes
    from atomflow.rates.lanczos import lowest_modes

    ci = cu_hop.climbing_image_index or cu_hop.highest_image_index
    atoms = to_atoms(cu_hop.image_structures[ci])
    atoms.calc = EMT()
    full, n_full = hessian_modes(atoms, kind="full", centre=cu_hop.moving_index, cutoff=1.0)
    tangent = (to_atoms(cu_hop.image_structures[ci + 1]).positions
               - to_atoms(cu_hop.image_structures[ci - 1]).positions)
    for central in (True, False):
        low, n_low = lowest_modes(atoms, start=tangent, central=central)
        assert len(low.frequencies) == 2  # the one imaginary mode and the next
        assert low.frequencies[0] < -1.0 and full.frequencies[0] < -1.0  # THz: a saddle's hop mode
        # central differences are O(δ²), forward ones O(δ): 1 % and 5 % of a few THz
        assert np.allclose(low.frequencies, full.frequencies[:2], rtol=0.01 if central else 0.05)
        assert abs(low.vectors[0].ravel() @ full.vectors[0].ravel()) > 0.99  # the same hop mode
        assert n_low < n_full / 3


def test_a_refined_saddle_far_above_the_climbing_image_gets_no_rate():
    """A 'climbing image' 0.08 eV below the Surface's first-order saddle (0, 1/√2, 0): the dimer climbs to that
    saddle, which is then not the band's (as SevenNet-0's bcc Na refinement did, 0.6 eV up): flagged, no rate."""
    from atomflow.rates.attempt import FLAG_SADDLE_ELSEWHERE

    r = attempt_frequency(_atom(1.0), _atom(0.3, 0.7), np.array([[1.0, 0, 0]]), 0, None, _local(),
                          calculator=Surface())
    assert r["max_force_saddle"] <= 1e-3 and r["n_imaginary_saddle"] == 1  # a real first-order saddle…
    assert FLAG_SADDLE_ELSEWHERE in r["flags"]  # …0.084 eV above the image
    assert r["nu_star_hz"] is None and r["barrier_first_order_eV"] is None


class DoubleHump(Calculator):
    """V = (x²−1)²(x² + 0.1) + y² + z² (eV, Å) for one atom: minima at x = ±1 (curvature 8.8 eV/Å²), an
    intermediate minimum at x = 0 (E = 0.1 eV, curvature +1.6) and the saddles between, at x² = u* =
    (3.8 − 2.2)/6 (the root of 3u² − 3.8u + 0.8 = 0 below 1), E = (u* − 1)²(u* + 0.1) ≈ 0.197 eV. So a
    symmetric band's climbing image can sit at x = 0, where its force along the band is zero by symmetry."""

    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        x, y, z = self.atoms.positions[0] - _ORIGIN
        e = (x * x - 1) ** 2 * (x * x + 0.1) + y * y + z * z
        dx = 4 * x * (x * x - 1) * (x * x + 0.1) + 2 * x * (x * x - 1) ** 2
        self.results = {"energy": e, "forces": -np.array([[dx, 2 * y, 2 * z]])}


def test_a_climbing_image_at_an_intermediate_minimum_gets_the_saddle_before_it():
    """A climbing image held at the path's symmetric midpoint, a minimum along the hop (as SevenNet-0's split
    vacancy in bcc Na): the saddle is found between the end point and it, with the analytic ν* and barrier."""
    from atomflow.rates.attempt import NOTE_INTERMEDIATE

    u = (3.8 - 2.2) / 6
    r = attempt_frequency(_atom(1.0), _atom(0.0), np.array([[1.0, 0, 0]]), 0, None, _local(),
                          calculator=DoubleHump())
    assert r["climbing_image_curvature"] == pytest.approx(1.6, abs=1e-3)
    assert r["intermediate_minimum_eV"] == pytest.approx(0.1, abs=1e-6)
    assert any(n.startswith(NOTE_INTERMEDIATE) for n in r["notes"])
    assert r["n_imaginary_saddle"] == 1 and not r["flags"]
    assert r["barrier_first_order_eV"] == pytest.approx((u - 1) ** 2 * (u + 0.1), abs=1e-5)
    m = _atom(0).get_masses()[0]
    # y and z are the same harmonic modes at minimum and saddle: ν* is the minimum's x mode
    assert r["nu_star_hz"] == pytest.approx(np.sqrt(8.8 / m) * _THZ * 1e12, rel=2e-3)


def _noisy_spectrum_case(seed=0):
    """A 10-atom Hessian (masses 1 amu) with known modes, and raw finite-difference-like copies of it: independent
    noise of std s on every element (not symmetric, as a finite-difference Hessian's noise is not)."""
    rng = np.random.default_rng(seed)
    n = 30
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    lam_min = np.linspace(0.2, 4.0, n)
    lam_sad = np.concatenate([[-1.0], np.linspace(0.15, 4.0, n - 1)])
    return rng, q, lam_min, lam_sad, 0.004  # eV/Å²/amu


def test_hessian_noise_estimate_and_nu_star_spread_match_the_noise_put_in():
    """The antisymmetric part of a raw Hessian measures its noise, and log_uncertainty predicts the scatter of
    ln ν* that noise causes: checked against 300 noisy copies of a Hessian with known modes."""
    rng, q, lam_min, lam_sad, s = _noisy_spectrum_case()
    masses, idx = np.ones(10), list(range(10))
    estimates, log_nu = [], []
    for _ in range(300):
        raw_min = q @ np.diag(lam_min) @ q.T + rng.normal(scale=s, size=q.shape)
        raw_sad = q @ np.diag(lam_sad) @ q.T + rng.normal(scale=s, size=q.shape)
        m_min = normal_modes(raw_min, masses, idx, 10, remove_translations=False, estimate_noise=True)
        m_sad = normal_modes(raw_sad, masses, idx, 10, remove_translations=False, estimate_noise=True)
        estimates.append(m_min.noise_thz2)
        log_nu.append(np.log(vineyard_prefactor(m_min.frequencies, m_sad.frequencies).nu_star_hz))
    # the noise of one eigenvalue of the symmetrised matrix is s (module text of atomflow.rates.hessian)
    assert np.mean(estimates) == pytest.approx(s * _THZ**2, rel=0.05)
    true = lambda lam: np.sign(lam) * np.sqrt(np.abs(lam)) * _THZ  # noqa: E731
    predicted = log_uncertainty(true(lam_min), true(lam_sad), s * _THZ**2, s * _THZ**2)
    assert np.std(log_nu) == pytest.approx(predicted, rel=0.2)
    # a mode inside the noise: not resolved
    assert log_uncertainty(true(lam_min), true(lam_sad), 0.3 * _THZ**2, 0.0) == float("inf")


def test_noise_is_estimated_only_where_asked():
    """A noise-free symmetric matrix reads zero noise; without ``estimate_noise`` (phonopy's symmetric Hessian,
    whose symmetry expansion hides the noise from the antisymmetric part) there is no estimate at all."""
    rng, q, lam_min, _, _ = _noisy_spectrum_case()
    h = q @ np.diag(lam_min) @ q.T
    assert normal_modes(h, np.ones(10), list(range(10)), 10, remove_translations=False,
                        estimate_noise=True).noise_thz2 == pytest.approx(0.0, abs=1e-9)
    assert normal_modes(h, np.ones(10), list(range(10)), 10, remove_translations=False).noise_thz2 is None


def test_attempt_frequency_states_its_noise_and_notes_a_noise_limited_rate():
    from atomflow.rates.attempt import NOTE_NOISE, _noise_note
    from atomflow.rates.hessian import Modes

    # the analytic surface has no force noise: the factor is 1 and nothing is noted
    r = attempt_frequency(_atom(1.0), _atom(0.0), np.array([[1.0, 0.0, 0.0]]), 0, None, _local(),
                          calculator=Surface())
    assert r["nu_star_hz"] is not None and r["hessian_noise_thz"] < 1e-3
    assert r["nu_star_uncertainty_factor"] == pytest.approx(1.0, abs=1e-4)
    assert not any(n.startswith(NOTE_NOISE) for n in r["notes"])

    def modes(freqs, noise):
        f = np.asarray(freqs, float)
        return Modes(frequencies=f, vectors=np.zeros((len(f), 1, 3)), indices=[0], translations_removed=0,
                     noise_thz2=noise)

    # soft real modes (0.3 THz) under noise of (0.2 THz)²: a factor well above 1.25, noted
    out = {"notes": [], "hessian_noise_thz": 0.2}
    _noise_note(out, modes([0.3, 2.0, 3.0], 0.04), modes([-1.0, 0.3, 3.0], 0.04))
    assert out["nu_star_uncertainty_factor"] > 1.25 and out["notes"][0].startswith(NOTE_NOISE)
    # a mode inside the noise: no factor, and the note says it is not resolved
    out = {"notes": [], "hessian_noise_thz": 0.35}
    _noise_note(out, modes([0.3, 2.0, 3.0], 0.1225), modes([-1.0, 0.5, 3.0], 0.1225))
    assert "nu_star_uncertainty_factor" not in out and "softer than the force noise" in out["notes"][0]
