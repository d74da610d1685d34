"""NEB analysis as pure functions of numbers: no calculator, no structures."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import CubicSpline

from atomflow.neb.analysis import (
    FLAG_ATOMS_MISMATCH,
    FLAG_CLIMBING_NOT_HIGHEST,
    FLAG_COLLAPSED,
    FLAG_DEGENERATE_PATH,
    FLAG_ENDPOINT_NOT_CONVERGED,
    FLAG_HIGHEST_AT_ENDPOINT,
    FLAG_INTERMEDIATE_MINIMUM,
    FLAG_NOT_CONVERGED,
    analyse_path,
    barriers,
    energy_spline,
    intermediate_minima,
    reaction_coordinate,
)

CELL = np.eye(3) * 10.0


def tilted_sine(n_images=5, height=0.5, tilt=0.1, offset=-250.0):
    """E(s) = height·sin²(πs) + tilt·s on n_images + 2 equally spaced images (eV)."""
    s = np.linspace(0.0, 1.0, n_images + 2)
    return offset + height * np.sin(np.pi * s) ** 2 + tilt * s


def band_positions(n_atoms=4, n_images=5, hop=(2.5, 0.0, 0.0), start=(1.0, 1.0, 1.0)):
    """A band in which atom 0 walks along ``hop`` and every other atom stays put (Å)."""
    rng = np.random.default_rng(0)
    frame = rng.uniform(2.0, 8.0, size=(n_atoms, 3))
    frame[0] = start
    s = np.linspace(0.0, 1.0, n_images + 2)
    pos = np.repeat(frame[None], len(s), axis=0)
    pos[:, 0] += s[:, None] * np.asarray(hop)
    return pos


def test_barriers_of_a_sine_bump_on_a_tilt():
    # 7 images at s = i/6: the top image is s = 1/2 with E = h + t/2 (E(4/6) = 3h/4 + 2t/3 is lower).
    h, t = 0.5, 0.1
    b = barriers(tilted_sine(height=h, tilt=t))
    assert b.highest_index == 3
    assert b.forward == pytest.approx(h + t / 2, abs=1e-12)
    assert b.reverse == pytest.approx(h - t / 2, abs=1e-12)
    assert b.delta_e == pytest.approx(t, abs=1e-12)


def test_forward_minus_reverse_is_delta_e():
    rng = np.random.default_rng(1)
    for _ in range(200):
        e = -300.0 + rng.normal(scale=0.5, size=rng.integers(3, 12))
        b = barriers(e)
        assert abs((b.forward - b.reverse) - (e[-1] - e[0])) < 1e-12
        assert abs(b.delta_e - (e[-1] - e[0])) < 1e-12
        assert b.forward >= 0 and b.reverse >= 0


def test_barriers_reject_unusable_energies():
    with pytest.raises(ValueError):
        barriers([1.0])
    with pytest.raises(ValueError):
        barriers([0.0, np.nan, 0.0])


@pytest.mark.parametrize(
    "energies, x",
    [
        ([0, 0, 0, 1.0, 0, 0, 0], None),  # sharp peak
        ([0, 0.5, 0.5, 0.5, 0.5, 0.5, 0], None),  # plateau
        ([0, 0.02, 0.9, 1.0, 0.1, 0.05, 0], None),  # steep shoulder next to the top
        ([0, 0.4, 0.41, 0.4, 0.2, 0.0, -0.3], [0, 0.3, 0.35, 0.4, 1.5, 2.9, 3.0]),  # uneven spacing
    ],
)
def test_spline_never_rises_above_the_highest_image(energies, x):
    e = np.asarray(energies, float)
    x = np.arange(len(e), dtype=float) if x is None else np.asarray(x, float)
    xs, ys = energy_spline(x, e, 100)
    assert len(xs) == len(ys) == 100
    assert ys.max() <= e.max() + 1e-12
    assert ys[0] == pytest.approx(e[0], abs=1e-12) and ys[-1] == pytest.approx(e[-1], abs=1e-12)


def test_an_ordinary_cubic_spline_would_overshoot_the_sharp_peak():
    # Shows the previous test guards a real failure: a C2 cubic through the same points overshoots.
    x, e = np.arange(7.0), np.array([0, 0, 0, 1.0, 0, 0, 0])
    xs = np.linspace(0, 6, 601)
    assert CubicSpline(x, e)(xs).min() < -0.05  # undershoots beside the peak
    x2, e2 = np.array([0, 0.3, 0.35, 0.4, 1.5, 2.9, 3.0]), np.array([0, 0.4, 0.41, 0.4, 0.2, 0.0, -0.3])
    assert CubicSpline(x2, e2)(np.linspace(0, 3, 601)).max() > e2.max() + 0.01
    assert energy_spline(x2, e2, 601)[1].max() <= e2.max() + 1e-12


def test_spline_needs_an_increasing_coordinate():
    with pytest.raises(ValueError):
        energy_spline([0, 1, 1, 2], [0, 1, 1, 0])


def test_reaction_coordinate_uses_the_minimum_image():
    # Atom 0 crosses the cell boundary: 9.9 → 10.1 ≡ 0.1 is 0.2 Å, not 9.8 Å.
    pos = np.zeros((3, 2, 3))
    pos[:, 1] = 5.0
    pos[:, 0, 0] = [9.8, 9.9, 0.1]
    assert reaction_coordinate(pos, CELL) == pytest.approx([0.0, 0.1, 0.3], abs=1e-12)


def test_analyse_path_on_a_clean_band():
    e = tilted_sine(tilt=0.0)
    pos = band_positions()
    a = analyse_path(e, pos, CELL, moving_index=0, climbing_index=3,
                     species_initial=["Na"] * 4, species_final=["Na"] * 4)
    assert a.flags == []
    assert a.hop_length == pytest.approx(2.5, abs=1e-12)
    assert a.reaction_coordinate[-1] == pytest.approx(2.5, abs=1e-12)
    assert a.relative_energies[0] == 0.0
    assert a.barriers.forward == pytest.approx(0.5, abs=1e-12)
    assert a.spline_y.max() <= a.relative_energies.max() + 1e-12


@pytest.mark.parametrize(
    "energies, flagged",
    [
        ([0, 0.3, -0.1, 0.3, 0], [2]),  # an image below both end points
        ([0, 0.3, 0.15, 0.3, 0], [2]),  # a well between two peaks, above the end points
        ([0, 0.5, 0.2, 0.4, 0.3], [2]),  # below the final end point and a local minimum
        ([0, 0.1, 0.2, 0.3, 0.4], []),  # monotone uphill: lower than the final end point, but no well
        ([0, 0.3, 0.295, 0.3, 0], []),  # 5 meV wiggle: below the 0.01 eV tolerance
    ],
)
def test_intermediate_minimum(energies, flagged):
    assert intermediate_minima(energies) == flagged
    a = analyse_path(energies)
    assert (FLAG_INTERMEDIATE_MINIMUM in a.flags) == bool(flagged)


def test_collapsed_endpoints_are_flagged():
    e = [0, 0.1, 0.2, 0.1, 0]
    same = band_positions(n_images=3, hop=(0.0, 0.0, 0.0))
    same[-1] += 0.01  # relaxed into the same minimum, up to noise
    assert FLAG_COLLAPSED in analyse_path(e, same, CELL, moving_index=0).flags
    # only the moving atom went back (the others relaxed a bit differently): still no hop
    back = band_positions(n_atoms=2, n_images=3, hop=(0.2, 0.0, 0.0))
    back[-1, 1] += 0.5
    a = analyse_path(e, back, CELL, moving_index=0)
    assert a.rms_endpoint_displacement > 0.1 and FLAG_COLLAPSED in a.flags
    hop = band_positions(n_images=3)
    assert FLAG_COLLAPSED not in analyse_path(e, hop, CELL, moving_index=0).flags


def test_mismatched_endpoints_are_flagged_not_raised():
    e = tilted_sine()
    pos = band_positions()
    count = analyse_path(e, pos, CELL, species_initial=["Na"] * 4, species_final=["Na"] * 3)
    order = analyse_path(e, pos, CELL, species_initial=["Na", "Cl"], species_final=["Cl", "Na"])
    shape = analyse_path(e, pos[:, :3][:-1], CELL)  # one image short
    for a in (count, order, shape):
        assert FLAG_ATOMS_MISMATCH in a.flags
        assert a.hop_length is None
        assert a.barriers.forward == pytest.approx(barriers(e).forward)


def test_other_flags():
    assert FLAG_HIGHEST_AT_ENDPOINT in analyse_path([0, 0.1, 0.2, 0.3]).flags
    assert FLAG_CLIMBING_NOT_HIGHEST in analyse_path([0, 0.3, 0.5, 0.3, 0], climbing_index=1).flags
    assert FLAG_CLIMBING_NOT_HIGHEST not in analyse_path([0, 0.3, 0.5, 0.3, 0], climbing_index=2).flags
    assert FLAG_NOT_CONVERGED in analyse_path([0, 0.5, 0], converged=False).flags
    assert FLAG_ENDPOINT_NOT_CONVERGED in analyse_path([0, 0.5, 0], endpoints_converged=False).flags
    pos = band_positions(n_images=1)
    pos[1] = pos[0]
    assert FLAG_DEGENERATE_PATH in analyse_path([0, 0.0, 0.2], pos, CELL, moving_index=0).flags
