"""Γ-point Hessians by central finite differences, local (a hopping atom and its neighbours) or full,
and their normal modes. Pure numerics: the caller supplies the ASE calculator.

The central-difference scheme is ase.vibrations' (nfree=2): 2 force calls per displaced Cartesian
coordinate, H_ij = −[F_j(x + δe_i) − F_j(x − δe_i)] / 2δ, then symmetrised. What symmetrising removes (the
antisymmetric part) is the calculator's force noise divided by 2δ, nothing physical: its size estimates the
noise left in each eigenvalue (:attr:`Modes.noise_thz2`; a float32 potential's 1e-4 eV/Å noise at δ = 0.01 Å
is ~0.01 eV/Å², comparable with a soft saddle mode's curvature). Only where every coordinate was displaced
("full", "local"): phonopy's symmetric Hessian spreads a few displacements over the whole matrix by symmetry,
which leaves little antisymmetric part whatever the noise (SevenNet-0 bcc Na saddle: it read (0.03 THz)², a
factor 1.01 on ν*, while repeated runs scattered by a factor 2), so there the noise is not estimated. A *local*
Hessian displaces
only the atoms in a sphere (the EON way): its modes are those of the cluster in the frozen rest of the
crystal, so there are no translational zero modes and the 3n modes all enter ν*.

*Forward* differences (``central=False``) displace each coordinate once, +δ only, and subtract the forces
at the undisplaced geometry (one more call): half the calls, an error of order δ × the third derivative
(benchmarks/README.md, δ = 0.01 Å: full Hessians' ν* within 1.4 % of central ones, symmetric ones 6–9 % low),
and the antisymmetric part then holds that error too, so the noise is estimated from central differences only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase import units

from atomflow.errors import InputError

#: sqrt(eV / (Å² amu)) in THz (ν = ω/2π): ω = sqrt(k/m).
_THZ = float(np.sqrt(units._e / (1e-20 * units._amu)) / (2 * np.pi) / 1e12)
#: Å, ase.vibrations' default displacement.
DELTA = 0.01
#: Hessian kinds: the local block, every coordinate displaced, or the full one through symmetry.
KINDS = ("local", "full", "symmetric")


@dataclass
class Modes:
    """Normal modes of a Hessian: frequencies in THz, ascending (imaginary as negative numbers)."""

    frequencies: np.ndarray      # THz
    vectors: np.ndarray          # Cartesian unit displacement of each mode, (n_modes, n_atoms_total, 3)
    indices: list[int]           # atoms the Hessian covers
    translations_removed: int    # 0 (local) or 3 (full)
    #: THz²: noise of one eigenvalue ν² (signed ν² = ω²/4π²), from the antisymmetric part of the raw Hessian.
    #: For independent errors of the elements, a mode's first-order shift vᵀEv has the standard deviation of
    #: one element of E, which is √2 × the RMS off-diagonal element of the antisymmetric part. None: not
    #: estimated (a symmetric Hessian, e.g. phonopy's; see the module).
    noise_thz2: float | None = None


def local_indices(atoms: Atoms, centre: int, cutoff: float, *extra: Atoms) -> list[int]:
    """The atom ``centre`` and every atom within ``cutoff`` Å of it (minimum image), in ``atoms`` and in
    each geometry of ``extra`` (same atoms, e.g. the saddle): one atom set for all of them."""
    if not cutoff > 0:
        raise InputError(f"local Hessian cutoff must be positive (Å), got {cutoff}.")
    chosen = set()
    for a in (atoms, *extra):
        d = a.get_distances(centre, range(len(a)), mic=True)
        chosen |= set(np.flatnonzero(d <= cutoff).tolist())
    return sorted(chosen)


def finite_difference_hessian(atoms: Atoms, indices: list[int] | None = None, delta: float = DELTA, *,
                              symmetrise: bool = True, central: bool = True) -> tuple[np.ndarray, list[int], int]:
    """(H, indices, force calls): the (3n × 3n) block of the Hessian (eV/Å²) of the atoms ``indices``
    (None: all), by central (``central=False``: forward) differences of amplitude ``delta`` Å; ``atoms`` must
    carry a calculator. ``symmetrise=False`` returns the raw matrix (its antisymmetric part is the noise,
    see the module)."""
    if not delta > 0:
        raise InputError(f"finite-difference displacement must be positive (Å), got {delta}.")
    idx = list(range(len(atoms))) if indices is None else sorted(int(i) for i in indices)
    if not idx:
        raise InputError("The Hessian needs at least one atom.")
    work = atoms.copy()
    work.calc = atoms.calc
    x0 = work.get_positions()
    n = len(idx)
    h = np.empty((3 * n, 3 * n))
    calls = 0
    if not central:
        f0 = work.get_forces()[idx].ravel()
        calls += 1
    for a, i in enumerate(idx):
        for c in range(3):
            f = []
            for sign in (1.0, -1.0) if central else (1.0,):
                x = x0.copy()
                x[i, c] += sign * delta
                work.set_positions(x)
                f.append(work.get_forces()[idx].ravel())
                calls += 1
            h[3 * a + c] = -(f[0] - f[1]) / (2 * delta) if central else -(f[0] - f0) / delta
    work.set_positions(x0)
    return (0.5 * (h + h.T) if symmetrise else h), idx, calls


def symmetric_hessian(atoms: Atoms, delta: float = DELTA, symprec: float = 1e-3, *, central: bool = True
                      ) -> tuple[np.ndarray, list[int], int]:
    """(H, all indices, force calls): the full Γ Hessian (eV/Å²) through phonopy's displacement machinery in
    a 1×1×1 supercell of the defect cell, so that only symmetry-distinct ± displacements (``central=False``:
    + only, less the undisplaced forces) are computed and the rest follow by the cell's space group
    (tolerance ``symprec`` Å)."""
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    if not delta > 0:
        raise InputError(f"finite-difference displacement must be positive (Å), got {delta}.")
    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=np.asarray(atoms.cell),
                        scaled_positions=atoms.get_scaled_positions(wrap=False))
    phonon = Phonopy(unit, supercell_matrix=np.eye(3, dtype=int), primitive_matrix="P", symprec=symprec)
    phonon.generate_displacements(distance=delta, is_plusminus=central)
    work = atoms.copy()
    work.calc = atoms.calc
    x0 = work.get_positions()
    # one-sided: phonopy takes each force as the displacement's own, so the residual force must go
    f0 = 0.0 if central else work.get_forces()
    forces = []
    for d in phonon.dataset["first_atoms"]:  # displace from our positions: phonopy's cells are wrapped
        x = x0.copy()
        x[d["number"]] += d["displacement"]
        work.set_positions(x)
        f = work.get_forces() - f0
        forces.append(f - f.mean(axis=0))
    work.set_positions(x0)
    phonon.forces = np.asarray(forces)
    phonon.produce_force_constants(show_drift=False)
    n = len(atoms)
    h = phonon.force_constants.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
    return 0.5 * (h + h.T), list(range(n)), len(forces) + (0 if central else 1)


def normal_modes(hessian: np.ndarray, masses: np.ndarray, indices: list[int], n_atoms: int, *,
                 remove_translations: bool, estimate_noise: bool = False) -> Modes:
    """Diagonalise the mass-weighted Hessian; with ``remove_translations`` (full Hessian of a periodic
    cell) the three rigid translations are projected out and dropped, leaving 3N − 3 modes. A raw
    (unsymmetrised) Hessian also gives :attr:`Modes.noise_thz2` when ``estimate_noise``."""
    m = np.repeat(np.asarray(masses, dtype=float)[indices], 3)
    dyn = hessian / np.sqrt(np.outer(m, m))
    removed = 0
    if remove_translations:
        if len(indices) != n_atoms:
            raise InputError("Translations can only be removed from a full Hessian (all atoms).")
        t = np.zeros((3, dyn.shape[0]))
        for k in range(3):
            t[k, k::3] = np.sqrt(m[k::3])
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        p = np.eye(dyn.shape[0]) - t.T @ t
        dyn = p @ dyn @ p
        removed = 3
    noise = _eigenvalue_noise(dyn) if estimate_noise else None
    w2, v = np.linalg.eigh(0.5 * (dyn + dyn.T))
    if removed:
        # the translations are exact null vectors of the projected matrix: drop the 3 with most overlap
        overlap = np.linalg.norm(t @ v, axis=0)
        keep = np.sort(np.argsort(overlap)[:-3])
        w2, v = w2[keep], v[:, keep]
    freqs = np.sign(w2) * np.sqrt(np.abs(w2)) * _THZ
    cart = v / np.sqrt(m)[:, None]  # mass-weighted → Cartesian displacement pattern
    vectors = np.zeros((len(freqs), n_atoms, 3))
    for k in range(len(freqs)):
        vk = cart[:, k].reshape(-1, 3)
        vectors[k, indices] = vk / np.linalg.norm(vk)
    return Modes(frequencies=freqs, vectors=vectors, indices=list(indices), translations_removed=removed,
                 noise_thz2=noise)


def _eigenvalue_noise(dyn: np.ndarray) -> float:
    """THz²: √2 × the RMS off-diagonal element of the antisymmetric part (see :attr:`Modes.noise_thz2`)."""
    off = ~np.eye(dyn.shape[0], dtype=bool)
    if not off.any():
        return 0.0  # one coordinate: nothing to compare
    return float(np.sqrt(2.0 * np.mean((0.5 * (dyn - dyn.T))[off] ** 2))) * _THZ**2


def hessian_modes(atoms: Atoms, *, kind: str, centre: int, cutoff: float, delta: float = DELTA,
                  indices: list[int] | None = None, central: bool = True) -> tuple[Modes, int]:
    """(modes, force calls) of ``atoms`` with a ``kind`` Hessian: "local", "full" (every coordinate
    displaced) or "symmetric" (the full Hessian from phonopy's symmetry-distinct displacements), by central
    or (``central=False``) forward differences."""
    if kind not in KINDS:
        raise InputError(f"Unknown Hessian kind {kind!r}; choose one of {', '.join(KINDS)}.")
    if kind == "local" and indices is None:
        indices = local_indices(atoms, centre, cutoff)
    if kind == "symmetric":
        h, idx, calls = symmetric_hessian(atoms, delta, central=central)
    else:
        h, idx, calls = finite_difference_hessian(atoms, None if kind == "full" else indices, delta,
                                                  symmetrise=False, central=central)
    modes = normal_modes(h, atoms.get_masses(), idx, len(atoms), remove_translations=kind != "local",
                         estimate_noise=kind != "symmetric" and central)
    return modes, calls
