"""Prototype structures of the Na-anode interphase screening: structure type + experimental lattice parameter.

Each phase is built by :func:`pymatgen.core.Structure.from_spacegroup` from its space group, its Wyckoff
positions and an EXPERIMENTAL lattice parameter (and free coordinate, where the type has one), with the source
beside the number: :attr:`Prototype.source` names the primary source, :attr:`Prototype.found_in` where it was
read, :attr:`Prototype.temperature_K` the temperature of the measurement where the source states one. A value
no source could be found for is kept, flagged :attr:`Prototype.verified` ``False`` and its ``source`` begins
with ``"UNVERIFIED"``. ``structures/PROVENANCE.md`` quotes each source and gives competing values. They are
starting points: relax them with the calculator in use and compare the relaxed lattice with
:attr:`Prototype.a` / :attr:`Prototype.c`.

>>> from atomflow.structures.prototypes import prototype, PROTOTYPES
>>> nacl = prototype("NaCl")          # LabelledStructure, conventional cell (Na4Cl4), a = 5.6401 Å
>>> PROTOTYPES["Na3SbS4"].a           # 7.17 Å (Graf & Schäfer 1976)
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
        sites: (element, fractional coordinates of one representative of the Wyckoff orbit, Wyckoff letter);
            free coordinates (x of S 8c in Na3SbS4, z of Na 4f in Na3Sb) are the source's where it gives them.
        a, c: experimental lattice parameters in Å (c None for cubic).
        source: the primary source of a (and c, and any free coordinate): authors, journal, year; begins with
            ``"UNVERIFIED"`` where none could be found (then ``verified`` is False and ``note`` says why).
        note: caveats (a metastable phase, an uncertain digit, a competing value).
        lattice_kind: ``"cubic"`` or ``"hexagonal"``.
        temperature_K: temperature of the measurement in K where the source states it, else None.
        verified: True when the value was read in a source (``found_in``) by the check that PROVENANCE.md
            records.
        found_in: where the source (or the value) was read: database entry, file, page.
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
    temperature_K: float | None = None
    verified: bool = True
    found_in: str = ""

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
        cell = f"a = {a:.5g} Å" + (f", c = {c:.5g} Å" if c is not None else "")
        at = f" at {self.temperature_K:g} K" if self.temperature_K is not None else ""
        return LabelledStructure(
            structure=structure,
            label=f"{self.formula} ({self.structure_type}, {self.space_group})",
            source=f"built: {self.structure_type}, {self.space_group}, {cell}; experimental lattice{at}: "
                   f"{self.source}",
            stand_in=False,
            note=self.note,
        )


_O = (0.0, 0.0, 0.0)
_HALF = (0.5, 0.5, 0.5)


def _rocksalt(cation: str, anion: str, a: float, source: str, **kw) -> Prototype:
    return Prototype(f"{cation}{anion}", "rock salt (B1)", "Fm-3m", 225,
                     ((cation, _O, "4a"), (anion, _HALF, "4b")), a, source, **kw)


def _antifluorite(cation: str, anion: str, a: float, source: str, **kw) -> Prototype:
    return Prototype(f"{cation}2{anion}", "anti-fluorite (C1)", "Fm-3m", 225,
                     ((anion, _O, "4a"), (cation, (0.25, 0.25, 0.25), "8c")), a, source, **kw)


#: The screening study's phases (issue 15). Each number's source, where it was read and the competing values
#: are in ``structures/PROVENANCE.md`` (checked 2026-12-01 against the sources named in ``found_in``).
PROTOTYPES: dict[str, Prototype] = {
    "Na": Prototype(
        "Na", "bcc (A2)", "Im-3m", 229, (("Na", _O, "2a"),), 4.2906,
        "Aruja & Perlitz, Z. Kristallogr. 100, 195 (1939); the same 4.2906 Å in Wyckoff, Crystal Structures "
        "vol. 1 (1963)",
        found_in="WebElements 'Sodium: crystal structure' (a = 429.06 pm, citing Aruja & Perlitz 1939); "
                 "AMCSD 0011223 (Wyckoff 1963) as converted in mctools/ncrystal data/Na_sg229.ncmat",
        note="the metal reference (anode); temperature not stated by either source (bcc is the stable "
             "form at 298 K); reference/paper.md quotes 4.29 Å (exp, RT)"),
    "NaCl": _rocksalt(
        "Na", "Cl", 5.6401,
        "Walker, Verma, Cranswick, Jones, Clark & Buhre, Am. Mineral. 89, 204-210 (2004), sample msl416031, "
        "25 °C, 0 kbar",
        temperature_K=298.15,
        found_in="COD 9003308 as converted in mctools/ncrystal data/NaCl_sg225_SodiumChloride.ncmat; "
                 "the AFLOW rock-salt prototype page cites the same paper",
        note="other values read: 5.6404(1) Å (halite infobox, Wikipedia mirrors), 5.6402 Å (ilpi.com, "
             "no source)"),
    "NaF": _rocksalt(
        "Na", "F", 4.633,
        "J. Appl. Cryst. (2025), 'An extended thermal pressure equation of state for sodium fluoride' "
        "(corresponding authors R. J. Angel, S. Parsons), V0 = 14.9724(5) cm3/mol at 295 K and 0 GPa",
        temperature_K=295.0,
        found_in="abstract at journals.iucr.org/j/issues/2025/01/00/oc5042; a = (4 V0 / N_A)^(1/3) "
                 "= 4.6330 Å computed here from V0",
        note="derived from the molar volume, not quoted as a; other values read: 4.62 Å (Wyckoff 1963, "
             "COD 9008679), 4.631 Å (it.wikipedia villiaumite), 4.6726 Å at 254 °C (Deshpande, "
             "Acta Cryst. 14, 794 (1961), WWW-MINCRYST)"),
    "NaBr": _rocksalt(
        "Na", "Br", 5.9772,
        "Great Russian Encyclopedia, article 'Бромид натрия' (a = 0.59772 nm, Fm3m); its primary source "
        "is not named (secondary source, undated)",
        found_in="bigenc.ru/c/bromid-natriia-df13f4",
        note="primary source and temperature not identified; the earlier attribution to NBS Circular 539 "
             "(1954) was from memory and is not verified"),
    "NaI": _rocksalt(
        "Na", "I", 6.4728,
        "Wyckoff, Crystal Structures, 2nd ed., vol. 1 (Interscience, 1963), rock-salt structure",
        found_in="COD 9008681 as converted in mctools/ncrystal data/NaI_sg225_SodiumIodide.ncmat",
        note="temperature not stated in the source as read; the earlier 6.473 Å agrees"),
    "Na2O": _antifluorite(
        "Na", "O", 5.55,
        "UNVERIFIED: no experimental source found; value kept from the earlier version, which cited Zintl, "
        "Harder & Dauth, Z. Elektrochem. 40, 588 (1934) from memory",
        verified=False,
        note="unverified: no page, CIF or database entry with an experimental Na2O lattice parameter was "
             "reachable (see PROVENANCE.md); 3 significant digits"),
    "Na2S": _antifluorite(
        "Na", "S", 6.54,
        "UNVERIFIED: no experimental source found; value kept from the earlier version, which cited Zintl, "
        "Harder & Dauth, Z. Elektrochem. 40, 588 (1934) from memory",
        verified=False,
        note="unverified: the only number read is a trigonal setting of anti-fluorite Na2S, a = 4.61, "
             "c = 11.27 Å (A. Vegas, 'Inorganic 3D Structures' chapter, what-when-how.com copy), i.e. cubic "
             "a = 6.52 (from a) or 6.51 Å (from c), 0.3-0.5 % below 6.54 Å"),
    "Na3N": Prototype(
        "Na3N", "anti-ReO3 (D0_9)", "Pm-3m", 221, (("N", _O, "1a"), ("Na", (0.5, 0.0, 0.0), "3d")),
        4.7325, "Fischer & Jansen, Angew. Chem. Int. Ed. 41, 1755 (2002), crystallised at room temperature",
        found_in="grokipedia.com 'Sodium nitride' (a = 4.7325 Å, citing the 2002 synthesis); C&EN 80(20) "
                 "(2002) names the paper; en.wikipedia 'Sodium nitride': N-Na 236.6 pm, i.e. a = 4.732 Å",
        note="metastable: decomposes to Na + N2 near 360 K; a second value read, 4.73301(6) Å, from an "
             "abstract of a plasma-activated-N2 synthesis whose authors the page does not show"),
    "Na3Sb": Prototype(
        "Na3Sb", "Na3As (D0_18)", "P6_3/mmc", 194,
        (("Sb", (1 / 3, 2 / 3, 0.25), "2c"), ("Na", (0.0, 0.0, 0.25), "2b"),
         ("Na", (1 / 3, 2 / 3, 0.5827), "4f")),
        5.32, "en.wikipedia 'Sodium antimonide' (P6_3/mmc, a = 0.532 nm, c = 0.947 nm, Z = 2); its primary "
              "source is not identified (secondary source, undated)",
        c=9.47, lattice_kind="hexagonal",
        found_in="en.wikipedia.org/wiki/Sodium_antimonide",
        note="a and c to 3 digits only; z(Na 4f) = 0.5827 is UNVERIFIED (no Na3Sb refinement found); the "
             "earlier a = 5.355, c = 9.496 Å (Brauer & Zintl 1937, from memory) is unverified; Hafner (1994) "
             "argues the Na3As family is Cu3P-type P6_3cm (AFLOW prototype pages)"),
    "Na3SbS4": Prototype(
        "Na3SbS4", "cubic Na3PS4 (Tl3VS4 type)", "I-43m", 217,
        (("Sb", _O, "2a"), ("S", (0.187, 0.187, 0.187), "8c"), ("Na", (0.0, 0.5, 0.5), "6b")),
        7.17, "Graf & Schäfer, Z. Anorg. Allg. Chem. 425, 67-80 (1976), 'Zur Strukturchemie der Alkalisalze "
              "der Tetrathiosäuren der Elemente der 5. Hauptgruppe'; a = 7.17(1) Å, x(S 8c) = 0.187",
        found_in="ICSD 44707 as copied in caneparesearch/kMCpy tests/files/Na3SbS4_cubic.cif "
                 "(commit ddc97932ee26a390190ff4eeb3d0921db3ce71a4)",
        note="a to ±0.01 Å; temperature not stated; a tetragonal Na3SbS4 is also reported "
             "('Vacancy-Contained Tetragonal Na3SbS4 Superionic Conductor', Adv. Sci. 3, 1600089 (2016)); "
             "this is the cubic form the issue names"),
}


def prototype(formula: str, a: float | None = None, c: float | None = None) -> LabelledStructure:
    """The phase ``formula`` (a key of :data:`PROTOTYPES`) at the experimental or the given lattice, Å."""
    if formula not in PROTOTYPES:
        raise InputError(f"No prototype {formula!r}; known: {', '.join(PROTOTYPES)}.")
    return PROTOTYPES[formula].build(a=a, c=c)


def interphase_prototypes() -> list[LabelledStructure]:
    """Every phase of :data:`PROTOTYPES` (bcc Na first), built at its experimental lattice."""
    return [p.build() for p in PROTOTYPES.values()]
