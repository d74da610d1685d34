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
    FLAG_OFF_PATH,
    analyse_path,
    barriers,
    energy_spline,
    hop_progress,
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


def double_well(x, h=0.4, t=0.1):
    """V(x) = h (x² − 1)² + t x (eV, x in Å): two minima near ±1 Å, the right one higher by ≈ 2t."""
    return h * (x**2 - 1) ** 2 + t * x


def test_barriers_of_an_analytic_asymmetric_double_well():
    # Stationary points from V'(x) = 4h x³ − 4h x + t = 0, solved independently of the profile below.
    h, t = 0.4, 0.1
    x_left, x_top, x_right = np.sort(np.roots([4 * h, 0.0, -4 * h, t]).real)
    # Images from the left minimum over the saddle to the right minimum, the saddle one of them.
    x = np.concatenate([np.linspace(x_left, x_top, 5), np.linspace(x_top, x_right, 5)[1:]])
    b = barriers(-120.0 + double_well(x, h, t))
    assert b.highest_index == 4
    assert b.forward == pytest.approx(double_well(x_top, h, t) - double_well(x_left, h, t), abs=1e-12)
    assert b.reverse == pytest.approx(double_well(x_top, h, t) - double_well(x_right, h, t), abs=1e-12)
    assert b.delta_e == pytest.approx(double_well(x_right, h, t) - double_well(x_left, h, t), abs=1e-12)
    assert b.delta_e == pytest.approx(2 * t, rel=0.05)  # tilt t·x over the ≈ 2 Å between the minima
    # uphill: from the lower well the barrier is ≈ h + t, from the upper one ≈ h − t (saddle ≈ x = 0)
    assert b.forward == pytest.approx(h + t, abs=0.01) and b.reverse == pytest.approx(h - t, abs=0.01)
    # Read backwards, the same band has the two barriers swapped and ΔE reversed.
    back = barriers((-120.0 + double_well(x, h, t))[::-1])
    assert (back.forward, back.reverse, back.delta_e) == pytest.approx((b.reverse, b.forward, -b.delta_e),
                                                                       abs=1e-12)


def test_highest_image_not_the_climbing_one_nor_the_first_interior_one():
    # The barrier is the highest image's energy, wherever that is, relative to each end point.
    e = np.array([-10.0, -9.9, -9.2, -9.6, -9.4, -9.95])
    b = barriers(e)
    assert (b.highest_index, b.e_max) == (2, -9.2)
    assert b.forward == pytest.approx(0.8, abs=1e-12) and b.reverse == pytest.approx(0.75, abs=1e-12)


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
def test_spline_stays_between_neighbouring_images(energies, x):
    # Each interval's curve lies between that interval's two image energies (PCHIP is monotone on each
    # interval). A global clip to [min E, max E] does not give this; an overshooting spline breaks it.
    e = np.asarray(energies, float)
    x = np.arange(len(e), dtype=float) if x is None else np.asarray(x, float)
    xs, ys = energy_spline(x, e, 601)
    assert len(xs) == len(ys) == 601
    for i in range(len(e) - 1):
        inside = (xs >= x[i]) & (xs <= x[i + 1])
        assert inside.any()
        lo, hi = min(e[i], e[i + 1]), max(e[i], e[i + 1])
        assert ys[inside].min() >= lo - 1e-12 and ys[inside].max() <= hi + 1e-12, (i, ys[inside])
    assert ys[0] == pytest.approx(e[0], abs=1e-12) and ys[-1] == pytest.approx(e[-1], abs=1e-12)


def test_spline_passes_through_every_image_and_is_exact_for_a_linear_profile():
    x, e = np.arange(7.0), np.array([0.0, 0.2, 0.7, 0.9, 0.4, 0.1, -0.2])
    xs, ys = energy_spline(x, e, 61)  # grid spacing 0.1: every image lies on the grid
    assert ys[::10] == pytest.approx(e, abs=1e-12)
    line = -3.0 + 0.25 * x
    xs, ys = energy_spline(x, line, 37)
    assert ys == pytest.approx(-3.0 + 0.25 * xs, abs=1e-12)


def test_an_ordinary_cubic_spline_would_overshoot_the_sharp_peak():
    # Shows the previous test guards a real failure: a C2 cubic through the same points overshoots.
    x, e = np.arange(7.0), np.array([0, 0, 0, 1.0, 0, 0, 0])
    xs = np.linspace(0, 6, 601)
    assert CubicSpline(x, e)(xs).min() < -0.05  # undershoots beside the peak
    x2, e2 = np.array([0, 0.3, 0.35, 0.4, 1.5, 2.9, 3.0]), np.array([0, 0.4, 0.41, 0.4, 0.2, 0.0, -0.3])
    assert CubicSpline(x2, e2)(np.linspace(0, 3, 601)).max() > e2.max() + 0.01


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
    a = analyse_path(e, pos, CELL, moving_index=0, climbing_index=3, n_spline_points=61,
                     species_initial=["Na"] * 4, species_final=["Na"] * 4)
    assert a.flags == []
    assert a.hop_length == pytest.approx(2.5, abs=1e-12)
    # only atom 0 moves, 2.5 Å in equal steps: the 3N-dimensional path length is 2.5·s
    s = np.linspace(0.0, 1.0, 7)
    assert a.reaction_coordinate == pytest.approx(2.5 * s, abs=1e-12)
    assert a.relative_energies == pytest.approx(0.5 * np.sin(np.pi * s) ** 2, abs=1e-12)  # offset removed
    assert a.barriers.forward == pytest.approx(0.5, abs=1e-12)
    # the plotted profile runs through the images (at x = 2.5·i/6, every 10th of the 61 points)
    assert a.spline_x[::10] == pytest.approx(a.reaction_coordinate, abs=1e-12)
    assert a.spline_y[::10] == pytest.approx(a.relative_energies, abs=1e-12)


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


def test_a_band_whose_moving_atom_overshoots_or_turns_back_is_another_mechanism():
    """The moving atom must go from its site to the vacancy: progress 0 → 1 along the hop. The case seen
    (OpenKIM MEAM, bcc Na): the atom 28 % past its final site in the band, a 0.6 meV "barrier"."""
    e = tilted_sine(n_images=5, height=0.001, tilt=0.0)
    clean = band_positions()
    assert hop_progress(clean, CELL, 0) == pytest.approx(np.linspace(0, 1, 7), abs=1e-12)
    assert FLAG_OFF_PATH not in analyse_path(e, clean, CELL, moving_index=0).flags
    over = clean.copy()
    over[1:-1, 0] = clean[0, 0] + np.array([1.1, 1.28, 1.21, 1.14, 1.07])[:, None] * [2.5, 0.0, 0.0]
    a = analyse_path(e, over, CELL, moving_index=0)
    assert FLAG_OFF_PATH in a.flags and "another mechanism" in " ".join(a.notes)
    back = clean.copy()
    back[3, 0] = clean[1, 0]  # the middle image back at 1/6 of the hop, after 2/6 one image earlier
    assert FLAG_OFF_PATH in analyse_path(e, back, CELL, moving_index=0).flags
    # a curved hop (around an obstacle: 0.8 Å sideways at the middle) still advances monotonically
    curved = clean.copy()
    curved[:, 0, 1] += 0.8 * np.sin(np.pi * np.linspace(0, 1, 7))
    assert FLAG_OFF_PATH not in analyse_path(e, curved, CELL, moving_index=0).flags


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
