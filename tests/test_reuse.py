"""Finished work is reused when structure, calculator spec and settings match."""

from __future__ import annotations

from ase.build import bulk
from jobflow import Flow, run_locally
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.jobs import RelaxMaker
from atomflow.reuse import cache_key
from atomflow.store import open_store


def cu(a=3.7):
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=a, cubic=True))


def test_cache_key_ignores_numerical_noise_but_not_settings():
    s = cu()
    noisy = s.copy()
    noisy.translate_sites([0], [1e-9, 0, 0])
    assert cache_key("relax", s, "emt", {"fmax": 0.01}) == cache_key("relax", noisy, "emt", {"fmax": 0.01})
    assert cache_key("relax", s, "emt", {"fmax": 0.01}) != cache_key("relax", s, "emt", {"fmax": 0.02})
    assert cache_key("relax", s, "emt", {}) != cache_key("relax", cu(3.71), "emt", {})


def test_second_run_reuses_the_stored_relax(tmp_path, caplog):
    store = open_store(str(tmp_path / "store"))
    first = RelaxMaker(calculator="emt").make(cu())
    run_locally(Flow([first]), store=store, log=False)
    second = RelaxMaker(calculator="emt").make(cu())
    with caplog.at_level("INFO", logger="atomflow.reuse"):
        run_locally(Flow([second]), store=store, log=False)
    assert "Reused stored result" in caplog.text
    a, b = store.get_output(first.uuid), store.get_output(second.uuid)
    assert a["energy"] == b["energy"] and a["cache_key"] == b["cache_key"]


def test_different_settings_are_not_reused(tmp_path, caplog):
    store = open_store(str(tmp_path / "store"))
    run_locally(Flow([RelaxMaker(calculator="emt").make(cu())]), store=store, log=False)
    with caplog.at_level("INFO", logger="atomflow.reuse"):
        run_locally(Flow([RelaxMaker(calculator="emt", fmax=0.005).make(cu())]), store=store, log=False)
    assert "Reused stored result" not in caplog.text


def test_unconverged_results_are_not_reused(tmp_path, caplog):
    store = open_store(str(tmp_path / "store"))
    start = cu(3.9)
    run_locally(Flow([RelaxMaker(calculator="emt", max_steps=1).make(start)]), store=store, log=False)
    with caplog.at_level("INFO", logger="atomflow.reuse"):
        run_locally(Flow([RelaxMaker(calculator="emt", max_steps=1).make(start)]), store=store, log=False)
    assert "Reused stored result" not in caplog.text
