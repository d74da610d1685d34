"""The elastic-tensor document: fitted tensor, moduli of every average, stability, fit quality; GPa.

Stresses and moduli arrive in eV/Å³ and are converted to GPa here, once, with
:func:`atomflow.units.to_gpa`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field
from pymatgen.core import Structure

from atomflow.documents import Provenance
from atomflow.elastic.fit import elastic_properties, fit_elastic_tensor
from atomflow.elastic.strains import VOIGT_LABELS
from atomflow.units import to_gpa

_UNSTABLE = (
    "NOT mechanically stable (C has a non-positive eigenvalue): the moduli are those of an "
    "unstable tensor and are not physical moduli of the crystal"
)


def _gpa(x):
    return None if x is None else float(to_gpa(x))


def _matrix(a) -> list[list[float]]:
    return [[float(v) for v in row] for row in np.asarray(a)]


class StressStrainCurve(BaseModel):
    """Stress along one Voigt direction under uniaxial *strain* in that direction (all other strain
    components zero, ions relaxed if the workflow relaxes them). Its initial slope is C_jj, not Young's
    modulus (which is the slope under uniaxial *stress*)."""

    direction: int = Field(description="Voigt direction 0–5 (xx, yy, zz, yz, xz, xy).")
    label: str = Field(description="Voigt label of the direction, e.g. 'xx'.")
    strains: list[float] = Field(description="Applied strain (dimensionless; engineering shear for 3–5).")
    stress_gpa: list[float] = Field(
        description="Stress component along the direction, GPa, ASE sign (positive = tensile); not "
        "reference-subtracted (the strain-0 point is the relaxed bulk's residual stress)."
    )
    stresses_gpa: list[list[float]] = Field(description="Full Voigt stress at each strain, GPa, ASE sign.")
    derived_by_symmetry: list[bool] = Field(
        description="True where the point was obtained by rotating a computed stress, not computed."
    )


class ElasticDocument(BaseModel):
    """Second-order elastic tensor from the stress–strain method and the moduli derived from it.

    Voigt order (xx, yy, zz, yz, xz, xy); strains with engineering shear (γ = 2ε); stress sign as ASE
    (positive = tensile). If ``mechanically_stable`` is False every modulus below belongs to an unstable
    tensor: read them only together with that flag (``summary()`` does).
    """

    formula: str = Field(description="Reduced formula.")
    structure: Structure = Field(description="Relaxed bulk structure the strains were applied to.")
    crystal_system: str | None = Field(default=None, description="Crystal system of the relaxed structure.")
    point_group: str | None = Field(
        default=None,
        description="Point group used to reduce the strains; None if no symmetry reduction was used.",
    )
    relax_ions: bool = Field(
        description="True: relaxed-ion tensor (ions relaxed in every strained cell); "
        "False: clamped-ion tensor."
    )
    elastic_tensor_gpa: list[list[float]] = Field(description="6×6 Voigt elastic tensor C, GPa, symmetrised.")
    compliance: list[list[float]] | None = Field(
        default=None, description="6×6 Voigt compliance S = C⁻¹, 1/GPa (None if C is singular)."
    )
    eigenvalues_gpa: list[float] = Field(description="Eigenvalues of the 6×6 Voigt C, GPa, ascending.")
    mechanically_stable: bool = Field(
        description="All eigenvalues of C > 0 (Born stability; necessary and sufficient in every "
        "crystal system)."
    )
    born_criteria: dict[str, bool] = Field(
        description="Named stability conditions → satisfied: the eigenvalue criterion, plus the "
        "crystal-system conditions of Mouhat & Coudert, PRB 90, 224104 (2014) for cubic/hexagonal/tetragonal."
    )
    k_voigt: float = Field(description="Bulk modulus, Voigt average (upper bound), GPa.")
    k_reuss: float | None = Field(description="Bulk modulus, Reuss average (lower bound), GPa.")
    k_vrh: float | None = Field(description="Bulk modulus, Hill average (K_V + K_R)/2, GPa.")
    g_voigt: float = Field(description="Shear modulus, Voigt average (upper bound), GPa.")
    g_reuss: float | None = Field(description="Shear modulus, Reuss average (lower bound), GPa.")
    g_vrh: float | None = Field(description="Shear modulus, Hill average (G_V + G_R)/2, GPa.")
    youngs_modulus_voigt: float | None = Field(
        description="Young's modulus E = 9KG/(3K+G) from the Voigt K_V, G_V, GPa. For anisotropic crystals "
        "it differs strongly from the Hill value (bcc Na: ≈10 vs ≈7 GPa): always say which average."
    )
    youngs_modulus_reuss: float | None = Field(description="Young's modulus from the Reuss K_R, G_R, GPa.")
    youngs_modulus_hill: float | None = Field(
        description="Young's modulus from the Hill K_VRH, G_VRH, GPa (not the mean of the Voigt and Reuss E)."
    )
    poisson_voigt: float | None = Field(description="Poisson's ratio (3K−2G)/(2(3K+G)), Voigt K and G.")
    poisson_reuss: float | None = Field(description="Poisson's ratio from the Reuss K and G.")
    poisson_hill: float | None = Field(description="Poisson's ratio from the Hill K and G.")
    zener_anisotropy: float | None = Field(
        default=None, description="Zener ratio 2 C44/(C11 − C12), cubic crystals only (1 = isotropic)."
    )
    universal_anisotropy: float | None = Field(
        default=None, description="Universal anisotropy index 5 G_V/G_R + K_V/K_R − 6 (0 = isotropic)."
    )
    fit_residual_gpa: float = Field(
        description="RMS stress residual of the linear fit over all strain states and components, GPa."
    )
    fit_residual_components_gpa: list[float] = Field(
        description="RMS residual per Voigt stress component, GPa."
    )
    fit_asymmetry_gpa: float = Field(
        description="max |C_ij − C_ji| of the unsymmetrised least-squares C, GPa."
    )
    reference_stress_gpa: list[float] = Field(
        description="Stress of the relaxed bulk, Voigt, GPa (subtracted from every stress before the fit)."
    )
    strains: list[list[float]] = Field(
        description="Voigt strains of the fit (dimensionless, engineering shear)."
    )
    stresses_gpa: list[list[float]] = Field(
        description="Voigt stress at each fit strain, GPa, ASE sign, before subtracting the reference stress."
    )
    derived_by_symmetry: list[bool] = Field(
        description="For each fit strain, True if its stress was obtained by a point-group rotation of a "
        "computed stress rather than computed."
    )
    n_calculations: int = Field(
        description="Strained-cell relaxations actually run (fit and curves; the bulk relaxation is "
        "not counted)."
    )
    converged: bool = Field(
        description="True if the bulk and every strained relaxation reached the force "
        "criterion within the step limit."
    )
    unconverged: list[str] = Field(
        default_factory=list, description="Relaxations that did not converge ('bulk' or the strain label)."
    )
    failed_strains: list[str] = Field(
        default_factory=list,
        description="Strains (labels such as 'xx+0.0050') whose relaxation failed; they, and the strains "
        "that follow from them by symmetry, are not in the fit (see `warnings`).",
    )
    stress_strain_curves: dict[str, StressStrainCurve] = Field(
        default_factory=dict,
        description="Uniaxial-strain stress–strain curves keyed by Voigt label ('xx', …).",
    )
    warnings: list[str] = Field(
        default_factory=list, description="Problems a reader of the numbers must know."
    )
    provenance: Provenance = Field(description="Calculator, settings, code version.")

    model_config = {"arbitrary_types_allowed": True}

    @classmethod
    def from_fit(
        cls,
        structure: Structure,
        strains: Sequence[Sequence[float]],
        stresses: Sequence[Sequence[float]],
        reference_stress: Sequence[float],
        *,
        provenance: Provenance,
        crystal_system: str | None = None,
        point_group: str | None = None,
        relax_ions: bool = True,
        derived_by_symmetry: Sequence[bool] | None = None,
        n_calculations: int | None = None,
        unconverged: Sequence[str] = (),
        curves: dict[int, tuple[Sequence[float], Sequence[Sequence[float]], Sequence[bool]]] | None = None,
    ) -> ElasticDocument:
        """Fit and analyse stresses (eV/Å³, ASE sign) at Voigt strains; convert to GPa here.

        ``curves`` maps a Voigt direction to (strains, stresses eV/Å³, derived_by_symmetry).
        """
        fit = fit_elastic_tensor(strains, stresses, reference_stress)
        props = elastic_properties(fit.tensor, crystal_system)
        c_gpa = to_gpa(props.tensor)
        warnings = []
        if not props.mechanically_stable:
            warnings.append(
                f"{_UNSTABLE}; smallest eigenvalue {float(to_gpa(props.eigenvalues[0])):.3g} GPa."
            )
        if props.compliance is None:
            warnings.append("C is singular: no compliance, no Reuss or Hill averages.")
        if unconverged:
            warnings.append(f"{len(unconverged)} relaxation(s) did not converge: {', '.join(unconverged)}.")
        scale = float(np.abs(c_gpa).max())
        residual = float(to_gpa(fit.rms_residual))
        if scale > 0 and residual > 0.01 * scale:
            warnings.append(
                f"Fit residual {residual:.3g} GPa exceeds 1 % of max|C| ({scale:.3g} GPa): the response "
                "is not linear over these strains, or relaxations are noisy; use smaller strains or a "
                "tighter fmax."
            )
        n = len(strains)
        curve_docs = {}
        for d, (c_strains, c_stresses, c_derived) in (curves or {}).items():
            s_gpa = to_gpa(np.asarray(c_stresses, dtype=float))
            curve_docs[VOIGT_LABELS[d]] = StressStrainCurve(
                direction=d,
                label=VOIGT_LABELS[d],
                strains=[float(x) for x in c_strains],
                stress_gpa=[float(row[d]) for row in s_gpa],
                stresses_gpa=_matrix(s_gpa),
                derived_by_symmetry=[bool(x) for x in c_derived],
            )
        return cls(
            formula=structure.composition.reduced_formula,
            structure=structure,
            crystal_system=crystal_system,
            point_group=point_group,
            relax_ions=relax_ions,
            elastic_tensor_gpa=_matrix(c_gpa),
            compliance=None if props.compliance is None else _matrix(np.linalg.inv(c_gpa)),
            eigenvalues_gpa=[float(v) for v in to_gpa(props.eigenvalues)],
            mechanically_stable=props.mechanically_stable,
            born_criteria=props.born_criteria,
            k_voigt=_gpa(props.k_voigt),
            k_reuss=_gpa(props.k_reuss),
            k_vrh=_gpa(props.k_vrh),
            g_voigt=_gpa(props.g_voigt),
            g_reuss=_gpa(props.g_reuss),
            g_vrh=_gpa(props.g_vrh),
            youngs_modulus_voigt=_gpa(props.youngs_modulus["voigt"]),
            youngs_modulus_reuss=_gpa(props.youngs_modulus["reuss"]),
            youngs_modulus_hill=_gpa(props.youngs_modulus["hill"]),
            poisson_voigt=props.poisson_ratio["voigt"],
            poisson_reuss=props.poisson_ratio["reuss"],
            poisson_hill=props.poisson_ratio["hill"],
            zener_anisotropy=props.zener_anisotropy,
            universal_anisotropy=props.universal_anisotropy,
            fit_residual_gpa=residual,
            fit_residual_components_gpa=[float(v) for v in to_gpa(fit.rms_residual_components)],
            fit_asymmetry_gpa=float(to_gpa(fit.asymmetry)),
            reference_stress_gpa=[float(v) for v in to_gpa(reference_stress)],
            strains=_matrix(strains),
            stresses_gpa=_matrix(to_gpa(np.asarray(stresses, dtype=float))),
            derived_by_symmetry=[bool(x) for x in (derived_by_symmetry or [False] * n)],
            n_calculations=n if n_calculations is None else n_calculations,
            converged=not unconverged,
            unconverged=list(unconverged),
            stress_strain_curves=curve_docs,
            warnings=warnings,
            provenance=provenance,
        )

    def summary(self) -> dict[str, object]:
        """C11/C12/C44, K, G, E and ν of every average, always next to the stability flag."""
        c = self.elastic_tensor_gpa
        out: dict[str, object] = {
            "formula": self.formula,
            "mechanically_stable": self.mechanically_stable,
            "C11": c[0][0],
            "C12": c[0][1],
            "C44": c[3][3],
            "K_voigt": self.k_voigt,
            "K_reuss": self.k_reuss,
            "K_hill": self.k_vrh,
            "G_voigt": self.g_voigt,
            "G_reuss": self.g_reuss,
            "G_hill": self.g_vrh,
            "E_voigt": self.youngs_modulus_voigt,
            "E_reuss": self.youngs_modulus_reuss,
            "E_hill": self.youngs_modulus_hill,
            "nu_voigt": self.poisson_voigt,
            "nu_reuss": self.poisson_reuss,
            "nu_hill": self.poisson_hill,
            "fit_residual_gpa": self.fit_residual_gpa,
            "converged": self.converged,
        }
        if not self.mechanically_stable:
            out["warning"] = _UNSTABLE
        return out
