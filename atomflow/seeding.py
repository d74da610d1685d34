"""ML-seeded DFT: a cheap potential relaxes first, DFT continues from its geometry, a guard checks the result.

Every relaxation, end point and CI-NEB band a Maker sends to a DFT code (``is_dft(spec)``: VASP, GPAW) starts
by default from the geometry a machine-learned potential converged (``seed="auto"``: SevenNet-0, atomflow's
default potential; ``seed="chgnet"`` or any non-DFT spec picks another; ``seed=None`` starts DFT from the
given structure as before). In the flow a seeded relaxation is three ordinary jobs
(:func:`atomflow.jobs.makers.relax_step`):

1. the seed's relaxation of the start (a plain keyed RelaxMaker job with the seed calculator, the same
   run settings; reused from any ML study that relaxed the same structure);
2. a DFT single point of the unseeded start (a plain keyed StaticMaker job): the guard's reference —
   skipped when the seed moved nothing (e.g. a strained rock-salt cell: every atom on an inversion
   centre), since (3) then starts at the start itself and its first energy is that reference;
3. the DFT relaxation from the seed's geometry (its symmetry made exact when the start has it:
   :func:`keep_start_symmetry`) — and, for ions in a fixed cell with an optimizer that takes
   one, from the seed's Hessian as its starting Hessian (:mod:`atomflow.seed_hessian`; not on VASP, whose
   optimisers take none) — with the DFT run settings unchanged (``fmax`` …), keyed by
   the unseeded start + calculator + settings + the seed (so a seeded and an unseeded result never stand
   for each other), which applies the guard (:func:`guard_flags`) to its own result.

A seeded CI-NEB band (:class:`atomflow.neb.MigrationMaker`) runs first with the seed between the seed's
end points, then with DFT from that converged band (inner images; the end points are the DFT ones), with
climbing from the first step; every reported number (energies, barriers, tensors) is a DFT number.

**The guard** (a seeded geometry in another minimum than the unseeded path would reach): the seeded DFT
result is flagged when either

- its DFT energy lies above the DFT energy of the unseeded start by more than :data:`GUARD_ENERGY_TOL`:
  a relaxation from the start only goes downhill, so the unseeded path would have ended lower — the seed
  led into a higher minimum; or
- an atom ends farther than half the shortest interatomic distance of the start from its own starting
  site (start positions taken in the final cell by their fractional coordinates, so a relaxed cell does
  not count; minimum image): it is nearer another site than its own, so the configuration changed — an
  atom fell into the vacancy, or an NEB end point turned into the other one.

Both tests are sufficient, not necessary (a seed may still reach another minimum that passes both); they
cost one DFT single point per relaxation whose geometry the seed changed. A flagged document is stored and shown with its flag, never cited
as a plain number (:func:`atomflow.properties.trusted`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from atomflow.calculators import BACKENDS, CalculatorSpec, check_structure, is_dft
from atomflow.errors import CalculatorError, InputError

#: The seed ``"auto"`` picks for a DFT calculator: SevenNet-0, atomflow's default potential (not the
#: ``ATOMFLOW_DEFAULT_CALCULATOR`` setting, which may itself name a DFT code).
DEFAULT_SEED = "sevennet"
#: eV, tolerance of the guard's energy test: well above SCF noise of a total energy (≈ 1e-5 eV at EDIFF
#: 1e-6), well below any difference between two minima worth reporting.
GUARD_ENERGY_TOL = 1e-3
#: Å, spglib tolerance at which the seed's relaxed geometry is symmetrised before DFT (keep_start_symmetry):
#: far above a float32 seed's noise (~1e-8 Å), far below any physical distortion a relaxation reports.
SEED_SYMPREC = 1e-4
#: Å, tolerance of the start's own symmetry, which the symmetrised seed geometry may not exceed.
START_SYMPREC = 1e-5
#: The seed field's default: the seed DEFAULT_SEED for a DFT calculator, none otherwise.
AUTO = "auto"


def resolve_seed(seed: CalculatorSpec | str | dict | None,
                 spec: CalculatorSpec | str) -> CalculatorSpec | None:
    """The seed calculator for ``spec``, or None (no seeding).

    ``"auto"``: :data:`DEFAULT_SEED` when ``spec`` is DFT, None otherwise. None: None. Anything else must
    be a non-DFT calculator, and ``spec`` must be DFT: a seed for an ML or classical calculator would only
    run the same kind of calculation twice, so it is refused with one message rather than ignored.
    """
    spec = CalculatorSpec.parse(spec)
    if seed is None:
        return None
    if isinstance(seed, str) and seed.strip().lower() == AUTO:
        return CalculatorSpec.parse(DEFAULT_SEED) if is_dft(spec) else None
    seed_spec = CalculatorSpec.parse(seed)
    if is_dft(seed_spec):
        raise InputError(f"seed={seed_spec.label!r} is a DFT code; a seed is a cheap potential that relaxes "
                         f"before DFT does, e.g. seed={DEFAULT_SEED!r} (the default for DFT) or "
                         "seed='chgnet'.")
    if not is_dft(spec):
        raise InputError(f"seed={seed_spec.label!r} was given but the calculator {spec.label!r} is not DFT: "
                         "seeding starts a DFT run from an ML geometry and has nothing to save here. Drop "
                         "seed (the default seeds only DFT runs) or give seed=None.")
    return seed_spec


def check_seed_structure(seed: CalculatorSpec, structure: Any) -> None:
    """Before any work: the seed handles every element, else one message naming them and a seed that can."""
    try:
        check_structure(seed, structure)
    except CalculatorError:
        from atomflow.calculators import supported_elements
        from atomflow.calculators.registry import _element_symbols

        wanted = _element_symbols(structure)
        known = supported_elements(seed) or frozenset(wanted)
        missing = sorted(wanted - known)
        can = [name for name, b in BACKENDS.items() if not b.dft and b.static_elements is not None
               and wanted <= b.static_elements and b.formal_charges is None and name != seed.name]
        can.sort(key=lambda name: name != DEFAULT_SEED)  # the default seed first, where it can
        others = f" (or {', '.join(repr(c) for c in can[1:])})" if can[1:] else ""
        hint = f"Give a seed that can: seed='{can[0]}'{others}" if can else "Give another seed"
        raise CalculatorError(f"The seed calculator {seed.label!r} cannot handle {', '.join(missing)}. "
                              f"{hint}, or seed=None to start DFT from the given structure.") from None


def keep_start_symmetry(seed_geometry: Any, start: Any, symprec: float = SEED_SYMPREC) -> tuple[Any, bool]:
    """(geometry, refined): the seed's geometry with the symmetry it has at ``symprec`` made exact
    (ASE's refine_symmetry, orientation kept), unless that is more symmetry than the start has at
    :data:`START_SYMPREC` (then unchanged: the DFT relaxation must stay free to break what the seed made).

    Why: a float32 seed leaves ~1e-8 Å of noise in a relaxed cell, enough for a DFT code's symmetry finder
    (GPAW's tolerance 1e-7) to lose it: SevenNet-0's relaxed bcc Na primitive cell gave GPAW 2 symmetries and
    6912 irreducible k-points of a 24³ mesh instead of 48 and 406 (the cell refined: 48 and 406) — 17 times
    the DFT cost of every SCF cycle. Structures in, structures out (pymatgen)."""
    import spglib
    from ase.spacegroup.symmetrize import refine_symmetry
    from pymatgen.io.ase import AseAtomsAdaptor

    def operations(atoms, tol: float) -> int:
        cell = (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers)
        dataset = spglib.get_symmetry_dataset(cell, symprec=tol)
        return 0 if dataset is None else len(dataset.rotations)

    atoms = AseAtomsAdaptor.get_atoms(seed_geometry)
    n_seed = operations(atoms, symprec)
    if n_seed <= 1 or n_seed > operations(AseAtomsAdaptor.get_atoms(start), START_SYMPREC):
        return seed_geometry, False
    refine_symmetry(atoms, symprec=symprec)
    return AseAtomsAdaptor.get_structure(atoms), True


def seed_key(seed: CalculatorSpec, seed_settings: dict[str, Any]) -> dict[str, Any]:
    """What the seed adds to the reuse key and provenance of the DFT job it changes."""
    import json

    return {"calculator": json.loads(seed.key), "settings": dict(seed_settings)}


class SeedCheck(BaseModel):
    """The guard of one seeded DFT relaxation (see :mod:`atomflow.seeding`)."""

    seed: str = Field(description="Seed calculator (label), e.g. sevennet.")
    seed_energy: float | None = Field(default=None, description="Seed calculator's energy of its relaxed "
                                      "geometry, eV (not comparable with DFT energies).")
    start_energy: float = Field(description="DFT energy of the unseeded start, eV.")
    seeded_energy: float = Field(description="DFT energy of the seeded result, eV.")
    max_displacement: float = Field(description="Largest distance of an atom from its own starting site "
                                    "(start taken in the final cell), Å.")
    displacement_limit: float = Field(description="Half the shortest interatomic distance of the start, Å.")
    energy_tol: float = Field(default=GUARD_ENERGY_TOL, description="Tolerance of the energy test, eV.")
    symmetrised: bool = Field(default=False, description="Whether the seed's geometry was made exactly "
                              "symmetric (at SEED_SYMPREC, never above the start's symmetry) before DFT.")
    curvature_calls: int | None = Field(default=None, description="Seed calls of the seed's Hessian that "
                                        "started the DFT optimizer (atomflow.seed_hessian); None: "
                                        "seeded by geometry only.")
    flags: list[str] = Field(default_factory=list, description="Why the seeded result may be another "
                             "minimum.")


def guard_flags(start_cart: np.ndarray, start_cell: np.ndarray, final_cart: np.ndarray,
                final_cell: np.ndarray, start_energy: float, seeded_energy: float, *, seed: str = "the seed",
                seed_energy: float | None = None, energy_tol: float = GUARD_ENERGY_TOL,
                curvature_calls: int | None = None, symmetrised: bool = False) -> SeedCheck:
    """The guard's two tests on plain numbers (positions Å, cell rows Å, energies eV; same atom order)."""
    start_cart, final_cart = np.asarray(start_cart, float), np.asarray(final_cart, float)
    start_cell, final_cell = np.asarray(start_cell, float), np.asarray(final_cell, float)
    if start_cart.shape != final_cart.shape:
        raise InputError(f"The seeded result has {len(final_cart)} atoms but the start {len(start_cart)}.")
    frac = np.linalg.solve(start_cell.T, start_cart.T).T
    from ase.geometry import find_mic

    moved, _ = find_mic(final_cart - frac @ final_cell, final_cell, pbc=True)  # minimum image, any cell shape
    max_disp = float(np.linalg.norm(moved, axis=1).max()) if len(moved) else 0.0
    limit = 0.5 * _shortest_distance(start_cart, start_cell)
    flags = []
    if seeded_energy > start_energy + energy_tol:
        flags.append(f"seeded by {seed}: the DFT energy of the seeded result lies "
                     f"{seeded_energy - start_energy:.4f} eV above that of the unseeded start; the unseeded "
                     "relaxation would end lower (another minimum)")
    if max_disp > limit:
        flags.append(f"seeded by {seed}: an atom ends {max_disp:.2f} Å from its starting site, more than "
                     f"half the shortest interatomic distance ({limit:.2f} Å); the configuration changed "
                     "(another minimum than the unseeded start's)")
    return SeedCheck(seed=seed, seed_energy=seed_energy, start_energy=float(start_energy),
                     seeded_energy=float(seeded_energy), max_displacement=max_disp, displacement_limit=limit,
                     energy_tol=energy_tol, curvature_calls=curvature_calls, symmetrised=symmetrised,
                     flags=flags)


def _shortest_distance(cart: np.ndarray, cell: np.ndarray) -> float:
    """Shortest distance between two atoms (periodic images included), Å."""
    from ase.geometry import get_distances

    if len(cart) < 2:  # one atom: its nearest neighbour is its own image
        return float(min(np.linalg.norm(cell, axis=1)))
    _, d = get_distances(cart, cell=cell, pbc=True)
    d = d + np.diag(np.full(len(cart), np.inf))
    return float(min(d.min(), min(np.linalg.norm(cell, axis=1))))


__all__ = ["AUTO", "DEFAULT_SEED", "GUARD_ENERGY_TOL", "SEED_SYMPREC", "START_SYMPREC", "SeedCheck",
           "check_seed_structure", "guard_flags", "keep_start_symmetry",
           "resolve_seed", "seed_key"]
