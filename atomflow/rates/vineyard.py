"""Harmonic transition-state theory (Vineyard 1957, J. Phys. Chem. Solids 3, 121, eq. 21):
ν* = Π_i ν_i(min) / Π'_i ν_i(saddle), the primed product over the real saddle modes only.

Pure functions of frequencies (THz) → Hz; the checks that make ν* meaningful: the minimum has no
imaginary mode and the saddle exactly one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: THz. A mode is imaginary when ν < −IMAGINARY_TOL_THZ. Finite-difference noise of the near-zero modes of
#: a defect cell is ~0.01 THz; a saddle's unstable mode is a few THz imaginary.
IMAGINARY_TOL_THZ = 0.1

FLAG_MIN_IMAGINARY = "minimum_has_imaginary_modes"
FLAG_SADDLE_ORDER = "saddle_not_first_order"
FLAG_ENDPOINT_FORCES = "endpoint_forces_above_threshold"
FLAG_SADDLE_FORCES = "saddle_forces_above_threshold"
FLAG_MODE_COUNT = "mode_counts_differ"
FLAG_SADDLE_REFINED = "saddle_refined_from_higher_order"


def count_imaginary(frequencies: np.ndarray, tol: float = IMAGINARY_TOL_THZ) -> int:
    return int(np.sum(np.asarray(frequencies) < -tol))


def unresolved_modes(freq_min: np.ndarray, freq_saddle: np.ndarray, noise_min_thz2: float,
                     noise_saddle_thz2: float) -> int:
    """Real modes of ν*'s product (all of the minimum's, the saddle's but its lowest) whose ν² (THz²) lies within
    the eigenvalue noise of their Hessian (:attr:`Modes.noise_thz2`)."""
    fmin = np.asarray(freq_min, float)
    fsad = np.sort(np.asarray(freq_saddle, float))[1:]
    return int(np.sum(fmin**2 <= noise_min_thz2) + np.sum(fsad**2 <= noise_saddle_thz2))


def log_uncertainty(freq_min: np.ndarray, freq_saddle: np.ndarray, noise_min_thz2: float,
                    noise_saddle_thz2: float) -> float:
    """Standard deviation of ln ν* from the Hessians' eigenvalue noise (THz², :attr:`Modes.noise_thz2`).

    ν* = Πν_min / Π'ν_saddle and δ ln ν_k = δ(ν_k²) / 2ν_k² for each real mode; independent errors add in
    quadrature. The saddle's lowest (imaginary) mode is not in the product. ``inf`` when a mode's ν² lies
    within its noise (:func:`unresolved_modes`: the linear estimate fails, that frequency is not resolved).
    """
    if unresolved_modes(freq_min, freq_saddle, noise_min_thz2, noise_saddle_thz2):
        return float("inf")
    fmin = np.asarray(freq_min, float)
    fsad = np.sort(np.asarray(freq_saddle, float))[1:]
    terms = np.concatenate([noise_min_thz2 / (2 * fmin**2), noise_saddle_thz2 / (2 * fsad**2)])
    return float(np.sqrt(np.sum(terms**2)))


@dataclass
class VineyardResult:
    nu_star_hz: float | None
    n_imaginary_min: int
    n_imaginary_saddle: int
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def vineyard_prefactor(freq_min: np.ndarray, freq_saddle: np.ndarray, tol: float = IMAGINARY_TOL_THZ
                       ) -> VineyardResult:
    """ν* (Hz) from the minimum's and the saddle's frequencies (THz, same atoms, translations already
    removed from both). None, with flags, unless the minimum has 0 and the saddle exactly 1 imaginary
    mode and both have the same number of modes."""
    fmin, fsad = np.sort(np.asarray(freq_min, float)), np.sort(np.asarray(freq_saddle, float))
    n_min, n_sad = count_imaginary(fmin, tol), count_imaginary(fsad, tol)
    flags, notes = [], []
    if len(fmin) != len(fsad):
        flags.append(FLAG_MODE_COUNT)
        notes.append(f"{len(fmin)} modes at the minimum but {len(fsad)} at the saddle: not the same atoms.")
    if n_min:
        flags.append(FLAG_MIN_IMAGINARY)
        notes.append(f"The minimum has {n_min} imaginary mode(s) (lowest {fmin[0]:.3f} THz): not a minimum.")
    if n_sad != 1:
        flags.append(FLAG_SADDLE_ORDER)
        notes.append(f"The saddle has {n_sad} imaginary modes (need exactly 1): "
                     + ("a higher-order stationary point." if n_sad > 1 else "not a saddle point."))
    # modes within ±tol of zero (numerical noise, e.g. a frozen translation) would make the product 0
    soft_min = np.sum(np.abs(fmin) <= tol)
    soft_sad = np.sum(np.abs(fsad[1:]) <= tol) if n_sad == 1 else 0
    if soft_min or soft_sad:
        flags.append("near_zero_modes")
        notes.append(f"{soft_min} minimum and {soft_sad} saddle mode(s) within ±{tol} THz of zero.")
    if flags:
        return VineyardResult(None, n_min, n_sad, flags, notes)
    # log-sum: products of ~300 THz-sized numbers over- or underflow
    log_nu = np.sum(np.log(fmin)) - np.sum(np.log(fsad[1:]))
    return VineyardResult(float(np.exp(log_nu) * 1e12), n_min, n_sad, flags, notes)
