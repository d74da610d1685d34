"""Transport: rates on the hop network → D, correlation, carriers, σ. Numbers only, no calculator.

Analytic references: vacancy correlation factors fcc 0.78145, bcc 0.72722 (Compaan & Haven, Trans. Faraday
Soc. 52, 786 (1956)); a walker on a chain of spacing a with rate Γ per direction has D = a²Γ; on a chain with
two alternating bonds of rates Γ1, Γ2 (period L, two sites) D = L² / (2 (1/Γ1 + 1/Γ2)) (series resistors).
"""

from __future__ import annotations

import numpy as np
import pytest
from jobflow import run_locally
from pymatgen.core import Lattice, Structure

from atomflow.errors import InputError
from atomflow.transport import (
    CarrierModel,
    TransportDocument,
    TransportMaker,
    analyse_transport,
    arrhenius_figure,
    fit_arrhenius,
    row,
    section,
)
from atomflow.transport.units import KB_EV

TEMPS = (300.0, 500.0, 1000.0)  # few temperatures keep the tests fast
EXTRINSIC = [CarrierModel(kind="extrinsic", density_cm3=1e17)]


def _hop(a, b, e, image=None, nu=1e13, name=None, reverse=None):
    return dict(name=name or f"{a}->{b}", site_a=a, site_b=b, image=image, forward_barrier=e,
                reverse_barrier=e if reverse is None else reverse, nu_star_hz=nu)


def _nacl() -> Structure:
    return Structure.from_spacegroup("Fm-3m", Lattice.cubic(5.64), ["Na", "Cl"], [[0, 0, 0], [0.5, 0.5, 0.5]])


def _rate(e, t, nu=1e13):
    return nu * np.exp(-e / (KB_EV * t))


@pytest.mark.parametrize("kind, expected", [("fcc", 0.78145), ("bcc", 0.72722)])
def test_correlation_factor_and_isotropy_of_cubic_lattices(kind, expected):
    if kind == "fcc":
        s = Structure(Lattice.cubic(4.2), ["Na"] * 4, [[0, 0, 0], [.5, .5, 0], [.5, 0, .5], [0, .5, .5]])
        z, d = 12, 4.2 / np.sqrt(2)
    else:
        s = Structure(Lattice.cubic(4.2), ["Na"] * 2, [[0, 0, 0], [.5, .5, .5]])
        z, d = 8, 4.2 * np.sqrt(3) / 2
    doc = analyse_transport(s, "Na", [_hop(0, 1, 0.3)], EXTRINSIC, temperatures=TEMPS)
    assert doc.correlation_factor == pytest.approx(expected, abs=1e-3)
    assert doc.percolation_dimension == 3
    d_v = np.array(doc.vacancy_diffusivity_tensor)
    assert np.allclose(d_v, d_v[0, 0] * np.eye(3), rtol=1e-10, atol=1e-12 * d_v[0, 0])  # cubic: isotropic
    # the vacancy's walk: D = z d² Γ / 6 (cm²/s)
    assert doc.vacancy_diffusivity == pytest.approx(z * d**2 * _rate(0.3, 300) / 6 * 1e-16, rel=1e-9)
    c = doc.carriers[0]
    assert c.tracer_diffusivity == pytest.approx(expected * c.site_fraction * doc.vacancy_diffusivity, rel=1e-3)


def _complex_ift(self, *args, **kwargs):
    raise ArithmeticError("Got complex IFT? (2.4e+20-7.6e+04j)")


def _indefinite_lvv(self, *args, **kwargs):
    return -np.eye(3), np.eye(3), np.zeros((3, 3)), np.zeros((3, 3))  # L_vv, L_ss, L_sv, L_1


@pytest.mark.parametrize("lij, says", [(_complex_ift, "failed numerically at 300 K: Got complex IFT?"),
                                       (_indefinite_lvv, "not positive definite at 300 K")])
def test_a_numerical_failure_of_onsager_gives_the_uncorrelated_bound_with_a_flag(monkeypatch, lij, says):
    # seen with a Na-Sn MEAM: onsager's Lij raised "Got complex IFT?"; the document must still hold D_v and σ
    from onsager import OnsagerCalc

    monkeypatch.setattr(OnsagerCalc.VacancyMediated, "Lij", lij)
    s = Structure(Lattice.cubic(4.2), ["Na"] * 2, [[0, 0, 0], [.5, .5, .5]])
    doc = analyse_transport(s, "Na", [_hop(0, 1, 0.3)], EXTRINSIC, temperatures=TEMPS)
    c = doc.carriers[0]
    assert doc.vacancy_diffusivity > 0 and c.conductivity > 0
    assert c.tracer_diffusivity is None and doc.correlation_factor is None  # not invented: the bound instead
    assert c.tracer_diffusivity_upper == pytest.approx(c.site_fraction * doc.vacancy_diffusivity, rel=1e-9)
    assert any(says in f and "f = 1" in f for f in doc.flags)


def test_nacl_conventional_cell_equivalent_hops_and_arrhenius():
    """The conventional rock-salt cell: one hop expands to all 12 Na neighbours (centring translations)."""
    doc = analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.8, nu=2e12)],
                            EXTRINSIC + [CarrierModel(kind="thermal", formation_energy=2.12, schottky=True)],
                            temperatures=TEMPS)
    assert doc.hops[0].jumps_per_cell == 12
    assert doc.correlation_factor == pytest.approx(0.78145, abs=1e-3)
    d_v = np.array(doc.vacancy_diffusivity_tensor)
    assert np.allclose(d_v, d_v[0, 0] * np.eye(3), rtol=1e-10, atol=1e-12 * d_v[0, 0])
    extrinsic, thermal = doc.carriers
    # the Arrhenius fit recovers the input activation energies: h_m (extrinsic), h_m + E_S/2 (intrinsic)
    assert extrinsic.activation_energy == pytest.approx(0.8, abs=1e-6)
    assert thermal.activation_energy == pytest.approx(0.8 + 2.12 / 2, abs=1e-6)
    assert doc.migration_fit.activation_energy == pytest.approx(0.8, abs=1e-6)
    assert thermal.site_fraction == pytest.approx(np.exp(-1.06 / (KB_EV * 300)), rel=1e-9)
    assert doc.haven_ratio == doc.correlation_factor
    # Nernst–Einstein: σ = n q² D*/(kT H_R), n = Na site density
    n = 4 / (5.64**3 * 1e-24)
    assert doc.site_density_cm3 == pytest.approx(n, rel=1e-9)
    sigma = n * 1.602176634e-19 * extrinsic.tracer_diffusivity / (KB_EV * 300 * doc.haven_ratio)
    assert extrinsic.conductivity == pytest.approx(sigma, rel=1e-6)


def test_conductivity_proportional_to_carrier_density():
    models = [CarrierModel(kind="extrinsic", density_cm3=n) for n in (1e15, 1e16, 1e17)]
    doc = analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.6)], models, temperatures=TEMPS)
    sigma = np.array([c.conductivity for c in doc.carriers])
    assert sigma[1] / sigma[0] == pytest.approx(10, rel=1e-12)
    assert sigma[2] / sigma[0] == pytest.approx(100, rel=1e-12)


def _chain(sites, a=6.0, species="Na"):
    return Structure(Lattice.orthorhombic(a, 12, 12), [species] * len(sites), [[x / a, 0, 0] for x in sites])


def test_one_dimensional_chain_d_equals_a2_gamma_and_zero_across():
    s = Structure(Lattice.orthorhombic(3.0, 12.0, 12.0), ["Na"], [[0, 0, 0]])
    doc = analyse_transport(s, "Na", [_hop(0, 0, 0.4, image=(1, 0, 0))], EXTRINSIC, temperatures=TEMPS)
    d = np.array(doc.vacancy_diffusivity_tensor)
    assert d[0, 0] == pytest.approx(3.0**2 * _rate(0.4, 300) * 1e-16, rel=1e-10)
    assert d[1, 1] == 0.0 and d[2, 2] == 0.0 and not np.isnan(d).any()
    assert doc.percolation_dimension == 1
    assert any("percolates in 1 dimension" in f for f in doc.flags)
    assert doc.correlation_factor == 0.0  # single file: the tracer does not diffuse at long times
    assert doc.carriers[0].tracer_diffusivity == 0.0 and doc.carriers[0].conductivity > 0


def test_slowest_hop_of_the_path_limits_transport():
    """Alternating fast (0.2 eV) and slow (0.5 eV) bonds: D is the series sum, E_m,eff → the slow barrier."""
    s = _chain([0.0, 2.5])
    doc = analyse_transport(s, "Na", [_hop(0, 1, 0.2, image=(0, 0, 0)), _hop(1, 0, 0.5, image=(1, 0, 0))],
                            EXTRINSIC, temperatures=(250.0, 300.0, 350.0))
    g1, g2 = _rate(0.2, 300), _rate(0.5, 300)
    d = np.array(doc.vacancy_diffusivity_tensor)
    assert d[0, 0] == pytest.approx(6.0**2 / (2 * (1 / g1 + 1 / g2)) * 1e-16, rel=1e-8)
    assert doc.migration_fit.activation_energy == pytest.approx(0.5, abs=0.01)


def test_network_that_does_not_percolate_gives_zero_not_nan():
    s = _chain([0.0, 2.0])  # dimers 2 Å long, 4 Å apart: the 2 Å hop alone closes no loop
    doc = analyse_transport(s, "Na", [_hop(0, 1, 0.3, image=(0, 0, 0))], EXTRINSIC, temperatures=TEMPS)
    assert doc.percolation_dimension == 0
    assert np.array_equal(np.array(doc.vacancy_diffusivity_tensor), np.zeros((3, 3)))
    assert doc.carriers[0].conductivity == 0.0
    assert doc.carriers[0].activation_energy is None
    assert any("does not percolate in any direction" in f for f in doc.flags)
    assert any("beyond the given hops is 4.000 Å" in n for n in doc.notes)  # the missing hop is named


def test_assumed_attempt_frequency_is_flagged_and_hop_without_rate_left_out():
    doc = analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.8, nu=None)], EXTRINSIC, temperatures=TEMPS)
    assert doc.hops[0].nu_star_assumed and doc.hops[0].nu_star_hz == 1e13
    assert any("assumed" in f for f in doc.flags)
    hop = _hop(0, 1, 0.8) | {"usable": False}
    doc = analyse_transport(_nacl(), "Na", [hop], EXTRINSIC, temperatures=TEMPS)
    assert doc.hops[0].rate_hz is None and doc.vacancy_diffusivity == 0.0


def test_arrhenius_fit_recovers_activation_energy():
    t = np.linspace(250, 1000, 16)
    fit = fit_arrhenius(t, 3.3 * np.exp(-1.234 / (KB_EV * t)))
    assert fit.activation_energy == pytest.approx(1.234, abs=1e-9)
    assert fit.prefactor == pytest.approx(3.3, rel=1e-9)


@pytest.mark.parametrize("temps", [(300.0, 0.0), (-10.0,), ()])
def test_non_positive_temperature_is_rejected(temps):
    with pytest.raises(InputError, match="positive"):
        analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.8)], EXTRINSIC, temperatures=temps)


def test_carrier_density_above_site_density_is_rejected():
    with pytest.raises(InputError, match="exceeds the density of Na sites"):
        analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.8)], [CarrierModel(kind="extrinsic", density_cm3=3e22)])


def test_structure_the_solver_cannot_handle_is_named():
    s = _nacl()
    s.replace_species({"Na": {"Na": 0.5}})
    with pytest.raises(InputError, match=r"cannot handle NaCl.*partial occupancies"):
        analyse_transport(s, "Na", [_hop(0, 1, 0.8)], EXTRINSIC)
    with pytest.raises(InputError, match="both sites to be Na"):
        analyse_transport(_nacl(), "Na", [_hop(0, 4, 0.8)], EXTRINSIC)


def _migration(name, a, b, image, fwd, rev):
    return {"name": name, "site_a": a, "site_b": b, "image": image, "forward_barrier": fwd, "hop_length": 3.988,
            "reverse_barrier": rev, "converged": True, "flags": [],
            "provenance": {"calculator": {"name": "fumi_tosi"}}}


def test_transport_maker_from_documents(tmp_path):
    s = _nacl()
    migrations = [_migration("0->1", 0, 1, None, 0.70, 0.70)]
    freqs = [{"name": "0->1", "site_a": 0, "site_b": 1, "image": None, "nu_star_hz": 3e12,
              "barrier_first_order_eV": 0.65}]
    vacancy = {"e_f_min": 4.0, "mu_source": "bcc_Na", "converged": True, "schottky": {"e_schottky": 2.0}}
    flow = TransportMaker(extrinsic_densities_cm3=(1e17,), temperatures=TEMPS).make(s, migrations, vacancy, freqs)
    out = run_locally(flow, log=False, ensure_success=True)
    doc = next(iter(out.values()))[1].output
    doc = doc if isinstance(doc, TransportDocument) else TransportDocument.model_validate(doc)
    assert doc.hops[0].nu_star_hz == 3e12 and not doc.hops[0].nu_star_assumed
    assert doc.hops[0].forward_barrier == pytest.approx(0.65)  # the verified first-order saddle
    assert [c.model.kind for c in doc.carriers] == ["extrinsic", "thermal"]
    assert doc.carriers[1].activation_energy == pytest.approx(0.65 + 1.0, abs=1e-6)
    assert doc.provenance.calculator["name"] == "fumi_tosi"
    r = row(doc)
    assert r["carriers"]["extrinsic 1.0e+17 cm⁻³"]["sigma_S_cm"] == doc.carriers[0].conductivity
    text = section([doc], figure="transport.png")
    assert "exp(S_m/k)" in text and "0.22 mS/cm" in text and "Bénière" in text
    png = arrhenius_figure([doc], tmp_path / "arrhenius.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_maker_without_carriers_is_rejected():
    with pytest.raises(InputError, match="No carrier model"):
        TransportMaker().make(_nacl(), [_migration("0->1", 0, 1, None, 0.7, 0.7)])
    with pytest.raises(InputError, match="positive"):
        TransportMaker(temperatures=(0.0, 300.0))


def test_hop_indices_of_another_cell_are_rejected():
    with pytest.raises(InputError, match="refer to another cell"):
        analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.8) | {"length": 3.0}], EXTRINSIC)  # 3.99 Å here


def test_structural_carriers_beyond_the_dilute_limit_are_flagged():
    doc = analyse_transport(_nacl(), "Na", [_hop(0, 1, 0.5)],
                            [CarrierModel(kind="structural", site_fraction=0.5)], temperatures=TEMPS)
    c = doc.carriers[0]
    assert c.site_fraction == 0.5 and c.activation_energy == pytest.approx(0.5, abs=1e-6)
    assert any("dilute" in f for f in doc.flags)
    with pytest.raises(InputError, match="site_fraction"):
        CarrierModel(kind="structural", site_fraction=1.5).check(1e22, "Na")


def test_relaxation_noise_does_not_break_the_symmetry_expansion():
    """Atoms displaced by ~0.005 Å (a relaxed cell): pymatgen's symmetry (symprec 0.1 Å) still expands the
    hop to all 12 neighbours, and onsager gets a cell it can symmetrise (f and isotropy as for the ideal one)."""
    s = _nacl()
    rng = np.random.default_rng(0)
    for i in range(len(s)):
        s.translate_sites([i], rng.normal(0.0, 0.004, 3), frac_coords=False)
    doc = analyse_transport(s, "Na", [_hop(0, 1, 0.5), _hop(0, 2, 0.5)], EXTRINSIC, temperatures=TEMPS)
    assert [h.jumps_per_cell for h in doc.hops] == [12, 0]  # 0->2 is the same family: counted once
    assert doc.correlation_factor == pytest.approx(0.78145, abs=1e-3)
    d_v = np.array(doc.vacancy_diffusivity_tensor)
    assert np.allclose(d_v, d_v[0, 0] * np.eye(3), rtol=1e-8, atol=1e-8 * d_v[0, 0])


def test_nu_star_from_a_smaller_cell_keeps_the_study_cells_barrier():
    """ν* computed in a smaller defect cell (the Na–Sn phase: 31 atoms, the study's NEB in 127) is matched by
    hop, but its first-order barrier belongs to the other cell: the rate keeps the study cell's barrier."""
    from atomflow.transport.flow import hops_from_documents

    m = {**_migration("0->1", 0, 1, None, 0.70, 0.60), "n_atoms": 127}
    same = {"name": "0->1", "site_a": 0, "site_b": 1, "image": None, "nu_star_hz": 3e12,
            "barrier_first_order_eV": 0.65, "n_atoms": 127}
    (hop,), notes = hops_from_documents([m], [same])
    assert hop.forward_barrier == pytest.approx(0.65) and hop.reverse_barrier == pytest.approx(0.55)
    (hop,), notes = hops_from_documents([m], [{**same, "n_atoms": 31}])
    assert hop.nu_star_hz == 3e12 and hop.forward_barrier == 0.70 and hop.reverse_barrier == 0.60
    assert "31-atom" in notes[0] and "127-atom" in notes[0]
