"""The seed paper's computational study as one jobflow graph (../shared/reference/paper.md).

For Na7Sn12 (or its labelled stand-in when COD 4314129 cannot be reached), NaCl and bcc Na:
relaxed bulks, Na-vacancy formation energies, Na-vacancy CI-NEB barriers and elastic tensors with
Young's moduli and stress–strain curves. Loaded by `atomflow run paper`; every setting below is
the paper's unless a comment says why not.
"""

from __future__ import annotations

from jobflow import Flow

from atomflow.elastic import ElasticMaker
from atomflow.neb import MigrationMaker
from atomflow.run_settings import SUPERCELL_MIN_LENGTH
from atomflow.structures.builders import bcc_na, na7sn12, rocksalt_nacl
from atomflow.vacancy import VacancyFormationMaker

#: The paper's six Na7Sn12 paths (1→2, 2→3, 3→1′, 4→5, 5→6, 6→4′) as (site_a, site_b, image, name) in the
#: ordered 152-atom cell. The paper numbers Na sites along the chains that run along x; mapping its numbers to
#: indices needs the real CIF, which these machines cannot reach. Fill this in with the CIF at hand; until then
#: the study computes every symmetry-distinct hop up to the cutoff, and the report says why the six are missing.
PAPER_PATHS: list[tuple[int, int, tuple[int, int, int], str]] = []

#: Supercells: shortest periodic image ≥ 10 Å (the paper's Na7Sn12 cell, 152 atoms, has 9.3 Å along b ×2 = 18.7 Å).
MIN_LENGTH = SUPERCELL_MIN_LENGTH


def make_flow(calculator: str | None = None) -> Flow:
    sn = na7sn12()
    phases = [
        ("NaCl", rocksalt_nacl(), "NaCl rock salt", False),
        ("Na", bcc_na(), "bcc Na", False),
        ("Na7Sn12", sn.structure, sn.label, sn.stand_in),
    ]
    jobs = []
    for key, structure, label, stand_in in phases:
        common = {"calculator": calculator, "label": label, "stand_in": stand_in}
        # Elastic tensor + the uniaxial stress–strain curve along x (the paper's Fig. 2F).
        jobs.append(ElasticMaker(name=f"elastic {key}", stress_strain_directions=(0,), **common).make(structure))
        if key == "Na":
            continue  # the paper computes only the elastic properties of Na metal
        # Na-vacancy formation energy, μ_Na from bcc Na with the same calculator (the paper's E_f).
        jobs.append(VacancyFormationMaker(name=f"vacancy {key}", min_length=MIN_LENGTH, **common).make(structure))
        if key == "Na7Sn12":
            # The same defect cells against the calculator's own Na–Sn hull: the Na-rich/Na-poor range.
            # Its relaxations are reused from the job above (same structure, calculator and settings).
            jobs.append(VacancyFormationMaker(name=f"vacancy {key} (hull)", chempot="hull",
                                              min_length=MIN_LENGTH, **common).make(structure))
        hops = PAPER_PATHS if (key == "Na7Sn12" and PAPER_PATHS and not stand_in) else None
        jobs.append(MigrationMaker(name=f"migration {key}", hops=hops, supercell_min_length=MIN_LENGTH,
                                   **common).make(structure))
    return Flow(jobs, name="paper study")
