"""The seed paper's numbers and the reference values around them, with their sources.

Source of everything here: ../shared/reference/paper.md, which summarises
"An artificial metal-alloy interphase for high-rate and long-life sodium–sulfur batteries" (VASP/PBE) and the
experimental / Materials Project values cited beside it. The report puts atomflow's numbers next to these.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    """One comparison row: the paper's value and an independent reference (experiment or MP-PBE)."""

    key: str
    quantity: str
    unit: str
    paper: float | None
    reference: float | None = None
    reference_source: str = ""
    note: str = ""


PAPER = "paper, VASP/PBE"

#: Young's moduli. The paper does not say which average it used; for Na its 10.9 GPa matches a Voigt-type
#: average of the PBE C_ij (E_V ≈ 10.0, E_H ≈ 7.2, E_R ≈ 4.2 GPa).
YOUNGS = {
    "Na7Sn12": Reference("E_Na7Sn12", "Young's modulus Na1.17Sn2 (Na7Sn12)", "GPa", 21.2),
    "NaCl": Reference("E_NaCl", "Young's modulus NaCl", "GPa", 37.6, 36.9,
                      "exp. C_ij at RT → E_VRH (MP-PBE: 35.7)"),
    "Na": Reference("E_Na", "Young's modulus Na metal", "GPa", 10.9, 10.0,
                    "PBE C_ij → E_Voigt (E_Hill 7.2, E_Reuss 4.2)"),
}

#: Na-vacancy migration barriers (CI-NEB, 5 images, k = 5 eV/Å², fmax 0.01 eV/Å).
BARRIERS = {
    "NaCl": Reference("Eb_NaCl", "Na barrier in NaCl", "eV", 0.64, 0.80,
                      "exp. Na+ vacancy migration enthalpy 0.80–0.85 eV"),
    "Na7Sn12 1->2": Reference("Eb_12", "Na7Sn12 path 1→2", "eV", 0.72),
    "Na7Sn12 2->3": Reference("Eb_23", "Na7Sn12 path 2→3", "eV", 0.69),
    "Na7Sn12 3->1'": Reference("Eb_31", "Na7Sn12 path 3→1′", "eV", 0.46),
    "Na7Sn12 4->5": Reference("Eb_45", "Na7Sn12 path 4→5", "eV", 0.83),
    "Na7Sn12 5->6": Reference("Eb_56", "Na7Sn12 path 5→6", "eV", 0.72),
    "Na7Sn12 6->4'": Reference("Eb_64", "Na7Sn12 path 6→4′ (next to the intrinsic vacancy)", "eV", 0.11),
    "Na": Reference("Eb_Na", "Na barrier in bcc Na (not in the paper)", "eV", None, 0.05,
                    "DFT/exp. ~0.03–0.1 eV"),
}

#: Na-vacancy formation energy, E_f = E_d + n·μ − E_p.
VACANCY = {
    "Na7Sn12": Reference("Ef_Na7Sn12", "Na vacancy formation energy Na1.17Sn2", "eV", 1.1),
    "NaCl": Reference("Ef_NaCl_Schottky", "NaCl Schottky pair formation (not in the paper)", "eV", None, 2.1,
                      "exp. Schottky pair formation 2.1 eV"),
    "Na": Reference("Ef_Na", "Na vacancy formation in bcc Na (not in the paper)", "eV", None, 0.42,
                    "exp. 0.42 eV (DFT 0.36 eV)"),
}

#: Lattice constants (Å) for the relaxed bulks.
LATTICE = {
    "NaCl": Reference("a_NaCl", "NaCl lattice constant", "Å", None, 5.640, "exp. 25 °C (MP-PBE 5.692)"),
    "Na": Reference("a_Na", "bcc Na lattice constant", "Å", None, 4.29, "exp. RT (PBE ≈ 4.20)"),
}

#: Elastic constants C11/C12/C44 (GPa) for the cubic phases.
ELASTIC_CONSTANTS = {
    "NaCl": ((49.1, 12.8, 12.8), "exp. RT (57.3/11.2/13.3 at 4 K)"),
    "Na": ((8.36, 6.97, 6.08), "PBE (exp. 8.21/6.83/5.77)"),
}

#: What is known about universal ML potentials on these properties (paper.md, last section).
MLIP_CONTEXT = (
    "Universal MLIPs trained on PBE data soften the potential energy surface: barriers, defect energies and "
    "elastic moduli tend to come out low (Deng et al., npj Comput. Mater. 11, 9 (2025)). Vacancy formation "
    "energies vs DFT: mean absolute error 0.7 eV (SevenNet-0) to 1.3 eV (M3GNet), CHGNet 1.1 eV, mostly "
    "under-predicted. Migration barriers (MACE NEB vs DFT, 616 battery hops): MAE 0.36 eV, median 0.16 eV "
    "(Na subset median 0.11 eV). Elastic moduli: SevenNet best, CHGNet weakest among common universal models."
)
