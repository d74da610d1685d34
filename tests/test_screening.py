"""The ranking of interphase phases (issue 15, point 3): pure functions of numbers, no calculator."""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from atomflow.screening.analysis import PhaseNumbers, committee, rank
from atomflow.screening.criteria import MONROE_NEWMAN_RATIO, mechanism_note, references
from atomflow.screening.percolation import HopBarrier, percolation


def _hop(name, a, b, image, barrier, e_initial=-10.0, reverse=None):
    return HopBarrier(name, a, b, image, barrier, barrier if reverse is None else reverse, e_initial, 31)


# --- the percolating network (pymatgen-analysis-diffusion's MigrationGraph) ---------------------------------

def test_a_chain_percolates_in_one_dimension_only():
    # one Na per cell, hops only along a (b, c beyond the cutoff): an infinite chain, never a 2-D/3-D network
    chain = Structure(Lattice.orthorhombic(3.0, 6.0, 6.5), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    result = percolation(chain, [_hop("a", 0, 0, (1, 0, 0), 0.3)])
    assert result.barrier == pytest.approx(0.3)
    assert result.dimension == 1 and result.dimension_all == 1 and result.barrier_3d is None


def test_the_rate_limiting_barrier_is_the_largest_on_the_cheapest_path_not_the_lowest_barrier():
    # two inequivalent hops alternate along the chain: every percolating path needs the 0.6 eV one
    s = Structure(Lattice.orthorhombic(6.0, 7.0, 7.5), ["Na", "Na", "Cl"],
                  [[0, 0, 0], [0.45, 0, 0], [0.5, 0.5, 0.5]])
    result = percolation(s, [_hop("short", 0, 1, (0, 0, 0), 0.2), _hop("long", 1, 0, (1, 0, 0), 0.6)])
    assert result.barrier == pytest.approx(0.6) and result.dimension == 1
    assert sorted(result.path) == ["long", "short"]


def test_a_cheap_channel_percolates_first_in_1d_and_the_3d_threshold_is_the_dearest_direction():
    s = Structure(Lattice.orthorhombic(3.0, 3.5, 3.6), ["Na"], [[0, 0, 0]])
    result = percolation(s, [_hop("a", 0, 0, (1, 0, 0), 0.1), _hop("b", 0, 0, (0, 1, 0), 0.5),
                             _hop("c", 0, 0, (0, 0, 1), 0.4)])
    assert result.barrier == pytest.approx(0.1) and result.dimension == 1
    assert result.barrier_3d == pytest.approx(0.5) and result.dimension_all == 3


def test_a_channel_of_higher_energy_sites_costs_its_site_energy_too():
    # Na1 chain: barrier 0.5 from the low site; Na2 chain: barrier 0.1, but a vacancy on Na2 is 0.3 eV higher
    s = Structure(Lattice.orthorhombic(3.0, 6.0, 10.0), ["Na", "Na", "Cl"],
                  [[0, 0, 0], [0, 0, 0.4], [0.5, 0.5, 0.25]])
    hops = [_hop("Na1", 0, 0, (1, 0, 0), 0.5, e_initial=-10.0), _hop("Na2", 1, 1, (1, 0, 0), 0.1, e_initial=-9.7)]
    result = percolation(s, hops)
    assert result.barrier == pytest.approx(0.4) and result.path == ["Na2"]  # 0.3 + 0.1, not 0.1
    assert result.costs["Na1"] == pytest.approx(0.5)


def test_pairs_without_a_computed_barrier_are_left_out_not_guessed():
    # b (3.02 Å) is inside the cutoff of the computed a hop (3.0 Å) but has no barrier: the network stays 1-D
    s = Structure(Lattice.orthorhombic(3.0, 3.02, 6.0), ["Na"], [[0, 0, 0]])
    result = percolation(s, [_hop("a", 0, 0, (1, 0, 0), 0.3)])
    assert result.dimension == 1 and any("no computed barrier" in n for n in result.notes)


def test_a_hop_from_another_cell_is_flagged_not_placed():
    s = Structure(Lattice.orthorhombic(3.0, 6.0, 6.5), ["Na"], [[0, 0, 0]])
    hop = HopBarrier("a", 0, 0, (1, 0, 0), 0.3, 0.3, -10.0, 31, length=3.5)
    result = percolation(s, [hop])
    assert result.barrier is None and any("another cell" in f for f in result.flags)


# --- the ranking --------------------------------------------------------------------------------------------

def _na(calc="calc", g=3.0):
    return PhaseNumbers(system="bcc Na", calculator=calc, formula="Na", reference=True, g_hill=g, k_hill=6.0)


def test_monroe_newman_ratio_uses_g_na_of_the_same_calculator_and_criterion_two():
    rows = rank([_na("a", 3.0), _na("b", 5.0),
                 PhaseNumbers(system="X", calculator="a", formula="NaX", g_hill=6.0, k_hill=12.0, e_perc=0.5),
                 PhaseNumbers(system="X", calculator="b", formula="NaX", g_hill=6.0, k_hill=12.0, e_perc=0.5)])
    by = {(r.numbers.system, r.numbers.calculator): r for r in rows}
    assert by[("X", "a")].g_ratio == pytest.approx(2.0) and by[("X", "a")].meets_monroe_newman  # ≥ 2 holds
    assert by[("X", "b")].g_ratio == pytest.approx(1.2) and by[("X", "b")].meets_monroe_newman is False
    assert by[("X", "a")].pugh == pytest.approx(2.0) and MONROE_NEWMAN_RATIO == 2.0


def test_without_bcc_na_of_that_calculator_there_is_no_ratio_and_the_row_says_why():
    rows = rank([_na("a"), PhaseNumbers(system="X", calculator="b", formula="NaX", g_hill=30.0, e_perc=0.2)])
    x = next(r for r in rows if r.numbers.system == "X")
    assert x.g_ratio is None and x.rank is None and "no bcc Na elastic tensor with b" in x.flags[0]


def test_flagged_phase_stays_in_the_table_flagged_and_the_others_rank():
    stiff_slow = PhaseNumbers(system="A", calculator="c", formula="NaA", g_hill=9.0, e_perc=0.9)
    soft_fast = PhaseNumbers(system="C", calculator="c", formula="NaC", g_hill=3.0, e_perc=0.1)
    stiff_fast = PhaseNumbers(system="D", calculator="c", formula="NaD", g_hill=12.0, e_perc=0.3)
    broken = PhaseNumbers(system="B", calculator="c", formula="NaB", g_hill=30.0, e_perc=0.05,
                          flags=["no elastic tensor stored (fit failed or not run)"])
    rows = rank([stiff_slow, broken, soft_fast, _na("c", 3.0), stiff_fast])
    assert [r.numbers.system for r in rows] == ["bcc Na", "D", "A", "C", "B"]  # criterion first, then E_perc
    assert [r.rank for r in rows] == [None, 1, 2, 3, None]
    assert rows[-1].flagged and rows[-1].g_ratio == pytest.approx(10.0)  # its numbers are still shown


def test_committee_spread_over_calculators_uses_unflagged_rows_only():
    rows = rank([_na("a", 3.0), _na("b", 3.0),
                 PhaseNumbers(system="X", calculator="a", formula="NaX", g_hill=6.0, e_perc=0.4),
                 PhaseNumbers(system="X", calculator="b", formula="NaX", g_hill=9.0, e_perc=0.6),
                 PhaseNumbers(system="X", calculator="c", formula="NaX", g_hill=90.0, e_perc=0.1,
                              flags=["elastic: MECHANICALLY UNSTABLE"])])
    spread = committee(rows, "e_perc")["X"]
    assert (spread.low, spread.high, spread.n) == (pytest.approx(0.4), pytest.approx(0.6), 2)
    assert committee(rows, "g_ratio")["X"].mean == pytest.approx(2.5)


def test_a_flagged_bcc_na_tensor_removes_that_calculators_g_ratio_from_the_committee_not_its_barrier():
    # CHGNet's bcc Na is mechanically unstable (C11 < C12): its G/G_Na means nothing, its E_perc still counts
    unstable_na = PhaseNumbers(system="bcc Na", calculator="b", formula="Na", g_hill=0.4, reference=True,
                               flags=["elastic: NOT mechanically stable"],
                               modulus_flags=["elastic: NOT mechanically stable"])
    rows = rank([_na("a", 3.0), unstable_na, _na("c", 2.0),
                 PhaseNumbers(system="X", calculator="a", formula="NaX", g_hill=6.0, e_perc=0.4),
                 PhaseNumbers(system="X", calculator="b", formula="NaX", g_hill=9.0, e_perc=0.6),
                 PhaseNumbers(system="X", calculator="c", formula="NaX", g_hill=8.0, e_perc=0.5)])
    assert [r.flagged for r in rows if r.numbers.system == "X"] == [False, False, True]  # ranked a, c; b flagged
    e_perc, g_ratio = committee(rows, "e_perc")["X"], committee(rows, "g_ratio")["X"]
    assert (e_perc.n, e_perc.low, e_perc.high) == (3, pytest.approx(0.4), pytest.approx(0.6))
    assert (g_ratio.n, g_ratio.low, g_ratio.high) == (2, pytest.approx(2.0), pytest.approx(4.0))
    from atomflow.screening.figures import figure_points

    drawn, left_out = figure_points(rows)  # the figure leaves b's phases out and says so
    assert sorted(r.numbers.calculator for r in drawn) == ["a", "c"] and left_out == ["b"]


def test_reference_numbers_carry_sources_and_none_are_invented():
    assert all(src for _, _, src in references("NaCl")) and references("NaBr") == []
    assert "superionic" in mechanism_note("Na3SbS4") and mechanism_note("NaF") is None
    assert any("0.22 mS/cm" in v for _, v, _ in references("NaSn"))


def test_every_hop_the_migration_workflow_finds_lands_on_the_migration_graph():
    # the hop finder (atomflow.neb) and the graph (pymatgen-analysis-diffusion) must agree on sites, images and
    # symmetry classes, or barriers would be dropped silently; Na3Sb: two Na Wyckoff sites, three hops
    from atomflow.neb import MigrationMaker
    from atomflow.structures.prototypes import prototype

    s = prototype("Na3Sb").structure
    found = MigrationMaker().endpoints(s)
    hops = [HopBarrier(e.hop.name, e.hop.site_a, e.hop.site_b, tuple(e.hop.image), 0.2 + 0.1 * k, 0.2 + 0.1 * k,
                       -50.0, 95, e.hop.length) for k, e in enumerate(found)]
    result = percolation(s, hops)
    assert len(hops) == 3 and not result.flags and set(result.costs) == {h.name for h in hops}
    assert not any("no computed barrier" in n for n in result.notes)
    assert result.dimension_all == 3 and result.barrier in {h.forward for h in hops}
