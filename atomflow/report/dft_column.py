"""The report's DFT column: for each cell the store holds a DFT result of, ML potential vs atomflow's DFT vs
the paper, on the same cell (a registered :class:`~atomflow.properties.ReportSection`).

Documents are matched by structure label (``provenance.structure_label``): workflows/dft.py labels its small
cell once for every calculator, so the ML and DFT numbers of a row come from the same cell and workflow
settings (the row says whether the recorded settings agree; a seed is not a setting of the result: every
reported number of a seeded run is a DFT number). DFT = a calculator whose backend is DFT (GPAW, VASP);
ML = any other (SevenNet-0 first where several ran). Each value is the newest document of its kind; a flagged
or unconverged one is shown with its flags beside it, never as a plain number. The paper's values and the
independent references come from :mod:`atomflow.reference`.

:func:`dft_rows` is a pure function of the documents (tested without a calculator); :func:`dft_section`
writes the Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from atomflow.properties import (
    ReportContext,
    ReportSection,
    StudyContext,
    calculator_of,
    flag_list,
    register_section,
)
from atomflow.reference import BARRIERS, ELASTIC_CONSTANTS, VACANCY, Reference

#: the ML calculator shown first where several ran on one cell (atomflow's default potential)
PREFERRED_ML = "sevennet"
#: Na-vacancy formation energies with a reference, by host formula (NaCl's VACANCY entry is the Schottky pair)
_VACANCY_REF = {"Na": VACANCY["Na"], "Na7Sn12": VACANCY["Na7Sn12"]}
#: settings that do not change what a result means (a seed only changes where DFT starts); keys naming job
#: uuids (e.g. the elastic document's strained_relax_uuids) are run bookkeeping, also left out
_NOT_SETTINGS = {"seed"}


@dataclass(frozen=True)
class DFTRow:
    """One quantity on one cell: the ML value, atomflow's DFT value, the paper's and a reference."""

    quantity: str
    unit: str
    cell: str
    n_atoms: int | None
    min_image_distance: float | None  # Å
    ml: float | None
    ml_calculator: str | None
    ml_status: str
    dft: float | None
    dft_calculator: str
    dft_settings: str
    dft_seed: str
    dft_status: str
    paper: float | None
    reference: float | None
    reference_source: str
    same_settings: bool | None  # None: no ML document to compare


def _calc(doc: Any) -> dict[str, Any]:
    return getattr(doc.provenance, "calculator", None) or {}


def _is_dft(doc: Any) -> bool:
    from atomflow.calculators import is_dft
    from atomflow.errors import CalculatorError

    try:
        return is_dft(_calc(doc).get("name", ""))
    except CalculatorError:  # a document of a backend this installation does not know: not DFT as far as we know
        return False


def _label(doc: Any) -> str | None:
    return getattr(doc.provenance, "structure_label", None)


def _settings(doc: Any) -> dict[str, Any]:
    return {k: v for k, v in (doc.provenance.settings or {}).items()
            if k not in _NOT_SETTINGS and "uuid" not in k}


def _seed(doc: Any) -> str:
    seed = (doc.provenance.settings or {}).get("seed")
    return (seed.get("calculator") or {}).get("name", "?") if isinstance(seed, dict) else "none"


def _dft_settings(doc: Any) -> str:
    params = _calc(doc).get("parameters") or {}
    shown = [f"{k} {params[k]}" for k in ("ecut", "kpts", "kpt_density", "xc", "occupations") if k in params]
    return ", ".join(shown) or "backend defaults"


def _status(doc: Any | None) -> str:
    if doc is None:
        return "not run"
    flags = flag_list(doc)
    return "; ".join(flags) if flags else "converged"


def _value(doc: Any | None, get) -> float | None:
    if doc is None:
        return None
    try:
        value = get(doc)
    except (AttributeError, IndexError, TypeError):
        return None
    return None if value is None else float(value)


# quantity name → (unit, which documents, value getter, reference getter (formula → Reference | None))
def _c(i: int, j: int):
    return lambda d: d.elastic_tensor_gpa[i][j]


def _elastic_ref(k: int):
    def ref(formula: str) -> Reference | None:
        if formula not in ELASTIC_CONSTANTS:
            return None
        values, source = ELASTIC_CONSTANTS[formula]
        return Reference(f"C_{formula}_{k}", "", "GPa", None, values[k], source)
    return ref


QUANTITIES: dict[str, tuple[str, str, Any, Any]] = {
    "Na-vacancy barrier (CI-NEB)": ("eV", "barrier", lambda d: d.forward_barrier, BARRIERS.get),
    "Na-vacancy formation energy (neutral)": ("eV", "vacancy", lambda d: d.e_f_min, _VACANCY_REF.get),
    "Schottky pair": ("eV", "vacancy", lambda d: d.schottky.e_schottky,
                      lambda f: VACANCY["NaCl"] if f == "NaCl" else None),
    "C11": ("GPa", "elastic", _c(0, 0), _elastic_ref(0)),
    "C12": ("GPa", "elastic", _c(0, 1), _elastic_ref(1)),
    "C44": ("GPa", "elastic", _c(3, 3), _elastic_ref(2)),
}


def _cell_size(doc: Any) -> tuple[int | None, float | None]:
    n = getattr(doc, "n_atoms", None)
    d = getattr(doc, "min_image_distance", None)
    if n is None and getattr(doc, "structure", None) is not None:
        n = len(doc.structure)
    return n, d


def _pick_ml(docs: list[Any]) -> Any | None:
    for doc in docs:  # newest first
        if _calc(doc).get("name") == PREFERRED_ML:
            return doc
    return docs[0] if docs else None


def dft_rows(documents: dict[str, list[Any]]) -> list[DFTRow]:
    """The DFT column's rows from documents by property name ("barrier", "vacancy", "elastic"), newest first.

    One row per quantity and structure label that has a DFT document; the ML value is the newest ML document
    with the same label (SevenNet-0 preferred), None where there is none.
    """
    rows: list[DFTRow] = []
    for quantity, (unit, prop, get, ref_of) in QUANTITIES.items():
        docs = [d for d in documents.get(prop, []) if _label(d) and _value(d, get) is not None]
        for label in dict.fromkeys(_label(d) for d in docs if _is_dft(d)):
            same = [d for d in docs if _label(d) == label]
            dft = next(d for d in same if _is_dft(d))
            ml = _pick_ml([d for d in same if not _is_dft(d)])
            ref = ref_of(dft.formula)
            n, dist = _cell_size(dft)
            rows.append(DFTRow(
                quantity=quantity, unit=unit, cell=label, n_atoms=n, min_image_distance=dist,
                ml=_value(ml, get), ml_calculator=calculator_of(ml) if ml is not None else None,
                ml_status=_status(ml), dft=_value(dft, get), dft_calculator=_calc(dft).get("name", "?"),
                dft_settings=_dft_settings(dft), dft_seed=_seed(dft), dft_status=_status(dft),
                paper=ref.paper if ref else None, reference=ref.reference if ref else None,
                reference_source=ref.reference_source if ref else "",
                same_settings=None if ml is None else _settings(ml) == _settings(dft)))
    return rows


def _num(value: float | None, status: str, digits: int) -> str:
    if value is None:
        return "—"
    text = f"{value:.{digits}f}"
    return text if status == "converged" else f"{text} (flag: {status})"


def finite_size_note(rows: list[DFTRow], small: int = 100) -> str:
    """The caveat for defect rows on cells of fewer than ``small`` atoms ('' if none)."""
    defects = [r for r in rows if r.unit == "eV" and r.n_atoms is not None and r.n_atoms < small]
    if not defects:
        return ""
    cells = sorted({(r.cell, r.n_atoms, r.min_image_distance) for r in defects}, key=str)
    said = "; ".join(f"{c} ({n} atoms" + (f", periodic images {d:.1f} Å apart)" if d else ")")
                     for c, n, d in cells)
    return (f"**Finite-size caveat.** The defect rows come from a small cell — {said} — far from the "
            "dilute limit of the paper's cells: the vacancy (and the hopping ion) interact with their "
            "periodic images, elastically and electrostatically, so barrier and formation energies here can "
            "differ from the converged values by tenths of an eV. ML vs DFT on the same cell is the "
            "like-for-like comparison; DFT vs the paper mixes in this finite-size error (and the small "
            "cell's lower cutoff and k-mesh).")


def dft_section(study: StudyContext) -> str:
    rows = dft_rows({p: study.documents(p) for p in ("barrier", "vacancy", "elastic")})
    if not rows:
        return ""
    digits = {"eV": 3, "GPa": 1}
    table = [[r.quantity, r.unit, f"{r.cell} ({r.n_atoms} atoms)" if r.n_atoms else r.cell,
              _num(r.ml, r.ml_status, digits[r.unit]) + (f" ({r.ml_calculator})" if r.ml_calculator else ""),
              _num(r.dft, r.dft_status, digits[r.unit]),
              "—" if r.ml is None or r.dft is None else f"{r.ml - r.dft:+.{digits[r.unit]}f}",
              "—" if r.paper is None else f"{r.paper:g}",
              "—" if r.reference is None else f"{r.reference:g} ({r.reference_source})",
              f"{r.dft_calculator}: {r.dft_settings}; seed {r.dft_seed}",
              {True: "yes", False: "no", None: "—"}[r.same_settings]] for r in rows]
    header = ["quantity", "unit", "cell", "ML potential", "atomflow DFT", "ML − DFT", "paper (VASP/PBE)",
              "reference", "DFT provenance", "same settings"]
    text = ReportContext.table(header, table)
    intro = ("ML potential and atomflow's own DFT on the same cell with the same workflow settings, beside "
             "the paper. A seeded DFT result started from the ML geometry (the seed named in the provenance) "
             "and was converged with DFT to the same criteria: its number is a DFT number.")
    return "\n\n".join(t for t in (intro, text, finite_size_note(rows)) if t)


DFT_COLUMN = register_section(ReportSection(
    name="dft_column", title="atomflow's DFT beside the ML potential and the paper", section=dft_section))

__all__ = ["DFTRow", "DFT_COLUMN", "QUANTITIES", "dft_rows", "dft_section", "finite_size_note"]
