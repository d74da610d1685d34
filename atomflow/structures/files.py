"""Any structure file a user names on the command line → one ordered, validated, labelled structure.

CIFs go through :func:`~atomflow.structures.cifio.read_cif` (partial occupancies kept), every other file
through pymatgen's ``Structure.from_file`` (POSCAR/CONTCAR, vasprun.xml, cssr, xsf, …) and then ASE's
``ase.io.read`` (extxyz, Quantum ESPRESSO, FHI-aims, …). A disordered structure is ordered by atomflow's one
rule, :func:`~atomflow.structures.ordering.order_half_occupied` (occupancy-0.5 sites, filled in one half of
a cell doubled along its shortest lattice vector — b for the paper's Na7Sn12), or refused with its message.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from pymatgen.core import Structure

from atomflow.errors import InputError, StructureError
from atomflow.structures.cifio import read_cif
from atomflow.structures.labelled import LabelledStructure
from atomflow.structures.ordering import order_half_occupied
from atomflow.structures.validate import validate_structure


def read_structure_file(path: str | Path, label: str | None = None) -> LabelledStructure:
    """Read, order if needed, and validate one structure file; label = ``label`` or the file name's stem.

    Raises:
        InputError: the file does not exist, or neither pymatgen nor ASE reads a structure from it.
        StructureError: disorder the ordering rule cannot handle, or a structure that fails validation
            (each message starts with the file name).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise InputError(f"Structure file {str(path)!r} does not exist; check the path.")
    structure = _read(path)
    note = ""
    if not structure.is_ordered:
        structure, note = _order(path, structure)
    try:
        validate_structure(structure)
    except StructureError as exc:
        raise StructureError(f"{path.name}: {exc}") from exc
    return LabelledStructure(structure=structure, label=label or path.stem, source=f"file {path}",
                             stand_in=False, note=note)


def _read(path: Path) -> Structure:
    if path.suffix.lower() == ".cif" or path.name.lower().endswith(".mcif"):
        try:
            return read_cif(path)
        except StructureError as exc:
            raise InputError(f"{path.name} is not a structure atomflow can read: {exc}") from exc
    reasons = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return Structure.from_file(str(path))
        except Exception as exc:  # pymatgen raises many types on a file it does not recognise
            reasons.append(f"pymatgen: {type(exc).__name__}: {_first_line(exc)}")
        try:
            from ase.io import read
            from pymatgen.io.ase import AseAtomsAdaptor

            atoms = read(str(path))
            if not all(atoms.pbc) or abs(atoms.cell.volume) < 1e-6:
                raise ValueError("no 3-D periodic cell in the file")
            return AseAtomsAdaptor.get_structure(atoms)
        except Exception as exc:
            reasons.append(f"ASE: {type(exc).__name__}: {_first_line(exc)}")
    raise InputError(f"{path.name} is not a structure file pymatgen or ASE can read ({'; '.join(reasons)}). "
                     "Give a CIF, a POSCAR/CONTCAR (named POSCAR*/CONTCAR* or *.vasp) or another format "
                     "they read, with a 3-D periodic cell.")


def _order(path: Path, structure: Structure) -> tuple[Structure, str]:
    """The ordering rule of atomflow: double the shortest lattice vector and fill half of each 0.5 site."""
    axis = int(np.argmin(structure.lattice.abc))
    supercell = tuple(2 if i == axis else 1 for i in range(3))
    try:
        ordered = order_half_occupied(structure, supercell=supercell)
    except (StructureError, InputError) as exc:
        raise StructureError(f"{path.name} is disordered and cannot be ordered by atomflow's rule: {exc}") from exc
    note = (f"partially occupied sites of {path.name} ordered by order_half_occupied in a {supercell} supercell "
            f"(axis {'abc'[axis]}, the shortest): filled in the lower half, vacant in the upper half")
    return ordered, note


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else "")[:200]
