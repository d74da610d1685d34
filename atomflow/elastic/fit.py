"""Analyse step of the elastic workflow: pure functions of strains and stresses, no calculator.

Units: stresses and moduli in eV/Å³ (any consistent unit works: every function is linear or
homogeneous in the stress unit), strains dimensionless in the Voigt engineering-shear convention of
:mod:`atomflow.elastic.strains`.

Formulas:
* Fit: least squares of ``σ(e) − σ_ref = C e`` over all strain states, each of the 6 stress components
  a separate linear regression on the 6 strain components; then C ← (C + Cᵀ)/2.
* Voigt / Reuss bounds (Hill, Proc. Phys. Soc. A 65, 349 (1952)):
  9 K_V = (C11+C22+C33) + 2(C12+C13+C23);  15 G_V = (C11+C22+C33) − (C12+C13+C23) + 3(C44+C55+C66);
  1/K_R = (S11+S22+S33) + 2(S12+S13+S23);  15/G_R = 4(S11+S22+S33) − 4(S12+S13+S23) + 3(S44+S55+S66);
  Hill = arithmetic mean of Voigt and Reuss. For each average E = 9KG/(3K+G), ν = (3K−2G)/(2(3K+G)).
* Stability: C positive definite ⇔ all eigenvalues of the Voigt matrix > 0, necessary and sufficient for
  every crystal system (Mouhat & Coudert, Phys. Rev. B 90, 224104 (2014)); that paper's crystal-system
  conditions are reported as well for cubic, hexagonal and tetragonal crystals.
* Anisotropy: Zener A = 2 C44 / (C11 − C12) (cubic); universal A_U = 5 G_V/G_R + K_V/K_R − 6
  (Ranganathan & Ostoja-Starzewski, PRL 101, 055504 (2008)), 0 for an isotropic solid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from atomflow.errors import InputError

#: Condition number above which C is treated as singular (no compliance, no Reuss bounds).
_SINGULAR = 1e12


@dataclass
class TensorFit:
    """Result of :func:`fit_elastic_tensor`, eV/Å³."""

    tensor: np.ndarray  # 6×6 Voigt, symmetrised
    residuals: np.ndarray  # (n_strains, 6) σ − σ_ref − C e
    rms_residual: float  # over all components and strains
    rms_residual_components: np.ndarray  # per Voigt stress component (6)
    asymmetry: float  # max |C_ij − C_ji| of the raw least-squares tensor


@dataclass
class ElasticProperties:
    """Moduli and stability of a 6×6 Voigt tensor (units of the tensor; compliance its inverse)."""

    tensor: np.ndarray
    compliance: np.ndarray | None  # None when C is singular
    eigenvalues: np.ndarray
    mechanically_stable: bool
    born_criteria: dict[str, bool]
    k_voigt: float
    g_voigt: float
    k_reuss: float | None
    g_reuss: float | None
    k_vrh: float | None
    g_vrh: float | None
    youngs_modulus: dict[str, float | None] = field(default_factory=dict)  # "voigt", "reuss", "hill"
    poisson_ratio: dict[str, float | None] = field(default_factory=dict)
    zener_anisotropy: float | None = None
    universal_anisotropy: float | None = None


def fit_elastic_tensor(
    strains: Sequence[Sequence[float]],
    stresses: Sequence[Sequence[float]],
    reference_stress: Sequence[float] | None = None,
) -> TensorFit:
    """Least-squares 6×6 tensor from Voigt strains (n, 6) and stresses (n, 6) minus the reference stress.

    Raises InputError unless the strains span all 6 Voigt directions (the tensor is undetermined otherwise).
    """
    e = np.asarray(strains, dtype=float)
    s = np.asarray(stresses, dtype=float)
    if e.ndim != 2 or e.shape[1] != 6 or s.shape != e.shape:
        raise InputError(
            f"Strains and stresses must both be (n, 6) Voigt arrays; got {e.shape} and {s.shape}."
        )
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(s))):
        raise InputError("Strains or stresses contain NaN/inf; drop the failed calculations before fitting.")
    from atomflow.elastic.strains import check_strain_range  # lazy: strains imports the settings

    check_strain_range(e)  # beyond ±10 % the linear fit means nothing: no tensor rather than an unflagged one
    rank = np.linalg.matrix_rank(e, tol=1e-8)
    if rank < 6:
        raise InputError(
            f"The {len(e)} strain states span only {rank} of the 6 Voigt directions; the fit needs "
            "strains along all 6 (xx, yy, zz, yz, xz, xy), at least 12 states (2 magnitudes each) "
            "for a meaningful residual."
        )
    ref = np.zeros(6) if reference_stress is None else np.asarray(reference_stress, dtype=float)
    ds = s - ref
    ct, *_ = np.linalg.lstsq(e, ds, rcond=None)  # ds ≈ e @ Cᵀ
    raw = ct.T
    c = (raw + raw.T) / 2
    residuals = ds - e @ c.T
    return TensorFit(
        tensor=c,
        residuals=residuals,
        rms_residual=float(np.sqrt(np.mean(residuals**2))),
        rms_residual_components=np.sqrt(np.mean(residuals**2, axis=0)),
        asymmetry=float(np.abs(raw - raw.T).max()),
    )


def voigt_bounds(c: np.ndarray) -> tuple[float, float]:
    """(K_V, G_V) of a 6×6 Voigt tensor."""
    c = np.asarray(c, dtype=float)
    k = (c[0, 0] + c[1, 1] + c[2, 2] + 2 * (c[0, 1] + c[0, 2] + c[1, 2])) / 9
    g = (c[0, 0] + c[1, 1] + c[2, 2] - (c[0, 1] + c[0, 2] + c[1, 2]) + 3 * (c[3, 3] + c[4, 4] + c[5, 5])) / 15
    return float(k), float(g)


def reuss_bounds(s: np.ndarray) -> tuple[float, float]:
    """(K_R, G_R) from the 6×6 compliance S = C⁻¹."""
    s = np.asarray(s, dtype=float)
    k = 1 / (s[0, 0] + s[1, 1] + s[2, 2] + 2 * (s[0, 1] + s[0, 2] + s[1, 2]))
    g = 15 / (
        4 * (s[0, 0] + s[1, 1] + s[2, 2])
        - 4 * (s[0, 1] + s[0, 2] + s[1, 2])
        + 3 * (s[3, 3] + s[4, 4] + s[5, 5])
    )
    return float(k), float(g)


def youngs_modulus(k: float, g: float) -> float:
    """E = 9KG / (3K + G)."""
    return 9 * k * g / (3 * k + g)


def poisson_ratio(k: float, g: float) -> float:
    """ν = (3K − 2G) / (2(3K + G))."""
    return (3 * k - 2 * g) / (2 * (3 * k + g))


def born_criteria(c: np.ndarray, crystal_system: str | None = None) -> dict[str, bool]:
    """Named stability conditions → bool.

    Always ``"all eigenvalues of C > 0"`` (necessary and sufficient in every system). For cubic, hexagonal
    and tetragonal crystals also the system's conditions of Mouhat & Coudert (2014).
    """
    c = np.asarray(c, dtype=float)
    criteria = {"all eigenvalues of C > 0": bool(np.linalg.eigvalsh(c).min() > 0)}
    system = (crystal_system or "").lower()
    c11, c12, c13, c33, c44, c66, c16 = c[0, 0], c[0, 1], c[0, 2], c[2, 2], c[3, 3], c[5, 5], c[0, 5]
    if system == "cubic":
        criteria.update(
            {
                "cubic: C11 - C12 > 0": bool(c11 - c12 > 0),
                "cubic: C11 + 2 C12 > 0": bool(c11 + 2 * c12 > 0),
                "cubic: C44 > 0": bool(c44 > 0),
            }
        )
    elif system in ("hexagonal", "tetragonal"):
        criteria.update(
            {
                f"{system}: C11 > |C12|": bool(c11 > abs(c12)),
                f"{system}: 2 C13^2 < C33 (C11 + C12)": bool(2 * c13**2 < c33 * (c11 + c12)),
                f"{system}: C44 > 0": bool(c44 > 0),
            }
        )
        if system == "hexagonal":
            criteria["hexagonal: C66 = (C11 - C12)/2 > 0"] = bool(c11 - c12 > 0)
        else:  # covers tetragonal I (C16 = 0) and II
            criteria["tetragonal: 2 C16^2 < C66 (C11 - C12)"] = bool(2 * c16**2 < c66 * (c11 - c12))
    return criteria


def elastic_properties(c: np.ndarray, crystal_system: str | None = None) -> ElasticProperties:
    """Moduli (Voigt, Reuss, Hill), eigenvalues, stability and anisotropy of a 6×6 Voigt tensor.

    A tensor that is not positive definite still gets every number, with ``mechanically_stable=False``;
    the Reuss and Hill values are None only when C is singular (no compliance exists).
    """
    c = np.asarray(c, dtype=float)
    if c.shape != (6, 6) or not np.all(np.isfinite(c)):
        raise InputError(f"The elastic tensor must be a finite 6×6 Voigt matrix, got shape {c.shape}.")
    c = (c + c.T) / 2
    eigenvalues = np.linalg.eigvalsh(c)
    criteria = born_criteria(c, crystal_system)
    k_v, g_v = voigt_bounds(c)
    compliance = None if np.linalg.cond(c) > _SINGULAR else np.linalg.inv(c)
    k_r = g_r = k_h = g_h = None
    if compliance is not None:
        k_r, g_r = reuss_bounds(compliance)
        k_h, g_h = (k_v + k_r) / 2, (g_v + g_r) / 2

    def both(k, g):
        if k is None or g is None or 3 * k + g == 0:
            return None, None
        return youngs_modulus(k, g), poisson_ratio(k, g)

    e_v, nu_v = both(k_v, g_v)
    e_r, nu_r = both(k_r, g_r)
    e_h, nu_h = both(k_h, g_h)
    zener = None
    if (crystal_system or "").lower() == "cubic" and c[0, 0] != c[0, 1]:
        zener = float(2 * c[3, 3] / (c[0, 0] - c[0, 1]))
    universal = None
    if k_r is not None and g_r:
        universal = float(5 * g_v / g_r + k_v / k_r - 6)
    return ElasticProperties(
        tensor=c,
        compliance=compliance,
        eigenvalues=eigenvalues,
        mechanically_stable=criteria["all eigenvalues of C > 0"],
        born_criteria=criteria,
        k_voigt=k_v,
        g_voigt=g_v,
        k_reuss=k_r,
        g_reuss=g_r,
        k_vrh=k_h,
        g_vrh=g_h,
        youngs_modulus={"voigt": e_v, "reuss": e_r, "hill": e_h},
        poisson_ratio={"voigt": nu_v, "reuss": nu_r, "hill": nu_h},
        zener_anisotropy=zener,
        universal_anisotropy=universal,
    )
