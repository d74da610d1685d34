"""Reading CIFs (keeping partial occupancies) and finding the project's structure files.

Where files are looked up: ``get_settings().structures_dir`` (env ``ATOMFLOW_STRUCTURES_DIR``)
first, then the checkout's own ``structures/`` folder, which holds the stand-in CIFs (see
``structures/PROVENANCE.md``).
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from pymatgen.core import Structure
from pymatgen.io.cif import CifParser

from atomflow.errors import InputError, StructureError
from atomflow.settings import get_settings


def structure_dirs() -> list[Path]:
    """Folders searched for structure files, first match wins: the settings' folder, then the checkout's."""
    dirs = [Path(get_settings().structures_dir)]
    bundled = Path(__file__).resolve().parents[2] / "structures"
    if bundled.is_dir() and bundled.resolve() not in {d.resolve() for d in dirs if d.exists()}:
        dirs.append(bundled)
    return dirs


def available_structures() -> dict[str, Path]:
    """Short name → CIF path for every CIF in :func:`structure_dirs` (earlier folders win).

    The short name is the file stem up to the first ``_``: ``NaSn_I41acd.cif`` → ``"NaSn"``,
    ``Sn_beta_I41amd.cif`` → ``"Sn"``.
    """
    found: dict[str, Path] = {}
    for folder in structure_dirs():
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.cif")):
            found.setdefault(path.stem.split("_")[0], path)
    return found


def find_structure_file(name_or_path: str | Path) -> Path:
    """Resolve a short name (``"NaSn"``), a file stem/name in the structures folders, or a path."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    name = str(name_or_path)
    for folder in structure_dirs():
        for candidate in (folder / name, folder / f"{name}.cif"):
            if candidate.is_file():
                return candidate
    short = available_structures()
    if name in short:
        return short[name]
    raise InputError(
        f"No structure file {name!r}: not a path, and not one of the short names "
        f"{sorted(short)} found in {[str(d) for d in structure_dirs()]}. Give a CIF path, or put the "
        "CIF in the structures folder (env ATOMFLOW_STRUCTURES_DIR)."
    )


def read_cif(source: str | Path, occupancy_tolerance: float = 1.0) -> Structure:
    """Read the first structure of a CIF (path, or CIF text) as a pymatgen Structure.

    Partially occupied sites are kept as disordered sites (e.g. ``{Na: 0.5}``), not dropped or
    rounded: ``CifParser(occupancy_tolerance=1.0).parse_structures(primitive=False)``. Symmetry
    images closer than pymatgen's site_tolerance (1e-4 fractional) are merged into one site.

    Raises:
        StructureError: the file is missing, or pymatgen cannot parse it into a structure.
    """
    text, where = _cif_text(source)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parser = CifParser(io.StringIO(text), occupancy_tolerance=occupancy_tolerance)
            structures = parser.parse_structures(primitive=False, on_error="ignore")
        except Exception as exc:  # pymatgen raises ValueError/KeyError/IndexError on bad CIFs
            raise StructureError(
                f"The CIF {where} could not be parsed ({type(exc).__name__}: {exc}); check that it is a "
                "valid CIF with a cell, symmetry operations and an _atom_site loop."
            ) from exc
    if not structures:
        hints = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught}))[:400]
        raise StructureError(
            f"The CIF {where} could not be parsed: no structure found{f' ({hints})' if hints else ''}; "
            "check that it is a valid CIF with a cell, symmetry operations and an _atom_site loop."
        )
    return structures[0]


def _cif_text(source: str | Path) -> tuple[str, str]:
    """(CIF text, description for messages) from a path or from CIF text itself."""
    if isinstance(source, str) and not source.strip():
        raise StructureError("The CIF could not be parsed: it is empty; give a CIF path or CIF text.")
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("data_")):
        return source, "text"
    path = Path(source).expanduser()
    if not path.is_file():
        raise StructureError(f"CIF file {str(path)!r} does not exist; check the path.")
    return path.read_text(errors="replace"), f"file {str(path)!r}"
