"""Generate step of the elastic workflow: which strained cells to compute, and how symmetry fills in the rest.

Conventions (used throughout :mod:`atomflow.elastic`):

* Voigt order ``(xx, yy, zz, yz, xz, xy)`` for strain and stress.
* Strain vectors use the *engineering* shear convention: ``e = (ε_xx, ε_yy, ε_zz, 2ε_yz, 2ε_xz, 2ε_xy)``,
  so a "shear strain of 0.01" in direction 3 is the tensor ``ε_yz = ε_zy = 0.005``. With that
  convention ``σ = C e`` with the usual 6×6 Voigt matrix C and ``S = C⁻¹``.
* Stress in eV/Å³, ASE sign (positive = tensile), so a stretched crystal has positive stress and
  ``σ = C e`` holds without a sign flip.
* A strain ε is applied as the symmetric deformation gradient ``F = I + ε`` (no rotation), lattice
  rows ``a' = a Fᵀ``, fractional coordinates kept. Second-order terms of this finite strain cancel in
  the fit because every magnitude comes with its negative (the default ±0.5 %, ±1 %).

Symmetry reduction: if R is a point-group operation of the crystal (Cartesian frame), the crystal
strained by ``R ε Rᵀ`` is the crystal strained by ε, rotated by R; so its (relaxed-ion) stress is
``R σ Rᵀ``. Only one strain of each equivalence class is computed. For a cubic crystal the 24 default
strains fall into 6 classes: xx/yy/zz are equivalent, yz/xz/xy are equivalent, and a four-fold axis
maps a shear +γ onto −γ, so 4 normal + 2 shear relaxations suffice. P1 needs all 24.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.core import Lattice, Structure
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from atomflow import validation as check
from atomflow.errors import InputError
from atomflow.run_settings import DEFAULT_MAGNITUDES

VOIGT_LABELS = ("xx", "yy", "zz", "yz", "xz", "xy")
_VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))

#: Largest |strain| accepted: beyond 10 % the linear (second-order) fit is meaningless.
MAX_STRAIN = 0.1
#: Strains closer than this are the same strain (dimensionless).
_SAME_STRAIN = 1e-9


def voigt_to_strain(e: Sequence[float]) -> np.ndarray:
    """Voigt strain (engineering shear) → symmetric 3×3 strain tensor."""
    e = np.asarray(e, dtype=float)
    return np.array([[e[0], e[5] / 2, e[4] / 2], [e[5] / 2, e[1], e[3] / 2], [e[4] / 2, e[3] / 2, e[2]]])


def strain_to_voigt(eps: np.ndarray) -> np.ndarray:
    """Symmetric 3×3 strain tensor → Voigt strain (engineering shear: off-diagonals doubled)."""
    eps = np.asarray(eps, dtype=float)
    return np.array([eps[0, 0], eps[1, 1], eps[2, 2], 2 * eps[1, 2], 2 * eps[0, 2], 2 * eps[0, 1]])


def voigt_to_stress(s: Sequence[float]) -> np.ndarray:
    """Voigt stress → symmetric 3×3 stress tensor (no factor 2 for stress)."""
    s = np.asarray(s, dtype=float)
    return np.array([[s[0], s[5], s[4]], [s[5], s[1], s[3]], [s[4], s[3], s[2]]])


def stress_to_voigt(sigma: np.ndarray) -> np.ndarray:
    """Symmetric 3×3 stress tensor → Voigt stress."""
    sigma = np.asarray(sigma, dtype=float)
    return np.array([sigma[i, j] for i, j in _VOIGT_PAIRS])


def strain_label(e: Sequence[float]) -> str:
    """Short name of a strain for job names and messages, e.g. ``'xx+0.0050'``."""
    parts = [f"{VOIGT_LABELS[i]}{v:+.4f}" for i, v in enumerate(e) if abs(v) > _SAME_STRAIN]
    return ",".join(parts) or "zero"


def validate_magnitudes(
    magnitudes: Sequence[float], *, what: str = "strain_magnitudes", allow_zero: bool = False
) -> tuple[float, ...]:
    """Check strain magnitudes: finite, 0 < |ε| ≤ 0.1 (0 allowed only with ``allow_zero``), no duplicates."""
    if isinstance(magnitudes, Sequence | np.ndarray) and not isinstance(magnitudes, str) and not magnitudes:
        raise InputError(f"{what} is empty; give strains such as {DEFAULT_MAGNITUDES}.")
    fix = f"strains are fractions such as {DEFAULT_MAGNITUDES}"
    values = tuple(float(m) for m in check.numbers(what, magnitudes, fix=fix))
    for m in values:
        if m == 0 and not allow_zero:
            raise InputError(
                f"{what} contains the strain 0, which carries no information for the fit (the bulk reference "
                f"stress is subtracted already); use non-zero strains such as {DEFAULT_MAGNITUDES}."
            )
        if abs(m) > MAX_STRAIN:
            raise InputError(
                f"{what} contains the strain {m} (|ε| > {MAX_STRAIN}, the validity range of the linear "
                "stress–strain fit); use |ε| ≤ 0.02 (the default is ±0.005, ±0.01). Strains are "
                "fractions, not percent."
            )
    duplicates = sorted({m for m in values if values.count(m) > 1})
    if duplicates:
        raise InputError(f"{what} lists {duplicates} more than once; give each strain once.")
    return values


def check_strain_range(strains: Sequence[Sequence[float]]) -> None:
    """Refuse Voigt strains with a component beyond ±:data:`MAX_STRAIN` (where the linear fit stops holding).

    The Makers check their magnitudes when built; this guards the fit itself, so no tensor is ever fitted
    from larger strains (given directly to :func:`atomflow.elastic.fit.fit_elastic_tensor`).
    """
    e = np.asarray(strains, dtype=float)
    if e.size and np.all(np.isfinite(e)) and np.abs(e).max() > MAX_STRAIN * (1 + 1e-12):
        k = int(np.argmax(np.abs(e).max(axis=-1))) if e.ndim == 2 else 0
        raise InputError(
            f"strain {strain_label(e[k] if e.ndim == 2 else e)} is beyond the validity range "
            f"|ε| ≤ {MAX_STRAIN} "
            "of the linear stress–strain fit; fit only small strains (the default is ±0.005, ±0.01).")


def fit_strain_states(magnitudes: Sequence[float]) -> list[np.ndarray]:
    """The fit's strain set: every Voigt direction (0–5) at every magnitude, direction-major.

    Needs at least two distinct magnitudes, so that 12 ≥ 6 independent strain states over-determine the
    fit and its residual measures how linear the response is.
    """
    values = validate_magnitudes(magnitudes)
    if len(values) < 2:
        raise InputError(
            f"Only {len(values)} strain magnitude {values} gives {6 * len(values)} strain states; "
            "the fit needs at least 12 (2 magnitudes × 6 Voigt directions, ideally ± pairs such as "
            "(-0.01, -0.005, 0.005, 0.01)) so that it is over-determined and its residual is meaningful."
        )
    return [m * np.eye(6)[d] for d in range(6) for m in values]


def point_group_rotations(structure: Structure, symprec: float = 1e-3) -> tuple[list[np.ndarray], str]:
    """Cartesian rotation matrices of the crystal's point group (unique, orthogonalised) and its symbol."""
    sga = SpacegroupAnalyzer(structure, symprec=symprec)
    rotations: list[np.ndarray] = []
    for op in sga.get_symmetry_operations(cartesian=True):
        u, _, vt = np.linalg.svd(op.rotation_matrix)  # snap to the nearest orthogonal matrix
        r = u @ vt
        if not any(np.allclose(r, q, atol=1e-6) for q in rotations):
            rotations.append(r)
    return rotations, sga.get_point_group_symbol()


def rotate_strain(e: Sequence[float], r: np.ndarray) -> np.ndarray:
    """Voigt strain of ``R ε Rᵀ``."""
    return strain_to_voigt(r @ voigt_to_strain(e) @ r.T)


def rotate_stress(s: Sequence[float], r: np.ndarray) -> np.ndarray:
    """Voigt stress of ``R σ Rᵀ``."""
    return stress_to_voigt(r @ voigt_to_stress(s) @ r.T)


def symmetry_reduce(
    strains: Sequence[Sequence[float]], rotations: Sequence[np.ndarray]
) -> tuple[list[int], list[int], list[np.ndarray]]:
    """Split strains into those to compute and those that follow by symmetry.

    Returns ``(computed, source, rotation)``: ``computed`` indexes the strains to run; strain i equals
    ``R ε_src Rᵀ`` with ``src = strains[computed[source[i]]]`` and ``R = rotation[i]``, so its stress is
    ``R σ_src Rᵀ``. Greedy in the given order, so the first strain of each class is the one computed.
    """
    vectors = [np.asarray(e, dtype=float) for e in strains]
    identity = np.eye(3)
    computed: list[int] = []
    source: list[int] = []
    rotation: list[np.ndarray] = []
    for i, e in enumerate(vectors):
        for k, j in enumerate(computed):
            match = next(
                (r for r in rotations if np.abs(rotate_strain(vectors[j], r) - e).max() < _SAME_STRAIN), None
            )
            if match is not None:
                source.append(k)
                rotation.append(match)
                break
        else:
            computed.append(i)
            source.append(len(computed) - 1)
            rotation.append(identity)
    return computed, source, rotation


class StrainPlan(BaseModel):
    """Every strained cell the workflow needs, which ones are run, and how the rest follow by symmetry.

    Strains are Voigt vectors (engineering shear, dimensionless); rotations are Cartesian 3×3 matrices.
    """

    strains: list[list[float]] = Field(description="Every distinct non-zero strain needed (fit and curves).")
    fit: list[bool] = Field(description="True where the strain belongs to the tensor fit's strain set.")
    computed: list[int] = Field(description="Indices into `strains` of the cells actually relaxed.")
    source: list[int] = Field(description="For each strain, the index into `computed` it is obtained from.")
    rotation: list[list[list[float]]] = Field(description="For each strain, R with ε = R ε_source Rᵀ.")
    curve_directions: list[int] = Field(default_factory=list, description="Voigt directions of the curves.")
    curve_strains: list[float] = Field(
        default_factory=list, description="Strains of each curve (dimensionless)."
    )
    point_group: str | None = Field(
        default=None, description="Point group used for the reduction; None: none."
    )

    @property
    def computed_strains(self) -> list[list[float]]:
        return [self.strains[i] for i in self.computed]

    def index(self, e: Sequence[float]) -> int:
        """Position of strain ``e`` in :attr:`strains`."""
        for i, s in enumerate(self.strains):
            if np.abs(np.asarray(s) - np.asarray(e)).max() < _SAME_STRAIN:
                return i
        raise KeyError(f"strain {strain_label(e)} is not in the plan")

    def reconstruct(self, computed_stresses: Sequence[Sequence[float]]) -> np.ndarray:
        """Stress (Voigt, any unit) of every strain from the stresses of the computed ones (same order)."""
        if len(computed_stresses) != len(self.computed):
            raise InputError(
                f"Expected {len(self.computed)} computed stresses, got {len(computed_stresses)}."
            )
        return np.array(
            [
                rotate_stress(computed_stresses[k], np.asarray(r))
                for k, r in zip(self.source, self.rotation, strict=True)
            ]
        )


def plan_strains(
    structure: Structure,
    magnitudes: Sequence[float] = DEFAULT_MAGNITUDES,
    *,
    symmetry_reduce_strains: bool = True,
    curve_directions: Sequence[int] = (),
    curve_strains: Sequence[float] = (),
    symprec: float = 1e-3,
) -> StrainPlan:
    """The strain plan for ``structure``: the fit's strain set plus the stress–strain curves' points.

    Curve points equal to fit strains (e.g. 0.5 %, 1 %) are computed once; a curve's zero strain is the
    bulk reference and needs no calculation.
    """
    fit_set = fit_strain_states(magnitudes)
    directions = validate_directions(curve_directions)
    curve_values = (
        validate_magnitudes(curve_strains, what="curve_strains", allow_zero=True) if directions else ()
    )
    strains = [e for e in fit_set]
    fit = [True] * len(strains)
    for d in directions:
        for m in curve_values:
            e = m * np.eye(6)[d]
            if abs(m) > 0 and not any(np.abs(e - s).max() < _SAME_STRAIN for s in strains):
                strains.append(e)
                fit.append(False)
    if symmetry_reduce_strains:
        rotations, point_group = point_group_rotations(structure, symprec)
    else:
        rotations, point_group = [np.eye(3)], None
    computed, source, rotation = symmetry_reduce(strains, rotations)
    return StrainPlan(
        strains=[e.tolist() for e in strains],
        fit=fit,
        computed=computed,
        source=source,
        rotation=[r.tolist() for r in rotation],
        curve_directions=list(directions),
        curve_strains=list(curve_values),
        point_group=point_group,
    )


def validate_directions(directions: Sequence[int]) -> tuple[int, ...]:
    voigt = ", ".join(f"{i}={lab}" for i, lab in enumerate(VOIGT_LABELS))
    if isinstance(directions, Sequence | np.ndarray) and not isinstance(directions, str) and not directions:
        return ()
    values = check.numbers("stress_strain_directions", directions, fix=f"use integers 0–5 ({voigt})",
                           each=lambda name, v, unit, fix: v)
    bad = [d for d in values
           if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 5]
    if bad:
        raise InputError(f"stress_strain_directions {bad} are not Voigt directions; use integers 0–5 "
                         f"({voigt}).")
    return tuple(int(d) for d in values)


def deform(structure: Structure, e: Sequence[float]) -> Structure:
    """The structure under Voigt strain ``e``.

    Lattice rows times ``F = I + ε`` (symmetric, no rotation); fractional coordinates kept.
    """
    f = np.eye(3) + voigt_to_strain(e)
    lattice = Lattice(structure.lattice.matrix @ f.T, pbc=structure.lattice.pbc)
    return Structure(
        lattice, structure.species, structure.frac_coords, site_properties=structure.site_properties
    )
