"""Vacancy migration barriers by climbing-image NEB (ase.mep), as a jobflow workflow.

generate (find symmetry-distinct hops or check the given ones; build end points in a supercell)
→ relax both end points (ions, fixed cell) → CI-NEB from an IDPP band → analyse (pure functions:
barriers, shape-preserving profile, quality flags) → :class:`MigrationDocument` per hop.

>>> from atomflow.neb import MigrationMaker
>>> flow = MigrationMaker(calculator="fumi_tosi").make(nacl_cell)
"""

from atomflow.neb.analysis import PathAnalysis, analyse_path, barriers, energy_spline, intermediate_minima
from atomflow.neb.document import MigrationDocument
from atomflow.neb.flow import MigrationMaker, analyse_migration, generate_migration_hops, run_ci_neb
from atomflow.neb.hops import (
    Hop,
    HopEndpoints,
    ResolvedHop,
    build_endpoints,
    check_endpoints,
    find_hops,
    match_atom_order,
    nearest_neighbour_distance,
    resolve_hop,
)
from atomflow.neb.path import interpolate_band
from atomflow.neb.run import NEBRun, run_neb
from atomflow.neb.property import BARRIER  # registers the property (atomflow.properties)

__all__ = [
    "BARRIER",
    "Hop",
    "HopEndpoints",
    "MigrationDocument",
    "MigrationMaker",
    "NEBRun",
    "PathAnalysis",
    "ResolvedHop",
    "analyse_migration",
    "analyse_path",
    "barriers",
    "build_endpoints",
    "check_endpoints",
    "match_atom_order",
    "energy_spline",
    "find_hops",
    "generate_migration_hops",
    "intermediate_minima",
    "interpolate_band",
    "nearest_neighbour_distance",
    "resolve_hop",
    "run_ci_neb",
    "run_neb",
]
