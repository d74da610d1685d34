"""Registers the ranking as a report section over several properties (it has no document of its own)."""

from __future__ import annotations

from atomflow.properties import ReportSection, register_section
from atomflow.screening.report import ranking_figures, ranking_section

RANKING = register_section(ReportSection(
    name="ranking", title="Ranking of Na-anode interphase phases", section=ranking_section,
    figures=ranking_figures))
