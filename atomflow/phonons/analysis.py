"""Phonon analysis: pure functions of numbers (structure, displacements, forces) → phonon quantities.

No calculator and no jobflow here. phonopy does the force constants (finite displacements, symmetry
used) and the Fourier interpolation; the band path is pymatgen's Setyawan–Curtarolo path (spglib
only, no seekpath), converted to phonopy's primitive cell. Units: THz (frequencies, not angular),
Å, eV; thermal properties per atom in eV and k_B.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms
from pymatgen.core import Structure

from atomflow.errors import InputError

#: THz. A mode counts as imaginary when its frequency is below −IMAGINARY_TOL_THZ (phonopy reports
#: imaginary ν as negative). Finite-displacement noise of the acoustic branches near Γ is ~1e-3 THz
#: for EMT and up to a few 1e-2 THz for ML potentials; real soft modes are tenths of a THz and more.
IMAGINARY_TOL_THZ = 0.1
#: Å. phonopy's default displacement amplitude.
DISPLACEMENT = 0.01
#: eV per kJ/mol (phonopy's thermal properties are kJ/mol, J/K/mol of primitive cells).
_KJMOL_TO_EV = 1.0 / 96.485332
_KB_J_PER_K_MOL = 8.314462618  # R, J/(K mol)
#: THz·Å → m/s.
_THZ_ANGSTROM_TO_M_S = 100.0


def to_phonopy_atoms(structure: Structure) -> PhonopyAtoms:
    return PhonopyAtoms(symbols=[s.specie.symbol for s in structure], cell=structure.lattice.matrix,
                        scaled_positions=structure.frac_coords)


def make_phonopy(structure: Structure, supercell_matrix: Any, *, symprec: float = 1e-5,
                 is_symmetry: bool = True) -> Phonopy:
    """A Phonopy object for ``structure`` and the atomflow supercell matrix (rows: supercell = M @ cell).

    phonopy's matrix acts on column vectors (A_super = A_unit · S), so S = Mᵀ.
    """
    m = np.asarray(supercell_matrix, dtype=int)
    if m.shape != (3, 3) or round(abs(np.linalg.det(m))) == 0:
        raise InputError(f"supercell_matrix must be a non-singular 3×3 integer matrix, got {m.tolist()}.")
    import warnings

    with warnings.catch_warnings():  # "auto" is asked for on purpose: thermal sums are per primitive cell
        warnings.filterwarnings("ignore", message="primitive_matrix defaulted")
        return Phonopy(to_phonopy_atoms(structure), supercell_matrix=m.T, primitive_matrix="auto",
                       symprec=symprec, is_symmetry=is_symmetry)


def generate_displacements(structure: Structure, supercell_matrix: Any, *, distance: float = DISPLACEMENT,
                           symprec: float = 1e-5) -> tuple[dict[str, Any], list[Structure]]:
    """phonopy's symmetry-reduced displacements: (dataset as plain JSON, displaced supercells)."""
    if not distance > 0:
        raise InputError(f"displacement distance must be positive (Å), got {distance}.")
    phonon = make_phonopy(structure, supercell_matrix, symprec=symprec)
    phonon.generate_displacements(distance=distance, is_plusminus="auto")
    cells = [Structure(c.cell, c.symbols, c.scaled_positions) for c in phonon.supercells_with_displacements]
    return _jsonable_dataset(phonon.dataset), cells


def _jsonable_dataset(dataset: dict[str, Any]) -> dict[str, Any]:
    out = {"natom": int(dataset["natom"]), "first_atoms": []}
    for d in dataset["first_atoms"]:
        out["first_atoms"].append({"number": int(d["number"]),
                                   "displacement": [float(x) for x in d["displacement"]]})
    return out


def force_constants(structure: Structure, supercell_matrix: Any, dataset: dict[str, Any],
                    forces: list[Any], *, symprec: float = 1e-5) -> Phonopy:
    """Phonopy with force constants from the forces (eV/Å) on the displaced supercells of ``dataset``.

    Force constants are symmetrized (translational sum rule and index permutation) so the acoustic
    branches go to zero at Γ.
    """
    phonon = make_phonopy(structure, supercell_matrix, symprec=symprec)
    entries = dataset["first_atoms"]
    if len(forces) != len(entries):
        raise InputError(f"{len(entries)} displaced supercells but {len(forces)} force sets.")
    n = len(phonon.supercell)
    data = {"natom": n, "first_atoms": []}
    for entry, f in zip(entries, forces):
        f = np.asarray(f, dtype=float)
        if f.shape != (n, 3) or not np.all(np.isfinite(f)):
            raise InputError(f"forces must be finite, shape ({n}, 3); got {f.shape}.")
        # phonopy assumes the residual forces of the perfect cell are zero; removing the drift helps it.
        data["first_atoms"].append({"number": entry["number"], "displacement": np.asarray(entry["displacement"]),
                                    "forces": f - f.mean(axis=0)})
    phonon.dataset = data
    phonon.produce_force_constants(show_drift=False)
    phonon.symmetrize_force_constants()
    return phonon


def band_path(phonon: Phonopy, points_per_segment: int = 41
              ) -> tuple[list[list[list[float]]], list[list[str]]]:
    """Standard path (Setyawan–Curtarolo, pymatgen) in phonopy's primitive reduced coordinates.

    Returns (segments: list of q-point lists per continuous branch of the path, labels per branch).
    """
    from pymatgen.symmetry.bandstructure import HighSymmKpath

    prim = phonon.primitive
    structure = Structure(prim.cell, prim.symbols, prim.scaled_positions)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "input structure does not match the standard primitive" is handled below
        kpath = HighSymmKpath(structure, path_type="setyawan_curtarolo", symprec=0.01)
    kpoints = kpath.kpath["kpoints"]
    to_cart = kpath.prim_rec.matrix  # rows: reciprocal vectors (with 2π) of pymatgen's standard primitive
    to_frac = np.linalg.inv(structure.lattice.reciprocal_lattice.matrix)
    segments, labels = [], []
    for branch in kpath.kpath["path"]:
        qs, names = [], []
        for a, b in zip(branch[:-1], branch[1:]):
            qa = np.asarray(kpoints[a]) @ to_cart @ to_frac
            qb = np.asarray(kpoints[b]) @ to_cart @ to_frac
            qs.append([(qa + (qb - qa) * t).tolist() for t in np.linspace(0, 1, points_per_segment)])
            names.append((a, b))
        segments.extend(qs)
        labels.append([branch[0]] + [b for _, b in names])
    return segments, labels


@dataclass
class PhononResult:
    """Everything a PhononDocument holds, in atomflow units."""

    n_atoms_primitive: int
    n_atoms_unit_cell: int
    n_atoms_supercell: int
    band_distances: list[list[float]]   # 1/Å (no 2π), per segment
    band_frequencies: list[list[list[float]]]  # THz, [segment][q][mode]
    band_labels: list[list[str]]
    gamma_frequencies: list[float]      # THz
    dos_frequencies: list[float]        # THz
    dos: list[float]                    # states/THz per primitive cell
    temperatures: list[float]           # K
    free_energy: list[float]            # eV/atom
    entropy: list[float]                # k_B/atom
    heat_capacity: list[float]          # k_B/atom
    min_frequency: float                # THz, lowest over path and mesh
    n_imaginary_path: int
    n_imaginary_mesh: int
    imaginary_tol: float
    dynamically_stable: bool
    mesh: list[int]
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def analyse_phonons(structure: Structure, supercell_matrix: Any, dataset: dict[str, Any], forces: list[Any],
                    *, temperatures: Any = None, mesh: float = 30.0, imaginary_tol: float = IMAGINARY_TOL_THZ,
                    symprec: float = 1e-5, points_per_segment: int = 41) -> PhononResult:
    """Force constants → bands on the standard path, DOS, thermal properties, dynamical stability.

    ``mesh``: phonopy's length-based q-mesh density (Å). ``temperatures`` (K, > 0), default 0–1000 K
    in 10 K steps from 10 K. A frequency below −``imaginary_tol`` THz anywhere on the path or mesh
    makes the structure dynamically unstable (flag ``imaginary_modes``).
    """
    if not imaginary_tol >= 0:
        raise InputError(f"imaginary_tol must be ≥ 0 (THz), got {imaginary_tol}.")
    temps = np.arange(10.0, 1001.0, 10.0) if temperatures is None else np.asarray(temperatures, dtype=float)
    if temps.size == 0 or np.any(temps <= 0) or not np.all(np.isfinite(temps)):
        raise InputError(f"temperatures must be positive and finite (K), got {temps.tolist()}.")
    phonon = force_constants(structure, supercell_matrix, dataset, forces, symprec=symprec)
    n_unit = len(phonon.unitcell)
    n_prim = len(phonon.primitive)  # phonopy's thermal properties are per mol of primitive cells

    segments, labels = band_path(phonon, points_per_segment)
    phonon.run_band_structure(segments, with_eigenvectors=False, is_band_connection=False)
    bands = phonon.get_band_structure_dict()
    band_freqs = [np.asarray(f) for f in bands["frequencies"]]
    gamma = np.sort(phonon.get_frequencies([0.0, 0.0, 0.0]))

    phonon.run_mesh(mesh, is_gamma_center=True)
    mesh_freqs = phonon.get_mesh_dict()["frequencies"]
    mesh_numbers = [int(x) for x in phonon.mesh_numbers]
    phonon.run_total_dos()
    dos = phonon.get_total_dos_dict()
    phonon.run_thermal_properties(temperatures=temps, exclude_gamma_acoustic=True)
    tp = phonon.get_thermal_properties_dict()

    path_all = np.concatenate([f.ravel() for f in band_freqs])
    n_im_path = int(np.sum(path_all < -imaginary_tol))
    n_im_mesh = int(np.sum(np.asarray(mesh_freqs) < -imaginary_tol))
    fmin = float(min(path_all.min(), np.min(mesh_freqs)))
    stable = n_im_path == 0 and n_im_mesh == 0
    flags, notes = [], []
    if not stable:
        flags.append("imaginary_modes")
        notes.append(f"Lowest frequency {fmin:.3f} THz (imaginary shown negative) is below −{imaginary_tol} THz: "
                     f"{n_im_path} path and {n_im_mesh} mesh frequencies; dynamically unstable, and the harmonic "
                     "thermal properties exclude those modes.")
    return PhononResult(
        n_atoms_primitive=len(phonon.primitive),
        n_atoms_unit_cell=n_unit,
        n_atoms_supercell=len(phonon.supercell),
        band_distances=[np.asarray(d).tolist() for d in bands["distances"]],
        band_frequencies=[f.tolist() for f in band_freqs],
        band_labels=labels,
        gamma_frequencies=gamma.tolist(),
        dos_frequencies=np.asarray(dos["frequency_points"]).tolist(),
        dos=np.asarray(dos["total_dos"]).tolist(),
        temperatures=temps.tolist(),
        free_energy=(np.asarray(tp["free_energy"]) * _KJMOL_TO_EV / n_prim).tolist(),
        entropy=(np.asarray(tp["entropy"]) / _KB_J_PER_K_MOL / n_prim).tolist(),
        heat_capacity=(np.asarray(tp["heat_capacity"]) / _KB_J_PER_K_MOL / n_prim).tolist(),
        min_frequency=fmin,
        n_imaginary_path=n_im_path,
        n_imaginary_mesh=n_im_mesh,
        imaginary_tol=imaginary_tol,
        dynamically_stable=stable,
        mesh=mesh_numbers,
        flags=flags,
        notes=notes,
    )


def sound_velocities(phonon: Phonopy, direction: Any, dq: float = 0.005) -> np.ndarray:
    """The three acoustic velocities (m/s, ascending) along Cartesian ``direction``, from ν(q)/|q| at
    |q| = ``dq`` 1/Å (no 2π) near Γ: v = 2πν / (2π|q|)."""
    n = np.asarray(direction, dtype=float)
    n = n / np.linalg.norm(n)
    q_cart = dq * n  # 1/Å without 2π
    q_frac = phonon.primitive.cell @ q_cart  # reduced coordinates: q_cart = q_frac · (A⁻¹)ᵀ
    freqs = np.sort(phonon.get_frequencies(q_frac))[:3]
    return freqs / dq * _THZ_ANGSTROM_TO_M_S


def christoffel_velocities(c_voigt_gpa: Any, density_kg_m3: float, direction: Any) -> np.ndarray:
    """Sound velocities (m/s, ascending) along ``direction`` from the elastic tensor by the Christoffel
    equation: det(C_ijkl n_j n_l − ρ v² δ_ik) = 0."""
    from pymatgen.analysis.elasticity import ElasticTensor

    c = ElasticTensor.from_voigt(np.asarray(c_voigt_gpa, dtype=float))
    n = np.asarray(direction, dtype=float)
    n = n / np.linalg.norm(n)
    gamma = np.einsum("ijkl,j,l->ik", np.asarray(c), n, n) * 1e9  # Pa
    return np.sqrt(np.sort(np.linalg.eigvalsh(gamma)) / density_kg_m3)
