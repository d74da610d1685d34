"""One hop's attempt frequency, start to end, with a live calculator (no jobflow): tight minimum → the climbing
image's curvature along its band (positive: an intermediate minimum of the path, whose saddle lies on a CI-NEB
from the initial state to it) → its lowest modes (Lanczos) → dimer-refined saddle (kicked off a higher-order point
along its second imaginary mode) → two Hessians → Vineyard.

Used by the job in :mod:`atomflow.rates.flow` and directly by tests and benchmarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, get_calculator
from atomflow.errors import InputError
from atomflow.jobs.ase_run import CallCounter, to_atoms
from atomflow.rates.hessian import DELTA, KINDS, Modes, hessian_modes, local_indices
from atomflow.rates.lanczos import lowest_modes
from atomflow.neb.analysis import mic_displacements
from atomflow.rates.saddle import climbing_band, curvature_along, dimer_search, kick_along, max_force, relax_minimum
from atomflow.run_settings import NEB_PRECONVERGE_FMAX, PAPER_FMAX, PAPER_SPRING_CONSTANT
from atomflow.rates.vineyard import (
    FLAG_ENDPOINT_FORCES,
    FLAG_SADDLE_FORCES,
    FLAG_SADDLE_ORDER,
    FLAG_SADDLE_REFINED,
    IMAGINARY_TOL_THZ,
    count_imaginary,
    log_uncertainty,
    unresolved_modes,
    vineyard_prefactor,
)

#: Å. Local Hessian radius: the moving atom's first shells (NaCl: Cl at 2.8 Å, Na at 4.0 Å). The default
#: Hessian is the full one from symmetry-distinct displacements: benchmarks/bench_hessian.py found the local
#: one off by −22 … +81 % in ν* on the NaCl hop and blind to the climbing image's second imaginary mode, and
#: the symmetric full one at 0.22× the calls of the plain full one, ν* within 1.3 % (benchmarks/README.md).
LOCAL_CUTOFF = 4.0
#: Hessian method by that measurement (with the climbing image's modes by Lanczos: 0.198× the full run's force
#: calls, ν* −3.9 %, of which −1.3 % is the symmetrisation and the rest where the dimer stops within fmax, on the
#: Fumi–Tosi NaCl hop; 0.114×, −0.24 % on the EAM bcc Na hop).
HESSIAN = "symmetric"
#: How the climbing image's order is measured: "lanczos" (its lowest curvatures by Lanczos iterations on
#: finite-difference Hessian–vector products, atomflow.rates.lanczos) or "hessian" (the Hessian of ``hessian``
#: kind there too). By benchmarks/bench_hessian.py (benchmarks/README.md).
CLIMBING_MODES = "lanczos"
CLIMBING_MODE_KINDS = ("lanczos", "hessian")
#: Finite differences of the minimum's and the saddle's Hessians: "central" (± each displacement) or
#: "forward" (+ only, less the undisplaced forces: half the Hessians' calls, an O(δ) error). Central by
#: benchmarks/bench_hessian.py at one minimum and saddle: forward full Hessians are within 1.4 % of central ones
#: (Fumi–Tosi NaCl, EAM bcc Na, SevenNet-0 NaCl), but forward *symmetric* ones 6–9 % low on all three —
#: worth it where symmetry saves little (a large low-symmetry cell), not as the default.
DIFFERENCES = "central"
DIFFERENCE_KINDS = ("central", "forward")
#: eV/Å: the minimum and the saddle are converged this far before their Hessians (the issue's 1e-3).
TIGHT_FMAX = 1e-3
#: optimizer steps for each of those refinements
REFINE_MAX_STEPS = 500
#: saddle searches restarted from a higher-order point at most this often
MAX_REFINEMENTS = 2
#: Å: push along the unwanted imaginary mode before a restart
KICK = 0.05
#: eV: a refined saddle this far above the climbing image is not the band's (a converged climbing image is within
#: ~1e-4 eV of its saddle's energy; descending off a higher-order point only lowers it)
SADDLE_ABOVE_CI_TOL = 0.01
FLAG_SADDLE_ELSEWHERE = "saddle_above_climbing_image"
#: a climbing image with positive curvature along its band is an intermediate minimum of the path: the saddle is
#: searched on a band of this many images from the initial state to it (half the hop: the paper's 5 on the whole)
INTERMEDIATE_BAND_IMAGES = 3
NOTE_INTERMEDIATE = "climbing_image_is_intermediate_minimum"
#: ν* whose 1σ uncertainty from the force noise (atomflow.rates.vineyard.log_uncertainty) exceeds this factor
#: gets a note saying so, with the factor (the rate stays: the number is what the potential gives, known less well).
NOISE_NOTE_FACTOR = 1.25
NOTE_NOISE = "nu_star_noise_limited"


@dataclass(frozen=True)
class VineyardSettings:
    """How ν* is computed. hessian: 'local', 'full' or 'symmetric'; climbing_modes: 'lanczos' or 'hessian'
    (how the climbing image's imaginary modes are counted); cutoff Å; delta Å; fmax eV/Å; kick Å;
    differences: 'central' or 'forward' (the Hessians' finite differences)."""

    hessian: str = HESSIAN
    climbing_modes: str = CLIMBING_MODES
    cutoff: float = LOCAL_CUTOFF
    delta: float = DELTA
    fmax: float = TIGHT_FMAX
    refine_minimum: bool = True
    max_steps: int = REFINE_MAX_STEPS
    max_refinements: int = MAX_REFINEMENTS
    kick: float = KICK
    imaginary_tol: float = IMAGINARY_TOL_THZ
    differences: str = DIFFERENCES

    def __post_init__(self) -> None:
        check.one_of("hessian", self.hessian, KINDS, what="Hessian kind")
        check.one_of("differences", self.differences, DIFFERENCE_KINDS, what="finite-difference scheme")
        check.one_of("climbing_modes", self.climbing_modes, CLIMBING_MODE_KINDS,
                     what="way of measuring the climbing image's modes")
        check.positive("cutoff", self.cutoff, "Å", f"the local Hessian's radius, default {LOCAL_CUTOFF}")
        check.positive("delta", self.delta, "Å", f"the finite-difference step, the default is {DELTA}")
        check.positive("fmax", self.fmax, "eV/Å",
                       "the tight criterion of minimum and saddle, the default is 0.001")
        check.flag("refine_minimum", self.refine_minimum)
        check.integer("max_steps", self.max_steps, 0, fix="the default is 500")
        check.integer("max_refinements", self.max_refinements, 0, fix="the default is 2")
        check.positive("kick", self.kick, "Å", "the default is 0.05")
        check.non_negative("imaginary_tol", self.imaginary_tol, "THz", f"the default is {IMAGINARY_TOL_THZ}")

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if out["differences"] == "central":  # keys of results stored before the option existed stay valid
            del out["differences"]
        return out

    @property
    def central(self) -> bool:
        return self.differences == "central"


def _mic_rms(a: Atoms, b: Atoms) -> float:
    from ase.geometry import find_mic

    d, _ = find_mic(b.get_positions() - a.get_positions(), a.cell, a.pbc)
    return float(np.sqrt((d**2).sum(axis=1).mean()))


def _climbing_image_modes(atoms: Atoms, tangent: np.ndarray, moving_index: int, s: VineyardSettings,
                          indices: list[int] | None) -> Modes:
    """The climbing image's lowest modes: Lanczos (``climbing_modes="lanczos"``, every imaginary mode and
    the next, one force call per iteration) or the settings' own Hessian ("hessian": all modes)."""
    if s.climbing_modes == "hessian":
        return hessian_modes(atoms, kind=s.hessian, centre=moving_index, cutoff=s.cutoff, delta=s.delta,
                             indices=indices, central=s.central)[0]
    return lowest_modes(atoms, start=tangent, indices=indices, remove_translations=s.hessian != "local",
                        delta=s.delta, tol_thz=s.imaginary_tol, central=False)[0]


def _kick_off_higher_order(atoms: Atoms, modes: Modes, tangent: np.ndarray, s: VineyardSettings,
                           out: dict[str, Any]) -> np.ndarray:
    """The dimer's starting mode at a stationary point with imaginary ``modes``: the one most along the band
    ``tangent`` (the hop). With a second imaginary mode ``atoms`` are first kicked along it by ``s.kick``
    (counted as a refinement): the dimer climbs only its lowest mode and would stay on the symmetric point."""
    unstable = np.flatnonzero(modes.frequencies < -s.imaginary_tol)
    t = np.asarray(tangent, float).ravel() / np.linalg.norm(tangent)
    hop = unstable[int(np.argmax([abs(modes.vectors[k].ravel() @ t) for k in unstable]))]
    side = [k for k in unstable if k != hop]
    if side and out["n_refinements"] < s.max_refinements:
        kick_along(atoms, modes.vectors[side[0]], s.kick)
        out["n_refinements"] += 1
    return modes.vectors[hop]


def _saddle_band_before(a_min: Atoms, top: Atoms, calc: Any, s: VineyardSettings,
                        out: dict[str, Any]) -> tuple[Atoms, np.ndarray]:
    """The climbing image of a CI-NEB from the initial state to ``top`` (a minimum along the band) and its
    tangent; noted in ``out``. By the symmetry that held ``top`` there, the other half's saddle is the same."""
    images, k, converged = climbing_band(a_min, top, calc, n_images=INTERMEDIATE_BAND_IMAGES,
                                         spring_constant=PAPER_SPRING_CONSTANT, fmax=PAPER_FMAX,
                                         preconverge_fmax=NEB_PRECONVERGE_FMAX, max_steps=s.max_steps)
    e0 = a_min.get_potential_energy()
    out["intermediate_minimum_eV"] = float(top.get_potential_energy() - e0)
    out["notes"].append(
        f"{NOTE_INTERMEDIATE}: the climbing image is a minimum along the hop (curvature "
        f"{out['climbing_image_curvature']:+.3f} eV/Å² along the band; {out['intermediate_minimum_eV']:.4f} eV above "
        f"the initial state), so the band's top is not its saddle; a CI-NEB of {INTERMEDIATE_BAND_IMAGES} images "
        f"from the initial state to it ({'converged' if converged else 'NOT converged'} to {PAPER_FMAX} eV/Å) "
        f"gives the climbing image {images[k].get_potential_energy() - e0:.4f} eV above the initial state, "
        "from which the saddle is refined.")
    tangent = mic_displacements(images[k - 1].get_positions(), images[k + 1].get_positions(),
                                np.asarray(a_min.cell), a_min.pbc)
    climbing = images[k].copy()
    climbing.calc = calc
    return climbing, np.asarray(tangent)


def attempt_frequency(initial: Any, climbing: Any, tangent: np.ndarray, moving_index: int,
                      spec: CalculatorSpec | str | None, settings: VineyardSettings = VineyardSettings(),
                      *, calculator: Any = None) -> dict[str, Any]:
    """Everything the AttemptFrequencyDocument needs beyond the hop's labels (plain numbers).

    ``initial``: the relaxed initial end point; ``climbing``: the climbing image (same atoms);
    ``tangent``: the band's direction at the climbing image (N×3, Å), the dimer's first mode.
    ``calculator``: an ASE calculator used instead of ``spec`` (tests with model potentials).
    """
    s = settings
    a_min, a_sad = to_atoms(initial), to_atoms(climbing)
    if len(a_min) != len(a_sad) or a_min.get_chemical_symbols() != a_sad.get_chemical_symbols():
        raise InputError("The minimum and the climbing image must list the same atoms in the same order.")
    if not 0 <= moving_index < len(a_min):
        raise InputError(f"moving_index {moving_index} is outside the cell of {len(a_min)} atoms.")
    calc = calculator if calculator is not None else get_calculator(spec, a_min)
    counter = CallCounter(calc)
    a_min.calc = calc
    a_sad.calc = calc
    out: dict[str, Any] = {"flags": [], "notes": [], "n_refinements": 0, "nu_star_hz": None,
                           "barrier_first_order_eV": None, "frequencies_min_thz": [], "frequencies_saddle_thz": [],
                           "n_imaginary_min": 0, "n_imaginary_saddle": 0, "n_imaginary_climbing_image": None,
                           "saddle_imaginary_thz": None, "saddle_shift": None, "n_atoms": len(a_min),
                           "hessian_noise_thz": None, "nu_star_uncertainty_factor": None}

    def done() -> dict[str, Any]:
        out["n_force_calls"] = counter.n
        out["minimum_structure"] = AseAtomsAdaptor.get_structure(a_min)
        out["saddle_structure"] = AseAtomsAdaptor.get_structure(a_sad)
        out["converged"] = out["nu_star_hz"] is not None
        return out

    # 1. the minimum, tight
    if s.refine_minimum:
        relax_minimum(a_min, s.fmax, s.max_steps)
    out["max_force_min"] = max_force(a_min)
    if out["max_force_min"] > s.fmax:
        out["flags"].append(FLAG_ENDPOINT_FORCES)
        out["notes"].append(f"Residual force {out['max_force_min']:.4f} eV/Å at the initial end point exceeds "
                            f"{s.fmax} eV/Å: its Hessian would not be a minimum's; no rate.")
        out["n_hessian_atoms"] = 0
        return done()
    e_min = float(a_min.get_potential_energy())

    # 2. the climbing image's own order (the straight path's midpoint can be a higher-order point) from its
    #    lowest modes; then the saddle: a dimer search from the climbing image along its hop mode, kicked first
    #    along any other imaginary mode (the climbing image's modes start the refinement: no dimer run that
    #    stays on the higher-order point, no second Hessian there)
    start = a_sad.copy()
    start.calc = calc
    out["climbing_image_curvature"] = curvature_along(start, tangent, s.delta)
    if out["climbing_image_curvature"] > 0:
        # the band's top is a minimum along the hop: an intermediate state held at a symmetric point of the
        # path, where the climbing image feels no force along the band (SevenNet-0 bcc Na: the split vacancy
        # at the midpoint, 6 meV below the saddles on either side). The saddle lies between the end point and it.
        a_sad, tangent = _saddle_band_before(a_min, start, calc, s, out)
        start = a_sad.copy()
        start.calc = calc
    ci_indices = local_indices(a_min, moving_index, s.cutoff, start) if s.hessian == "local" else None
    m_ci = _climbing_image_modes(start, tangent, moving_index, s, ci_indices)
    out["n_imaginary_climbing_image"] = count_imaginary(m_ci.frequencies, s.imaginary_tol)
    mode = np.asarray(tangent, float)
    if out["n_imaginary_climbing_image"] >= 1:
        mode = _kick_off_higher_order(a_sad, m_ci, tangent, s, out)
    ok, _ = dimer_search(a_sad, mode, s.fmax, s.max_steps)
    indices = (local_indices(a_min, moving_index, s.cutoff, start, a_sad) if s.hessian == "local" else None)
    out["n_hessian_atoms"] = len(a_min) if indices is None else len(indices)
    m_min, _ = hessian_modes(a_min, kind=s.hessian, centre=moving_index, cutoff=s.cutoff, delta=s.delta,
                             indices=indices, central=s.central)
    out["frequencies_min_thz"] = m_min.frequencies.tolist()
    out["n_imaginary_min"] = count_imaginary(m_min.frequencies, s.imaginary_tol)
    m_sad: Modes | None = None
    while True:
        if not ok:
            out["flags"].append(FLAG_SADDLE_FORCES)
            out["notes"].append(f"The dimer search did not reach {s.fmax} eV/Å in {s.max_steps} steps "
                                f"(residual {max_force(a_sad):.4f} eV/Å); no rate.")
            break
        m_sad, _ = hessian_modes(a_sad, kind=s.hessian, centre=moving_index, cutoff=s.cutoff, delta=s.delta,
                                 indices=indices, central=s.central)
        n_im = count_imaginary(m_sad.frequencies, s.imaginary_tol)
        if n_im <= 1 or out["n_refinements"] >= s.max_refinements:
            break
        # still a higher-order point: kick along another imaginary mode, dimer along the hop's
        mode = _kick_off_higher_order(a_sad, m_sad, tangent, s, out)
        ok, _ = dimer_search(a_sad, mode, s.fmax, s.max_steps)
    out["max_force_saddle"] = max_force(a_sad)
    out["saddle_shift"] = _mic_rms(start, a_sad)
    if m_sad is None:
        return done()
    out["frequencies_saddle_thz"] = m_sad.frequencies.tolist()
    if m_min.noise_thz2 is not None and m_sad.noise_thz2 is not None:
        out["hessian_noise_thz"] = float(np.sqrt(max(m_min.noise_thz2, m_sad.noise_thz2)))
    result = vineyard_prefactor(m_min.frequencies, m_sad.frequencies, s.imaginary_tol)
    out["n_imaginary_min"], out["n_imaginary_saddle"] = result.n_imaginary_min, result.n_imaginary_saddle
    out["flags"] += result.flags
    out["notes"] += result.notes
    if (out["n_refinements"] or out["n_imaginary_climbing_image"] > 1) and result.n_imaginary_saddle == 1:
        # the success path of issue 17 (refine, then report both barriers): a note, not a flag — the rate is
        # valid, and a flag would keep it out of every summary (atomflow.properties.trusted)
        out["notes"].append(f"{FLAG_SADDLE_REFINED}: "
                            f"The climbing image had {out['n_imaginary_climbing_image']} imaginary modes; the "
                            f"dimer search ({out['n_refinements']} symmetry-breaking restart(s)) found a first-order "
                            f"saddle {out['saddle_shift']:.3f} Å (RMS) away.")
    # the refinement descends from the climbing image (it climbs only the hop mode, which the band already
    # maximised): a saddle well above it is another process's (SevenNet-0 bcc Na: 0.68 eV above a 0.08 eV band)
    e_ci, e_sad = float(start.get_potential_energy()), float(a_sad.get_potential_energy())
    if e_sad > e_ci + SADDLE_ABOVE_CI_TOL:
        out["flags"].append(FLAG_SADDLE_ELSEWHERE)
        out["notes"].append(f"The refined saddle lies {e_sad - e_ci:.3f} eV above the climbing image "
                            f"({out['saddle_shift']:.3f} Å RMS away): not this hop's saddle; no rate.")
        return done()
    if result.n_imaginary_saddle == 1:
        out["saddle_imaginary_thz"] = float(m_sad.frequencies[0])
        if FLAG_SADDLE_ORDER not in out["flags"]:
            out["barrier_first_order_eV"] = e_sad - e_min
    out["nu_star_hz"] = result.nu_star_hz
    if result.nu_star_hz is not None and out["hessian_noise_thz"] is not None:
        _noise_note(out, m_min, m_sad)
    return done()


def _noise_note(out: dict[str, Any], m_min: Modes, m_sad: Modes) -> None:
    """ν*'s uncertainty from the Hessians' noise (factor, 1σ), and a note when it is large."""
    sigma = log_uncertainty(m_min.frequencies, m_sad.frequencies, m_min.noise_thz2, m_sad.noise_thz2)
    noise = out["hessian_noise_thz"]
    if np.isfinite(sigma):
        out["nu_star_uncertainty_factor"] = float(np.exp(sigma))
        if out["nu_star_uncertainty_factor"] > NOISE_NOTE_FACTOR:
            out["notes"].append(f"{NOTE_NOISE}: the calculator's force noise (eigenvalue noise ≈ ({noise:.3f} THz)²) "
                                f"leaves ν* uncertain by a factor {out['nu_star_uncertainty_factor']:.2f} (1σ); a "
                                "larger displacement or a more precise calculator narrows it.")
        return
    soft = unresolved_modes(m_min.frequencies, m_sad.frequencies, m_min.noise_thz2, m_sad.noise_thz2)
    out["notes"].append(f"{NOTE_NOISE}: {soft} mode(s) softer than the force noise resolves ({noise:.3f} THz): "
                        "ν* is not determined to better than an order of magnitude by this Hessian; a larger "
                        "displacement or a more precise calculator is needed.")
