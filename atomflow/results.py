"""Query every result from Python: ``from atomflow import Results; r = Results()``.

>>> r = Results()                                  # the default store (settings)
>>> r.barriers(formula="NaCl")                     # MigrationDocument list
>>> r.elastic(calculator="sevennet").to_dataframe()  # one row per document
>>> r.query("vacancy")                             # any registered property by name (atomflow.properties)

Each registered property's ``accessor`` is a method here (``relaxations``, ``barriers``, ``vacancy_energies``,
``elastic``, …). Re-runs store reused results again under new job ids; queries return each result once (the newest).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from monty.json import MontyDecoder

from atomflow.errors import InputError
from atomflow.properties import get_property, property_by_accessor, registered_properties
from atomflow.store import open_store

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

        row = get_property(self.property).row
        return pd.DataFrame([row(doc) for doc in self.documents])


class Results:
    """Typed access to the documents in a results store (default: the settings' store)."""

    def __init__(self, store: Any = None) -> None:
        self.store = store if hasattr(store, "query") else open_store(store)

    # shortcuts: each registered property's accessor ---------------------------------------------
    def __getattr__(self, name: str) -> Callable[..., ResultList]:
        if name.startswith("_"):
            raise AttributeError(name)
        prop = property_by_accessor(name)
        if prop is None:
            raise AttributeError(f"Results has no attribute {name!r}; property accessors: "
                                 f"{', '.join(p.accessor for p in registered_properties() if p.accessor)}")

        def shortcut(**filters: Any) -> ResultList:
            return self.query(prop.name, **filters)

        shortcut.__name__ = name
        shortcut.__doc__ = f"{prop.title}: documents of property {prop.name!r} matching every filter (see query)."
        return shortcut

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *(p.accessor for p in registered_properties() if p.accessor)})

    # the general query -------------------------------------------------------------------------
    def query(self, property: str, formula: str | None = None, calculator: str | None = None,
              since: _dt.datetime | str | None = None, until: _dt.datetime | str | None = None,
              stand_in: bool | None = None, converged: bool | None = None) -> ResultList:
        """Documents of a registered ``property`` (relax, barrier, vacancy, elastic, …) matching every filter."""
        prop = get_property(property)
        criteria: dict[str, Any] = {"output.@class": prop.document.__name__}
        if formula is not None:
            formula = _reduced_formula(formula)
            criteria["output.formula"] = formula
        if calculator is not None:
            # the whole spec: name and parameters (another model of the same name is another calculator)
            from atomflow.calculators import CalculatorSpec

            spec = CalculatorSpec.parse(calculator)
            criteria["output.provenance.calculator.name"] = spec.name
            criteria["output.provenance.calculator.parameters"] = dict(spec.parameters)
        if converged is not None:
            criteria["output.converged"] = converged
        if stand_in is not None:
            criteria["output.provenance.stand_in"] = stand_in
        decoder = MontyDecoder()
        docs: dict[str, Any] = {}
        for raw in self.store.query(criteria, properties=["output", "completed_at"], load=True):
            doc = _decode(prop.document, raw["output"], decoder)
            created = _created(doc)
            if since is not None and created < _parse_time(since):
                continue
            if until is not None and created > _parse_time(until):
                continue
            identity = _identity(property, raw["output"])
            if identity not in docs or created > _created(docs[identity]):
                docs[identity] = doc
        if formula is not None and not docs and not self._formula_known(formula):
            known = sorted(self.formulas())
            raise InputError(f"No results for formula {formula!r}. Formulas in the store: "
                             f"{', '.join(known) or 'none (run a workflow first)'}.")
        ordered = sorted(docs.values(), key=_created, reverse=True)
        return ResultList(property, ordered)

    def formulas(self) -> set[str]:
        return {f for f in self.store.distinct("output.formula") if f}

    def _formula_known(self, formula: str) -> bool:
        return formula in self.formulas()


def _decode(document: type, output: dict[str, Any], decoder: MontyDecoder) -> Any:
    """The stored output as its document class (also when ``@module`` cannot be imported by name)."""
    doc = decoder.process_decoded(output)
    if isinstance(doc, document):
        return doc
    fields = {k: v for k, v in (doc if isinstance(doc, dict) else output).items() if not k.startswith("@")}
    return document.model_validate(decoder.process_decoded(fields))


def _identity(property: str, output: dict[str, Any]) -> str:
    """Same result computed again (a re-run, a resumed or concurrent run, a resubmission) → same identity.

    A result is what its physical inputs make it: the structure, the calculator and its parameters, the
    settings. Job ids are not inputs (an elastic document records the ids of its strained cells, new ones
    on every run), so every key naming one is left out; newest wins.
    """
    if output.get("cache_key"):
        return output["cache_key"]
    prov = output.get("provenance", {})
    payload = {"p": property, "f": output.get("formula"), "calc": prov.get("calculator", {}).get("name"),
               "params": prov.get("calculator", {}).get("parameters"),
               "settings": _without_job_ids(prov.get("settings")), "label": prov.get("structure_label"),
               "stand_in": prov.get("stand_in"), "name": output.get("name"),
               "structure": _structure_identity(output.get("structure"))}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _without_job_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_job_ids(v) for k, v in value.items() if "uuid" not in str(k).lower()}
    if isinstance(value, list):
        return [_without_job_ids(v) for v in value]
    return value


def _structure_identity(structure: Any) -> Any:
    """Lattice and sites of a stored structure, rounded so that float noise does not split one result."""
    if not isinstance(structure, dict) or "lattice" not in structure:
        return None
    lattice = [[round(float(x), 5) for x in row] for row in structure["lattice"].get("matrix", [])]
    sites = [(site.get("label"), [round(float(x), 4) % 1.0 for x in site.get("abc", [])])
             for site in structure.get("sites", [])]
    return [lattice, sites]


def _reduced_formula(formula: str) -> str:
    from pymatgen.core import Composition

    try:
        return Composition(formula).reduced_formula
    except Exception as exc:
        raise InputError(f"{formula!r} is not a chemical formula (e.g. 'NaCl', 'Na7Sn12').") from exc


def _created(doc: Any) -> _dt.datetime:
    """When a document was made (its provenance); documents without one sort as oldest."""
    created = getattr(getattr(doc, "provenance", None), "created_at", None)
    return _aware(created) if isinstance(created, _dt.datetime) else _dt.datetime.min.replace(tzinfo=_dt.timezone.utc)


def _aware(t: _dt.datetime) -> _dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


def _parse_time(t: _dt.datetime | str) -> _dt.datetime:
    if isinstance(t, str):
        try:
            t = _dt.datetime.fromisoformat(t)
        except ValueError as exc:
            raise InputError(f"Dates are ISO format, e.g. 2026-11-22 or 2026-11-22T10:00, got {t!r}.") from exc
    return _aware(t)
