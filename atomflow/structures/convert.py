"""Structure conversions shared by every layer (calculators' drivers, jobs, reuse keys)."""

from __future__ import annotations

from ase import Atoms
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.errors import InputError


def to_atoms(structure: Structure | Atoms) -> Atoms:
    """A copy of ``structure`` as ASE Atoms (an ordered pymatgen Structure or Atoms)."""
    if isinstance(structure, Atoms):
        return structure.copy()
    if isinstance(structure, Structure):
        if not structure.is_ordered:
            raise InputError("The structure has partial occupancies; order it first "
                             "(atomflow.structures.order_half_occupied).")
        return AseAtomsAdaptor.get_atoms(structure)
    raise InputError(f"Expected a pymatgen Structure or ASE Atoms, got {type(structure).__name__}.")
