"""The hop network of one species: the given distinct hops expanded by symmetry to every jump of the crystal.

The structure is reduced to its primitive cell (pymatgen, Cartesian frame kept) and handed to ``onsager``'s
``Crystal``, whose ``jumpnetwork`` lists every jump of the species up to the longest given hop, grouped into
onsager's symmetry classes. Each class is matched to a given hop with pymatgen's space-group operations
(``SpacegroupAnalyzer``, which also knows centring translations that onsager misses in a non-primitive cell).
A class that no given hop matches is left out of the network and named in a note: the network is what was
computed, nothing is guessed.

Percolation: the jumps kept form a periodic graph (sites of the primitive cell, edges labelled with their
lattice translation). In each connected component the translations of its closed loops span the directions
along which a walker can go arbitrarily far (Larsen et al., Phys. Rev. Materials 3, 034003 (2019) — pymatgen's
``get_dimensionality_larsen`` returns only the count; the transport tensor also needs the directions).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pymatgen.core import Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from atomflow.errors import InputError

#: Å. Two positions this close are one site (mapping the cell onto its primitive cell, matching jumps).
SITE_TOL = 0.05
#: relative difference between a hop's NEB length and its length here above which the indices are foreign
#: (relaxed and unrelaxed lattices differ by a few per cent)
LENGTH_TOL = 0.1
#: Å. The onsager jump network is built out to the longest given hop plus this.
CUTOFF_MARGIN = 0.05


@dataclass
class HopSpec:
    """One distinct hop with its kinetics, indices of the structure given to :func:`build_network`.

    The atom moves A → B(+image) into a vacancy on B, so the *vacancy* jumps B → A over ``forward_barrier``
    (eV) and A → B over ``reverse_barrier`` (eV). ``nu_star_hz``: attempt frequency, Hz; None: no rate.
    """

    name: str
    site_a: int
    site_b: int
    image: tuple[int, int, int]
    forward_barrier: float
    reverse_barrier: float
    nu_star_hz: float | None
    expected_length: float | None = None  # Å, from the NEB document: catches indices of another cell
    length: float = 0.0
    displacement: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass
class JumpClass:
    """One onsager symmetry class of jumps ((i, j), dx Å), with the given hop it belongs to (or None)."""

    jumps: list[tuple[tuple[int, int], np.ndarray]]
    length: float
    hop: int | None = None  # index into the hop list
    a_is_i: bool = True  # the representative (i, j) is the hop's A → B (else B → A)


@dataclass
class HopNetwork:
    """The expanded network: onsager crystal, sites, jump classes, site energies and percolation."""

    structure: Structure  # primitive cell the network lives in
    crystal: object  # onsager.crystal.Crystal
    chem: int
    sitelist: list[list[int]]
    classes: list[JumpClass]
    hops: list[HopSpec]
    site_energy: np.ndarray  # vacancy energy per onsager Wyckoff class, eV (nan: no hop touches it)
    percolation_dimension: int = 0
    percolating_directions: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    n_components: int = 0
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)

    @property
    def kept(self) -> list[JumpClass]:
        """Jump classes with a rate (matched to a hop that has an attempt frequency)."""
        return [c for c in self.classes if c.hop is not None and self.hops[c.hop].nu_star_hz is not None]

    def projector(self) -> np.ndarray:
        """Cartesian projector onto the percolating directions (zero matrix if none)."""
        p = np.zeros((3, 3))
        for v in self.percolating_directions:
            p += np.outer(v, v)
        return p


def _label(structure: Structure, label: str | None) -> str:
    return f"{label or structure.composition.reduced_formula} ({structure.composition.formula})"


def _onsager_crystal():
    try:
        from onsager import crystal
    except ImportError as exc:
        from atomflow.errors import MissingDependencyError

        raise MissingDependencyError("The transport solver needs D. R. Trinkle's `onsager` (pip install "
                                     "onsager==1.4; it pulls numba).") from exc
    return crystal


def check_structure(structure: Structure, species: str, label: str | None = None) -> None:
    """Raise InputError, naming the structure and why, if the solver cannot handle it."""
    name = _label(structure, label)
    if not structure.is_ordered:
        raise InputError(f"Transport solver cannot handle {name}: it has partial occupancies, and the site "
                         "network needs every site occupied or vacant. Order it first "
                         "(atomflow.structures.ordering.order_half_occupied) and state the vacant sites as "
                         "structural carriers.")
    if species not in {s.specie.symbol for s in structure}:
        raise InputError(f"Transport solver cannot handle {name}: it has no {species} atoms.")


def build_network(structure: Structure, species: str, hops: list[HopSpec], *, symprec: float = 0.1,
                  label: str | None = None) -> HopNetwork:
    """Expand ``hops`` (indices of ``structure``) to the crystal's full jump network of ``species``.

    Raises:
        InputError: the structure cannot be handled (partial occupancies, no ``species``, a 2-D cell), naming it
            and why, or a hop that does not join two ``species`` sites of it.
    """
    from atomflow.neb.hops import Hop, resolve_hop

    oc = _onsager_crystal()

    name = _label(structure, label)
    check_structure(structure, species, label)
    if not hops:
        raise InputError(f"No hops given for {name}: the network needs at least one {species} hop.")
    for h in hops:
        r = resolve_hop(structure, Hop(site_a=h.site_a, site_b=h.site_b, image=h.image, name=h.name), species)
        h.length, h.displacement, h.image = r.length, r.displacement, r.image
        if h.expected_length is not None and abs(h.length - h.expected_length) > LENGTH_TOL * h.expected_length:
            raise InputError(f"Hop {h.name} is {h.expected_length:.3f} Å long in its NEB document but "
                             f"{h.length:.3f} Å in {name}: the site indices refer to another cell. Pass the "
                             "cell the migration workflow was given.")

    prim = _symmetrized(structure.get_primitive_structure(tolerance=min(symprec, 0.25)), symprec)
    els = [species] + sorted({s.specie.symbol for s in prim} - {species})
    basis = [[np.array(s.frac_coords) % 1.0 for s in prim if s.specie.symbol == e] for e in els]
    # noreduce: keep pymatgen's primitive cell and site order; onsager's threshold is in fractional units
    crys = oc.Crystal(prim.lattice.matrix.T.copy(), basis, chemistry=els, noreduce=True,
                      threshold=1e-3)
    species_sites = [i for i, s in enumerate(prim) if s.specie.symbol == species]  # onsager index → prim index
    sitelist = crys.sitelist(0)
    cutoff = max(h.length for h in hops) + CUTOFF_MARGIN
    jn = crys.jumpnetwork(0, cutoff)
    classes = [JumpClass(jumps=[(tuple(ij), np.asarray(dx)) for ij, dx in jl],
                         length=float(np.linalg.norm(jl[0][1]))) for jl in jn]

    ops = SpacegroupAnalyzer(prim, symprec=symprec).get_symmetry_operations(cartesian=True)
    lat = prim.lattice
    notes: list[str] = []
    flags: list[str] = []
    ends = [(structure[h.site_a].coords, structure[h.site_a].coords + np.asarray(h.displacement)) for h in hops]
    matched: set[int] = set()
    tol = max(SITE_TOL, symprec)  # the cell was symmetrised at symprec: positions may have moved that much
    # every onsager class is compared with every hop: where onsager's tighter threshold splits a symmetry family
    # into several classes, pymatgen's operations put them all back under the one hop
    for cls in classes:
        (i, _j), dx = cls.jumps[0]
        p = prim[species_sites[i]].coords
        for k, h in enumerate(hops):
            if abs(cls.length - h.length) > 2 * tol:
                continue
            a_cart, b_cart = ends[k]
            for forward in (True, False):
                start, vec = (a_cart, b_cart - a_cart) if forward else (b_cart, a_cart - b_cart)
                if not any(_same_site(lat, op.operate(p), start, tol)
                           and np.linalg.norm(op.apply_rotation_only(dx) - vec) < 2 * tol for op in ops):
                    continue
                matched.add(k)
                if cls.hop is None:
                    cls.hop, cls.a_is_i = k, forward
                else:
                    other = hops[cls.hop]
                    if min(abs(other.forward_barrier - h.forward_barrier),
                           abs(other.forward_barrier - h.reverse_barrier)) > 0.01:
                        flags.append(f"hops {other.name} and {h.name} are equivalent by symmetry but have "
                                     f"barriers {other.forward_barrier:.3f} and {h.forward_barrier:.3f} eV; the "
                                     f"rate of {other.name} is used")
                break
    for k, h in enumerate(hops):
        if k not in matched:
            raise InputError(f"Hop {h.name} of {name} ({h.length:.3f} Å) matches no jump of onsager's network "
                             f"at symprec {symprec} Å; the structure's symmetry may be broken (symmetrise it).")
    for cls in classes:
        if cls.hop is None:
            notes.append(f"jumps of length {cls.length:.3f} Å ({len(cls.jumps) // 2} per primitive cell) match "
                         "none of the given hops: left out of the network (give their barrier to include them)")
    for h in hops:
        if h.nu_star_hz is None:
            flags.append(f"hop {h.name} has no attempt frequency (flagged saddle): no rate, left out")

    net = HopNetwork(structure=prim, crystal=crys, chem=0, sitelist=sitelist, classes=classes, hops=hops,
                     site_energy=np.full(len(sitelist), np.nan), notes=notes, flags=flags)
    _site_energies(net)
    _percolation(net)
    if net.percolation_dimension < 3:
        longer = [nb.nn_distance for i in species_sites for nb in prim.get_neighbors(prim[i], cutoff + 4.0)
                  if nb.specie.symbol == species and nb.nn_distance > cutoff]
        if longer:
            notes.append(f"the next {species}–{species} distance beyond the given hops is {min(longer):.3f} Å: "
                         "its hops are not in the network (compute their barriers to include them)")
    return net


def _symmetrized(prim: Structure, symprec: float) -> Structure:
    """Positions averaged over the space group found at ``symprec`` (lattice kept): onsager finds its symmetry
    with a tight threshold and, on a slightly distorted relaxed cell, would split symmetry families or fail."""
    ops = SpacegroupAnalyzer(prim, symprec=symprec).get_symmetry_operations(cartesian=False)
    frac = prim.frac_coords
    species = [s.specie.symbol for s in prim]
    total = np.zeros_like(frac)
    for op in ops:
        mapped = op.operate_multi(frac)
        for i, x in enumerate(mapped):
            d = frac - x
            d -= np.rint(d)
            dist = np.linalg.norm(prim.lattice.get_cartesian_coords(d), axis=1)
            dist[[sp != species[i] for sp in species]] = np.inf
            j = int(np.argmin(dist))
            if dist[j] > symprec * 1.5:
                return prim  # not a clean mapping at this tolerance: leave the cell as it is
            total[j] += x + np.rint(frac[j] - x)
    # the lattice too: its metric averaged over the point group, G' = <Wᵀ G W>, and L' = G'^½ G^-½ L (rows are
    # vectors), the symmetric lattice nearest to L in orientation. onsager judges the lattice's symmetry far more
    # tightly than the positions': on a relaxed NaCl cell (1e-7 Å of noise) it found a lower point group and a
    # tracer correlation factor of 0.91 instead of the fcc 0.7815.
    lat = prim.lattice.matrix
    g = lat @ lat.T
    g_sym = sum(op.rotation_matrix.T @ g @ op.rotation_matrix for op in ops) / len(ops)

    def _sqrt(m, power):
        w, v = np.linalg.eigh((m + m.T) / 2)
        return (v * w**power) @ v.T

    new_lat = _sqrt(g_sym, 0.5) @ _sqrt(g, -0.5) @ lat
    return Structure(new_lat, species, (total / len(ops)) % 1.0)


def _same_site(lattice, x: np.ndarray, y: np.ndarray, tol: float = SITE_TOL) -> bool:
    d = lattice.get_fractional_coords(x - y)
    d -= np.rint(d)
    return bool(np.linalg.norm(lattice.get_cartesian_coords(d)) < tol)


def site_of_a_b(net: HopNetwork, cls: JumpClass) -> tuple[int, int]:
    """Onsager site indices (A, B) of a class's representative jump."""
    (i, j), _ = cls.jumps[0]
    return (i, j) if cls.a_is_i else (j, i)


def _site_energies(net: HopNetwork) -> None:
    """Vacancy energy per Wyckoff class from the hops' ΔE: E_v(A) − E_v(B) = forward − reverse barrier.

    (Initial end point: vacancy on B; final: vacancy on A.) Each connected group of Wyckoff classes gets its
    own zero; a loop whose ΔE do not add up to zero is flagged.
    """
    wyck = {i: w for w, sites in enumerate(net.sitelist) for i in sites}
    edges = []  # (w_B, w_A, E_v(A) − E_v(B))
    for cls in net.kept:
        h = net.hops[cls.hop]
        a, b = site_of_a_b(net, cls)
        edges.append((wyck[b], wyck[a], h.forward_barrier - h.reverse_barrier))
    energy = net.site_energy
    while True:
        todo = [w for e in edges for w in e[:2] if not np.isfinite(energy[w])]
        if not todo:
            break
        energy[todo[0]] = 0.0
        changed = True
        while changed:
            changed = False
            for u0, v0, d0 in edges:
                for u, v, d in ((u0, v0, d0), (v0, u0, -d0)):
                    if not np.isfinite(energy[u]):
                        continue
                    if not np.isfinite(energy[v]):
                        energy[v], changed = energy[u] + d, True
                    elif abs(energy[v] - energy[u] - d) > 0.02:
                        msg = (f"vacancy site energies from the hops' ΔE disagree by "
                               f"{energy[v] - energy[u] - d:+.3f} eV around a loop (end points relaxed to "
                               "different minima?)")
                        if msg not in net.flags:
                            net.flags.append(msg)
    if np.any(np.isfinite(energy)):
        energy -= np.nanmin(energy)


def _percolation(net: HopNetwork) -> None:
    """Connected components of the periodic jump graph and the lattice directions each one spans."""
    crys = net.crystal
    n = len(crys.basis[net.chem])
    adj: dict[int, list[tuple[int, np.ndarray]]] = {i: [] for i in range(n)}
    for cls in net.kept:
        for (i, j), dx in cls.jumps:
            # lattice translation of the jump: x_j + R − x_i = dx (fractional coordinates)
            r = np.rint(crys.invlatt @ dx - crys.basis[net.chem][j] + crys.basis[net.chem][i]).astype(int)
            adj[i].append((j, r))
    offset: dict[int, np.ndarray] = {}
    loops: list[np.ndarray] = []
    n_comp = 0
    for root in range(n):
        if root in offset or not adj[root]:
            continue
        n_comp += 1
        offset[root] = np.zeros(3, dtype=int)
        stack = [root]
        while stack:
            u = stack.pop()
            for v, r in adj[u]:
                if v not in offset:
                    offset[v] = offset[u] + r
                    stack.append(v)
                else:
                    loop = offset[u] + r - offset[v]
                    if np.any(loop):
                        loops.append(loop)
    net.n_components = n_comp
    if not loops:
        net.percolation_dimension, net.percolating_directions = 0, np.zeros((0, 3))
    else:
        cart = np.array([crys.lattice @ v for v in loops], dtype=float)
        _, s, vt = np.linalg.svd(cart)
        rank = int(np.sum(s > 1e-6 * s[0]))
        dirs = vt[:rank].copy()
        if rank < 3:  # snap round-off so that D across the network is exactly zero, not 1e-42
            dirs[np.abs(dirs) < 1e-10] = 0.0
            dirs /= np.linalg.norm(dirs, axis=1)[:, None]
        net.percolation_dimension, net.percolating_directions = rank, dirs
    isolated = [i for i in range(n) if not adj[i]]
    if isolated:
        net.notes.append(f"{len(isolated)} of {n} {crys.chemistry[net.chem]} sites of the primitive cell carry no "
                         "hop with a rate: a vacancy there is trapped")
    if net.percolation_dimension < 3:
        dirs = ", ".join("[" + " ".join(f"{x:+.2f}" for x in v) + "]" for v in net.percolating_directions)
        if net.percolation_dimension == 0:
            net.flags.append("the hop network does not percolate in any direction: D = 0 (long-range transport "
                             "needs hops that are not in the network)")
        else:
            net.flags.append(f"the hop network percolates in {net.percolation_dimension} dimension(s) only "
                             f"(along {dirs}, Cartesian unit vectors): D = 0 across them")
