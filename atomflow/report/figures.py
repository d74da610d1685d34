"""Shared plotting set-up for report figures (files only: the Agg backend, no display on clusters or CI).

Each property draws its own figures (its registration's ``figures``); the paper comparison draws its own in
:mod:`atomflow.report.paper`.
"""

from __future__ import annotations

from pathlib import Path

#: Line styles that tell calculators apart when colours tell hops / systems apart.
STYLES = ["-", "--", ":", "-."]


def pyplot():
    """matplotlib.pyplot on the Agg backend (imported on first use: importing atomflow stays fast)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    pyplot().close(fig)
    return path
