"""Analysis of a converged band: pure functions of numbers (energies in eV, positions in Å).

No calculator and no structure objects here, so everything is tested with made-up profiles.

Definitions (E_i the image energies, i = 0 … n+1, 0 and n+1 the end points):

* forward barrier  = max_i E_i − E_0
* reverse barrier  = max_i E_i − E_{n+1}
* ΔE               = E_{n+1} − E_0, so forward − reverse = ΔE exactly;
* reaction coordinate: cumulative minimum-image distance between consecutive images in the full
  3N-dimensional configuration space (Å), as in ``ase.mep.NEBTools``.

The plotted profile is a piecewise-cubic Hermite interpolant with Fritsch–Carlson monotone slopes
(``scipy.interpolate.PchipInterpolator``; F. N. Fritsch and R. E. Carlson, SIAM J. Numer. Anal.
17, 238 (1980)). On every interval it is monotone between the two image energies, so it never
rises above the highest image: the barrier read from the curve is the barrier of the images.
(A force-informed cubic spline, as in NEBTools, can overshoot between images; we do not use it.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase.geometry import find_mic
from scipy.interpolate import PchipInterpolator

# Flags: stable identifiers stored in MigrationDocument.flags; the notes say the numbers.
FLAG_ATOMS_MISMATCH = "endpoint_atoms_mismatch"
FLAG_COLLAPSED = "endpoints_collapsed"
FLAG_INTERMEDIATE_MINIMUM = "intermediate_minimum"
FLAG_HIGHEST_AT_ENDPOINT = "highest_image_is_endpoint"
FLAG_CLIMBING_NOT_HIGHEST = "climbing_image_not_highest"
FLAG_NOT_CONVERGED = "neb_not_converged"
FLAG_ENDPOINT_NOT_CONVERGED = "endpoint_relax_not_converged"
FLAG_DEGENERATE_PATH = "degenerate_path"
FLAG_OFF_PATH = "moving_atom_off_path"

#: eV. An intermediate image this far below an end point (or a local minimum this deep) is flagged.
INTERMEDIATE_MINIMUM_TOL = 0.01
#: Å. End points closer than this (RMS over atoms, minimum image) relaxed into one minimum.
COLLAPSE_RMS_TOL = 0.1
#: Å. The moving atom ending this close to where it started means the hop did not happen.
COLLAPSE_ATOM_TOL = 0.3
#: Fraction of the hop. The moving atom's progress along its hop (0 at the initial, 1 at the final end point,
#: projected on the straight line between them) must stay within [−tol, 1 + tol] and never run back by
#: more than tol: a band whose moving atom overshoots a site or turns back has found another mechanism
#: (seen: OpenKIM's Na–Sn MEAM on bcc Na, the atom 28 % past its final site while neighbours moved 1.1 Å,
#: 0.0006 eV "barrier" against 0.12 eV on the hop itself). A chosen bound, not a sourced one.
PROGRESS_TOL = 0.15


@dataclass(frozen=True)
class Barriers:
    """Barriers of one energy profile (eV)."""

    forward: float
    reverse: float
    delta_e: float
    highest_index: int
    e_max: float


@dataclass
class PathAnalysis:
    """Everything :func:`analyse_path` derives from one band."""

    barriers: Barriers
    relative_energies: np.ndarray  # eV, E_i − E_0
    reaction_coordinate: np.ndarray  # Å
    hop_length: float | None  # Å, moving atom's end-to-end minimum-image distance
    spline_x: np.ndarray  # Å
    spline_y: np.ndarray  # eV relative to E_0
    rms_endpoint_displacement: float | None  # Å
    moving_atom_displacement: float | None  # Å
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def mic_displacements(a: np.ndarray, b: np.ndarray, cell: np.ndarray, pbc=True) -> np.ndarray:
    """Minimum-image vectors b − a (Å) per atom; ``a``, ``b`` are (N, 3) Cartesian positions."""
    d = np.asarray(b, float) - np.asarray(a, float)
    mic, _ = find_mic(d, np.asarray(cell, float), pbc)
    return mic


def barriers(energies) -> Barriers:
    """Forward / reverse barrier, ΔE and the highest image of a profile (absolute or relative eV)."""
    e = np.asarray(energies, dtype=float)
    if e.ndim != 1 or len(e) < 2 or not np.all(np.isfinite(e)):
        raise ValueError(f"Need ≥ 2 finite image energies, got {e!r}.")
    imax = int(np.argmax(e))
    e_max = float(e[imax])
    forward = e_max - float(e[0])
    reverse = e_max - float(e[-1])
    return Barriers(forward=forward, reverse=reverse, delta_e=float(e[-1] - e[0]), highest_index=imax,
                    e_max=e_max)


def hop_progress(positions, cell, moving_index: int, pbc=True) -> np.ndarray:
    """The moving atom's progress along its hop per image: its displacement from the initial end point
    projected on the (minimum-image) initial → final vector, in units of that vector's length."""
    pos = np.asarray(positions, dtype=float)[:, moving_index]
    hop = mic_displacements(pos[[0]], pos[[-1]], cell, pbc)[0]
    length2 = float(hop @ hop)
    if length2 == 0.0:
        return np.zeros(len(pos))
    steps = mic_displacements(np.repeat(pos[[0]], len(pos), axis=0), pos, cell, pbc)
    return steps @ hop / length2


def reaction_coordinate(positions, cell, pbc=True) -> np.ndarray:
    """Cumulative path length (Å) of a band: positions (n_images, N, 3) Cartesian Å."""
    pos = np.asarray(positions, dtype=float)
    steps = [np.linalg.norm(mic_displacements(pos[i], pos[i + 1], cell, pbc)) for i in range(len(pos) - 1)]
    return np.concatenate([[0.0], np.cumsum(steps)])


def energy_spline(x, energies, n_points: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Shape-preserving interpolant of the profile on ``n_points`` points; its max is the images' max.

    ``x`` must be strictly increasing. The result is clipped to [min E, max E] as a last guard
    against rounding, so the curve never shows a barrier the images do not have.
    """
    x = np.asarray(x, dtype=float)
    e = np.asarray(energies, dtype=float)
    if len(x) != len(e) or len(x) < 2:
        raise ValueError(f"Need matching x and energies with ≥ 2 points, got {len(x)} and {len(e)}.")
    if np.any(np.diff(x) <= 0):
        raise ValueError("The reaction coordinate must increase strictly along the band.")
    xs = np.linspace(x[0], x[-1], n_points)
    ys = PchipInterpolator(x, e)(xs)
    # PCHIP is already bounded by the data; clipping only removes rounding above the top image.
    return xs, np.clip(ys, e.min(), e.max())


def intermediate_minima(energies, tol: float = INTERMEDIATE_MINIMUM_TOL) -> list[int]:
    """Intermediate images that sit in a well deeper than ``tol`` (eV) along the band.

    Image i (not an end point) is flagged when min(max E_{≤i}, max E_{≥i}) − E_i > tol: it lies
    lower than something on both sides, so the band holds a (meta)stable state between the end
    points. In particular every image lower than both end points by more than ``tol`` is flagged.
    A monotone uphill profile is not.
    """
    e = np.asarray(energies, dtype=float)
    out = []
    for i in range(1, len(e) - 1):
        depth = min(e[: i + 1].max(), e[i:].max()) - e[i]
        if depth > tol:
            out.append(i)
    return out


def endpoint_displacements(initial_positions, final_positions, cell, moving_index: int | None,
                           pbc=True) -> tuple[float, float | None]:
    """RMS over atoms (Å) of the minimum-image displacement between end points, and the moving atom's."""
    d = mic_displacements(initial_positions, final_positions, cell, pbc)
    norms = np.linalg.norm(d, axis=1)
    rms = float(np.sqrt(np.mean(norms**2)))
    moving = float(norms[moving_index]) if moving_index is not None else None
    return rms, moving


def analyse_path(
    energies,
    positions=None,
    cell=None,
    *,
    species_initial=None,
    species_final=None,
    moving_index: int | None = None,
    pbc=True,
    climbing_index: int | None = None,
    converged: bool = True,
    endpoints_converged: bool = True,
    n_spline_points: int = 100,
    minimum_tol: float = INTERMEDIATE_MINIMUM_TOL,
    collapse_rms_tol: float = COLLAPSE_RMS_TOL,
    collapse_atom_tol: float = COLLAPSE_ATOM_TOL,
    progress_tol: float = PROGRESS_TOL,
) -> PathAnalysis:
    """Barriers, reaction coordinate, spline and quality flags of one band.

    Args:
        energies: absolute image energies, eV, end points included (n_images + 2 values).
        positions: (n_images + 2, N, 3) Cartesian positions, Å; or None (coordinate = image index).
        cell: 3×3 lattice vectors (rows), Å; needed with positions.
        species_initial, species_final: element lists of the end points (mismatch → flag).
        moving_index: index of the hopping atom (for the hop length, the collapse and the off-path tests).
        climbing_index: the image NEB climbed with, if any (flag if it is not the highest).
        converged, endpoints_converged: run outcomes; False adds a flag.
    """
    e = np.asarray(energies, dtype=float)
    b = barriers(e)
    rel = e - e[0]
    flags: list[str] = []
    notes: list[str] = []

    usable = positions is not None
    have_species = species_initial is not None and species_final is not None
    if have_species and list(species_initial) != list(species_final):
        flags.append(FLAG_ATOMS_MISMATCH)
        notes.append(f"End points differ in atoms: {len(species_initial)} vs {len(species_final)} atoms "
                     "or a different order; positional analysis skipped.")
        usable = False
    if usable:
        pos = np.asarray(positions, dtype=float)
        if pos.ndim != 3 or pos.shape[0] != len(e) or pos.shape[2] != 3:
            flags.append(FLAG_ATOMS_MISMATCH)
            notes.append(f"Positions of shape {pos.shape} do not match {len(e)} images of (N, 3).")
            usable = False

    hop_length = rms = moving = None
    x = np.arange(len(e), dtype=float)
    if usable:
        x = reaction_coordinate(pos, cell, pbc)
        rms, moving = endpoint_displacements(pos[0], pos[-1], cell, moving_index, pbc)
        hop_length = moving
        if rms < collapse_rms_tol or (moving is not None and moving < collapse_atom_tol):
            flags.append(FLAG_COLLAPSED)
            notes.append(f"Relaxed end points are one minimum: RMS displacement {rms:.3f} Å "
                         f"(< {collapse_rms_tol} flags), moving atom moved "
                         f"{moving if moving is None else round(moving, 3)} Å (< {collapse_atom_tol} flags). "
                         "The hop's end point is not stable here.")
        if moving_index is not None and FLAG_COLLAPSED not in flags:
            progress = hop_progress(pos, cell, moving_index, pbc)
            back = float(np.max(np.maximum.accumulate(progress) - progress))
            if progress.min() < -progress_tol or progress.max() > 1 + progress_tol or back > progress_tol:
                flags.append(FLAG_OFF_PATH)
                notes.append("The moving atom does not go from its site to the vacancy along this band: its "
                             f"progress along the hop runs {np.round(progress, 2).tolist()} (0 → 1 expected, "
                             f"tolerance {progress_tol}). The band found another mechanism (other atoms "
                             "move instead); the barrier is not this hop's.")
        if np.any(np.diff(x) <= 1e-8):
            flags.append(FLAG_DEGENERATE_PATH)
            notes.append("Two consecutive images coincide; the reaction coordinate falls back to the "
                         "image index.")
            x = np.arange(len(e), dtype=float)

    minima = intermediate_minima(e, minimum_tol)
    if minima:
        flags.append(FLAG_INTERMEDIATE_MINIMUM)
        notes.append(f"Image(s) {minima} lie in a well deeper than {minimum_tol} eV between the end points "
                     f"(lowest {rel[minima].min():.3f} eV vs initial): the barrier is ill-defined; relax "
                     "that image as a new end point and split the hop.")
    if b.highest_index in (0, len(e) - 1):
        flags.append(FLAG_HIGHEST_AT_ENDPOINT)
        notes.append("The highest image is an end point: no barrier beyond ΔE along this band.")
    if climbing_index is not None and climbing_index != b.highest_index:
        flags.append(FLAG_CLIMBING_NOT_HIGHEST)
        notes.append(f"Climbing image {climbing_index} is not the highest image ({b.highest_index}).")
    if not converged:
        flags.append(FLAG_NOT_CONVERGED)
        notes.append("The band did not reach fmax within max_steps: barriers are not final.")
    if not endpoints_converged:
        flags.append(FLAG_ENDPOINT_NOT_CONVERGED)
        notes.append("An end-point relaxation hit its step limit: end-point energies are not minima.")

    xs, ys = energy_spline(x, rel, n_spline_points)
    return PathAnalysis(barriers=b, relative_energies=rel, reaction_coordinate=x, hop_length=hop_length,
                        spline_x=xs, spline_y=ys, rms_endpoint_displacement=rms,
                        moving_atom_displacement=moving, flags=flags, notes=notes)
