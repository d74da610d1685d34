"""The property registry: each property package declares, in one place, what the store holds for it.

A :class:`Property` names the pydantic document class a job outputs, its query name, one table row per document,
and (optionally) its report section and figures. ``Results``, ``atomflow query`` and ``atomflow report`` iterate
over what is registered; none of them names a property.

>>> from atomflow.properties import Property, register_property
>>> PHONONS = register_property(Property(name="phonons", document=PhononDocument, row=phonon_row,
...                                      title="Phonons", accessor="phonons", section=phonon_section))

Adding a property package = its ``property.py`` (imported by the package's ``__init__``) + one line in
:data:`PACKAGES`. Packages are imported on the first look-up, so ``import atomflow`` and ``atomflow --help`` stay fast.
"""

from __future__ import annotations

import importlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from atomflow.errors import InputError

#: Packages whose import registers their properties (each one's ``__init__`` imports its ``property`` module).
PACKAGES = (
    "atomflow.documents",  # relax
    "atomflow.elastic",  # elastic
    "atomflow.neb",  # barrier
    "atomflow.vacancy",  # vacancy
    "atomflow.phonons",  # phonons
    "atomflow.rates",  # attempt_frequency
    "atomflow.transport",  # transport
    "atomflow.screening",  # the interphase ranking (a report section over several properties)
    "atomflow.report.dft_column",  # ML vs atomflow's DFT vs the paper (a report section)
)


@dataclass(frozen=True)
class Property:
    """One queryable, reportable property."""

    name: str  # query name: "elastic", "barrier", "vacancy", "relax", later "phonons", "transport"
    document: type  # the pydantic document class (its class name is stored as output.@class)
    row: Callable[[Any], dict]  # one table row per document (columns incl. units in names, e.g. E_hill_GPa)
    title: str  # section heading in reports, e.g. "Elastic tensors"
    accessor: str | None = None  # Results().<accessor>(**filters), e.g. "elastic", "barriers", "phonons"
    section: Callable[[ReportContext], str] | None = None  # Markdown for the generic report (any store)
    figures: Callable[[ReportContext, Path], list[Path]] | None = None
    system_of: Callable[[Any], str] | None = None  # grouping key; default: structure label, else formula
    #: Markdown lines for the report's overview: what makes a system's other results suspect (e.g. a
    #: dynamically unstable bulk); empty when nothing does
    warnings: Callable[[ReportContext], list[str]] | None = None

    def system(self, doc: Any) -> str:
        return (self.system_of or default_system_of)(doc)


_REGISTRY: dict[str, Property] = {}
_loaded = False


def register_property(prop: Property) -> Property:
    """Make ``prop`` known to ``Results``, ``atomflow query`` and ``atomflow report``; returns it.

    Registering the same name again replaces the entry (a re-imported module); two names for one document class
    or one accessor for two properties are errors.
    """
    for other in _REGISTRY.values():
        if other.name == prop.name:
            continue
        if other.document.__name__ == prop.document.__name__:
            raise InputError(f"Property {prop.name!r}: document class {prop.document.__name__} is already "
                             f"registered as {other.name!r}.")
        if prop.accessor and prop.accessor in (other.accessor, other.name):
            raise InputError(f"Property {prop.name!r}: accessor {prop.accessor!r} is taken by {other.name!r}.")
    _REGISTRY[prop.name] = prop
    return prop


@dataclass(frozen=True)
class ReportSection:
    """A report section drawn from several properties' documents (e.g. a ranking); no document of its own.

    ``section`` returns Markdown, or '' when the store holds nothing it can use (then the report leaves it out).
    """

    name: str
    title: str
    section: Callable[[StudyContext], str]
    figures: Callable[[StudyContext, Path], list[Path]] | None = None


_SECTIONS: dict[str, ReportSection] = {}


def register_section(section: ReportSection) -> ReportSection:
    """Make ``section`` part of ``atomflow report`` for any store; the same name again replaces it."""
    _SECTIONS[section.name] = section
    return section


def registered_sections() -> list[ReportSection]:
    """Every registered multi-property section, in registration order."""
    _load()
    return list(_SECTIONS.values())


def unregister_section(name: str) -> None:
    _SECTIONS.pop(name, None)


def unregister_property(name: str) -> None:
    """Forget a registered property (tests register toy properties and remove them again)."""
    _REGISTRY.pop(name, None)


_unavailable: dict[str, str] = {}  # package → why it could not be imported


def _load() -> None:
    """Import every package in PACKAGES once; one that cannot be imported does not hide the others."""
    global _loaded
    if not _loaded:
        _loaded = True
        for package in PACKAGES:
            try:
                importlib.import_module(package)
            except ImportError as exc:  # e.g. a missing optional dependency of that package only
                _unavailable[package] = f"{type(exc).__name__}: {exc}"


def registered_properties() -> list[Property]:
    """Every registered property, in registration order."""
    _load()
    return list(_REGISTRY.values())


def get_property(name: str) -> Property:
    """The property called ``name``; an InputError names the registered ones."""
    _load()
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        missing = "".join(f" Not importable: {pkg} ({why})." for pkg, why in _unavailable.items())
        raise InputError(f"Unknown property {name!r}. Choose one of: "
                         f"{', '.join(p.name for p in _REGISTRY.values())}.{missing}") from None


def property_by_accessor(accessor: str) -> Property | None:
    _load()
    return next((p for p in _REGISTRY.values() if p.accessor == accessor), None)


# --- what every document carries ------------------------------------------------------------------------

def default_system_of(doc: Any) -> str:
    """Grouping key of a document: its structure label, else its formula."""
    prov = getattr(doc, "provenance", None)
    return (getattr(prov, "structure_label", None) or getattr(doc, "label", None) or getattr(doc, "formula", None)
            or "unlabelled")


def calculator_of(doc: Any) -> str:
    """The calculator's label (name plus non-default parameters, e.g. mace:model.model)."""
    calc = getattr(getattr(doc, "provenance", None), "calculator", None) or {}
    if not calc.get("name"):
        return "unknown calculator"
    from atomflow.calculators import CalculatorSpec

    try:
        return CalculatorSpec(name=calc["name"], parameters=calc.get("parameters") or {}).label
    except Exception:  # a calculator this installation does not know: still report its name
        return str(calc["name"])


def trusted(doc: Any) -> bool:
    """Converged, unflagged and (mechanically) stable: the only results a summarising sentence may cite.

    A document's ``flags`` and ``warnings`` (ElasticDocument) both count as flags.
    """
    return not flag_list(doc)


def flag_list(doc: Any) -> list[str]:
    """Every reason not to trust a document, the convergence / stability ones first."""
    flags = [*(getattr(doc, "flags", None) or []), *(getattr(doc, "warnings", None) or [])]
    said = " ".join(flags).lower()
    if getattr(doc, "converged", True) is False and "not converge" not in said:
        flags.insert(0, "NOT CONVERGED")
    if getattr(doc, "mechanically_stable", True) is False and "mechanically stable" not in said:
        flags.insert(0, "MECHANICALLY UNSTABLE")
    return flags


def common_columns(doc: Any) -> dict[str, Any]:
    """Columns every table starts with (formula, calculator, structure, convergence, flags, time)."""
    prov = getattr(doc, "provenance", None)
    calc = getattr(prov, "calculator", None) or {}
    return {
        "formula": getattr(doc, "formula", None),
        "calculator": _calculator_label(calc),
        "model": calc.get("model"),
        "structure": getattr(prov, "structure_label", None),
        "stand_in": getattr(prov, "stand_in", None),
        "converged": getattr(doc, "converged", None),
        "flags": "; ".join(flag_list(doc)),
        "created_at": getattr(prov, "created_at", None),
    }


def _calculator_label(calc: dict[str, Any]) -> str | None:
    """``sevennet`` or ``sevennet(model=7net-l3i5)``: the whole spec, so models are told apart."""
    if not calc.get("name"):
        return None
    params = calc.get("parameters") or {}
    if not params:
        return calc["name"]
    from atomflow.calculators import CalculatorSpec

    try:
        return CalculatorSpec(name=calc["name"], parameters=params).label
    except Exception:  # a backend unknown here (a store written elsewhere): show what was stored
        return f"{calc['name']}({', '.join(f'{k}={v}' for k, v in sorted(params.items()))})"


# --- what a report section gets ----------------------------------------------------------------------------

@dataclass
class ReportContext:
    """The documents of one property in a store, grouped by system and calculator, for its report section.

    ``documents`` are newest first, each result once (as ``Results.query`` returns them);
    ``groups[system][calculator]`` keeps that order and ``items()`` walks it as (system, calculator, doc).
    ``output_dir`` is where figures go (the report links them relative to it); ``store`` describes the store.
    Judging: ``trusted(doc)`` (the only documents a summary may cite), ``flags(doc)``, ``status(doc)`` (the
    text beside a number), ``flagged`` and ``flagged_text()`` (the list every section ends with). Writing:
    ``table(header, rows)`` (Markdown) and ``fmt(value, digits)``.
    """

    property: Property
    documents: list[Any]
    output_dir: Path
    store: str = ""
    groups: dict[str, dict[str, list[Any]]] = field(init=False)

    def __post_init__(self) -> None:
        groups: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        for doc in self.documents:
            groups[self.property.system(doc)][calculator_of(doc)].append(doc)
        self.groups = {s: dict(sorted(c.items())) for s, c in sorted(groups.items())}

    # grouping ------------------------------------------------------------------------------------------
    @property
    def systems(self) -> list[str]:
        return list(self.groups)

    @property
    def calculators(self) -> list[str]:
        return sorted({c for by_calc in self.groups.values() for c in by_calc})

    def items(self):
        """(system, calculator, doc) for every document, systems and calculators sorted, newest first."""
        for system, by_calc in self.groups.items():
            for calc, docs in by_calc.items():
                for doc in docs:
                    yield system, calc, doc

    def stand_in(self, system: str) -> bool:
        return any(getattr(getattr(d, "provenance", None), "stand_in", False)
                   for docs in self.groups.get(system, {}).values() for d in docs)

    # judging -------------------------------------------------------------------------------------------
    trusted = staticmethod(trusted)
    flags = staticmethod(flag_list)
    calculator_of = staticmethod(calculator_of)

    @staticmethod
    def status(doc: Any) -> str:
        """'converged', or every flag in bold / plain text: shown next to the number, never dropped."""
        return "; ".join(f"**{f}**" if f.isupper() or f.startswith("NOT ") else f"flag: {f}"
                         for f in flag_list(doc)) or "converged"

    @property
    def flagged(self) -> list[tuple[str, str, Any]]:
        return [(s, c, d) for s, c, d in self.items() if not trusted(d)]

    # writing -------------------------------------------------------------------------------------------
    @staticmethod
    def table(header, rows) -> str:
        """A Markdown table."""
        header = list(header)
        lines = ["| " + " | ".join(_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
        return "\n".join(lines)

    @staticmethod
    def fmt(value: Any, digits: int = 2) -> str:
        return _cell(value, digits)

    def flagged_text(self) -> str:
        """Markdown list of the results no summary cites, each with its flags ('' if there are none)."""
        lines = [f"- {s}, {c}{_name(d)}: {'; '.join(flag_list(d))}" for s, c, d in self.flagged]
        return ("Not used in any summary above (flagged, unconverged or unstable):\n\n" + "\n".join(lines)
                if lines else "")


@dataclass
class StudyContext:
    """Every property's :class:`ReportContext` of one store, for a :class:`ReportSection`."""

    contexts: dict[str, ReportContext]
    output_dir: Path
    store: str = ""
    #: what a section computed once for its text and its figures (e.g. the ranking rows), by the section's key
    cache: dict[str, Any] = field(default_factory=dict)

    def documents(self, name: str) -> list[Any]:
        """The documents of property ``name``, newest first ([] if the store holds none)."""
        ctx = self.contexts.get(name)
        return list(ctx.documents) if ctx else []


def _name(doc: Any) -> str:
    name = getattr(doc, "name", None)
    return f", {name}" if isinstance(name, str) and name else ""


def _cell(value: Any, digits: int | None = None) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}" if digits is not None else f"{value:.4g}"
    return str(value).replace("|", "\\|").replace("\n", " ")


def default_section(ctx: ReportContext) -> str:
    """A property without its own section: one row per document, from its registered ``row``."""
    skip = {"created_at", "model", "stand_in", "flags", "converged", "structure"}
    rows = [{k: v for k, v in ctx.property.row(d).items() if k not in skip} for _, _, d in ctx.items()]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    statuses = [ctx.status(d) for _, _, d in ctx.items()]
    text = ctx.table(["system", *columns, "status"],
                     [[s, *(r.get(k) for k in columns), st] for (s, _, _), r, st in zip(ctx.items(), rows, statuses)])
    return "\n\n".join(t for t in (text, ctx.flagged_text()) if t)
