"""Input structures: builders, CIF reading, ordering of half-occupied sites, validation, supercells.

Example::

    from atomflow.structures import na7sn12, rocksalt_nacl, make_supercell
    cell = na7sn12()   # real Na7Sn12 (cached/COD) or, offline, the NaSn stand-in
    print(cell.stand_in, cell.label)
    nacl = make_supercell(rocksalt_nacl(), min_length=10.0)   # the shared supercell rule

Modules: ``builders`` (NaCl, bcc Na, Na7Sn12, Na–Sn phases, load_structure), ``cifio`` (reading
CIFs, finding structure files), ``ordering`` (order_half_occupied), ``validate``
(validate_structure), ``supercell`` (the one supercell rule), ``cod`` (COD download + cache),
``labelled`` (LabelledStructure), ``synthetic`` (a made-up Na7Sn12-like CIF for tests).
"""

from atomflow.structures.labelled import LabelledStructure
from atomflow.structures.validate import perpendicular_widths, validate_structure
from atomflow.structures.cifio import available_structures, find_structure_file, read_cif
from atomflow.structures.supercell import make_supercell, min_image_distance, supercell_matrix
from atomflow.structures.ordering import order_half_occupied
from atomflow.structures import cod
from atomflow.structures.builders import (
    bcc_na,
    load_structure,
    na7sn12,
    na_sn_phases,
    rocksalt_nacl,
)

__all__ = [
    "LabelledStructure",
    "available_structures",
    "bcc_na",
    "cod",
    "find_structure_file",
    "load_structure",
    "make_supercell",
    "min_image_distance",
    "na7sn12",
    "na_sn_phases",
    "order_half_occupied",
    "perpendicular_widths",
    "read_cif",
    "rocksalt_nacl",
    "supercell_matrix",
    "validate_structure",
]
