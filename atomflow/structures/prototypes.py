"""Prototype structures of the Na-anode interphase screening: structure type + experimental lattice parameter.

Each phase is built by :func:`pymatgen.core.Structure.from_spacegroup` from its space group, its Wyckoff
positions and an EXPERIMENTAL room-temperature lattice parameter, with the source beside the number (and in
``structures/PROVENANCE.md``, which also says where a value is uncertain). They are starting points: relax
them with the calculator in use and compare the relaxed lattice with :attr:`Prototype.a` / :attr:`Prototype.c`.

>>> from atomflow.structures.prototypes import prototype, PROTOTYPES
>>> nacl = prototype("NaCl")          # LabelledStructure, conventional cell (Na4Cl4), a = 5.640 Å
>>> PROTOTYPES["Na3Sb"].c             # 9.496 Å
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pymatgen.core import Lattice, Structure

from atomflow.errors import InputError
from atomflow.structures.labelled import LabelledStructure
from atomflow.structures.validate import validate_structure


@dataclass(frozen=True)
class Prototype:
    """One phase: its structure type, space group, Wyckoff sites and experimental lattice parameter(s).

    Attributes:
        formula: reduced formula, e.g. ``"Na2O"``.
        structure_type: e.g. ``"anti-fluorite (C1)"``.
        space_group: Hermann–Mauguin symbol (pymatgen/spglib spelling), e.g. ``"Fm-3m"``; ``number`` its ITA no.
        sites: (element, fractional coordinates of one representative of the Wyckoff orbit, Wyckoff letter).
        a, c: experimental lattice parameters in Å (c None for cubic), room temperature unless ``note`` says.
        source: where a (and c, and any free coordinate) come from.
        note: caveats (a metastable phase, an estimated coordinate, an uncertain digit).
    """

    formula: str
    structure_type: str
    space_group: str
    number: int
    sites: tuple[tuple[str, tuple[float, float, float], str], ...]
    a: float
    source: str
    c: float | None = None
    note: str = ""
    lattice_kind: str = field(default="cubic")  # "cubic" or "hexagonal"

    def build(self, a: float | None = None, c: float | None = None) -> LabelledStructure:
        """The conventional cell at the experimental (or the given) lattice parameters, in Å, validated."""
        a = self.a if a is None else float(a)
        c = (self.c if c is None else float(c)) if self.lattice_kind == "hexagonal" else None
        if not a > 0 or (c is not None and not c > 0):
            raise InputError(f"{self.formula}: lattice parameters must be positive (Å), got a={a}, c={c}.")
        lattice = Lattice.hexagonal(a, c) if c is not None else Lattice.cubic(a)
        species = [s for s, _, _ in self.sites]
        coords = [list(x) for _, x, _ in self.sites]
        structure = Structure.from_spacegroup(self.space_group, lattice, species, coords)
        validate_structure(structure, expected_formula=self.formula)
        cell = f"a = {a:.4g} Å" + (f", c = {c:.4g} Å" if c is not None else "")
        return LabelledStructure(
            structure=structure,
            label=f"{self.formula} ({self.structure_type}, {self.space_group})",
            source=f"built: {self.structure_type}, {self.space_group}, {cell}; experimental lattice: {self.source}",
            stand_in=False,
            note=self.note,
        )


_O = (0.0, 0.0, 0.0)
_HALF = (0.5, 0.5, 0.5)


def _rocksalt(cation: str, anion: str, a: float, source: str, note: str = "") -> Prototype:
    return Prototype(f"{cation}{anion}", "rock salt (B1)", "Fm-3m", 225,
                     ((cation, _O, "4a"), (anion, _HALF, "4b")), a, source, note=note)


def _antifluorite(cation: str, anion: str, a: float, source: str, note: str = "") -> Prototype:
    return Prototype(f"{cation}2{anion}", "anti-fluorite (C1)", "Fm-3m", 225,
                     ((anion, _O, "4a"), (cation, (0.25, 0.25, 0.25), "8c")), a, source, note=note)


#: The screening study's phases (issue 15). Numbers: experimental, room temperature; sources in PROVENANCE.md.
PROTOTYPES: dict[str, Prototype] = {
    "Na": Prototype("Na", "bcc (A2)", "Im-3m", 229, (("Na", _O, "2a"),), 4.29,
                    "reference/paper.md (exp, RT), the value usually quoted from Barrett, Acta Cryst. 9, 671 (1956)",
                    note="the metal reference (anode); primary source not checked here"),
    "NaCl": _rocksalt("Na", "Cl", 5.6402, "Swanson & Fuyat, NBS Circular 539 vol. II (1953), 26 °C"),
    "NaF": _rocksalt("Na", "F", 4.633, "Swanson & Tatge, NBS Circular 539 vol. I (1953), 25 °C",
                     note="third decimal uncertain: 4.62–4.634 Å are quoted (see PROVENANCE.md)"),
    "NaBr": _rocksalt("Na", "Br", 5.9772, "Swanson, Gilfrich & Cook, NBS Circular 539 vol. III (1954), 26 °C"),
    "NaI": _rocksalt("Na", "I", 6.473, "Swanson et al., NBS Circular 539 vol. IV (1955), 25 °C"),
    "Na2O": _antifluorite("Na", "O", 5.55, "Zintl, Harder & Dauth, Z. Elektrochem. 40, 588 (1934)",
                          note="only 3 significant digits in the source"),
    "Na2S": _antifluorite("Na", "S", 6.54, "Zintl, Harder & Dauth, Z. Elektrochem. 40, 588 (1934)",
                          note="6.526–6.54 Å are quoted; second decimal uncertain (see PROVENANCE.md)"),
    "Na3N": Prototype("Na3N", "anti-ReO3 (D0_9)", "Pm-3m", 221, (("N", _O, "1a"), ("Na", (0.5, 0.0, 0.0), "3d")),
                      4.7325, "Fischer & Jansen, Angew. Chem. Int. Ed. 41, 1755 (2002), room temperature",
                      note="metastable: decomposes to Na + N2 above about 360 K (same source)"),
    "Na3Sb": Prototype("Na3Sb", "Na3As (D0_18)", "P6_3/mmc", 194,
                       (("Sb", (1 / 3, 2 / 3, 0.25), "2c"), ("Na", (0.0, 0.0, 0.25), "2b"),
                        ("Na", (1 / 3, 2 / 3, 0.5827), "4f")),
                       5.355, "Brauer & Zintl, Z. Phys. Chem. B 37, 323 (1937)", c=9.496,
                       lattice_kind="hexagonal",
                       note="z(Na 4f) = 0.5827 is the Na3As-type value, not a refinement of Na3Sb; a and c "
                            "differ by ≈0.5 % between sources (see PROVENANCE.md)"),
    "Na3SbS4": Prototype("Na3SbS4", "cubic Na3PS4 (Tl3VS4 type)", "I-43m", 217,
                         (("Sb", _O, "2a"), ("S", (0.188, 0.188, 0.188), "8c"), ("Na", (0.0, 0.5, 0.5), "6b")),
                         7.15, "cubic Na3SbS4 cells of a ≈ 7.14–7.16 Å in the electrolyte literature (e.g. Wang et "
                               "al., Angew. Chem. Int. Ed. 55, 8551 (2016)); source and temperature not verified",
                         note="uncertain: a to ±0.01 Å; x(S 8c) = 0.188 is an estimate from an Sb–S bond of "
                              "2.33 Å, not a refined value; the tetragonal P-42_1c form is the RT ground state"),
}


def prototype(formula: str, a: float | None = None, c: float | None = None) -> LabelledStructure:
    """The phase ``formula`` (a key of :data:`PROTOTYPES`) at the experimental or the given lattice, Å."""
    if formula not in PROTOTYPES:
        raise InputError(f"No prototype {formula!r}; known: {', '.join(PROTOTYPES)}.")
    return PROTOTYPES[formula].build(a=a, c=c)


def interphase_prototypes() -> list[LabelledStructure]:
    """Every phase of :data:`PROTOTYPES` (bcc Na first), built at its experimental lattice."""
    return [p.build() for p in PROTOTYPES.values()]
