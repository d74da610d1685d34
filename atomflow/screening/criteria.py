"""The screening's reference numbers and criteria, each with its source (../shared/reference/transport.md).

Nothing here is computed; a number without a known source is not written down (the report says "none known").
"""

from __future__ import annotations

#: Monroe & Newman, J. Electrochem. Soc. 152, A396 (2005): a solid interphase whose shear modulus exceeds about
#: twice the metal's suppresses dendrites (derived for Li, applied to Na by analogy; transport.md).
MONROE_NEWMAN_RATIO = 2.0
MONROE_NEWMAN_SOURCE = "Monroe & Newman, J. Electrochem. Soc. 152, A396 (2005), for Li, applied to Na by analogy"

#: Pugh, Philos. Mag. 45, 823 (1954): B/G above about 1.75 ductile, below brittle (an empirical rule for metals).
PUGH_RATIO = 1.75
PUGH_SOURCE = "Pugh, Philos. Mag. 45, 823 (1954), empirical rule for metals"

#: Na metal's G_VRH from the literature (transport.md): the criterion in GPa, beside our own G_Na.
NA_SHEAR_MODULUS = "G_VRH ≈ 2.5–3.3 GPa (depending on source and average; transport.md)"

#: Measured values per phase (reduced formula): (quantity, value, source). Only those transport.md gives.
REFERENCES: dict[str, list[tuple[str, str, str]]] = {
    "NaCl": [
        ("cation-vacancy migration enthalpy", "0.80 ± 0.02 eV", "Dreyfus & Nowick, J. Appl. Phys. 33, 473 (1962)"),
        ("Schottky pair formation enthalpy", "2.12 ± 0.06 eV", "Dreyfus & Nowick (1962)"),
        ("σ(300 K) by impurity-fixed vacancies (1e17 cm⁻³)", "~1e-14 S/cm",
         "estimate from the Dreyfus–Nowick rate (transport.md), not a measurement"),
    ],
    "Na3SbS4": [
        ("ionic conductivity, pellet, 25 °C", "3.11e-4 S/cm", "seed 004, lines 154–156 (transport.md)"),
        ("activation energy, pellet", "0.21 eV", "seed 004, lines 154–156 (transport.md)"),
    ],
    "Na": [("shear modulus", "G_VRH ≈ 2.5–3.3 GPa depending on source and average",
            "transport.md; the PBE C_ij of paper.md give G_Hill 2.7 GPa")],
}
#: Na–Sn alloy interphases (any Na_xSn_y): the seed's one room-temperature value, with its caution.
NA_SN_REFERENCE = ("ionic conductivity of the Na–Sn alloy interphase (Na1.17Sn2 with a thin NaCl top layer), RT",
                   "≈ 0.22 mS/cm", "seed 001, line 256 (transport.md); a metallic composite layer: may include "
                   "electronic paths and grain boundaries")

#: Where a single-vacancy hop is not how the phase conducts (said beside its barrier).
MECHANISM: dict[str, str] = {
    "Na3SbS4": ("not the conduction mechanism: Na3SbS4 conducts as a superionic solid (issue 15; measured E_a "
                "0.21 eV, σ 3.11e-4 S/cm at 25 °C, seed 004 in transport.md) — a single-vacancy hop in the "
                "ideal ordered cell is not that"),
    "NaCl": ("vacancy hops are the mechanism, but at 300 K the vacancies are impurity-fixed (extrinsic; Etzel & "
             "Maurer, J. Chem. Phys. 18, 1003 (1950)), not thermal Schottky pairs"),
}
NA_SN_MECHANISM = ("metallic alloy: a measured 'ionic conductivity' of such a layer may include electronic paths "
                   "(transport.md)")


def references(formula: str) -> list[tuple[str, str, str]]:
    """(quantity, value, source) known for the phase ``formula``; [] when none is known here."""
    out = list(REFERENCES.get(formula, []))
    if _is_na_sn(formula):
        out.append(NA_SN_REFERENCE)
    return out


def mechanism_note(formula: str) -> str | None:
    """Why a vacancy-hop barrier is not (only) how ``formula`` conducts, or None."""
    if formula in MECHANISM:
        return MECHANISM[formula]
    return NA_SN_MECHANISM if _is_na_sn(formula) else None


def _is_na_sn(formula: str) -> bool:
    from pymatgen.core import Composition

    try:
        return {e.symbol for e in Composition(formula).elements} == {"Na", "Sn"}
    except Exception:  # not a formula
        return False
