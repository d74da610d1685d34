"""Every calculator name resolves, or fails before any work with the documented error."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from ase.build import bulk

from atomflow.calculators import (
    CalculatorSpec,
    available_calculators,
    calculator_provenance,
    check_structure,
    get_calculator,
)
from atomflow.errors import CalculatorError, MissingDependencyError


def nacl():
    return bulk("NaCl", "rocksalt", a=5.64)


def test_spec_is_plain_json_and_round_trips():
    spec = CalculatorSpec.parse("gpaw:ecut=500,kpt_density=3.5")
    assert spec.parameters == {"ecut": 500, "kpt_density": 3.5}
    again = CalculatorSpec.model_validate(json.loads(spec.model_dump_json()))
    assert again == spec and again.key == spec.key
    assert CalculatorSpec.parse("mace:/m/x.model").parameters == {"model": "/m/x.model"}


def test_spec_survives_jobflow_serialisation():
    from monty.json import MontyDecoder, MontyEncoder

    spec = CalculatorSpec.parse("kim")
    assert MontyDecoder().decode(json.dumps(spec, cls=MontyEncoder)) == spec


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(CalculatorError) as err:
        CalculatorSpec.parse("sevenet")
    for name in available_calculators():
        assert name in str(err.value)


@pytest.mark.parametrize("name", ["emt", "lj"])
def test_cheap_calculators_give_energies(name):
    atoms = bulk("Cu", "fcc", a=3.6) if name == "emt" else bulk("Ar", "fcc", a=5.3)
    atoms.calc = get_calculator(name, atoms)
    assert np.isfinite(atoms.get_potential_energy())


def test_emt_on_nacl_raises_before_work_naming_na_and_cl():
    with pytest.raises(CalculatorError) as err:
        get_calculator("emt", nacl())
    message = str(err.value)
    assert "Na" in message and "Cl" in message
    assert "sevennet" in message  # suggests a calculator that can


def test_emt_on_sn_names_sn():
    with pytest.raises(CalculatorError, match="Sn"):
        check_structure("emt", bulk("Sn", "diamond", a=6.5))


def test_kim_na_sn_meam_gives_stress_free_energy_near_bcc_na():
    pytest.importorskip("kimpy")
    atoms = bulk("Na", "bcc", a=4.23, cubic=True)
    atoms.calc = get_calculator("kim", atoms)
    assert np.isfinite(atoms.get_potential_energy())
    # The MEAM was fitted to bcc Na (a ≈ 4.23 Å, Kim, Ko & Lee 2020): near-zero pressure there.
    assert abs(atoms.get_stress()[:3].mean()) < 0.003  # eV/Å³ ≈ 0.5 GPa
    with pytest.raises(CalculatorError, match="Cl"):
        check_structure("kim", nacl())


@pytest.mark.mlip
@pytest.mark.parametrize("name", ["chgnet", "sevennet"])
def test_universal_potentials_give_nacl_energies_offline(name):
    atoms = nacl()
    atoms.calc = get_calculator(name, atoms)
    energy = atoms.get_potential_energy()
    # Universal PBE-trained potentials put NaCl near the MP PBE energy (-3.4 eV/atom); a wrong
    # unit or a missing model gives something far off.
    assert -4.0 < energy / len(atoms) < -3.0
    assert np.allclose(atoms.get_forces(), 0.0, atol=1e-4)  # rock salt: forces vanish by symmetry


@pytest.mark.mlip
def test_expensive_models_are_loaded_once_and_calculators_are_independent():
    a, b = nacl(), nacl()
    b.set_cell(b.cell * 1.02, scale_atoms=True)
    calc_a, calc_b = get_calculator("sevennet"), get_calculator("sevennet")
    assert calc_a is not calc_b and calc_a.model is calc_b.model
    a.calc, b.calc = calc_a, calc_b
    assert a.get_potential_energy() != pytest.approx(b.get_potential_energy())


@pytest.mark.mlip
def test_tiny_mace_model_loads_through_the_real_path(tiny_mace_model):
    atoms = nacl().repeat(2)
    atoms.rattle(0.02, seed=1)
    atoms.calc = get_calculator(f"mace:{tiny_mace_model}", atoms)
    assert np.isfinite(atoms.get_potential_energy())
    assert np.all(np.isfinite(atoms.get_forces()))
    assert np.all(np.isfinite(atoms.get_stress()))
    # mace-torch sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD on import; atomflow must not leave it set.
    assert "TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD" not in os.environ
    prov = calculator_provenance(f"mace:{tiny_mace_model}")
    assert prov["package"] == "mace-torch" and len(prov["model_sha256"]) == 16


@pytest.mark.mlip
def test_mace_model_element_check(tiny_mace_model):
    with pytest.raises(CalculatorError, match="Sn"):
        check_structure(f"mace:{tiny_mace_model}", bulk("Sn", "diamond", a=6.5))


def test_missing_mace_file_names_the_path(tmp_path):
    missing = tmp_path / "nope.model"
    with pytest.raises(CalculatorError, match="nope.model"):
        get_calculator(f"mace:{missing}")


@pytest.mark.mlip
def test_corrupt_mace_file_gives_one_clear_error(tmp_path):
    bad = tmp_path / "corrupt.model"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(CalculatorError, match="corrupt.model"):
        get_calculator(f"mace:{bad}")


def test_gpaw_absent_names_the_install_step():
    try:
        import gpaw  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="install-gpaw"):
            get_calculator("gpaw")
    else:  # GPAW installed: the name resolves to a GPAW calculator (GPAW 26's class is gpaw.new's ASECalculator)
        assert type(get_calculator("gpaw")).__module__.startswith("gpaw.")


def test_vasp_absent_names_the_executable(monkeypatch):
    monkeypatch.setenv("ATOMFLOW_VASP_CMD", "definitely_not_vasp_std")
    with pytest.raises(MissingDependencyError, match="definitely_not_vasp_std"):
        get_calculator("vasp")


def test_vasp_missing_potcar_dir(monkeypatch, tmp_path):
    fake = tmp_path / "vasp_std"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.setenv("ATOMFLOW_VASP_CMD", str(fake))
    monkeypatch.setenv("PMG_VASP_PSP_DIR", str(tmp_path / "no_potcars"))
    monkeypatch.delenv("VASP_PP_PATH", raising=False)
    with pytest.raises(CalculatorError, match="POTCAR"):
        get_calculator("vasp")


def test_every_name_resolves_or_fails_with_its_documented_error(tiny_mace_model):
    documented = (CalculatorError, MissingDependencyError)
    for name in available_calculators():
        arg = f"mace:{tiny_mace_model}" if name == "mace" else name
        try:
            calc = get_calculator(arg)
        except documented as exc:
            assert str(exc)  # one clear message
            assert name in {"gpaw", "vasp", "kim", "mace", "chgnet", "sevennet"}
        else:
            assert hasattr(calc, "get_potential_energy")
