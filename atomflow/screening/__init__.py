"""Screening of Na-anode interphase phases (issue 15): the ranking across phases and calculators.

:mod:`~atomflow.screening.analysis` — the ranking, a pure function of numbers; :mod:`.percolation` — the
percolating hop network (pymatgen-analysis-diffusion); :mod:`.gather` — stored documents → numbers;
:mod:`.criteria` — reference numbers and criteria with their sources; :mod:`.report` / :mod:`.figures` — the
report section (registered in :mod:`.property`).
"""

from atomflow.screening import property as _property  # noqa: F401  (registers the report section)
from atomflow.screening.analysis import PhaseNumbers, RankedRow, rank
from atomflow.screening.percolation import HopBarrier, Percolation, percolation

__all__ = ["HopBarrier", "Percolation", "PhaseNumbers", "RankedRow", "percolation", "rank", "ranking"]


def ranking(store: str | None = None) -> list[RankedRow]:
    """The ranking of the phases in ``store`` (default: the settings' store), as the report shows it."""
    from atomflow.results import Results
    from atomflow.screening.gather import READS, applies, gather

    results = Results(store)
    documents = {name: results.query(name).documents for name in READS}
    return rank(gather(documents)) if applies(documents) else []
