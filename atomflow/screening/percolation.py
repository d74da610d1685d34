"""Rate-limiting barrier and dimension of the percolating Na-vacancy hop network (pymatgen-analysis-diffusion).

The network is :class:`pymatgen.analysis.diffusion.neb.full_path_mapper.MigrationGraph`: every Na site a node,
every Na–Na pair up to the longest computed hop an edge, edges grouped into symmetry classes (``hop_label``).
Each computed hop is placed on its edge (site indices + lattice image of the relaxed cell the migration
workflow found it in) and its cost copied to every symmetry-equivalent edge by ``add_data_to_similar_edges``.
Edge classes with no computed barrier get no cost and are cut: the network is what was computed.

* Rate-limiting barrier E_perc: the smallest threshold t for which ``MigrationGraph.get_path(max_val=t)``
  finds a path from a site to one of its own periodic images (an infinite connected cluster), i.e. the
  largest cost along the cheapest percolating path — not the lowest barrier.
* Dimension: pymatgen's ``get_dimensionality_larsen`` (Larsen et al., Phys. Rev. Materials 3, 034003 (2019))
  of the graph cut at t; also the threshold at which the network first percolates in 3-D.

Edge cost (eV): the saddle energy of the hop above the lowest vacancy site of the phase, E_s − E_min with
E_s = E_initial + forward barrier (the NEB's end points are relaxed defect supercells of one size). With all
Na sites equivalent it is the hop barrier; with inequivalent sites it includes the site-energy difference a
vacancy must climb to use the hop (its population on the higher site is Boltzmann-reduced). Hops computed in
cells of different size cannot share an energy zero: then each edge costs max(forward, reverse) and a note
says so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from pymatgen.core import Structure

#: Å added to the longest hop when connecting sites (hop lengths of the relaxed cell, exact to ~1e-6 Å).
CUTOFF_MARGIN = 0.05
#: Å. A hop whose length in this structure differs more from its NEB document's is from another cell.
LENGTH_TOL = 0.05


@dataclass(frozen=True)
class HopBarrier:
    """One computed hop: atom from site A to the vacancy on site B (+image), indices of ``structure``.

    forward/reverse: barriers, eV; e_initial: total energy of the relaxed initial end point (vacancy on B), eV
    (None: unknown); n_atoms: atoms of the defect cell (energies of cells of one size share a zero); length:
    Å, the document's hop length (checked against the structure).
    """

    name: str
    site_a: int
    site_b: int
    image: tuple[int, int, int]
    forward: float
    reverse: float
    e_initial: float | None = None
    n_atoms: int | None = None
    length: float | None = None


@dataclass
class Percolation:
    """Result of :func:`percolation`; barriers in eV, ``dimension`` 0–3 (0: does not percolate)."""

    barrier: float | None  # E_perc: largest cost on the cheapest percolating path
    dimension: int  # of the network cut at E_perc
    barrier_3d: float | None  # smallest threshold at which the network percolates in 3-D
    dimension_all: int  # of the network of every computed hop
    path: list[str] = field(default_factory=list)  # hop names along the path found at E_perc
    costs: dict[str, float] = field(default_factory=dict)  # hop name → edge cost, eV
    cost_kind: str = "saddle above the lowest vacancy site"
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


def edge_costs(hops: list[HopBarrier]) -> tuple[dict[str, float], str]:
    """hop name → edge cost (eV) and how it was made (see the module docstring)."""
    same_cell = (all(h.e_initial is not None for h in hops)
                 and len({h.n_atoms for h in hops}) == 1)
    if not same_cell:
        return {h.name: max(h.forward, h.reverse) for h in hops}, "max(forward, reverse) barrier"
    # the lowest vacancy site: the lower end point of any hop (E_final = E_initial + forward − reverse)
    e_min = min(min(h.e_initial, h.e_initial + h.forward - h.reverse) for h in hops)
    return {h.name: (h.e_initial - e_min) + h.forward for h in hops}, "saddle above the lowest vacancy site"


def percolation(structure: Structure, hops: list[HopBarrier], species: str = "Na",
                symprec: float = 0.1) -> Percolation:
    """E_perc, its dimension and the 3-D threshold of the hop network of ``species`` in ``structure``."""
    if not hops:
        return Percolation(None, 0, None, 0, flags=["no computed hop"])
    notes: list[str] = []
    flags: list[str] = []
    species_sites = [i for i, s in enumerate(structure) if s.specie.symbol == species]
    node = {i: k for k, i in enumerate(species_sites)}  # structure index → MigrationGraph node
    lengths = {}
    for h in hops:
        if h.site_a not in node or h.site_b not in node:
            flags.append(f"hop {h.name}: sites {h.site_a}, {h.site_b} are not {species} sites of this structure")
            continue
        d = structure[h.site_b].frac_coords + np.asarray(h.image) - structure[h.site_a].frac_coords
        lengths[h.name] = float(np.linalg.norm(structure.lattice.get_cartesian_coords(d)))
        if h.length is not None and abs(lengths[h.name] - h.length) > LENGTH_TOL:
            flags.append(f"hop {h.name}: length {lengths[h.name]:.3f} Å here, {h.length:.3f} Å in its NEB "
                         "document (indices of another cell)")
    placed = [h for h in hops if h.name in lengths and not any(f.startswith(f"hop {h.name}:") for f in flags)]
    if not placed:
        return Percolation(None, 0, None, 0, notes=notes, flags=flags or ["no hop placed on the network"])
    costs, kind = edge_costs(placed)
    if kind != "saddle above the lowest vacancy site":
        notes.append("hops in defect cells of different size (or without end-point energies): each edge costs "
                     "max(forward, reverse); site-energy differences between hops are not included")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # spglib / pymatgen deprecation chatter
        mg = _MigrationGraph.with_distance(structure, species, max(lengths.values()) + CUTOFF_MARGIN,
                                           symprec=symprec)
        labels = {}
        for h in placed:
            label = _edge_label(mg, node[h.site_a], node[h.site_b], tuple(int(x) for x in h.image))
            if label is None:
                flags.append(f"hop {h.name}: no edge of the migration graph matches it")
                continue
            if label in labels and abs(costs[labels[label]] - costs[h.name]) > 1e-9:
                # two computed hops of one symmetry class: the class costs the larger (the safe side)
                notes.append(f"hops {labels[label]} and {h.name} are one symmetry class; it costs the larger")
                if costs[h.name] < costs[labels[label]]:
                    continue
            labels[label] = h.name
        if not labels:
            return Percolation(None, 0, None, 0, notes=notes, flags=flags)
        for label in mg.unique_hops:
            cost = costs[labels[label]] if label in labels else math.inf
            mg.add_data_to_similar_edges(label, {"cost": cost, "hop_name": labels.get(label)})
        missing = [k for k in mg.unique_hops if k not in labels]
        if missing:
            notes.append(f"{len(missing)} symmetry class(es) of {species}–{species} pairs within the cutoff have "
                         "no computed barrier and are left out of the network")
        thresholds = sorted({costs[n] for n in labels.values()})
        # Percolation and its dimension only grow with the threshold: bisect with pymatgen's Larsen dimension
        # (cheap), then ask get_path at the threshold found for the path itself (one call, not one per
        # threshold: a get_path that finds nothing copies the graph once per site).
        first = _lowest(thresholds, lambda t: _dimension(mg, t) >= 1)
        barrier, path = None, []
        for t in thresholds[first:] if first is not None else []:
            found = next(mg.get_path(max_val=t + 1e-9, flip_hops=False), None)
            if found is not None:
                barrier = max(float(d["cost"]) for d in found[1])
                path = [d.get("hop_name") or str(d["hop_label"]) for d in found[1]]
                break
        three = _lowest(thresholds, lambda t: _dimension(mg, t) == 3)
        dimension = _dimension(mg, barrier) if barrier is not None else 0
        dimension_all = _dimension(mg, thresholds[-1])
    barrier_3d = thresholds[three] if three is not None else None
    if barrier is None:
        flags.append("the computed hops do not form a percolating network")
    return Percolation(barrier=barrier, dimension=dimension, barrier_3d=barrier_3d,
                       dimension_all=dimension_all, path=path,
                       costs={n: costs[n] for n in labels.values()}, cost_kind=kind, notes=notes, flags=flags)


def _lowest(values: list[float], holds) -> int | None:
    """Index of the first value for which the monotone predicate ``holds`` is true (bisection), or None."""
    lo, hi = 0, len(values)
    while lo < hi:
        mid = (lo + hi) // 2
        if holds(values[mid]):
            hi = mid
        else:
            lo = mid + 1
    return lo if lo < len(values) else None


class _MigrationGraph:
    """pymatgen-analysis-diffusion's MigrationGraph with its symmetrized structure computed once: the library
    recomputes it (a space-group analysis) for every edge and every hop comparison — minutes for a 60-atom
    cell. Nothing else differs."""

    @staticmethod
    def with_distance(structure: Structure, species: str, max_distance: float, symprec: float):
        from functools import cached_property

        from pymatgen.analysis.diffusion.neb.full_path_mapper import MigrationGraph

        class Cached(MigrationGraph):
            symm_structure = cached_property(MigrationGraph.symm_structure.fget)

        return Cached.with_distance(structure, species, max_distance, symprec=symprec)


def _edge_label(mg, u: int, v: int, image: tuple[int, int, int]):
    """hop_label of the graph edge u → v + image (stored either way round)."""
    for (a, b, jimage) in ((u, v, image), (v, u, tuple(-x for x in image))):
        for _key, d in (mg.m_graph.graph.get_edge_data(a, b, default={}) or {}).items():
            if tuple(int(x) for x in d["to_jimage"]) == jimage:
                return d["hop_label"]
    return None


def _dimension(mg, threshold: float) -> int:
    """Larsen dimensionality of the migration graph keeping the edges that cost ≤ threshold."""
    from pymatgen.analysis.dimensionality import get_dimensionality_larsen
    from pymatgen.analysis.graphs import StructureGraph

    sg = StructureGraph.from_empty_graph(mg.only_sites)
    for u, v, d in mg.m_graph.graph.edges(data=True):
        if d["cost"] <= threshold + 1e-9:
            sg.add_edge(u, v, to_jimage=tuple(int(x) for x in d["to_jimage"]), warn_duplicates=False)
    return int(get_dimensionality_larsen(sg))
