"""The seed paper's computational study as one jobflow graph (../shared/reference/paper.md), and beyond it
(issue 17) the phonons of its bulks and the Na⁺ transport the paper argues from its barriers.

For Na7Sn12 (or its labelled stand-in when COD 4314129 cannot be reached), NaCl and bcc Na:
relaxed bulks, Na-vacancy formation energies, Na-vacancy CI-NEB barriers and elastic tensors with
Young's moduli and stress–strain curves; harmonic phonons (dynamical stability) of all three; for NaCl and
the Na–Sn phase the vacancy diffusion coefficient and conductivity for stated carrier models. Loaded by
`atomflow run paper`; every setting below is the paper's unless a comment says why not.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from jobflow import Flow
from pymatgen.core import Structure

from atomflow.elastic import ElasticMaker
from atomflow.jobs.makers import RelaxMaker
from atomflow.neb import MigrationMaker
from atomflow.phonons import PhononMaker
from atomflow.rates import AttemptFrequencyMaker
from atomflow.run_settings import SUPERCELL_MIN_LENGTH, RelaxSettings
from atomflow.structures import cod
from atomflow.structures.builders import bcc_na, na7sn12, rocksalt_nacl
from atomflow.structures.cifio import read_cif
from atomflow.structures.labelled import LabelledStructure
from atomflow.transport import TransportMaker
from atomflow.vacancy import VacancyFormationMaker

#: The paper's six Na7Sn12 paths (1→2, 2→3, 3→1′, 4→5, 5→6, 6→4′) as (site_a, site_b, image, name) in the
#: ordered 152-atom cell. The paper numbers Na sites along the chains that run along x; mapping its numbers to
#: indices needs the real CIF, which these machines cannot reach. Fill this in with the CIF at hand; until then
#: the study computes every symmetry-distinct hop up to the cutoff, and the report says why the six are missing.
PAPER_PATHS: list[tuple[int, int, tuple[int, int, int], str]] = []

#: Supercells: shortest periodic image ≥ 10 Å (the paper's Na7Sn12 cell, 152 atoms, has 9.3 Å along b ×2 = 18.7 Å).
MIN_LENGTH = SUPERCELL_MIN_LENGTH

#: Phonon supercells, Å. The shared rule at 10 Å gives NaCl 64 atoms (2 displacements) and bcc Na 54 (1). For the
#: NaSn stand-in it returns a 128-atom near-cubic cell (48 displacements, ≈ 6 CPU-minutes with SevenNet-0 here),
#: although the 32-atom cell itself already has every periodic image 10.4 Å away; 9 Å selects that cell
#: (13 displacements). The real 152-atom Na7Sn12 cell is used as it is (every image ≥ 13 Å).
PHONON_MIN_LENGTH = {"NaCl": MIN_LENGTH, "Na": MIN_LENGTH, "Na7Sn12": 9.0}

#: Å. Symmetry tolerance of the phonon displacements: a relaxation with a float32 potential leaves ~1e-4 Å noise,
#: which at phonopy's 1e-5 Å hides the stand-in's symmetry (27 displacements instead of 13).
PHONON_SYMPREC = 1e-3

#: Cation vacancies in "pure" NaCl below ~550 °C, cm⁻³, fixed by divalent impurities (Etzel & Maurer,
#: J. Chem. Phys. 18, 1003 (1950); ../shared/reference/transport.md): NaCl's extrinsic carrier model.
NACL_EXTRINSIC_CM3 = 1.0e17

#: Na7Sn12's half-occupied Na site where the CIF is not at hand (the stand-in): 28 Na per cell on one site of
#: occupancy 0.5 plus full sites. In P2/n a site has multiplicity 4 (general) or 2 (special); taking the general
#: one, 2 of the 30 Na sites are vacant (a special site would give 1 of 29, half the carriers).
NA7SN12_ASSUMED_VACANT_FRACTION = 2 / 30

#: Hosts whose hops get a Vineyard ν* in `make run`. NaCl (tight minimum, Lanczos at the climbing image — with
#: SevenNet-0 it has two imaginary modes, −2.18 and −1.84 THz: a higher-order point of the symmetric path —, the
#: dimer-refined first-order saddle ≈ 0.6 Å off that path and 41 meV lower, two symmetric Γ Hessians of the 63-atom
#: cell): about 1.5 min with SevenNet-0 on a quiet 2-core machine. The Na–Sn phase: in its ν* cell (below).
#: () turns it off.
NU_STAR_HOSTS: tuple[str, ...] = ("NaCl", "Na7Sn12")

#: Å: the supercell rule of the hops whose ν* is computed, where it differs from MIN_LENGTH. The Na–Sn stand-in's
#: (NaSn, 32 atoms) own cell has every periodic image 10.4 Å away, but the shared rule at 10 Å returns 128 atoms,
#: where phonopy finds little symmetry (388–762 of 762 displacements per Hessian) and local Hessians are neither
#: accurate (+26 % / −11 % at 4 / 5 Å) nor complete (no imaginary mode at all at one hop). In the 32-atom cell the
#: symmetric Hessian is within 1 % of the full one for 409 calls, 56 CPU-s per hop (benchmarks/README.md "Na–Sn
#: stand-in"). So the Na–Sn hops get their own CI-NEB in that cell for ν*; the barriers of the rates stay the
#: study cell's (atomflow.transport.flow.hops_from_documents keeps them when the cells differ, and says so).
NU_STAR_MIN_LENGTH = {"Na7Sn12": 9.0}
NU_STAR_SMALL_CELL = ("ν* of the Na–Sn hops from their own CI-NEB in the 32-atom cell (every periodic image ≥ 10.4 Å; "
                      "the barriers stay the 128-atom cell's): the prefactor, not the barrier, from the smaller cell")
NU_STAR_SWITCHED_OFF = ("ν* of these hops not computed in this run (switched off in workflows/paper.py "
                        "NU_STAR_HOSTS); the stated default is used and flagged")


def structural_carriers(phase: LabelledStructure) -> tuple[float, str]:
    """Vacant fraction of the Na sites built into the Na–Sn phase, and where it comes from.

    The real compound: counted on the cached COD CIF (sites holding Na, and their occupancies). The stand-in has
    no such site; it gets Na7Sn12's fraction under the stated assumption, labelled as such.
    """
    if not phase.stand_in:
        raw = read_cif(cod.cached_cif_path())  # partial occupancies kept
        occupancies = [site.species.get_el_amt_dict().get("Na", 0.0) for site in raw]
        sites = [o for o in occupancies if o > 0]
        fraction = 1.0 - sum(sites) / len(sites)
        return fraction, (f"Na7Sn12's half-occupied Na site: {len(sites) - sum(sites):g} of {len(sites)} Na sites "
                          f"vacant per cell (COD {cod.NA7SN12_COD_ID})")
    return NA7SN12_ASSUMED_VACANT_FRACTION, (
        "Na7Sn12's half-occupied Na site applied to the stand-in, assumed general (2 of 30 Na sites vacant; a "
        "special site would give 1 of 29); the stand-in itself has no vacant site")


def make_flow(calculator: str | None = None, phases: list[tuple[str, Structure, str, bool]] | None = None,
              overrides: dict[str, dict[str, Any]] | None = None,
              nu_star_hosts: tuple[str, ...] = NU_STAR_HOSTS) -> Flow:
    """The study. ``phases`` (key, structure, label, stand_in), ``overrides`` (maker kind → keyword
    arguments: 'elastic', 'phonons', 'vacancy', 'migration', 'attempt_frequency', 'transport') and
    ``nu_star_hosts`` (keys whose hops get ν*) exist for cheap test configurations; `atomflow run paper` uses
    the defaults."""
    sn = na7sn12()
    if phases is None:
        phases = [
            ("NaCl", rocksalt_nacl(), "NaCl rock salt", False),
            ("Na", bcc_na(), "bcc Na", False),
            ("Na7Sn12", sn.structure, sn.label, sn.stand_in),
        ]
    more = overrides or {}
    jobs = []
    for key, structure, label, stand_in in phases:
        common = {"calculator": calculator, "label": label, "stand_in": stand_in}
        # Elastic tensor + the uniaxial stress–strain curve along x (the paper's Fig. 2F).
        jobs.append(ElasticMaker(name=f"elastic {key}", stress_strain_directions=(0,),
                                 **{**common, **more.get("elastic", {})}).make(structure))
        # Harmonic phonons: is the bulk a minimum of this calculator? (issue 17; not in the paper)
        # Its bulk is the study's own relaxation (the paper's 0.01 eV/Å, reused from the elastic / migration
        # jobs), not PhononMaker's 1e-3 eV/Å one: that one alone did not finish on the NaSn stand-in in 138 CPU-s.
        # phonopy's ± displacement pairs (computed, or made by symmetry) cancel the residual forces to first order.
        bulk_relax = RelaxMaker.from_settings(RelaxSettings(relax_cell=True), name=f"phonon bulk relax {key}",
                                              **common)
        jobs.append(PhononMaker(name=f"phonons {key}", supercell_min_length=PHONON_MIN_LENGTH.get(key, MIN_LENGTH),
                                symprec=PHONON_SYMPREC, bulk_relax_maker=bulk_relax,
                                **{**common, **more.get("phonons", {})}).make(structure))
        if key == "Na":
            continue  # the paper computes only the elastic properties of Na metal
        # Na-vacancy formation energy, μ_Na from bcc Na with the same calculator (the paper's E_f).
        vacancy = VacancyFormationMaker(name=f"vacancy {key}", min_length=MIN_LENGTH,
                                        **{**common, **more.get("vacancy", {})}).make(structure)
        jobs.append(vacancy)
        if key == "Na7Sn12":
            # The same defect cells against the calculator's own Na–Sn hull: the Na-rich/Na-poor range.
            # Its relaxations are reused from the job above (same structure, calculator and settings).
            jobs.append(VacancyFormationMaker(name=f"vacancy {key} (hull)", chempot="hull",
                                              min_length=MIN_LENGTH, **{**common, **more.get("vacancy", {})}
                                              ).make(structure))
        hops = PAPER_PATHS if (key == "Na7Sn12" and PAPER_PATHS and not stand_in) else None
        migration_maker = MigrationMaker(name=f"migration {key}", hops=hops, supercell_min_length=MIN_LENGTH,
                                         **{**common, **more.get("migration", {})})
        migration = migration_maker.make(structure)
        jobs.append(migration)
        jobs += transport_jobs(key, structure, label, stand_in, sn, migration_maker, migration, vacancy, more,
                               nu_star=key in nu_star_hosts)
    return Flow(jobs, name="paper study")


def transport_jobs(key: str, structure: Structure, label: str, stand_in: bool, sn: LabelledStructure,
                   migration_maker: MigrationMaker, migration: Flow, vacancy: Flow,
                   more: dict[str, dict[str, Any]], nu_star: bool = False) -> list:
    """ν* (where ``nu_star``, see NU_STAR_HOSTS) and the transport analysis of one host."""
    jobs: list = []
    attempt = None
    if nu_star:  # symmetric full Γ Hessians (benchmarks/README.md: local ones miss the second mode in NaCl)
        hops = migration
        if key in NU_STAR_MIN_LENGTH:  # the same hops in the smaller cell, for ν* only
            hops = replace(migration_maker, name=f"migration {key} (ν* cell)",
                           supercell_min_length=NU_STAR_MIN_LENGTH[key]).make(structure)
            jobs.append(hops)
        rates = AttemptFrequencyMaker(name=f"attempt frequency {key}", label=label, stand_in=stand_in,
                                      **more.get("attempt_frequency", {})).make_many(hops.output)
        jobs.append(rates)
        attempt = rates.output
    # The hop site indices refer to the bulk the migration workflow relaxed: the same relaxation again,
    # reused from the store (same structure, calculator and settings), gives the cell transport needs.
    bulk = structure
    if migration_maker.bulk_relax_maker is not None:
        relax = replace(migration_maker.bulk_relax_maker, calculator=migration_maker.spec, label=label,
                        stand_in=stand_in).make(structure)
        relax.name = f"transport bulk {key}"
        jobs.append(relax)
        bulk = relax.output.structure
    notes: tuple[str, ...] = (NU_STAR_SWITCHED_OFF,) if not nu_star else (
        (NU_STAR_SMALL_CELL,) if key in NU_STAR_MIN_LENGTH else ())
    if key == "NaCl":  # extrinsic (Etzel & Maurer) + thermal (the Schottky pair of the vacancy document)
        carriers = [{"kind": "extrinsic", "density_cm3": NACL_EXTRINSIC_CM3,
                     "source": "Etzel & Maurer (1950): impurity-fixed cation vacancies in pure NaCl"}]
    else:  # structural (the half-occupied Na site) + thermal (E_f of the vacancy document, μ from bcc Na)
        fraction, source = structural_carriers(sn)
        carriers = [{"kind": "structural", "site_fraction": fraction, "source": source}]
    maker = TransportMaker(name=f"transport {key}", label=label, stand_in=stand_in, carriers=carriers,
                           notes=notes, **more.get("transport", {}))
    jobs.append(maker.make(bulk, migration.output, vacancy=vacancy.output, attempt_frequencies=attempt))
    return jobs
