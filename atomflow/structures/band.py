"""The initial band between two relaxed end points.

Default: IDPP (image-dependent pair potential; S. Smidstrup, A. Pedersen, K. Stokbro and
H. Jónsson, J. Chem. Phys. 140, 214106 (2014)) starting from a linear interpolation, both with
minimum-image displacements so an atom that crosses the cell boundary takes the short way.
IDPP keeps atoms from passing through each other, which a straight line in a crowded supercell
can do; the paper's "linear" interpolation is available as ``method="linear"``.
"""

from __future__ import annotations

from ase import Atoms
from ase.mep import NEB

from atomflow.errors import InputError

INTERPOLATIONS = ("idpp", "linear")


def interpolate_band(initial: Atoms, final: Atoms, n_images: int = 5, method: str = "idpp") -> list[Atoms]:
    """``n_images`` images between copies of the end points: n_images + 2 Atoms, without calculators."""
    if method not in INTERPOLATIONS:
        raise InputError(f"Unknown interpolation {method!r}; choose one of {', '.join(INTERPOLATIONS)}.")
    if n_images < 1:
        raise InputError(f"n_images must be ≥ 1 (the paper uses 5), got {n_images}.")
    if len(initial) != len(final) or initial.get_chemical_symbols() != final.get_chemical_symbols():
        raise InputError("The end points need the same atoms in the same order to interpolate between them.")
    images = [initial.copy() for _ in range(n_images + 1)] + [final.copy()]
    for image in images:
        image.calc = None
    # interpolate() only moves positions; a throw-away NEB object carries the images through IDPP.
    band = NEB(images, method="improvedtangent", allow_shared_calculator=True)
    band.interpolate(method=method, mic=True, apply_constraint=False)
    return images
