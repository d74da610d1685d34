"""Rigid-ion Fumi-Tosi (Born-Mayer-Huggins) potential for rock-salt NaCl, with Ewald Coulomb.

Units are ASE's: eV, Angstrom, eV/Angstrom, stress in eV/Angstrom^3 as a Voigt 6-vector
(xx, yy, zz, yz, xz, xy) with ASE's sign convention, stress = (1/V) dE/d(strain), so a
tensile cell has positive stress.

    E = sum_{i<j} [ A_ij exp((sigma_ij - r)/rho_ij) - C_ij/r^6 + D_ij/r^8 ]     (r < cutoff)
      + k_e sum_{i<j} q_i q_j / r                                               (Ewald, all images)

with k_e = 14.399645 eV*Angstrom and formal charges Na +1, Cl -1.  This is LAMMPS'
``pair_style born/coul/long``.  The short-range sum is truncated at ``cutoff`` and each pair is
energy-shifted so it is continuous there (forces are not shifted; they are the exact gradient of
the shifted energy).  The Ewald sum uses the standard erfc/Gaussian split plus the self term and,
for a cell with net charge Q, the uniform neutralising background -k_e pi Q^2 / (2 V alpha^2).

Parameters: M. P. Tosi and F. G. Fumi, J. Phys. Chem. Solids 25, 45 (1964) / F. G. Fumi and
M. P. Tosi, ibid. 25, 31 (1964), converted to LAMMPS metal units (``pair_style born``).
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list
from scipy.special import erfc

from atomflow.errors import CalculatorError

#: Coulomb's constant e^2/(4 pi eps0) in eV*Angstrom.
K_E = 14.399645

#: Fumi-Tosi (J. Phys. Chem. Solids 25, 31 (1964)) Born-Mayer-Huggins parameters for NaCl in
#: LAMMPS metal units, keyed by unordered pair: (A eV, rho A, sigma A, C eV A^6, D eV A^8).
FUMI_TOSI_NACL = MappingProxyType(
    {
        ("Na", "Na"): (0.263705848, 0.317, 2.340, 1.048583006, -0.49932529),
        ("Na", "Cl"): (0.210964679, 0.317, 2.755, 6.99055303, -8.675775756),
        ("Cl", "Cl"): (0.158223509, 0.317, 3.170, 72.40215779, -145.4284714),
    }
)
FORMAL_CHARGES = MappingProxyType({"Na": 1.0, "Cl": -1.0})
_SPECIES = ("Na", "Cl")
# Row t = s_i + s_j (0 Na-Na, 1 Na-Cl, 2 Cl-Cl) with s = 0 for Na, 1 for Cl.
_TABLE = np.array([FUMI_TOSI_NACL[p] for p in (("Na", "Na"), ("Na", "Cl"), ("Cl", "Cl"))])


def _bmh(r: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Born-Mayer-Huggins pair energy and its radial derivative for pair types ``t``."""
    a, rho, sigma, c, d = _TABLE[t].T
    rep = a * np.exp((sigma - r) / rho)
    return rep - c / r**6 + d / r**8, -rep / rho + 6 * c / r**7 - 8 * d / r**9


def _pair_sums(phi, dphi, i, dvec, r, n, volume):
    """Energy, forces, ASE stress of a pair potential given over a full (i->j and j->i) list."""
    g = (dphi / r)[:, None] * dvec  # dE/dD for each directed pair
    forces = np.zeros((n, 3))
    for a in range(3):  # F_i = sum_j phi'(r) D_ij / r; bincount is the fast scatter-add
        forces[:, a] = np.bincount(i, weights=g[:, a], minlength=n)
    virial = 0.5 * g.T @ dvec  # dE/d(strain), halved for the double counting
    return 0.5 * phi.sum(), forces, virial / volume


def _neighbors(atoms, rcut: float):
    """Full neighbour list (i, j, D = r_j - r_i + shift, |D|) of all pairs closer than ``rcut``.

    Small cells use a dense numpy sweep over lattice images, ~20x faster than ASE's binned
    ``neighbor_list`` at these cutoffs; large ones fall back to ``neighbor_list``.
    """
    cell = np.asarray(atoms.cell)
    nrep = np.ceil(rcut * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int)  # rcut/spacing
    n = len(atoms)
    if n * n * np.prod(2 * nrep + 1) > 4_000_000:  # keep the dense (n, n, images, 3) array small
        return neighbor_list("ijDd", atoms, rcut)
    m = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in nrep], indexing="ij"), -1).reshape(-1, 3)
    frac = atoms.get_scaled_positions(wrap=True)  # |f_j - f_i| < 1, so nrep images suffice
    dvec = (frac[None, :, None, :] - frac[:, None, None, :] + m[None, None]) @ cell
    d2 = np.einsum("ijsk,ijsk->ijs", dvec, dvec)
    mask = d2 < rcut**2
    mask[np.arange(n), np.arange(n), len(m) // 2] = False  # an atom is not its own neighbour
    i, j, s = np.nonzero(mask)
    return i, j, dvec[i, j, s], np.sqrt(d2[i, j, s])


def _ewald_alpha(n: int, volume: float) -> float:
    # Balances real- and reciprocal-space work (same choice as pymatgen's EwaldSummation).
    return float(np.sqrt(np.pi) * (n / volume**2) ** (1 / 6))


def _kvectors(cell: np.ndarray, kmax: float) -> np.ndarray:
    """Reciprocal vectors with 0 < |k| <= kmax, one of each +-k pair."""
    rec = 2 * np.pi * np.linalg.inv(cell).T
    nmax = np.ceil(kmax * np.linalg.norm(cell, axis=1) / (2 * np.pi)).astype(int)
    m = np.stack(np.meshgrid(*[np.arange(-k, k + 1) for k in nmax], indexing="ij"), -1).reshape(-1, 3)
    half = (m[:, 0] > 0) | ((m[:, 0] == 0) & ((m[:, 1] > 0) | ((m[:, 1] == 0) & (m[:, 2] > 0))))
    k = m[half] @ rec
    return k[np.einsum("ij,ij->i", k, k) <= kmax**2]


def ewald_coulomb(atoms, charges, accuracy: float = 1e-6, alpha: float | None = None, nl=None):
    """Ewald energy (eV), forces (eV/A) and ASE stress (3x3, eV/A^3) of point charges in ``atoms``.

    ``nl`` optionally passes a precomputed ``(i, D, r)`` full neighbour list reaching at least the
    real-space cutoff sqrt(-ln accuracy)/alpha.
    """
    q = np.asarray(charges, dtype=float)
    n, volume = len(atoms), atoms.get_volume()
    cell, pos = np.asarray(atoms.cell), atoms.positions
    alpha = _ewald_alpha(n, volume) if alpha is None else float(alpha)
    p = np.sqrt(-np.log(accuracy))
    rcut, kmax = p / alpha, 2 * alpha * p

    if nl is None:
        i, j, dvec, r = _neighbors(atoms, rcut)
    else:
        i, j, dvec, r = nl
    keep = r < rcut
    i, j, dvec, r = i[keep], j[keep], dvec[keep], r[keep]
    qq = K_E * q[i] * q[j]
    erfc_ar = erfc(alpha * r)
    phi = qq * erfc_ar / r
    dphi = -qq * (erfc_ar / r**2 + 2 * alpha / np.sqrt(np.pi) * np.exp(-((alpha * r) ** 2)) / r)
    energy, forces, stress = _pair_sums(phi, dphi, i, dvec, r, n, volume)

    # Reciprocal space over the half k-space (factor 2 restores the -k partners).
    k = _kvectors(cell, kmax)
    k2 = np.einsum("ij,ij->i", k, k)
    kr = k @ pos.T
    cos, sin = np.cos(kr), np.sin(kr)
    s_re, s_im = cos @ q, sin @ q
    w = (4 * np.pi * K_E / volume) * np.exp(-k2 / (4 * alpha**2)) / k2
    s2 = s_re**2 + s_im**2
    e_rec = float(w @ s2)
    energy += e_rec
    forces += 2 * q[:, None] * ((sin * s_re[:, None] - cos * s_im[:, None]).T @ (w[:, None] * k))
    # dE/d(eps_ab) = sum_k w |S|^2 [-delta_ab + 2 k_a k_b (1/(4 alpha^2) + 1/k^2)]
    stress += (-e_rec * np.eye(3) + 2 * (k * (w * s2 * (1 / (4 * alpha**2) + 1 / k2))[:, None]).T @ k) / volume

    energy -= K_E * alpha / np.sqrt(np.pi) * np.sum(q**2)  # self interaction
    # Neutralising background for charged cells; it scales as 1/V so dE/d(eps) = -E delta.
    e_bg = -K_E * np.pi * q.sum() ** 2 / (2 * volume * alpha**2)
    return energy + e_bg, forces, stress - e_bg * np.eye(3) / volume


class FumiTosiNaCl(Calculator):
    """Fumi-Tosi Born-Mayer-Huggins + Ewald Coulomb for Na/Cl systems (see module docstring).

    Parameters
    ----------
    cutoff
        Short-range (Born-Mayer-Huggins) cutoff in Angstrom; pairs are energy-shifted there.
    ewald_accuracy
        Relative accuracy of the Ewald real- and reciprocal-space truncations.
    ewald_alpha
        Ewald splitting parameter in 1/Angstrom; ``None`` picks one from the cell.
    charges
        Optional override of the formal charges, e.g. ``{"Na": 0.9, "Cl": -0.9}``.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress"]
    default_parameters = {"cutoff": 9.0, "ewald_accuracy": 1e-6, "ewald_alpha": None, "charges": None}

    def __init__(self, **kwargs):
        Calculator.__init__(self, **kwargs)
        unknown = set(self.parameters) - set(self.default_parameters)
        if unknown:
            raise CalculatorError(f"FumiTosiNaCl got unknown parameters {sorted(unknown)}; "
                                  f"allowed: {sorted(self.default_parameters)}.")
        if not 0 < self.parameters.ewald_accuracy < 1:
            raise CalculatorError(f"FumiTosiNaCl ewald_accuracy must lie in (0, 1), "
                                  f"got {self.parameters.ewald_accuracy}.")
        charges = self.parameters.charges or {}
        if set(charges) - set(_SPECIES):
            raise CalculatorError(f"FumiTosiNaCl charges may only name Na and Cl, got {sorted(charges)}.")

    def _check(self, atoms) -> np.ndarray:
        symbols = atoms.get_chemical_symbols()
        bad = sorted(set(symbols) - set(_SPECIES))
        if bad:
            raise CalculatorError(f"FumiTosiNaCl has parameters only for Na and Cl; the structure "
                                  f"contains {', '.join(bad)}. Use another calculator for it.")
        if not atoms.pbc.all():
            raise CalculatorError(f"FumiTosiNaCl needs a cell periodic in all 3 directions (Ewald sum); "
                                  f"got pbc={atoms.pbc.tolist()}. Set atoms.pbc = True and give a cell.")
        if atoms.cell.rank < 3:
            raise CalculatorError("FumiTosiNaCl needs a full 3-D cell; the cell given is degenerate.")
        return np.array([_SPECIES.index(s) for s in symbols])

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        Calculator.calculate(self, atoms, properties, system_changes)
        atoms = self.atoms
        species = self._check(atoms)
        par = self.parameters
        qmap = {**FORMAL_CHARGES, **(par.charges or {})}
        q = np.array([qmap[_SPECIES[s]] for s in species])
        n, volume = len(atoms), atoms.get_volume()
        p = np.sqrt(-np.log(par.ewald_accuracy))
        alpha = par.ewald_alpha
        if alpha is None:  # keep the Ewald real-space cutoff within `cutoff`: the neighbour list
            alpha = max(_ewald_alpha(n, volume), p / par.cutoff)  # dominates; k-sums are cheap
        rc_ewald = p / float(alpha)

        # One neighbour list serves both the short-range and the real-space Ewald sums.
        i, j, dvec, r = _neighbors(atoms, max(par.cutoff, rc_ewald))
        e_c, f_c, s_c = ewald_coulomb(atoms, q, par.ewald_accuracy, alpha, nl=(i, j, dvec, r))

        sr = r < par.cutoff
        i_s, dvec_s, r_s = i[sr], dvec[sr], r[sr]
        t = species[i_s] + species[j[sr]]
        phi, dphi = _bmh(r_s, t)
        phi -= _bmh(np.full(len(t), float(par.cutoff)), t)[0]  # energy shift: continuous at cutoff
        e_s, f_s, s_s = _pair_sums(phi, dphi, i_s, dvec_s, r_s, n, volume)

        stress = s_c + s_s
        self.results["energy"] = self.results["free_energy"] = float(e_c + e_s)
        self.results["forces"] = f_c + f_s
        self.results["stress"] = stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]]
