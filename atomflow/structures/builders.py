"""The structures of the study: NaCl, bcc Na, Na7Sn12 (or its stand-in) and the Na–Sn phases.

Every builder validates its result (:func:`~atomflow.structures.validate.validate_structure`).
Lattice constants are starting values in Å; relax them with the calculator in use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pymatgen.core import Lattice, Structure

from atomflow.errors import InputError, StructureError
from atomflow.structures import cod
from atomflow.structures.cifio import find_structure_file, read_cif
from atomflow.structures.labelled import LabelledStructure
from atomflow.structures.ordering import order_half_occupied
from atomflow.structures.validate import validate_structure

#: The paper's recipe for Na7Sn12: 1×2×1 supercell of the 76-atom cell → Na56Sn96.
NA7SN12_SUPERCELL = (1, 2, 1)
NA7SN12_STAND_IN = "NaSn_I41acd.cif"
_MATADOR = "CASTEP/PBE-relaxed (ml-evs/matador @ 8fa53848d55a); not the paper's compound"

#: Stand-in Na–Sn phases in structures/: file → (label, remark). See structures/PROVENANCE.md.
NA_SN_STAND_INS: dict[str, tuple[str, str]] = {
    "NaSn2_Cmmm_model.cif": ("NaSn2 (Cmmm)", "DFT-proposed layered model of NaSn2"),
    "NaSn_I41acd.cif": ("NaSn (I4_1/acd)", "experimental structure type (also COD 8101628)"),
    "Na7Sn3_P3212.cif": ("Na7Sn3 (P3_212)", ""),
    "Na15Sn4_I-43d.cif": ("Na15Sn4 (I-43d)", "fully sodiated phase"),
    "NaSn3_R-3m_hypothetical.cif": ("NaSn3 (R-3m, hypothetical)", "hypothetical (structure prediction)"),
    "Sn_beta_I41amd.cif": ("beta-Sn (I4_1/amd)", "Sn end member"),
}


def _positive(name: str, value: float) -> float:
    if not (value > 0):
        raise InputError(f"{name} must be a positive lattice constant in Å, got {value}.")
    return float(value)


def rocksalt_nacl(a: float = 5.64, conventional: bool = True) -> Structure:
    """Rock-salt NaCl: conventional cubic cell (Na4Cl4, 8 atoms) or the fcc primitive cell (2 atoms).

    Args:
        a: cubic lattice constant in Å (5.64 Å experimental, 25 °C).
        conventional: True → 8-atom cube; False → 2-atom primitive cell.
    """
    a = _positive("a", a)
    if conventional:
        fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
        coords = fcc + [list(np.mod(np.add(p, 0.5), 1.0)) for p in fcc]
        structure = Structure(Lattice.cubic(a), ["Na"] * 4 + ["Cl"] * 4, coords)
    else:
        lattice = Lattice(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]]) * a / 2)
        structure = Structure(lattice, ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    return validate_structure(structure, expected_formula="NaCl")


def bcc_na(a: float = 4.23, conventional: bool = True) -> Structure:
    """bcc Na: conventional cubic cell (2 atoms) or the primitive cell (1 atom).

    Args:
        a: cubic lattice constant in Å (4.29 Å experimental RT, ≈4.20 Å PBE).
        conventional: True → 2-atom cube; False → 1-atom primitive cell.
    """
    a = _positive("a", a)
    if conventional:
        structure = Structure(Lattice.cubic(a), ["Na", "Na"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    else:
        lattice = Lattice(np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]) * a / 2)
        structure = Structure(lattice, ["Na"], [[0, 0, 0]])
    return validate_structure(structure, expected_formula="Na")


def load_structure(name_or_path: str | Path, validate: bool = True) -> Structure:
    """Read a CIF by short name (``"NaSn"``, ``"Na15Sn4"``, ``"Sn"``), file name, or path.

    Short names are looked up in ``get_settings().structures_dir`` and then the checkout's
    ``structures/`` (see :func:`atomflow.structures.cifio.available_structures`).

    Args:
        name_or_path: short name, file name in the structures folder, or any CIF path.
        validate: run :func:`validate_structure` (bulk, ordered); False returns the raw parse,
            partial occupancies included.
    """
    path = find_structure_file(name_or_path)
    structure = read_cif(path)
    if validate:
        try:
            validate_structure(structure)
        except StructureError as exc:
            raise StructureError(f"{path.name}: {exc}") from exc
    return structure


def na7sn12(source: str = "auto", ordering_index: int = 0) -> LabelledStructure:
    """The paper's Na7Sn12 (152-atom ordered 1×2×1 supercell), or the labelled NaSn stand-in.

    Args:
        source: ``"auto"``: cached CIF, else download from COD, else the stand-in.
            ``"cod"``: cached CIF, else download; raise if COD is unreachable (no stand-in).
            ``"stand-in"``: the NaSn (I4_1/acd) stand-in, no network.
        ordering_index: which symmetry-distinct ordering of the half-occupied Na site (0: the
            paper's "filled in one half, vacant in the other" default; see order_half_occupied).

    Returns:
        LabelledStructure with ``stand_in`` False for the real compound, True for the stand-in.
    """
    if source not in ("auto", "cod", "stand-in"):
        raise InputError(f"source must be 'auto', 'cod' or 'stand-in', got {source!r}.")
    if not isinstance(ordering_index, int) or ordering_index < 0:
        raise InputError(f"ordering_index must be an integer ≥ 0, got {ordering_index!r}.")
    if source == "stand-in":
        return _na7sn12_stand_in("stand-in requested", "source='stand-in' was requested.")
    try:
        path = cod.fetch_and_cache(cod.NA7SN12_COD_ID, prefix="Na7Sn12")
    except cod.CODUnavailableError as exc:
        if source == "cod":
            raise InputError(
                f"Na7Sn12 (COD {cod.NA7SN12_COD_ID}) is not cached at {cod.cached_cif_path()} and could not "
                f"be downloaded: {exc}. Put the CIF there (e.g. from a machine with internet), or use "
                "source='auto'/'stand-in' for the NaSn stand-in."
            ) from exc
        return _na7sn12_stand_in(f"COD {cod.NA7SN12_COD_ID} unreachable", f"COD download failed: {exc}")
    return _na7sn12_ordered(path, ordering_index)


def _na7sn12_ordered(path: Path, ordering_index: int) -> LabelledStructure:
    if ordering_index == 0:
        structure = order_half_occupied(path, supercell=NA7SN12_SUPERCELL)
        n_orderings = None
    else:
        orderings = order_half_occupied(path, supercell=NA7SN12_SUPERCELL, all_orderings=True)
        n_orderings = len(orderings)
        if ordering_index >= n_orderings:
            raise InputError(
                f"ordering_index={ordering_index} but Na7Sn12 has {n_orderings} symmetry-distinct "
                f"orderings (indices 0–{n_orderings - 1})."
            )
        structure = orderings[ordering_index]
    try:
        validate_structure(structure, expected_formula="Na56Sn96")
    except StructureError as exc:
        raise StructureError(f"Na7Sn12 from {path}: {exc}") from exc
    counted = f" of {n_orderings} distinct" if n_orderings else ""
    return LabelledStructure(
        structure=structure,
        label=f"Na7Sn12 (COD {cod.NA7SN12_COD_ID}), 1×2×1 supercell, ordering {ordering_index}",
        source=f"COD {cod.NA7SN12_COD_ID} ({path})",
        stand_in=False,
        note=(
            f"Half-occupied Na site ordered in a 1×2×1 supercell (ordering {ordering_index}{counted}; 0 = "
            "filled in the lower half along b, vacant in the upper half, as in the paper); 152 atoms."
        ),
    )


def _na7sn12_stand_in(why: str, detail: str) -> LabelledStructure:
    path = find_structure_file(NA7SN12_STAND_IN)
    structure = load_structure(path)
    validate_structure(structure, expected_formula="Na16Sn16")
    return LabelledStructure(
        structure=structure,
        label=f"NaSn (I4_1/acd) stand-in for Na7Sn12 ({why})",
        source=str(path),
        stand_in=True,
        note=f"{detail} NaSn is {_MATADOR}; numbers computed on it are not the paper's Na7Sn12.",
    )


def na_sn_phases(include_na7sn12: bool = False) -> list[LabelledStructure]:
    """The Na–Sn phases for a convex hull: bcc Na, the six stand-in CIFs, optionally Na7Sn12.

    Args:
        include_na7sn12: append :func:`na7sn12` (``source="auto"``: the real compound if cached or
            downloadable, else the NaSn stand-in, which is then already in the list).
    """
    phases = [
        LabelledStructure(
            structure=bcc_na(),
            label="Na (bcc)",
            source="built (atomflow.structures.bcc_na, a = 4.23 Å)",
            stand_in=False,
            note="Na end member; relax the lattice constant with the calculator.",
        )
    ]
    for filename, (label, remark) in NA_SN_STAND_INS.items():
        path = find_structure_file(filename)
        phases.append(
            LabelledStructure(
                structure=load_structure(path),
                label=label,
                source=str(path),
                stand_in=True,
                note="; ".join(x for x in (remark, _MATADOR) if x),
            )
        )
    if include_na7sn12:
        phase = na7sn12(source="auto")
        if not phase.stand_in:
            phases.append(phase)
    return phases
