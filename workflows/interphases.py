"""Screening of Na-anode interphase phases (issue 15): the flows per phase; the ranking/report is a later step.

Phases: bcc Na (the metal reference: G_Na for the Monroe–Newman ratio, μ_Na), the prototypes of
:mod:`atomflow.structures.prototypes` (NaCl, NaF, NaBr, NaI, Na2O, Na2S, Na3N, Na3Sb, cubic Na3SbS4; each
built at its experimental lattice, sources in structures/PROVENANCE.md) and atomflow's Na–Sn phases
(Na7Sn12 when its CIF is reachable, else the labelled NaSn stand-in, plus the Na-containing stand-in CIFs).
Per phase, with one calculator:

- relax (cell + ions; the relaxed lattice is compared with the experimental one),
- elastic tensor (K, G, E Voigt/Reuss/Hill, Born stability),
- Na-vacancy formation energy, μ_Na from bcc Na with the same calculator; the Schottky pair is added by
  VacancyFormationMaker's rule for binary hosts of Na with an anion (NaX, Na2O, Na2S, Na3N; not Na3Sb,
  Na3SbS4 or the alloys),
- CI-NEB barrier of every symmetry-distinct Na-vacancy hop,
- harmonic phonons (stability),
- transport at 300 K (atomflow.transport): D and σ of the thermal carriers of the vacancy document (the
  Schottky pair for the ionic binaries, else the lowest E_f) from the barriers of the migration step — the same
  MigrationDocuments, passed on, not recomputed — with the stated default ν* (flagged as assumed, as
  workflows/paper.py does for the Na–Sn hops): the Vineyard ν* costs two Γ Hessians of the defect cell per hop.

The ranking (atomflow.screening) is not a job here: the report computes it from the stored documents.

The relaxations inside the property flows have the same structure, calculator and settings as the relax
step here, so they are reused from the store rather than recomputed. Loaded by `atomflow run interphases`;
:func:`job_count` states the size of the study without running anything.
"""

from __future__ import annotations

from typing import Any

from jobflow import Flow

from atomflow.elastic import ElasticMaker
from atomflow.neb import MigrationMaker
from atomflow.phonons import PhononMaker
from atomflow.structures import LabelledStructure, na7sn12, na_sn_phases
from atomflow.structures.prototypes import interphase_prototypes
from atomflow.transport import TransportMaker
from atomflow.vacancy import VacancyFormationMaker

#: The property steps of every phase, in the order they are built.
STEPS = ("relax", "elastic", "vacancy", "migration", "phonons", "transport")

#: Why ν* is not computed here (said in every transport document of the study).
NU_STAR_ASSUMED = ("ν* not computed in the interphase screening (the Vineyard route costs two full Γ Hessians of "
                   "the defect cell per hop, for every hop of 15 phases); the stated default is used and flagged")
#: Na sites per primitive cell above which the tracer correlation f is not computed (onsager's VacancyMediated
#: takes about a minute for 16 sites on one core, atomflow.transport.TransportMaker); σ needs only D_v (H_R = f),
#: so it is unaffected; D* is then given as its upper bound, flagged.
CORRELATION_MAX_SITES = 16


def phases() -> list[LabelledStructure]:
    """bcc Na first, the prototypes, then the Na–Sn phases that hold Na (β-Sn, the hull's end member, left out)."""
    out = list(interphase_prototypes())
    sn = na7sn12()  # offline: the NaSn stand-in, which na_sn_phases() also lists
    out.append(sn)
    for phase in na_sn_phases():
        elements = {e.symbol for e in phase.structure.composition.elements}
        if "Na" not in elements or elements == {"Na"}:
            continue  # bcc Na is already first; β-Sn has no Na to move
        if phase.structure.composition.reduced_formula == sn.structure.composition.reduced_formula:
            continue  # the stand-in itself
        out.append(phase)
    return out


def phase_flow(phase: LabelledStructure, calculator: str | None = None) -> Flow:
    """relax → elastic, vacancy, migration, phonons of one phase (each property flow from the bulk given)."""
    s, label = phase.structure, phase.label
    key = s.composition.reduced_formula
    common = {"calculator": calculator, "label": label, "stand_in": phase.stand_in}
    elastic = ElasticMaker(name=f"elastic {key}", **common)
    relax = elastic.bulk_relax_maker.make(s)  # the same relaxation the elastic flow starts with
    relax.name = f"relax {key}"
    vacancy = VacancyFormationMaker(name=f"vacancy {key}", **common).make(s)
    migration = MigrationMaker(name=f"migration {key}", **common).make(s)
    # The hop indices refer to the relaxed bulk (same atom order as s): the relax step's output is that cell.
    transport = TransportMaker(name=f"transport {key}", label=label, stand_in=phase.stand_in,
                               notes=(NU_STAR_ASSUMED,), correlation=_primitive_sites(s) <= CORRELATION_MAX_SITES,
                               ).make(relax.output.structure, migration.output, vacancy=vacancy.output)
    flows = [relax, elastic.make(s), vacancy, migration, PhononMaker(name=f"phonons {key}", **common).make(s),
             transport]
    return Flow(flows, name=f"interphase {key}")


def _primitive_sites(structure, species: str = "Na") -> int:
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    primitive = SpacegroupAnalyzer(structure, symprec=0.1).find_primitive() or structure
    return sum(1 for site in primitive if site.specie.symbol == species)


def make_flow(calculator: str | None = None, phases: list[str] | None = None) -> Flow:
    """The screening; ``phases`` (reduced formulas, e.g. ``["Na", "NaCl"]``; default ``$ATOMFLOW_PHASES``,
    comma-separated, else every phase) limits it to those phases, in the study's order."""
    return Flow([phase_flow(p, calculator) for p in select_phases(phases)], name="interphase screening")


def select_phases(names: list[str] | None = None) -> list[LabelledStructure]:
    """The phases named (reduced formulas; None: ``$ATOMFLOW_PHASES``, unset: all); an unknown name is an error."""
    from atomflow.errors import InputError
    from atomflow.settings import get_settings

    every = phases()
    if names is None:
        text = get_settings().phases
        names = [n.strip() for n in text.split(",") if n.strip()] if text else None
    if names is None:
        return every
    known = {p.structure.composition.reduced_formula: p for p in every}
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise InputError(f"Unknown phase(s) {', '.join(unknown) or '(none named)'} for interphases; the phases "
                         f"are {', '.join(known)} (reduced formulas, e.g. ATOMFLOW_PHASES=Na,NaCl).")
    return [p for p in every if p.structure.composition.reduced_formula in names]


def job_count(calculator: str | None = None) -> dict[str, Any]:
    """Jobs of the study without running it: those in the graph now, and an estimate after the fan-outs.

    The fan-outs (strained cells, vacancy cells, NEB hops, displaced cells) are made at run time from the
    relaxed bulk; the estimate counts them on the unrelaxed prototype: elastic — one relaxation per
    symmetry-distinct strain; vacancy — perfect cell + one per distinct Na site (+ Schottky); migration —
    2 end-point relaxations + NEB + analysis per distinct hop; phonons — one force job per displaced cell.
    """
    from atomflow.elastic.strains import plan_strains
    from atomflow.phonons.analysis import generate_displacements
    from atomflow.structures.supercell import supercell_matrix
    from atomflow.vacancy.sites import distinct_sites, is_ionic_binary

    flow = make_flow(calculator)
    static = sum(1 for _ in _jobs(flow))
    rows = {}
    for phase in phases():
        s = phase.structure
        strains = len(plan_strains(s).computed)
        sites = len(distinct_sites(s, "Na")) + 1 + int(is_ionic_binary(s, "Na"))
        hops = len(MigrationMaker().endpoints(s))
        _, cells = generate_displacements(s, supercell_matrix(s, min_length=10.0, max_atoms=300), distance=0.01,
                                          symprec=1e-5)
        rows[phase.label] = {"atoms": len(s), "strains": strains, "vacancy_cells": sites, "hops": hops,
                             "displacements": len(cells)}
    fanned = sum(r["strains"] + r["vacancy_cells"] + 4 * r["hops"] + r["displacements"] for r in rows.values())
    return {"phases": len(rows), "jobs_in_graph": static, "fan_out_jobs_estimate": fanned,
            "total_estimate": static + fanned, "per_phase": rows}


def _jobs(flow: Any):
    from atomflow.cluster.submit import quiet_iterflow

    with quiet_iterflow():
        for job, _ in flow.iterflow():
            yield job
