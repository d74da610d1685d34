"""Vacancy hops: find or define them, and build the two end points of each in a supercell.

A hop moves one atom of the migrating species from site A into a vacancy on site B. Sites are
indices of the structure given to the workflow (the "cell"); site B may be taken in a
neighbouring cell through an integer lattice translation ``image`` (the paper's primed sites,
e.g. 3→1′). The end points are built in a supercell (the shared rule,
:func:`atomflow.structures.supercell.make_supercell`) by removing site B:

* initial: the atom on A, vacancy on B;
* final:   the same atom moved to B (the image of B the hop points at), vacancy on A.

Both end points list the same atoms in the same order, which is what NEB interpolation needs.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pymatgen.core import Structure

from atomflow.errors import InputError

#: Å. Two positions closer than this are the same site (matching cell sites to supercell sites).
_SITE_TOL = 1e-3
#: Å. The automatic hop cutoff is the nearest-neighbour distance of the species plus this.
SHELL_MARGIN = 0.5


class Hop(BaseModel):
    """One vacancy hop, A → B, given by site indices of the cell (user input or found)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_a: int = Field(
        description="Index (0-based) of the site the atom leaves, in the cell given to the workflow.")
    site_b: int = Field(description="Index (0-based) of the vacant site the atom moves into, same cell.")
    image: tuple[int, int, int] | None = Field(
        default=None,
        description="Lattice translation (in cell vectors) of site B; None: the image of B nearest to A. "
                    "A nonzero image is the paper's primed site (B in the neighbouring cell).",
    )
    name: str | None = Field(
        default=None, description="Label, e.g. '3->1\\''; default made from the indices.")

    @field_validator("site_a", "site_b")
    @classmethod
    def _non_negative(cls, value: int) -> int:
        if value < 0:
            raise InputError(f"Hop site indices are 0-based and non-negative, got {value}.")
        return value

    @classmethod
    def parse(cls, value: Hop | dict | tuple | list) -> Hop:
        """A hop from a Hop, a dict, ``(a, b)``, ``(a, b, name)`` or ``(a, b, image, name)``."""
        if isinstance(value, Hop):
            return value
        if isinstance(value, dict):
            return cls(**value)
        if isinstance(value, (tuple, list)) and 2 <= len(value) <= 4:
            a, b, *rest = value
            image = name = None
            for item in rest:
                if isinstance(item, str):
                    name = item
                elif item is not None:
                    image = tuple(int(x) for x in item)
            return cls(site_a=int(a), site_b=int(b), image=image, name=name)
        raise InputError(
            f"Cannot read a hop from {value!r}: give (site_a, site_b), (site_a, site_b, name), "
            "(site_a, site_b, (i, j, k), name) or a dict with those keys."
        )


class ResolvedHop(BaseModel):
    """A hop checked against its cell: translation fixed, displacement and length known (Å)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Label of the hop.")
    site_a: int = Field(description="Index of the starting site in the cell.")
    site_b: int = Field(description="Index of the destination (vacant) site in the cell.")
    image: tuple[int, int, int] = Field(description="Lattice translation of site B (cell vectors).")
    species: str = Field(description="Element of the moving atom.")
    length: float = Field(description="Hop length |B + image − A|, Å.")
    displacement: tuple[float, float, float] = Field(description="Cartesian vector A → B(+image), Å.")


def nearest_neighbour_distance(structure: Structure, species: str) -> float:
    """Shortest distance (Å) between two atoms of ``species``, periodic images included."""
    indices = species_indices(structure, species)
    radius = max(3.0, 1.01 * min(structure.lattice.abc))
    best = np.inf
    for i in indices:
        for nb in structure.get_neighbors(structure[i], radius):
            if nb.specie.symbol == species and nb.nn_distance > _SITE_TOL:
                best = min(best, nb.nn_distance)
    if not np.isfinite(best):
        raise InputError(
            f"Only one {species} atom and no periodic image within {radius:.1f} Å: no hop exists.")
    return float(best)


def find_hops(
    structure: Structure,
    species: str = "Na",
    max_hop_distance: float | None = None,
    symprec: float = 0.1,
) -> list[ResolvedHop]:
    """All symmetry-distinct vacancy hops of ``species`` up to ``max_hop_distance`` (Å), shortest first.

    Default cutoff: nearest-neighbour distance of the species + 0.5 Å (the first shell only).
    Symmetry equivalence is pymatgen-analysis-diffusion's ``DistinctPathFinder`` (space group of
    the cell at ``symprec`` Å).
    """
    from pymatgen.analysis.diffusion.neb.pathfinder import DistinctPathFinder

    species_indices(structure, species)
    cutoff = max_hop_distance if max_hop_distance is not None else (
        nearest_neighbour_distance(structure, species) + SHELL_MARGIN)
    if cutoff <= 0:
        raise InputError(f"max_hop_distance must be positive (Å), got {cutoff}.")
    finder = DistinctPathFinder(structure, species, max_path_length=cutoff, symprec=symprec)
    hops = []
    for path in finder.get_paths():
        if path.length > cutoff + 1e-6:  # the finder pads its radius by 0.01 Å
            continue
        a = _site_index(structure, path.isite.coords)
        b = _site_index(structure, path.esite.coords)
        frac_b = structure.lattice.get_fractional_coords(path.esite.coords)
        image = tuple(int(x) for x in np.rint(frac_b - structure[b].frac_coords))
        start = structure.lattice.get_fractional_coords(path.isite.coords) - structure[a].frac_coords
        if np.any(np.abs(start) > 1e-6):  # hop from a periodic copy of A: shift so it starts on A itself
            image = tuple(int(x) for x in np.rint(np.asarray(image) - start))
        hops.append(resolve_hop(structure, Hop(site_a=a, site_b=b, image=image), species))
    if not hops:
        raise InputError(
            f"No {species}–{species} hop shorter than {cutoff:.2f} Å; raise max_hop_distance."
        )
    return hops


def resolve_hop(structure: Structure, hop: Hop | dict | tuple, species: str = "Na") -> ResolvedHop:
    """Check a hop against its cell (indices, species) and fix its translation and length.

    Raises:
        InputError: an index out of range, a site that is not ``species``, or a hop of length 0.
    """
    hop = Hop.parse(hop)
    n = len(structure)
    for idx in (hop.site_a, hop.site_b):
        if idx >= n:
            raise InputError(
                f"Hop {_label(hop)}: site {idx} does not exist; the cell has {n} sites (0–{n - 1}).")
    sp_a, sp_b = _symbol(structure, hop.site_a), _symbol(structure, hop.site_b)
    if sp_a != species or sp_b != species:
        raise InputError(
            f"Hop {_label(hop)} joins site {hop.site_a} ({sp_a}) and site {hop.site_b} ({sp_b}); a {species} "
            f"vacancy hop needs both sites to be {species}. Pick {species} sites (indices "
            f"{_short_list(species_indices(structure, species))}) or set species=..."
        )
    lattice = structure.lattice
    fa, fb = structure[hop.site_a].frac_coords, structure[hop.site_b].frac_coords
    if hop.image is None:
        _, image = lattice.get_distance_and_image(fa, fb)
        image = tuple(int(x) for x in np.rint(image))
    else:
        image = tuple(int(x) for x in hop.image)
    displacement = lattice.get_cartesian_coords(fb + np.asarray(image) - fa)
    length = float(np.linalg.norm(displacement))
    if length < _SITE_TOL:
        raise InputError(f"Hop {_label(hop)} starts and ends on the same point; give two different sites.")
    name = hop.name or f"{hop.site_a}->{hop.site_b}" + ("'" if any(image) else "")
    return ResolvedHop(name=name, site_a=hop.site_a, site_b=hop.site_b, image=image, species=species,
                       length=length, displacement=tuple(float(x) for x in displacement))


class HopEndpoints(BaseModel):
    """Unrelaxed end points of one hop in a supercell, plus where the moving atom is."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hop: ResolvedHop
    initial: Structure = Field(description="Atom on A, vacancy on B (supercell minus one atom).")
    final: Structure = Field(description="Same atoms, same order; the moving atom on B, vacancy on A.")
    moving_index: int = Field(description="Index of the moving atom in both end points.")
    supercell_site_a: int = Field(description="Index of site A in the full supercell.")
    supercell_site_b: int = Field(description="Index of site B in the full supercell (the removed site).")
    supercell_n_atoms: int = Field(description="Atoms in the supercell before the vacancy was made.")


def build_endpoints(cell: Structure, hop: ResolvedHop, supercell: Structure | None = None) -> HopEndpoints:
    """End points of ``hop`` (resolved in ``cell``) in ``supercell`` (default: the cell itself).

    ``supercell`` must be a supercell of ``cell`` with the same origin (what
    :func:`~atomflow.structures.supercell.make_supercell` returns). Sites are matched by position,
    so the supercell's atom order does not matter.

    Raises:
        InputError: the supercell is too small for the hop (the nearest-image path through the
            supercell would not be this hop); the message says to raise ``supercell_min_length``.
    """
    from atomflow.structures.supercell import min_image_distance

    supercell = cell if supercell is None else supercell
    start = cell[hop.site_a].coords
    displacement = np.asarray(hop.displacement)
    a_sc = _site_index(supercell, start)
    b_sc = _site_index(supercell, start + displacement)
    shortest = min_image_distance(supercell)
    # |d| < L/2 makes d the unique shortest vector of its class: minimum-image interpolation follows it.
    if a_sc == b_sc or hop.length >= shortest / 2 - _SITE_TOL:
        raise InputError(
            f"Hop {hop.name} ({hop.length:.2f} Å) does not fit the supercell: its shortest periodic "
            f"translation is {shortest:.2f} Å and a hop must be shorter than half of it. Raise "
            f"supercell_min_length (to ≥ {2 * hop.length + 0.5:.1f} Å) or pass a larger supercell."
        )
    initial = supercell.copy()
    initial.remove_sites([b_sc])
    moving = a_sc - (1 if a_sc > b_sc else 0)
    final = initial.copy()
    new_frac = final.lattice.get_fractional_coords(final[moving].coords + displacement)
    final.replace(moving, final[moving].species, coords=new_frac, coords_are_cartesian=False,
                  properties=final[moving].properties)
    return HopEndpoints(hop=hop, initial=initial, final=final, moving_index=moving, supercell_site_a=a_sc,
                        supercell_site_b=b_sc, supercell_n_atoms=len(supercell))


def match_atom_order(initial: Structure, final: Structure) -> Structure:
    """``final`` with its atoms in the order of ``initial``: each atom mapped to its own image.

    End points written by another program may hold the same atoms in another order (a vacancy hop written
    as "remove site B, put the atom at A" renumbers the cell). NEB interpolates atom i to atom i, so such a
    pair would send many atoms across the cell. Per element, the one-to-one mapping of minimum total
    squared minimum-image displacement (Hungarian algorithm) is the physical one: every atom stays near
    where it was, the hopping atom goes to the vacancy. Returns ``final`` itself when the order already
    matches; raises InputError (naming the problem) when no such mapping exists.
    """
    from scipy.optimize import linear_sum_assignment

    from atomflow.neb.analysis import mic_displacements

    if len(initial) != len(final):
        raise InputError(
            f"The end points have {len(initial)} and {len(final)} atoms; NEB needs the same atoms in both. "
            "Build them from one supercell with one vacancy (atomflow.neb.build_endpoints)."
        )
    if initial.composition != final.composition:
        raise InputError(
            f"The end points hold different atoms ({initial.composition.formula} and "
            f"{final.composition.formula}); a hop moves atoms, it does not change them.")
    if not np.allclose(initial.lattice.matrix, final.lattice.matrix, atol=1e-6):
        raise InputError(
            "The end points have different cells; NEB here keeps the lattice fixed. Use one cell.")
    symbols_i = np.array([site.specie.symbol for site in initial])
    symbols_f = np.array([site.specie.symbol for site in final])
    order = np.empty(len(initial), dtype=int)
    for element in sorted(set(symbols_i)):
        rows, cols = np.flatnonzero(symbols_i == element), np.flatnonzero(symbols_f == element)
        # squared minimum-image distances between every initial and every final atom of this element
        pairs = mic_displacements(np.repeat(initial.cart_coords[rows], len(cols), axis=0),
                                  np.tile(final.cart_coords[cols], (len(rows), 1)), initial.lattice.matrix)
        cost = (pairs**2).sum(axis=1).reshape(len(rows), len(cols))
        r, c = linear_sum_assignment(cost)
        order[rows[r]] = cols[c]
    if np.array_equal(order, np.arange(len(final))):
        return final
    return Structure.from_sites([final[int(j)] for j in order])


def check_endpoints(initial: Structure, final: Structure) -> None:
    """Raise InputError unless both end points have the same atoms in the same order."""
    sp_i = [site.specie.symbol for site in initial]
    sp_f = [site.specie.symbol for site in final]
    if len(sp_i) != len(sp_f):
        raise InputError(
            f"The end points have {len(sp_i)} and {len(sp_f)} atoms; NEB needs the same atoms in both. "
            "Build them from one supercell with one vacancy (atomflow.neb.build_endpoints)."
        )
    diff = [i for i, (a, b) in enumerate(zip(sp_i, sp_f)) if a != b]
    if diff:
        i = diff[0]
        raise InputError(
            f"The end points list atoms in different orders: site {i} is {sp_i[i]} in the initial and "
            f"{sp_f[i]} in the final end point ({len(diff)} sites differ). Keep one atom order in both."
        )
    if not np.allclose(initial.lattice.matrix, final.lattice.matrix, atol=1e-6):
        raise InputError(
            "The end points have different cells; NEB here keeps the lattice fixed. Use one cell.")
    from atomflow.neb.analysis import mic_displacements

    largest = float(np.linalg.norm(mic_displacements(initial.cart_coords, final.cart_coords,
                                                     initial.lattice.matrix), axis=1).max(initial=0.0))
    if largest < 0.1:  # Å: nothing hops; a band between identical points has no barrier to find
        raise InputError(
            f"The end points are identical (no atom moves more than {largest:.3f} Å): there is no hop. "
            "Give end points with the moving atom on two different sites."
        )


def moving_atom_index(initial: Structure, final: Structure) -> int:
    """The atom that moves farthest (minimum image) between two end points with one atom order."""
    check_endpoints(initial, final)
    from atomflow.neb.analysis import mic_displacements

    d = mic_displacements(initial.cart_coords, final.cart_coords, initial.lattice.matrix)
    return int(np.argmax(np.linalg.norm(d, axis=1)))


# ---------------------------------------------------------------------------------------------

def species_indices(structure: Structure, species: str) -> list[int]:
    """Indices of the ``species`` atoms; InputError naming the elements present when there are none."""
    if not structure.is_ordered:
        raise InputError("The structure has partial occupancies; order it first "
                         "(atomflow.structures.ordering.order_half_occupied).")
    indices = [i for i, site in enumerate(structure) if site.specie.symbol == species]
    if not indices:
        present = ", ".join(sorted({s.specie.symbol for s in structure}))
        raise InputError(
            f"The structure has no {species} atoms (it has {present}); set species to one of those.")
    return indices


def _symbol(structure: Structure, index: int) -> str:
    return structure[index].specie.symbol


def _site_index(structure: Structure, cart: np.ndarray) -> int:
    """Index of the site at Cartesian ``cart`` modulo the lattice."""
    frac = structure.lattice.get_fractional_coords(cart)
    delta = structure.frac_coords - frac
    delta -= np.rint(delta)
    dist = np.linalg.norm(structure.lattice.get_cartesian_coords(delta), axis=1)
    i = int(np.argmin(dist))
    if dist[i] > 1e-2:  # loose: positions pass through JSON and floating-point supercell maths
        raise InputError(
            f"No site at {np.round(cart, 3).tolist()} Å in the supercell (nearest {dist[i]:.3f} Å away): the "
            "supercell is not a supercell of the cell with the same origin. Build it with "
            "atomflow.structures.supercell.make_supercell."
        )
    return i


def _label(hop: Hop) -> str:
    return hop.name or f"{hop.site_a}->{hop.site_b}"


def _short_list(items: list[int], n: int = 12) -> str:
    text = ", ".join(str(i) for i in items[:n])
    return text + (", …" if len(items) > n else "")
