"""Percolating barrier against G/G_Na: one marker per phase and calculator, the Monroe–Newman line drawn."""

from __future__ import annotations

from pathlib import Path

from atomflow.screening.analysis import RankedRow
from atomflow.screening.criteria import MONROE_NEWMAN_RATIO

_MARKERS = "osD^v<>phX*"


def _colour(i: int, n: int):
    """Distinct colours for up to 20 phases: tab10 up to 10, else tab20's dark shades first, then the light."""
    from matplotlib import colormaps

    if n <= 10:
        return colormaps["tab10"](i)
    return colormaps["tab20"](2 * (i % 10) + (i // 10) % 2)


def figure_points(rows: list[RankedRow]) -> tuple[list[RankedRow], list[str]]:
    """The rows drawn (a G/G_Na and an E_perc), and the calculators left out because their bcc Na tensor is
    flagged: a ratio to the G_Na of an unstable tensor is no stiffness, so it is not placed on the axis."""
    drawable = [r for r in rows if not r.numbers.reference and r.g_ratio is not None and r.numbers.e_perc is not None]
    return ([r for r in drawable if not r.g_na_flagged],
            sorted({r.numbers.calculator for r in drawable if r.g_na_flagged}))


def ranking_figure(rows: list[RankedRow], path: Path) -> Path | None:
    """None when no phase has both a G/G_Na and an E_perc. Marker shape: calculator; colour: phase; the
    calculators of one phase connected (the committee's spread); horizontal bars: Reuss–Voigt range of G/G_Na;
    hollow markers: flagged results."""
    from atomflow.report.figures import pyplot, save

    points, left_out = figure_points(rows)
    if not points:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    calcs = sorted({r.numbers.calculator for r in points})
    systems = sorted({r.numbers.system for r in points})
    for i, system in enumerate(systems):
        colour = _colour(i, len(systems))
        mine = sorted((r for r in points if r.numbers.system == system), key=lambda r: r.numbers.calculator)
        caveat = " ‡ vacancy hop not the mechanism" if mine[0].numbers.formula == "Na3SbS4" else ""
        if len(mine) > 1:
            ax.plot([r.g_ratio for r in mine], [r.numbers.e_perc for r in mine], "-", color=colour, lw=0.8)
        for r in mine:
            marker = _MARKERS[calcs.index(r.numbers.calculator) % len(_MARKERS)]
            if r.g_ratio_bounds:
                lo, hi = r.g_ratio_bounds
                ax.plot([lo, hi], [r.numbers.e_perc] * 2, "-", color=colour, lw=0.6, alpha=0.6)
            ax.plot(r.g_ratio, r.numbers.e_perc, marker, ms=7, color=colour,
                    mfc="none" if r.flagged else colour)
        # the phase's legend entry is a colour swatch: the marker shape belongs to the calculator
        ax.plot([], [], "-", lw=5, color=colour, label=f"{system}{caveat}")
    top = max(max(r.numbers.e_perc for r in points), 0.05)
    ax.set_xlim(0, 1.1 * max(max(r.g_ratio_bounds[1] if r.g_ratio_bounds else r.g_ratio for r in points),
                             MONROE_NEWMAN_RATIO))
    ax.set_ylim(0, 1.3 * top)
    ax.axvline(MONROE_NEWMAN_RATIO, color="k", ls="--", lw=1)
    ax.axvspan(MONROE_NEWMAN_RATIO, ax.get_xlim()[1], color="0.9", zorder=0)
    ax.text(MONROE_NEWMAN_RATIO, 0.02 * top, f" G/G_Na ≥ {MONROE_NEWMAN_RATIO:g}: suppresses dendrites "
            "(Monroe & Newman 2005)", va="bottom", fontsize=7)
    if left_out:
        ax.text(0.99, 0.99, f"not drawn: the phases of {', '.join(left_out)} (its bcc Na elastic tensor is flagged, "
                "so G/G_Na is undefined)", transform=ax.transAxes, ha="right", va="top", fontsize=7)
    for c, calc in enumerate(calcs):
        ax.plot([], [], _MARKERS[c % len(_MARKERS)], color="grey", label=f"calculator: {calc}")
    ax.set_xlabel("G_phase / G_Na (Hill; bars: Reuss–Voigt)")
    ax.set_ylabel("rate-limiting barrier of the percolating network (eV)")
    ax.set_title("Na-anode interphases: stiffness vs Na-vacancy transport\n(hollow: flagged; lines join the "
                 "calculators of one phase)", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return save(fig, path)
