"""Vacancy formation energy workflow: relax bulk → generate cells → relax them (fan-out) → analyse.

    E_f = E_d + n·μ − E_p          (paper's definition; n = 1 removed atom per distinct site)

Jobs: ``bulk relax`` (cell + ions) → :func:`generate_vacancy_cells` (symmetry-distinct sites,
supercell by the shared rule, optional Schottky set and larger size-check cell) →
:func:`relax_vacancy_cells` (replaced at run time by one fixed-cell relaxation per cell, perfect
supercell included) → :func:`vacancy_formation_document`. The chemical-potential jobs (bcc Na, or
every phase of the convex hull) run beside them with the same calculator.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from ase import Atoms
from jobflow import Flow, JobConfig, Maker, OnMissing, Response, job
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, check_structure, formal_charges
from atomflow.documents import RelaxDocument
from atomflow.errors import IncompleteResultsError, InputError
from atomflow.jobs import RelaxMaker, relax_step, step_uuid
from atomflow.run_settings import (
    PAPER_FMAX,
    RELAX_MAX_STEPS,
    SUPERCELL_MAX_ATOMS,
    SUPERCELL_MIN_LENGTH,
    RelaxSettings,
)
from atomflow.seeding import AUTO, check_seed_structure, resolve_seed, seed_key
from atomflow.structures.supercell import supercell_matrix
from atomflow.structures.validate import validate_structure
from atomflow.vacancy.chempot import ANION_SPECIES, host_limits, rich_limit_only
from atomflow.vacancy.document import ChemicalPotential, VacancyDocument
from atomflow.vacancy.sites import VacancyCellSet, distinct_sites, is_ionic_binary, vacancy_cells

#: Bond lengths (Å, experimental gas-phase; NIST CCCBDB) of the X2 molecules used as anion references.
DIATOMIC_BOND = {"N": 1.098, "O": 1.208, "F": 1.412, "Cl": 1.988, "S": 1.889, "Br": 2.281, "I": 2.666}
#: Sources of μ (``chempot``); "auto" picks one from the host (:meth:`VacancyFormationMaker.chempot_for`).
CHEMPOTS = ("auto", "host_bulk", "bcc_Na", "given", "hull")
#: Cubic box edge (Å) for a molecule reference: > 2 × typical MLIP cutoffs (5–6 Å) + bond length.
MOLECULE_BOX = 15.0


@dataclass
class VacancyFormationMaker(Maker):
    """Formation energy of a vacancy of ``species`` (default Na) at every symmetry-distinct site.

    Chemical potential (``chempot``): ``"auto"`` = ``"given"`` if ``mu`` is set, else ``"bcc_Na"`` for Na,
    else ``"host_bulk"`` for an elemental host (fcc Cu with ``species="Cu"``: μ = energy per atom of the
    relaxed host itself); ``"bcc_Na"`` = relaxed bcc Na with the same calculator; ``"given"`` = ``mu``
    (eV/atom);
    ``"hull"`` = the calculator's own convex hull of ``hull_phases`` (None: bcc Na + the Na–Sn phases of
    :func:`atomflow.structures.na_sn_phases` for a Na–Sn host; bcc Na (+ X2 molecule if
    ``molecule_references``) for a Na–anion host). The per-site ``e_f`` uses the ``hull_limit`` end
    ("rich" default); both ends are reported in ``mu_range`` / ``e_f_range``.

    ``schottky``: also remove one formula unit (e.g. Na + Cl, as far apart as the supercell allows) and
    report E_S = E_d − E_p + E_bulk/f.u. None = automatic: on for a binary host of ``species`` with an
    anion (N, P, O, S, Se, Te, F, Cl, Br, I), off otherwise.

    ``size_check``: repeat every site in the supercell of ``size_check_min_length`` (Å) and report both
    E_f and the difference.

    ``fmax`` and ``max_steps`` make the default relax makers (:class:`~atomflow.run_settings.RelaxSettings`:
    cell + ions for the host and references, ions only for the supercells). The calculator is parsed once,
    here, and handed to them as a spec.

    ``seed`` (:mod:`atomflow.seeding`): "auto" (default) = SevenNet-0 relaxes every cell (host, references,
    perfect and vacancy supercells) before a DFT calculator does, none for other calculators; a spec picks
    the seed; None = unseeded. It applies to both sub makers. A seed guard flag of any of those relaxations
    (e.g. a neighbour that fell into the vacancy) becomes a flag of the document.
    """

    name: str = "vacancy formation"
    calculator: CalculatorSpec | str | None = None  # None: settings.default_calculator
    species: str = "Na"
    mu: float | None = None  # eV/atom, with chempot "given"/"auto"
    chempot: Literal["auto", "host_bulk", "bcc_Na", "given", "hull"] = "auto"
    hull_limit: Literal["rich", "poor"] = "rich"
    hull_phases: list[Structure] | None = None
    molecule_references: bool = False
    min_length: float = SUPERCELL_MIN_LENGTH  # Å, shared supercell rule
    max_atoms: int = SUPERCELL_MAX_ATOMS
    schottky: bool | None = None
    size_check: bool = False
    size_check_min_length: float = 14.0  # Å
    fmax: float = PAPER_FMAX  # eV/Å, every relaxation
    max_steps: int = RELAX_MAX_STEPS
    symprec: float = 0.01  # Å, site symmetry
    bulk_relax_maker: RelaxMaker | None = None  # None: cell + ions relax (host and references)
    defect_relax_maker: RelaxMaker | None = None  # None: ions-only relax at fixed cell (perfect + defect cells)
    label: str | None = None
    stand_in: bool = False
    seed: CalculatorSpec | str | None = AUTO

    def __post_init__(self) -> None:
        self._check_fields()
        check.sub_maker("bulk_relax_maker", self.bulk_relax_maker, RelaxMaker)
        check.sub_maker("defect_relax_maker", self.defect_relax_maker, RelaxMaker)
        if self.calculator is not None:
            self.calculator = CalculatorSpec.parse(self.calculator)
        common = {"calculator": self.calculator, "label": self.label, "stand_in": self.stand_in}
        if self.bulk_relax_maker is None:  # (RelaxSettings rejects fmax ≤ 0)
            bulk = RelaxSettings(relax_cell=True, fmax=self.fmax, max_steps=self.max_steps)
            self.bulk_relax_maker = RelaxMaker.from_settings(bulk, name="vacancy bulk relax", **common)
        if self.defect_relax_maker is None:
            defect = RelaxSettings(relax_cell=False, fmax=self.fmax, max_steps=self.max_steps)
            self.defect_relax_maker = RelaxMaker.from_settings(defect, name="vacancy relax", **common)
        if self.defect_relax_maker.relax_cell:
            raise InputError("defect_relax_maker relaxes the cell: E_d and E_p must share the perfect "
                             "supercell's cell. Give it relax_cell=False.")
        if not self.defect_relax_maker.relax_ions:
            raise InputError("defect_relax_maker is a static maker: vacancy cells must be relaxed (ions).")
        if self.seed is not None and not (isinstance(self.seed, str) and self.seed.strip().lower() == AUTO):
            self.seed = CalculatorSpec.parse(self.seed)
        if self.calculator is not None:
            resolve_seed(self.seed, self.calculator)  # a seed for a non-DFT calculator: refused now

    def _check_fields(self) -> None:
        """Types, ranges and combinations of the fields (atomflow.validation); at construction, in make()."""
        check.maker_fields(self)
        check.element("species", self.species, "the element whose vacancy is made, e.g. 'Na'")
        check.one_of("chempot", self.chempot, CHEMPOTS, what="chempot")
        check.one_of("hull_limit", self.hull_limit, ("rich", "poor"), what="hull_limit")
        check.finite("mu", self.mu, "eV/atom", "give the energy per atom of the reference phase, or None",
                     none=True)
        if self.chempot == "given" and self.mu is None:
            raise InputError("chempot='given' needs mu (eV/atom), e.g. the energy per atom of the "
                             "reference phase.")
        if self.mu is not None and self.chempot not in ("auto", "given"):
            raise InputError(f"mu={self.mu} was given but chempot={self.chempot!r} computes μ; "
                             "drop one of them.")
        if self.chempot == "bcc_Na" and self.species != "Na":
            raise InputError(f"chempot='bcc_Na' is a μ_Na reference, but species is {self.species!r}; use "
                             f"chempot='auto' (an elemental {self.species} host: its own bulk), give mu "
                             "(eV/atom) "
                             f"or use chempot='hull' with an elemental {self.species} phase.")
        if self.hull_phases is not None:
            if not isinstance(self.hull_phases, (list, tuple)) or not all(
                    isinstance(p, Structure) for p in self.hull_phases):
                check.fail("hull_phases", "a list of pymatgen Structures or None", self.hull_phases,
                           "give the relaxed-or-not phases of the hull, one elemental phase per element")
            if self.chempot != "hull":
                raise InputError(f"hull_phases were given but chempot={self.chempot!r}; use chempot='hull' "
                                 "or drop hull_phases.")
        check.flag("molecule_references", self.molecule_references)
        check.positive("min_length", self.min_length, "Å",
                       f"the shared supercell rule is {SUPERCELL_MIN_LENGTH}")
        check.integer("max_atoms", self.max_atoms, 1, fix=f"the default is {SUPERCELL_MAX_ATOMS}")
        check.flag("schottky", self.schottky, "None decides by the host (on for a binary with an anion)",
                   none=True)
        check.flag("size_check", self.size_check)
        check.positive("size_check_min_length", self.size_check_min_length, "Å", "the default is 14.0")
        if self.size_check and self.size_check_min_length <= self.min_length:
            raise InputError(f"size_check_min_length ({self.size_check_min_length} Å) must exceed min_length "
                             f"({self.min_length} Å) to give a larger supercell.")
        check.positive("fmax", self.fmax, "eV/Å", f"the paper uses {PAPER_FMAX}")
        check.integer("max_steps", self.max_steps, 0, fix=f"the default is {RELAX_MAX_STEPS}")
        check.positive("symprec", self.symprec, "Å", "the default is 0.01")

    def chempot_for(self, host: Structure) -> str:
        """Where μ comes from for ``host``: ``chempot``, with "auto" resolved.

        "auto": ``mu`` if given; else for Na, relaxed bcc Na ("bcc_Na", the paper's reference: for a bcc Na
        host that is its own bulk); else, for an elemental host (fcc Cu), μ = energy per atom of its own
        relaxed bulk ("host_bulk", the standard E_f = E_d − (N−1)/N·E_p). Anything else needs μ by hand or
        the hull (the message says how).
        """
        elements = {el.symbol for el in host.composition.elements}
        if self.chempot == "host_bulk" and elements != {self.species}:
            raise InputError(f"chempot='host_bulk' takes μ_{self.species} from the host's own bulk, which "
                             f"needs an elemental {self.species} host; {host.composition.reduced_formula} is "
                             "not one. "
                             f"Give mu (eV/atom) or use chempot='hull' with hull_phases.")
        if self.chempot != "auto":
            return self.chempot
        if self.mu is not None:
            return "given"
        if self.species == "Na":
            return "bcc_Na"
        if elements == {self.species}:
            return "host_bulk"
        raise InputError(
            f"No default μ_{self.species} for {host.composition.reduced_formula}: the automatic reference is "
            f"the host's own bulk, which needs an elemental {self.species} host. Give mu (eV/atom, e.g. the "
            "energy "
            f"per atom of elemental {self.species} with the same calculator) or use chempot='hull' with "
            f"hull_phases that include an elemental {self.species} phase.")

    @property
    def chempot_mode(self) -> str:
        """``chempot`` with "auto" resolved as far as it can be without the host (see :meth:`chempot_for`)."""
        if self.chempot == "auto":
            return "given" if self.mu is not None else "auto"
        return self.chempot

    def make(self, structure: Structure | Atoms) -> Flow:
        """Flow whose output is a :class:`VacancyDocument`."""
        if isinstance(structure, Atoms):
            structure = AseAtomsAdaptor.get_structure(structure)
        validate_structure(structure)  # bulk input: ordered, periodic, no overlapping atoms
        self._check_fields()  # fields changed after construction are checked too, before any job
        spec = self.bulk_relax_maker.spec
        if self.defect_relax_maker.spec != spec:
            raise InputError(f"The bulk relaxation uses {spec.label} and the defect relaxations "
                             f"{self.defect_relax_maker.spec.label}: E_f needs one calculator throughout.")
        check_structure(spec, structure)  # unsupported elements fail now, before the bulk relax
        elements = {el.symbol for el in structure.composition.elements}
        if self.species not in elements:
            raise InputError(f"The host {structure.composition.reduced_formula} has no {self.species}; "
                             f"choose species from {sorted(elements)}.")
        mode = self.chempot_for(structure)
        # the supercell rule fails now, not after the bulk relax
        supercell_matrix(structure, min_length=self.min_length, max_atoms=self.max_atoms)
        if self.size_check:
            supercell_matrix(structure, min_length=self.size_check_min_length, max_atoms=self.max_atoms)
        schottky = is_ionic_binary(structure, self.species) if self.schottky is None else bool(self.schottky)
        seed = resolve_seed(self.seed, spec)
        if seed is not None:
            check_seed_structure(seed, structure)  # before any job: the seed handles every element
        bulk_maker = replace(self.bulk_relax_maker, seed=self.seed)
        defect_maker = replace(self.defect_relax_maker, seed=self.seed)

        bulk = relax_step(bulk_maker, structure, name="vacancy bulk relax")
        jobs: list = [bulk]
        if mode == "given":
            note = f"μ_{self.species} = {self.mu:.6g} eV/atom given by the user."
            chempot: Any = ChemicalPotential(species=self.species, mu=float(self.mu), mu_source="given",
                                             notes=[note])
        elif mode == "host_bulk":
            chem = chempot_from_host(bulk.output, self.species)
            jobs.append(chem)
            chempot = chem.output
        elif mode == "bcc_Na":
            ref = relax_step(replace(bulk_maker, label="Na (bcc) reference", stand_in=False), _bcc_na(),
                             name="vacancy reference bcc Na")
            chem = chempot_from_reference(ref.output, self.species)
            jobs += [ref, chem]
            chempot = chem.output
        else:
            phases, left_out = self._hull_phases(structure)
            relaxed = []
            for phase in phases:
                check_structure(spec, phase.structure)
                # a molecule keeps its box (fixed cell); solids relax cell + ions like the host
                maker = defect_maker if phase.molecule else bulk_maker
                phase_job = relax_step(replace(maker, label=phase.label, stand_in=phase.stand_in),
                                       phase.structure, name=f"vacancy hull relax {phase.label}")
                relaxed.append(phase_job)
            chem = chempot_from_hull(bulk.output, [j.output for j in relaxed], [p.label for p in phases],
                                     self.species, self.hull_limit, left_out=left_out,
                                     molecules=[p.label for p in phases if p.molecule])
            jobs += [*relaxed, chem]
            chempot = chem.output

        larger = self.size_check_min_length if self.size_check else None
        cells = generate_vacancy_cells(bulk.output.structure, self.species, min_length=self.min_length,
                                       max_atoms=self.max_atoms, schottky=schottky, symprec=self.symprec,
                                       size_check_min_length=larger)
        runs = relax_vacancy_cells(cells.output, defect_maker)
        settings = {"species": self.species, "chempot": mode, "hull_limit": self.hull_limit,
                    "min_length": self.min_length, "max_atoms": self.max_atoms, "schottky": schottky,
                    "schottky_rule": "auto" if self.schottky is None else "given",
                    "size_check": self.size_check, "size_check_min_length": self.size_check_min_length,
                    "fmax": self.fmax, "max_steps": self.max_steps, "symprec": self.symprec,
                    "molecule_references": self.molecule_references}
        if seed is not None:
            settings["seed"] = seed_key(seed, defect_maker.run_settings.key_dict())
        doc = vacancy_formation_document(bulk.output, cells.output, runs.output, chempot, spec=spec,
                                         settings=settings, fmax=self.defect_relax_maker.fmax, label=self.label,
                                         stand_in=self.stand_in)
        jobs += [cells, runs, doc]
        return Flow(jobs, output=doc.output, name=self.name)

    def _hull_phases(self, host: Structure) -> tuple[list[_Phase], list[str]]:
        """Phases of the hull besides the host, and the labels of those left out (the host's formula)."""
        host_formula = host.composition.reduced_formula
        elements = {el.symbol for el in host.composition.elements}
        if elements == {self.species}:
            raise InputError(f"chempot='hull' on the elemental host {host_formula}: its hull is its own "
                             "bulk, so "
                             f"μ_{self.species} is the energy per atom of relaxed {host_formula}; use "
                             "chempot='auto' (μ from the host's own bulk) instead.")
        if self.hull_phases is not None:
            phases = [_Phase(f"{s.composition.reduced_formula} (given)", s) for s in self.hull_phases]
        elif elements <= {"Na", "Sn"}:
            from atomflow.structures import na_sn_phases

            phases = [_Phase(p.label, p.structure, stand_in=p.stand_in) for p in na_sn_phases()]
        elif "Na" in elements and len(elements) == 2 and elements & ANION_SPECIES:
            phases = [_Phase("Na (bcc)", _bcc_na())]
            (anion,) = elements & ANION_SPECIES
            if self.molecule_references:
                if anion not in DIATOMIC_BOND:
                    raise InputError(f"No molecule reference for {anion}; give hull_phases with one.")
                label = f"{anion}2 molecule ({MOLECULE_BOX:g} Å box)"
                phases.append(_Phase(label, _dimer(anion), molecule=True))
        else:
            raise InputError(f"No default hull phases for {host_formula}: give hull_phases (relaxed with the "
                             "same calculator), including one elemental phase per element.")
        # The relaxed host stands for its own composition (a second copy would only duplicate it).
        kept = [p for p in phases if p.structure.composition.reduced_formula != host_formula]
        left_out = [p.label for p in phases if p.structure.composition.reduced_formula == host_formula]
        have = {p.structure.composition.elements[0].symbol for p in kept if p.structure.composition.is_element}
        if self.species not in have:
            example = "bcc Na" if self.species == "Na" else f"the relaxed elemental {self.species} crystal"
            raise InputError(f"The hull phases have no elemental {self.species} phase; add one ({example}) "
                             "to "
                             "hull_phases.")
        missing = elements - have - {self.species}
        if missing and not (len(elements) == 2 and len(missing) == 1):
            raise InputError(f"The hull phases lack elemental references for {sorted(missing)}; add them.")
        if missing and self.hull_limit == "poor":
            raise InputError(f"hull_limit='poor' needs an elemental reference for {sorted(missing)} (e.g. "
                             "molecule_references=True, or give hull_phases with one); without it only the "
                             f"{self.species}-rich limit exists.")
        return kept, left_out


@dataclass
class _Phase:
    label: str
    structure: Structure
    molecule: bool = False
    stand_in: bool = False


def _bcc_na() -> Structure:
    from atomflow.structures import bcc_na

    return bcc_na()


def _dimer(element: str) -> Structure:
    """X2 molecule along x in a periodic cubic box (periodic: every calculator here needs a cell)."""
    d = DIATOMIC_BOND[element]
    return Structure(Lattice.cubic(MOLECULE_BOX), [element, element], [[0, 0, 0], [d, 0, 0]],
                     coords_are_cartesian=True)


@job
def chempot_from_reference(reference: RelaxDocument, species: str) -> ChemicalPotential:
    """μ = energy per atom of the relaxed elemental reference (bcc Na)."""
    return ChemicalPotential(
        species=species, mu=reference.energy_per_atom, mu_source="bcc_Na",
        reference_energy_per_atom=reference.energy_per_atom, converged=reference.converged,
        notes=[f"μ_{species} = energy per atom of bcc Na relaxed (cell + ions) with the same calculator "
               f"(a = {reference.structure.lattice.a:.4f} Å): the {species}-rich limit, Na metal as "
               "reservoir."])


@job
def chempot_from_host(host: RelaxDocument, species: str) -> ChemicalPotential:
    """μ = energy per atom of the relaxed elemental host itself (cell + ions, the same calculator)."""
    return ChemicalPotential(
        species=species, mu=host.energy_per_atom, mu_source="host_bulk",
        reference_energy_per_atom=host.energy_per_atom, converged=host.converged,
        notes=[f"μ_{species} = energy per atom of the relaxed {host.structure.composition.reduced_formula} "
               "host "
               "itself (cell + ions, same calculator): E_f = E_d − (N−1)/N·E_p."])


@job
def chempot_from_hull(host: RelaxDocument, phases: list[RelaxDocument], labels: list[str], species: str,
                      limit: str, left_out: list[str] = (), molecules: list[str] = ()) -> ChemicalPotential:
    """μ range from the calculator's own convex hull; μ at the ``limit`` end is the one used for e_f."""
    host_entry = (host.structure.composition, host.energy)
    entries = [(doc.structure.composition, doc.energy) for doc in phases]
    converged = [doc.converged for doc in phases]
    have = {c.elements[0].symbol for c, _ in entries if c.is_element}
    missing = {el.symbol for el in host.structure.composition.elements} - have
    if missing:
        ref = min((doc for doc in phases if doc.structure.composition.reduced_formula == species),
                  key=lambda doc: doc.energy_per_atom)
        limits = rich_limit_only(host_entry, species, ref.energy_per_atom)
    else:
        limits = host_limits(entries, host_entry, species, labels=labels, converged=converged)
    mu = limits.mu_rich if limit == "rich" else limits.mu_poor
    mu_other = limits.mu_at_rich if limit == "rich" else limits.mu_at_poor
    notes = list(limits.notes)
    if left_out:
        notes.append("Left out of the hull (same formula as the host, which stands for it): "
                     f"{', '.join(left_out)}.")
    if molecules:
        notes.append(f"Anion reference: {', '.join(molecules)} relaxed (ions) with the same calculator; an "
                     "interatomic potential fitted to solids may describe the molecule poorly, which shifts "
                     "the poor limit.")
    return ChemicalPotential(
        species=species, mu=float(mu), mu_source=f"hull_{species}_{limit}",
        mu_range=(limits.mu_poor, limits.mu_rich), mu_other=mu_other,
        reference_energy_per_atom=next((d.energy_per_atom for d in phases
                                        if d.structure.composition.reduced_formula == species), None),
        host_e_above_hull=limits.host_e_above_hull, hull=limits.phases, converged=all(converged),
        notes=notes)


@job
def generate_vacancy_cells(structure: Structure, species: str, *, min_length: float = 10.0,
                           max_atoms: int = 300, schottky: bool = False, symprec: float = 0.01,
                           size_check_min_length: float | None = None) -> list[VacancyCellSet | None]:
    """[main cell set] or [main, larger] (None in place of a larger cell that is no larger)."""
    sites = distinct_sites(structure, species, symprec=symprec)
    main = vacancy_cells(structure, species, min_length=min_length, max_atoms=max_atoms, schottky=schottky,
                         sites=sites)
    if size_check_min_length is None:
        return [main]
    large = vacancy_cells(structure, species, min_length=size_check_min_length, max_atoms=max_atoms,
                          schottky=schottky, sites=sites)
    if large.n_atoms <= main.n_atoms:
        return [main, None]
    return [main, large]


def _summary(relax_job) -> dict[str, Any]:
    out = relax_job.output
    summary = {"energy": out.energy, "converged": out.converged, "max_force": out.max_force,
               "n_steps": out.n_steps, "uuid": step_uuid(relax_job)}
    if isinstance(relax_job, Flow):  # seeded: the guard's flags (atomflow.seeding)
        summary["flags"] = out.flags
    return summary


@job
def relax_vacancy_cells(cell_sets: list[VacancyCellSet | None], relax_maker: RelaxMaker) -> Response:
    """Replace this job by one fixed-cell relaxation per cell (perfect, each site, Schottky) per cell set.

    Output: per cell set ``{"perfect": summary, "vacancies": [summary, …], "schottky": summary | None}``
    with summary = energy (eV), converged, max_force (eV/Å), n_steps, uuid of the relaxation.
    """
    jobs, outputs = [], []
    for k, cells in enumerate(cell_sets):
        if cells is None:
            outputs.append(None)
            continue
        tag = f"{cells.n_atoms} atoms"
        perfect = relax_step(relax_maker, cells.perfect, name=f"vacancy perfect supercell ({tag})")
        jobs.append(perfect)
        vac_jobs = []
        for cell in cells.vacancies:
            vac = relax_step(relax_maker, cell.structure,
                             name=f"vacancy V_{cell.site.species} {cell.site.wyckoff} ({tag})")
            vac_jobs.append(vac)
        jobs += vac_jobs
        schottky = None
        if cells.schottky is not None:
            schottky = relax_step(relax_maker, cells.schottky.structure,
                                  name=f"vacancy Schottky {cells.schottky.removed_species} ({tag})")
            jobs.append(schottky)
        outputs.append({"perfect": _summary(perfect), "vacancies": [_summary(j) for j in vac_jobs],
                        "schottky": _summary(schottky) if schottky is not None else None})
    return Response(replace=Flow(jobs, output=outputs, name="vacancy relaxations"))


# OnMissing.NONE: a failed cell relaxation reaches this job as None; the sites that finished still give
# a document (flagged, naming the failed ones) instead of the whole host's result being lost.
@job(output_schema=VacancyDocument, config=JobConfig(on_missing_references=OnMissing.NONE))
def vacancy_formation_document(host: RelaxDocument, cell_sets: list[VacancyCellSet | None],
                               runs: list[dict[str, Any] | None], chempot: ChemicalPotential, *,
                               spec: CalculatorSpec | str, settings: dict[str, Any], fmax: float,
                               label: str | None = None, stand_in: bool = False) -> VacancyDocument:
    """Formation energies from the relaxed energies (see :meth:`VacancyDocument.from_runs`).

    Sites whose relaxation failed are left out and named in ``failed_relaxations`` and ``flags``; without
    the host, μ, or the main perfect supercell, or with every site failed, :class:`IncompleteResultsError`
    says so.
    """
    spec = CalculatorSpec.parse(spec)
    missing = [what for what, value in (("host bulk relaxation", host), ("chemical potential", chempot),
                                        ("vacancy-cell generation", cell_sets), ("vacancy relaxations", runs))
               if value is None]
    if missing:
        raise IncompleteResultsError(f"No vacancy document: the {' and the '.join(missing)} failed "
                                     "(see the error above).")
    cell_sets, runs, failed, flags = _finished_cells(cell_sets, runs)
    doc = VacancyDocument.from_runs(host, cell_sets, runs, chempot, spec=spec, settings=settings, fmax=fmax,
                                    label=label, stand_in=stand_in,
                                    formal_charges=formal_charges(spec))
    if failed:
        doc.failed_relaxations = failed
        doc.flags += flags
    doc.flags += _guard_flags(host, runs)
    return doc


def _guard_flags(host: RelaxDocument, runs: list[dict[str, Any] | None]) -> list[str]:
    """The seed guard's flags (atomflow.seeding) of the host and of every cell, named by the cell."""
    out = [f"host bulk: {f}" for f in (getattr(host, "flags", None) or [])]
    for run in runs:
        if run is None:
            continue
        cells = [("perfect supercell", run.get("perfect")), ("Schottky cell", run.get("schottky")),
                 *[(f"vacancy cell {k}", r) for k, r in enumerate(run.get("vacancies") or [])]]
        out += [f"{name}: {f}" for name, summary in cells if summary for f in (summary.get("flags") or [])]
    return out


def _finished(summary: dict[str, Any] | None) -> bool:
    return summary is not None and summary.get("energy") is not None


def _finished_cells(cell_sets: list, runs: list) -> tuple[list, list, list[str], list[str]]:
    """The cell sets and runs without the relaxations that failed, the failed ones' names, and flags."""
    sets = [None if c is None else VacancyCellSet.model_validate(c) for c in cell_sets]
    main, run = sets[0], runs[0]
    tag = f"({main.n_atoms} atoms)"
    if not _finished(run["perfect"]):
        raise IncompleteResultsError(f"No vacancy formation energies: the perfect supercell {tag} relaxation "
                                     "failed, and every E_f needs its energy.")
    large_ok = len(sets) > 1 and sets[1] is not None and _finished(runs[1]["perfect"])
    keep = [k for k, res in enumerate(run["vacancies"])
            if _finished(res) and (not large_ok or _finished(runs[1]["vacancies"][k]))]
    checked = 2 if large_ok else 1  # a site is kept only if it finished in every supercell that is used
    failed = [f"V_{cell.site.species} {cell.site.wyckoff} ({cells.n_atoms} atoms)"
              for cells, res in zip(sets[:checked], runs[:checked])
              for cell, summary in zip(cells.vacancies, res["vacancies"]) if not _finished(summary)]
    if not keep:
        raise IncompleteResultsError(f"No vacancy formation energies: every vacancy-cell relaxation failed "
                                     f"({', '.join(failed)}).")
    flags = [f"relaxation failed: {name}; that site is left out (e_f_min is over the sites that finished)"
             for name in failed]

    def trimmed(cells: VacancyCellSet, res: dict[str, Any]) -> tuple[VacancyCellSet, dict[str, Any]]:
        res = {**res, "vacancies": [res["vacancies"][k] for k in keep]}
        if not _finished(res.get("schottky")) and res.get("schottky") is not None:
            name = f"Schottky cell ({cells.n_atoms} atoms)"
            failed.append(name)
            flags.append(f"relaxation failed: {name}; no Schottky energy from this cell")
            res["schottky"] = None
        return cells.model_copy(update={"vacancies": [cells.vacancies[k] for k in keep]}), res

    main, run = trimmed(main, run)
    out_sets, out_runs = [main], [run]
    if large_ok:
        large, large_run = trimmed(sets[1], runs[1])
        out_sets.append(large)
        out_runs.append(large_run)
    elif len(sets) > 1 and sets[1] is not None:  # the larger perfect supercell failed: no size check
        name = f"perfect supercell ({sets[1].n_atoms} atoms)"
        failed.append(name)
        flags.append(f"relaxation failed: {name}; no size check")
    elif len(sets) > 1:
        out_sets.append(None)
        out_runs.append(None)
    return out_sets, out_runs, failed, flags


__all__ = ["CHEMPOTS", "VacancyFormationMaker", "chempot_from_host", "chempot_from_hull",
           "chempot_from_reference", "generate_vacancy_cells", "relax_vacancy_cells",
           "vacancy_formation_document"]
