"""Sort the paper study's documents by the paper's systems and by calculator (for :mod:`atomflow.report.paper`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from atomflow.properties import calculator_of

#: The paper's systems (../shared/reference/paper.md).
SYSTEMS = ("Na7Sn12", "NaCl", "Na")


def system_of(doc: Any) -> str:
    """Which of the paper's systems a document belongs to (its stand-in counts as Na7Sn12)."""
    label = doc.provenance.structure_label or getattr(doc, "label", None) or ""
    if "Na7Sn12" in label:
        return "Na7Sn12"
    # Defect-cell documents may carry the cell's formula (Na31Cl32); the structure label names the host.
    for system, prefix in (("NaCl", "NaCl"), ("Na", "bcc Na")):
        if label.startswith(prefix):
            return system
    return doc.formula


@dataclass
class StudyResults:
    """Newest document per (system, calculator[, hop / μ source])."""

    elastic: dict[str, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    vacancy: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    barriers: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    labels: dict[str, tuple[str, bool]] = field(default_factory=dict)
    calculators: list[str] = field(default_factory=list)

    def note(self, system: str, doc: Any) -> None:
        self.labels.setdefault(system, (doc.provenance.structure_label or system, doc.provenance.stand_in))
        calc = calculator_of(doc)
        if calc not in self.calculators:
            self.calculators.append(calc)

    @property
    def empty(self) -> bool:
        return not (self.elastic or self.vacancy or self.barriers)


def collect(documents: Mapping[str, Sequence[Any]]) -> StudyResults:
    """``documents``: property name → documents, newest first (as ``Results.query`` returns them)."""
    study = StudyResults()
    for doc in reversed(documents.get("elastic", ())):  # oldest first: newer ones overwrite
        system = system_of(doc)
        study.elastic[system][calculator_of(doc)] = doc
        study.note(system, doc)
    for doc in reversed(documents.get("vacancy", ())):
        system = system_of(doc)
        study.vacancy[system].setdefault(calculator_of(doc), {})[doc.mu_source] = doc
        study.note(system, doc)
    for doc in reversed(documents.get("barrier", ())):
        system = system_of(doc)
        study.barriers[system].setdefault(calculator_of(doc), {})[doc.name] = doc
        study.note(system, doc)
    study.calculators.sort()
    return study
