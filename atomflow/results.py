"""Query every result from Python: ``from atomflow import Results; r = Results()``.

>>> r = Results()                                  # the default store (settings)
>>> r.barriers(formula="NaCl")                     # MigrationDocument list
>>> r.elastic(calculator="sevennet").to_dataframe()  # one row per document

Re-runs store reused results again under new job ids; queries return each result once (the newest).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from monty.json import MontyDecoder

from atomflow.errors import InputError
from atomflow.store import open_store

#: property name → (document class, row builder)
PROPERTIES: dict[str, str] = {
    "relax": "RelaxDocument",
    "barrier": "MigrationDocument",
    "vacancy": "VacancyDocument",
    "elastic": "ElasticDocument",
}


def _flag_text(doc: Any) -> str:
    flags = list(getattr(doc, "flags", []) or [])
    if getattr(doc, "converged", True) is False and "not converged" not in " ".join(flags):
        flags.insert(0, "NOT CONVERGED")
    if getattr(doc, "mechanically_stable", True) is False:
        flags.insert(0, "MECHANICALLY UNSTABLE")
    return "; ".join(flags)


def _common(doc: Any) -> dict[str, Any]:
    prov = doc.provenance
    return {
        "formula": doc.formula,
        "calculator": prov.calculator.get("name"),
        "model": prov.calculator.get("model"),
        "structure": prov.structure_label,
        "stand_in": prov.stand_in,
        "converged": getattr(doc, "converged", None),
        "flags": _flag_text(doc),
        "created_at": prov.created_at,
    }


def _relax_row(doc: Any) -> dict[str, Any]:
    lat = doc.structure.lattice
    return {**_common(doc), "energy_per_atom_eV": doc.energy_per_atom, "a_A": lat.a, "b_A": lat.b, "c_A": lat.c,
            "max_stress_GPa": max(map(abs, doc.stress_gpa)), "relax_cell": doc.relax_cell}


def _barrier_row(doc: Any) -> dict[str, Any]:
    return {**_common(doc), "hop": doc.name, "hop_length_A": doc.hop_length,
            "forward_barrier_eV": doc.forward_barrier, "reverse_barrier_eV": doc.reverse_barrier,
            "delta_e_eV": doc.delta_e, "n_force_calls": doc.n_force_calls}


def _elastic_row(doc: Any) -> dict[str, Any]:
    c = doc.elastic_tensor_gpa
    return {**_common(doc), "C11_GPa": c[0][0], "C12_GPa": c[0][1], "C44_GPa": c[3][3],
            "K_VRH_GPa": doc.k_vrh, "G_VRH_GPa": doc.g_vrh, "E_voigt_GPa": doc.youngs_modulus_voigt,
            "E_reuss_GPa": doc.youngs_modulus_reuss, "E_hill_GPa": doc.youngs_modulus_hill,
            "mechanically_stable": doc.mechanically_stable}


def _vacancy_row(doc: Any) -> dict[str, Any]:
    lo, hi = doc.e_f_range or (None, None)
    return {**_common(doc), "species": doc.species, "n_sites": len(doc.sites), "E_f_min_eV": doc.e_f_min,
            "mu_eV": doc.mu, "mu_source": doc.mu_source, "E_f_range_eV": (lo, hi) if doc.e_f_range else None,
            "E_schottky_eV": doc.schottky.e_schottky if doc.schottky else None, "n_atoms": doc.n_atoms}


ROWS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "relax": _relax_row, "barrier": _barrier_row, "elastic": _elastic_row, "vacancy": _vacancy_row,
}


@dataclass
class ResultList:
    """Documents of one property, newest first, with a DataFrame view."""

    property: str
    documents: list[Any]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def __getitem__(self, i: int) -> Any:
        return self.documents[i]

    def to_dataframe(self):
        import pandas as pd

        return pd.DataFrame([ROWS[self.property](doc) for doc in self.documents])


class Results:
    """Typed access to the documents in a results store (default: the settings' store)."""

    def __init__(self, store: Any = None) -> None:
        self.store = store if hasattr(store, "query") else open_store(store)

    # typed shortcuts -------------------------------------------------------------------------
    def relaxations(self, **filters: Any) -> ResultList:
        return self.query("relax", **filters)

    def barriers(self, **filters: Any) -> ResultList:
        return self.query("barrier", **filters)

    def vacancy_energies(self, **filters: Any) -> ResultList:
        return self.query("vacancy", **filters)

    def elastic(self, **filters: Any) -> ResultList:
        return self.query("elastic", **filters)

    # the general query -------------------------------------------------------------------------
    def query(self, property: str, formula: str | None = None, calculator: str | None = None,
              since: _dt.datetime | str | None = None, until: _dt.datetime | str | None = None,
              stand_in: bool | None = None, converged: bool | None = None) -> ResultList:
        """Documents of ``property`` (relax, barrier, vacancy, elastic) matching every given filter."""
        if property not in PROPERTIES:
            raise InputError(f"Unknown property {property!r}. Choose one of: {', '.join(PROPERTIES)}.")
        criteria: dict[str, Any] = {"output.@class": PROPERTIES[property]}
        if formula is not None:
            formula = _reduced_formula(formula)
            criteria["output.formula"] = formula
        if calculator is not None:
            criteria["output.provenance.calculator.name"] = calculator.split(":")[0].lower()
        if converged is not None:
            criteria["output.converged"] = converged
        if stand_in is not None:
            criteria["output.provenance.stand_in"] = stand_in
        decoder = MontyDecoder()
        docs: dict[str, Any] = {}
        for raw in self.store.query(criteria, properties=["output", "completed_at"], load=True):
            doc = decoder.process_decoded(raw["output"])
            created = _aware(doc.provenance.created_at)
            if since is not None and created < _parse_time(since):
                continue
            if until is not None and created > _parse_time(until):
                continue
            identity = _identity(property, raw["output"])
            if identity not in docs or created > _aware(docs[identity].provenance.created_at):
                docs[identity] = doc
        if formula is not None and not docs and not self._formula_known(formula):
            known = sorted(self.formulas())
            raise InputError(f"No results for formula {formula!r}. Formulas in the store: "
                             f"{', '.join(known) or 'none (run a workflow first)'}.")
        ordered = sorted(docs.values(), key=lambda d: _aware(d.provenance.created_at), reverse=True)
        return ResultList(property, ordered)

    def formulas(self) -> set[str]:
        return {f for f in self.store.distinct("output.formula") if f}

    def _formula_known(self, formula: str) -> bool:
        return formula in self.formulas()


def _identity(property: str, output: dict[str, Any]) -> str:
    """Same result computed again (a re-run) → same identity; newest wins."""
    if output.get("cache_key"):
        return output["cache_key"]
    prov = output.get("provenance", {})
    payload = {"p": property, "f": output.get("formula"), "calc": prov.get("calculator", {}).get("name"),
               "params": prov.get("calculator", {}).get("parameters"), "settings": prov.get("settings"),
               "label": prov.get("structure_label"), "name": output.get("name")}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _reduced_formula(formula: str) -> str:
    from pymatgen.core import Composition

    try:
        return Composition(formula).reduced_formula
    except Exception as exc:
        raise InputError(f"{formula!r} is not a chemical formula (e.g. 'NaCl', 'Na7Sn12').") from exc


def _aware(t: _dt.datetime) -> _dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def _parse_time(t: _dt.datetime | str) -> _dt.datetime:
    if isinstance(t, str):
        try:
            t = _dt.datetime.fromisoformat(t)
        except ValueError as exc:
            raise InputError(f"Dates are ISO format, e.g. 2026-11-22 or 2026-11-22T10:00, got {t!r}.") from exc
    return _aware(t)
