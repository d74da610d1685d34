"""Elastic analysis without a calculator: fit, averages, stability, strains, symmetry reduction."""

from __future__ import annotations

import numpy as np
import pytest
from pymatgen.analysis.elasticity import ElasticTensor
from pymatgen.core import Lattice, Structure

from atomflow.documents import Provenance
from atomflow.elastic import (
    ElasticDocument,
    ElasticMaker,
    deform,
    elastic_properties,
    fit_elastic_tensor,
    plan_strains,
)
from atomflow.elastic.strains import DEFAULT_MAGNITUDES, fit_strain_states, strain_to_voigt, voigt_to_strain
from atomflow.errors import InputError
from atomflow.units import EV_PER_A3_TO_GPA


def cubic(c11, c12, c44):
    c = np.full((3, 3), float(c12))
    np.fill_diagonal(c, c11)
    out = np.zeros((6, 6))
    out[:3, :3] = c
    out[3, 3] = out[4, 4] = out[5, 5] = c44
    return out


def tetragonal(c11, c12, c13, c33, c44, c66):
    out = cubic(c11, c12, c44)
    out[0, 2] = out[2, 0] = out[1, 2] = out[2, 1] = c13
    out[2, 2], out[5, 5] = c33, c66
    return out


# Cu, experimental room-temperature constants (Simmons & Wang, Single Crystal Elastic Constants,
# MIT Press 1971), used here only as a realistic input tensor.
CU_GPA = cubic(168.0, 121.0, 75.0)
CU = CU_GPA / EV_PER_A3_TO_GPA  # eV/Å³, atomflow's internal unit
FCC = Structure(Lattice.cubic(3.6), ["Cu"] * 4, [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
TETRAGONAL = Structure(Lattice.tetragonal(3.0, 4.0), ["Cu"], [[0, 0, 0]])
TRICLINIC = Structure(Lattice.from_parameters(3.0, 3.4, 3.9, 81, 97, 104), ["Cu"], [[0, 0, 0]])


def provenance():
    return Provenance.from_spec("emt", {})


def test_voigt_strain_uses_engineering_shear():
    # A Voigt shear strain of 0.01 (yz) is the tensor ε_yz = ε_zy = 0.005; deform applies F = I + ε.
    eps = voigt_to_strain([0, 0, 0, 0.01, 0, 0])
    assert eps[1, 2] == eps[2, 1] == pytest.approx(0.005)
    assert np.allclose(strain_to_voigt(eps), [0, 0, 0, 0.01, 0, 0])
    strained = deform(FCC, [0.01, 0, 0, 0, 0, 0])
    assert strained.lattice.a == pytest.approx(3.6 * 1.01)
    assert strained.lattice.b == pytest.approx(3.6)
    assert np.allclose(strained.frac_coords, FCC.frac_coords)


def test_exact_cubic_tensor_is_recovered_from_default_strains():
    strains = np.array(fit_strain_states(DEFAULT_MAGNITUDES))
    reference = np.array([0.002, -0.001, 0.003, 0.0005, 0.0, -0.0002])  # eV/Å³: an imperfectly relaxed bulk
    stresses = strains @ CU.T + reference
    fit = fit_elastic_tensor(strains, stresses, reference)
    assert np.allclose(fit.tensor, CU, rtol=1e-6, atol=1e-9)
    assert fit.rms_residual < 1e-9

    doc = ElasticDocument.from_fit(
        FCC, strains, stresses, reference, provenance=provenance(), crystal_system="cubic"
    )
    assert np.allclose(doc.elastic_tensor_gpa, CU_GPA, rtol=1e-6)  # eV/Å³ in, GPa out, converted once
    assert np.allclose(doc.reference_stress_gpa, reference * EV_PER_A3_TO_GPA)
    assert np.allclose(np.array(doc.compliance) @ CU_GPA, np.eye(6), atol=1e-9)
    assert doc.mechanically_stable and all(doc.born_criteria.values())
    assert doc.converged and doc.warnings == []


def test_fit_recovers_the_symmetric_part_and_reports_asymmetric_and_random_noise():
    # Stresses from a tensor that is NOT symmetric (CU plus an antisymmetric part D) plus random noise:
    # the fit must return CU (C_ij = C_ji, since stress derives from an energy), and what it cannot
    # represent, D·e and the noise, must come back as residual and asymmetry, not vanish.
    strains = np.array(fit_strain_states(DEFAULT_MAGNITUDES))  # 24 states
    rng = np.random.default_rng(7)
    d = np.zeros((6, 6))
    d[0, 1], d[1, 0] = 10.0, -10.0  # GPa: σ_xx gains 10 GPa per unit ε_yy, σ_yy loses as much per unit ε_xx
    d[3, 5], d[5, 3] = -8.0, 8.0
    sigma = 0.005  # GPa, random stress noise of a loosely converged relaxation
    noise = rng.normal(scale=sigma, size=(len(strains), 6))
    reference = np.array([0.1, -0.2, 0.05, 0.0, 0.01, 0.0])  # GPa
    stresses_gpa = strains @ (CU_GPA + d).T + noise + reference
    fit = fit_elastic_tensor(strains, stresses_gpa / EV_PER_A3_TO_GPA, reference / EV_PER_A3_TO_GPA)
    c = fit.tensor * EV_PER_A3_TO_GPA
    # Least-squares error of one coefficient: σ / sqrt(Σ e²) over the 4 states along its direction.
    coefficient_error = sigma / np.sqrt(np.sum(np.square(DEFAULT_MAGNITUDES)))
    assert 6 * coefficient_error < 0.25 * np.abs(d).max()  # the test can tell D from the noise
    assert np.abs(c - CU_GPA).max() < 6 * coefficient_error  # ≈ 1.9 GPa of ~170: the noise only, not D
    # The raw least-squares tensor had C_01 − C_10 = 2·10 GPa: reported as the fit's asymmetry ...
    assert fit.asymmetry * EV_PER_A3_TO_GPA == pytest.approx(20.0, abs=12 * coefficient_error)
    # ... and D·e (the part the symmetric tensor cannot give) as residual, with the noise on top.
    expected = np.sqrt(np.mean((strains @ d.T + noise) ** 2, axis=0))
    assert fit.rms_residual_components * EV_PER_A3_TO_GPA == pytest.approx(expected, rel=0.3)
    assert fit.rms_residual * EV_PER_A3_TO_GPA > 3 * sigma  # well above the noise alone
    # Without D the residual is the noise alone (fewer fitted coefficients than data: a bit below σ).
    plain = fit_elastic_tensor(strains, (strains @ CU_GPA.T + noise) / EV_PER_A3_TO_GPA)
    assert 0.5 * sigma < plain.rms_residual * EV_PER_A3_TO_GPA < sigma
    assert plain.asymmetry * EV_PER_A3_TO_GPA < 12 * coefficient_error


def test_document_warns_when_the_residual_exceeds_one_percent_of_the_tensor():
    # Stress that is not linear in the strain (a quadratic term) leaves a residual the document reports.
    strains = np.array(fit_strain_states(DEFAULT_MAGNITUDES))
    linear = strains @ CU.T
    for curvature, warned in ((0.0, False), (2e5, True)):  # GPa per unit strain²: 20 GPa at 1 %
        stresses = linear + curvature / EV_PER_A3_TO_GPA * strains**2
        doc = ElasticDocument.from_fit(FCC, strains, stresses, np.zeros(6), provenance=provenance(),
                                       crystal_system="cubic")
        assert doc.fit_residual_gpa == pytest.approx(
            float(np.sqrt(np.mean((curvature * strains**2) ** 2))), rel=1e-6, abs=1e-9)  # ± pairs: all of it
        assert any("Fit residual" in w for w in doc.warnings) is warned


def test_cubic_averages_match_closed_forms():
    c11, c12, c44 = 168.0, 121.0, 75.0
    props = elastic_properties(CU_GPA, "cubic")
    k = (c11 + 2 * c12) / 3  # K_V = K_R for cubic
    g_v = (c11 - c12 + 3 * c44) / 5
    g_r = 5 * (c11 - c12) * c44 / (4 * c44 + 3 * (c11 - c12))
    assert props.k_voigt == pytest.approx(k) and props.k_reuss == pytest.approx(k)
    assert props.g_voigt == pytest.approx(g_v) and props.g_reuss == pytest.approx(g_r)
    assert props.g_vrh == pytest.approx((g_v + g_r) / 2)
    g_h = (g_v + g_r) / 2
    assert props.youngs_modulus["hill"] == pytest.approx(9 * k * g_h / (3 * k + g_h))
    assert props.poisson_ratio["voigt"] == pytest.approx((3 * k - 2 * g_v) / (2 * (3 * k + g_v)))
    assert props.zener_anisotropy == pytest.approx(2 * c44 / (c11 - c12))
    assert props.g_reuss < props.g_vrh < props.g_voigt  # Reuss ≤ Hill ≤ Voigt


def test_isotropic_tensor_gives_lame_moduli_for_every_average():
    lam, mu = 60.0, 30.0  # GPa
    props = elastic_properties(cubic(lam + 2 * mu, lam, mu), "cubic")
    e = mu * (3 * lam + 2 * mu) / (lam + mu)
    nu = lam / (2 * (lam + mu))
    for average in ("voigt", "reuss", "hill"):
        assert props.youngs_modulus[average] == pytest.approx(e)
        assert props.poisson_ratio[average] == pytest.approx(nu)
    assert props.zener_anisotropy == pytest.approx(1.0)
    assert props.universal_anisotropy == pytest.approx(0.0, abs=1e-12)


def test_averages_agree_with_pymatgen_on_a_general_tensor():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(6, 6))
    c = a @ a.T + 6 * np.eye(6)  # positive definite, no symmetry at all
    props = elastic_properties(c)
    et = ElasticTensor.from_voigt(c)  # an independent implementation of the same averages
    assert props.k_voigt == pytest.approx(et.k_voigt)
    assert props.k_reuss == pytest.approx(et.k_reuss)
    assert props.g_voigt == pytest.approx(et.g_voigt)
    assert props.g_reuss == pytest.approx(et.g_reuss)
    assert props.youngs_modulus["hill"] == pytest.approx(
        et.y_mod / 1e9
    )  # pymatgen: Hill E in Pa from GPa input
    assert props.universal_anisotropy == pytest.approx(et.universal_anisotropy)


def test_sodium_young_modulus_depends_strongly_on_the_average():
    # bcc Na PBE C11/C12/C44 = 8.36/6.97/6.08 GPa → E_V ≈ 10.0, E_H ≈ 7.2, E_R ≈ 4.2 GPa
    # (reference values collected in /work/shared/reference/paper.md).
    props = elastic_properties(cubic(8.36, 6.97, 6.08), "cubic")
    assert props.youngs_modulus["voigt"] == pytest.approx(10.0, abs=0.05)
    assert props.youngs_modulus["hill"] == pytest.approx(7.2, abs=0.05)
    assert props.youngs_modulus["reuss"] == pytest.approx(4.2, abs=0.05)


def test_non_positive_definite_tensor_is_kept_but_flagged():
    bad_gpa = cubic(100.0, 120.0, 40.0)  # C11 < C12: unstable against tetragonal shear
    strains = np.array(fit_strain_states(DEFAULT_MAGNITUDES))
    stresses = strains @ (bad_gpa / EV_PER_A3_TO_GPA).T
    doc = ElasticDocument.from_fit(
        FCC, strains, stresses, np.zeros(6), provenance=provenance(), crystal_system="cubic"
    )
    assert np.allclose(doc.elastic_tensor_gpa, bad_gpa, rtol=1e-6)  # stored all the same
    assert not doc.mechanically_stable
    assert min(doc.eigenvalues_gpa) == pytest.approx(
        100.0 - 120.0
    )  # the tetragonal-shear eigenvalue C11 − C12
    assert doc.born_criteria == {
        "all eigenvalues of C > 0": False,
        "cubic: C11 - C12 > 0": False,
        "cubic: C11 + 2 C12 > 0": True,
        "cubic: C44 > 0": True,
    }
    assert any("NOT mechanically stable" in w for w in doc.warnings)
    summary = doc.summary()
    assert summary["mechanically_stable"] is False and "NOT mechanically stable" in summary["warning"]


def test_stable_hexagonal_and_tetragonal_pass_their_system_criteria():
    tet = tetragonal(200.0, 100.0, 80.0, 180.0, 60.0, 50.0)
    assert all(elastic_properties(tet, "tetragonal").born_criteria.values())
    unstable = tetragonal(200.0, 100.0, 160.0, 80.0, 60.0, 50.0)  # 2 C13² > C33 (C11 + C12)
    criteria = elastic_properties(unstable, "tetragonal").born_criteria
    assert not criteria["tetragonal: 2 C13^2 < C33 (C11 + C12)"]
    assert not criteria["all eigenvalues of C > 0"]  # the two criteria agree


@pytest.mark.parametrize(
    ("structure", "tensor", "n_computed"),
    [
        (FCC, CU, 6),  # xx≡yy≡zz; yz≡xz≡xy; a four-fold axis maps +γ to −γ: 4 normal + 2 shear
        (
            TETRAGONAL,
            tetragonal(1.2, 0.6, 0.5, 1.0, 0.4, 0.3),
            12,
        ),  # xx≡yy, zz: 8 normal; yz≡xz, xy (±γ): 4 shear
        (TRICLINIC, None, 24),  # only identity and inversion, which changes no strain
    ],
)
def test_symmetry_reduction_reconstructs_the_full_set(structure, tensor, n_computed):
    plan = plan_strains(structure, DEFAULT_MAGNITUDES)
    assert len(plan.strains) == 24 and len(plan.computed) == n_computed
    if tensor is None:
        return
    full = np.array(plan.strains) @ tensor.T
    reconstructed = plan.reconstruct(full[plan.computed])
    assert np.allclose(reconstructed, full, atol=1e-12)
    # The rotation does real work: a tensor without the crystal's symmetry is not reproduced.
    lopsided = tensor.copy()
    lopsided[1, 1] *= 1.5
    wrong = np.array(plan.strains) @ lopsided.T
    assert not np.allclose(plan.reconstruct(wrong[plan.computed]), wrong, atol=1e-6)


def test_unreduced_plan_computes_every_strain():
    plan = plan_strains(FCC, DEFAULT_MAGNITUDES, symmetry_reduce_strains=False)
    assert plan.computed == list(range(24)) and plan.point_group is None


def test_curve_points_reuse_fit_strains():
    curve = [0.0, 0.0025, 0.005, 0.0075, 0.01]
    plan = plan_strains(TRICLINIC, DEFAULT_MAGNITUDES, curve_directions=[0], curve_strains=curve)
    assert len(plan.strains) == 24 + 2  # 0 is the bulk; 0.5 % and 1 % are fit strains already


@pytest.mark.parametrize(
    ("magnitudes", "message"),
    [
        ((0.0, 0.01), "strain 0"),
        ((-0.005, 0.15), "0.15"),
        ((0.01,), "at least 12"),
        ((0.01, 0.01), "more than once"),
        ((), "empty"),
    ],
)
def test_bad_strain_magnitudes_raise_before_any_work(magnitudes, message):
    with pytest.raises(InputError, match=message):
        ElasticMaker(calculator="emt", strain_magnitudes=magnitudes)


def test_bad_curve_inputs_raise():
    with pytest.raises(InputError, match=r"\[6\]"):
        ElasticMaker(calculator="emt", stress_strain_directions=(6,))
    with pytest.raises(InputError, match="0.5"):
        ElasticMaker(calculator="emt", stress_strain_directions=(0,), curve_strains=(0.0, 0.5))


def test_fit_needs_all_six_directions():
    strains = [m * np.eye(6)[d] for d in range(5) for m in DEFAULT_MAGNITUDES]  # no xy strain
    with pytest.raises(InputError, match="span only 5 of the 6"):
        fit_elastic_tensor(strains, np.zeros((len(strains), 6)))
