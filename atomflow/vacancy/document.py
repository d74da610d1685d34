"""Result documents of the vacancy-formation workflow (energies in eV, μ in eV/atom, lengths in Å)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints
from pymatgen.core import Structure

from atomflow.calculators import CalculatorSpec
from atomflow.documents import Provenance, RelaxDocument
from atomflow.vacancy.analysis import (
    formation_energy,
    formation_energy_range,
    relax_flags,
    schottky_energy,
    size_difference,
)
from atomflow.vacancy.chempot import HULL_TOL, HullPhase
from atomflow.vacancy.sites import VacancyCellSet

#: "host_bulk" (an elemental host's own relaxed bulk), "bcc_Na", "given", or "hull_<X>_rich" /
#: "hull_<X>_poor" for removed species X (hull_Na_rich, hull_Na_poor).
#: |E_f(larger) − E_f(main)| above which the size check flags the supercell as too small, eV (a common
#: convergence target for defect energies; the quantity itself is ~0.4–4 eV here).
SIZE_TOL = 0.1

MuSource = Annotated[str, StringConstraints(
    pattern=r"^(host_bulk|bcc_Na|given|hull_[A-Z][a-z]?_(rich|poor))$")]


class ChemicalPotential(BaseModel):
    """The chemical potential of the removed species, and where it came from."""

    species: str = Field(description="Removed species.")
    mu: float = Field(description="Chemical potential used for the per-site E_f, eV/atom.")
    mu_source: MuSource = Field(
        description="'host_bulk' (the elemental host's own relaxed bulk), 'bcc_Na' (relaxed bcc Na, same "
                    "calculator), 'given' (user number), "
                    "'hull_<X>_rich' / 'hull_<X>_poor' (limit of the calculator's own convex hull).")
    mu_range: tuple[float | None, float] | None = Field(
        default=None, description="(X-poor, X-rich) limits of μ over which the host is stable, eV/atom; "
                                  "X-poor is None when it could not be computed. Only from the hull.")
    mu_other: dict[str, float] | None = Field(
        default=None, description="Chemical potentials of the other elements at the limit used, eV/atom.")
    reference_energy_per_atom: float | None = Field(
        default=None, description="Energy per atom of the elemental reference (bcc Na), eV/atom.")
    host_e_above_hull: float | None = Field(default=None, description="Host energy above the hull, eV/atom.")
    hull: list[HullPhase] = Field(default_factory=list, description="Phases of the hull (hull source only).")
    converged: bool = Field(default=True, description="False if a reference relaxation did not converge.")
    notes: list[str] = Field(default_factory=list, description="How μ was obtained and what it assumes.")


class VacancySite(BaseModel):
    """One symmetry-distinct vacancy."""

    index: int = Field(description="Index of the removed atom in the perfect supercell.")
    unit_cell_index: int = Field(description="Index of the representative site in the relaxed unit cell.")
    species: str = Field(description="Removed element.")
    wyckoff: str = Field(description="Wyckoff label (conventional-cell multiplicity + letter).")
    multiplicity: int = Field(description="Equivalent sites in the supercell (all sites of the species summed "
                                          "over distinct sites = its atom count).")
    e_defect: float = Field(description="Relaxed total energy of the defect supercell, eV.")
    e_f: float = Field(description="Formation energy E_d + μ − E_p with the μ of `mu`, eV. Only final if "
                                   "`converged` is True.")
    e_f_range: tuple[float | None, float] | None = Field(
        default=None, description="(E_f at X-poor, E_f at X-rich) from the hull μ range, eV.")
    converged: bool = Field(description="False if the defect relaxation hit its step limit.")
    max_force: float = Field(description="Largest residual force in the relaxed defect cell, eV/Å.")
    n_steps: int = Field(description="Optimizer steps of the defect relaxation.")


class SchottkyResult(BaseModel):
    """One formula unit removed (e.g. one Na + one Cl), the vacancies as far apart as the supercell allows."""

    removed: list[int] = Field(description="Indices of the removed atoms in the perfect supercell.")
    removed_species: dict[str, int] = Field(description="Atoms removed per species.")
    separation: float = Field(description="Shortest minimum-image distance between the removed atoms, Å.")
    e_defect: float = Field(description="Relaxed total energy of the Schottky supercell, eV.")
    e_bulk_per_formula_unit: float = Field(description="Perfect-supercell energy per formula unit, eV/f.u.")
    e_schottky: float = Field(description="E_S = E_d − E_p + E_bulk/f.u., eV (no elemental reference "
                                          "needed).")
    converged: bool = Field(description="False if the Schottky-cell relaxation hit its step limit.")
    max_force: float = Field(description="Largest residual force in the relaxed Schottky cell, eV/Å.")


class SizeCheck(BaseModel):
    """E_f of every distinct site in a second, larger supercell."""

    n_atoms: tuple[int, int] = Field(description="Atoms in the (main, larger) perfect supercells.")
    min_image_distance: tuple[float, float] = Field(description="Shortest image distance of both cells, Å.")
    supercell_matrix: list[list[int]] = Field(description="Supercell matrix of the larger cell.")
    e_f: list[tuple[float, float]] = Field(description="(main, larger) E_f per site (order of `sites`), eV.")
    difference: list[float] = Field(description="E_f(larger) − E_f(main) per site, eV.")
    max_abs_difference: float = Field(description="Largest |difference|, eV.")
    e_schottky: tuple[float, float] | None = Field(
        default=None, description="(main, larger) Schottky energy, eV, when the Schottky set was computed.")
    converged: bool = Field(description="False if a relaxation in the larger cell did not converge.")


class VacancyDocument(BaseModel):
    """Vacancy formation energies of one host, one calculator."""

    formula: str = Field(description="Reduced formula of the host.")
    structure: Structure = Field(description="Relaxed host unit cell (cell + ions).")
    species: str = Field(description="Removed species.")
    sites: list[VacancySite] = Field(description="One entry per symmetry-distinct site.")
    e_f_min: float = Field(description="Lowest E_f over the distinct sites, eV.")
    e_perfect: float = Field(description="Relaxed total energy of the perfect supercell, eV.")
    n_atoms: int = Field(description="Atoms in the perfect supercell.")
    supercell_matrix: list[list[int]] = Field(description="Rows: supercell vectors in relaxed unit-cell "
                                                          "vectors.")
    min_image_distance: float = Field(description="Shortest lattice translation of the supercell, Å.")
    mu: float = Field(description="Chemical potential of the removed species used for `e_f`, eV/atom.")
    mu_source: MuSource = Field(description="Where `mu` came from: host_bulk, bcc_Na, given, hull_<X>_rich, "
                                                     "hull_<X>_poor.")
    mu_range: tuple[float | None, float] | None = Field(
        default=None, description="(Na-poor, Na-rich) μ over which the host is stable, eV/atom (hull only).")
    e_f_range: tuple[float | None, float] | None = Field(
        default=None, description="(E_f at Na-poor, E_f at Na-rich) of the lowest-E_f site, eV (hull only).")
    chemical_potential: ChemicalPotential = Field(description="Details of μ (references, hull phases, notes).")
    schottky: SchottkyResult | None = Field(default=None, description="Schottky defect energy (ionic hosts).")
    size_check: SizeCheck | None = Field(default=None, description="E_f in a second, larger supercell.")
    converged: bool = Field(description="True only if every relaxation (bulk, perfect, defects, references, "
                                        "Schottky, size check) converged.")
    flags: list[str] = Field(default_factory=list,
                             description="Problems a reader must see next to the numbers.")
    failed_relaxations: list[str] = Field(
        default_factory=list, description="Relaxations that failed (e.g. 'V_Na 4a (64 atoms)'): their sites, "
                                          "Schottky cell or size check are missing here (each also a flag).")
    notes: list[str] = Field(default_factory=list, description="What each number is and what it assumes.")
    label: str | None = Field(default=None, description="Structure label (e.g. 'NaSn stand-in').")
    stand_in: bool = Field(default=False,
                           description="True if the host is a stand-in, not the paper's compound.")
    provenance: Provenance = Field(description="Calculator, settings, code version.")

    model_config = {"arbitrary_types_allowed": True}

    @classmethod
    def from_runs(cls, host: RelaxDocument, cell_sets: Sequence[VacancyCellSet | dict | None],
                  runs: Sequence[dict[str, Any] | None], chempot: ChemicalPotential | dict, *,
                  spec: CalculatorSpec | str, settings: dict[str, Any], fmax: float,
                  label: str | None = None, stand_in: bool = False,
                  formal_charges: dict[str, float] | None = None) -> VacancyDocument:
        """Formation energies from relaxed energies; every unconverged relaxation becomes a flag.

        ``cell_sets`` / ``runs``: the main supercell first, then (size check) the larger one or None;
        each run is ``{"perfect", "vacancies", "schottky"}`` of ``{"energy" (eV), "converged",
        "max_force" (eV/Å), "n_steps"}``.
        """
        spec = CalculatorSpec.parse(spec)
        chempot = ChemicalPotential.model_validate(chempot)
        sets = [None if c is None else VacancyCellSet.model_validate(c) for c in cell_sets]
        main, run = sets[0], runs[0]
        species = chempot.species
        flags = relax_flags("host bulk relax", host.converged, host.max_force, host.fmax)
        perfect = run["perfect"]
        flags += relax_flags("perfect supercell", perfect["converged"], perfect["max_force"], fmax)
        if not chempot.converged:
            flags.append("a chemical-potential reference relaxation did not converge: μ is not final")
        if chempot.host_e_above_hull is not None and chempot.host_e_above_hull > HULL_TOL:
            flags.append(f"host is {chempot.host_e_above_hull * 1000:.1f} meV/atom above this calculator's "
                         "hull: no stability range, μ taken at its decomposition")
        notes = list(chempot.notes)
        e_p = float(run["perfect"]["energy"])

        sites = []
        for cell, res in zip(main.vacancies, run["vacancies"]):
            site = cell.site
            e_f = formation_energy(res["energy"], e_p, 1, chempot.mu)
            e_f_range = (formation_energy_range(res["energy"], e_p, 1, chempot.mu_range)
                         if chempot.mu_range is not None else None)
            sites.append(VacancySite(index=cell.removed[0], unit_cell_index=site.index, species=site.species,
                                     wyckoff=site.wyckoff, multiplicity=cell.multiplicity,
                                     e_defect=res["energy"], e_f=e_f, e_f_range=e_f_range,
                                     converged=res["converged"], max_force=res["max_force"],
                                     n_steps=res["n_steps"]))
            what = f"V_{site.species} {site.wyckoff} (supercell index {cell.removed[0]})"
            flags += relax_flags(what, res["converged"], res["max_force"], fmax)
            if e_f < 0:
                flags.append(f"{what}: E_f = {e_f:.3f} eV < 0 (host unstable to vacancy formation at this μ, "
                             "or the calculator is outside its range)")
            elif e_f_range is not None and min(x for x in e_f_range if x is not None) < 0:
                flags.append(f"{what}: E_f < 0 at the {species}-poor end of the μ range "
                             f"({e_f_range[0]:.3f} eV): vacancies form spontaneously there")
        best = min(sites, key=lambda s: s.e_f)

        schottky = None
        if main.schottky is not None and run["schottky"] is not None:
            res = run["schottky"]
            n_fu = main.perfect.composition.get_reduced_composition_and_factor()[1]
            e_fu = e_p / n_fu
            schottky = SchottkyResult(removed=main.schottky.removed,
                                      removed_species=main.schottky.removed_species,
                                      separation=main.schottky.separation, e_defect=res["energy"],
                                      e_bulk_per_formula_unit=e_fu,
                                      e_schottky=schottky_energy(res["energy"], e_p, e_fu),
                                      converged=res["converged"], max_force=res["max_force"])
            flags += relax_flags("Schottky cell", res["converged"], res["max_force"], fmax)
            formula = main.perfect.composition.reduced_formula
            notes.append(
                f"{formula} is ionic: `sites[].e_f` is a neutral {species} vacancy (one {species} atom "
                f"removed, μ_{species} from {chempot.mu_source}), not the physical charged defect; "
                "`schottky.e_schottky` is the charge-neutral Schottky defect (one formula unit removed, "
                f"vacancies {main.schottky.separation:.2f} Å apart, μ_{formula} = bulk energy per formula "
                "unit), the value to compare with experiment (NaCl: 2.1 eV for the separated pair).")

        size_check = None
        if len(sets) > 1:
            large, large_run = sets[1], runs[1]
            if large is None:
                length = settings.get("size_check_min_length")
                flags.append(f"size check skipped: size_check_min_length = {length} Å gives no larger "
                             "supercell within max_atoms; raise max_atoms or the length")
            else:
                e_p2 = float(large_run["perfect"]["energy"])
                e_f2 = [formation_energy(r["energy"], e_p2, 1, chempot.mu) for r in large_run["vacancies"]]
                diff = size_difference([s.e_f for s in sites], e_f2)
                ok = large_run["perfect"]["converged"] and all(r["converged"] for r in large_run["vacancies"])
                e_s2 = None
                if schottky is not None and large_run.get("schottky") is not None:
                    res2 = large_run["schottky"]
                    n_fu2 = large.perfect.composition.get_reduced_composition_and_factor()[1]
                    e_s2 = (schottky.e_schottky, schottky_energy(res2["energy"], e_p2, e_p2 / n_fu2))
                    ok = ok and res2["converged"]
                if not ok:
                    flags.append("size check: a relaxation in the larger supercell did not converge")
                changes = [*diff, *([e_s2[1] - e_s2[0]] if e_s2 else [])]
                if max(abs(d) for d in changes) > SIZE_TOL:
                    flags.append(f"size check: E_f changes by up to {max(changes, key=abs):+.3f} eV from "
                                 f"{main.n_atoms} to {large.n_atoms} atoms (> {SIZE_TOL} eV): the main "
                                 "supercell is not converged; quote the larger-cell value")
                size_check = SizeCheck(n_atoms=(main.n_atoms, large.n_atoms),
                                       min_image_distance=(main.min_image_distance, large.min_image_distance),
                                       supercell_matrix=large.supercell_matrix,
                                       e_f=[(s.e_f, b) for s, b in zip(sites, e_f2)], difference=diff,
                                       max_abs_difference=max(abs(d) for d in diff), e_schottky=e_s2,
                                       converged=ok)

        if formal_charges is not None and formal_charges.get(species, 0.0) != 0.0:
            q = -formal_charges[species]
            flags.append(
                f"charged cell: {spec.name} keeps fixed formal charges, so removing one {species} "
                f"({formal_charges[species]:+g} e) leaves the defect cell at {q:+g} e; the Ewald sum adds a "
                "uniform neutralising background, so `e_f` is a charged vacancy in jellium with a finite-size "
                "image error ∝ 1/L, not a neutral-vacancy energy (use the Schottky energy)")
            if chempot.mu_source != "given":
                flags.append(
                    f"μ_{species} reference computed with {spec.name}: a fixed-charge ionic model describes "
                    f"the elemental reference (metallic {species}) as a lattice of charged ions, so μ and "
                    "`e_f` have no physical meaning here")

        converged = (host.converged and run["perfect"]["converged"] and all(s.converged for s in sites)
                     and chempot.converged and (schottky is None or schottky.converged)
                     and (size_check is None or size_check.converged))
        if stand_in:
            notes.append(f"Computed on a stand-in ({label}), not the paper's compound.")
        return cls(
            formula=host.structure.composition.reduced_formula, structure=host.structure, species=species,
            sites=sites, e_f_min=best.e_f, e_perfect=e_p, n_atoms=main.n_atoms,
            supercell_matrix=main.supercell_matrix, min_image_distance=main.min_image_distance, mu=chempot.mu,
            mu_source=chempot.mu_source, mu_range=chempot.mu_range, e_f_range=best.e_f_range,
            chemical_potential=chempot, schottky=schottky, size_check=size_check, converged=converged,
            flags=flags, notes=notes, label=label, stand_in=stand_in,
            provenance=Provenance.from_spec(spec, settings, structure_label=label, stand_in=stand_in),
        )
