"""A store written before typed settings (commit 9404f42) is reused: nothing recomputed, same numbers.

The fixture (tests/fixtures/legacy_store/, made by tests/fixtures/make_legacy_store.py with that
commit's code) holds a relax + static, an elastic tensor, a vacancy formation energy and one CI-NEB hop of
EMT Cu, and the numbers they gave. Running the same flows with the current code on a copy of it must find
every relaxation and band by its reuse key: a changed default, a renamed or added settings field, or a
changed key layout shows up here as a recomputed result.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from atomflow.store import STORE_FILE, open_store

FIXTURES = Path(__file__).parent / "fixtures"


def _legacy_module():
    spec = importlib.util.spec_from_file_location("make_legacy_store", FIXTURES / "make_legacy_store.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _ReuseCounts(logging.Handler):
    """Counts atomflow.reuse's "Reused" / "Computed" records (one per reuse_or_compute call)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.reused = self.computed = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.reused += message.startswith("Reused stored result")
        self.computed += message.startswith("Computed result")


@pytest.fixture(scope="module")
def rerun(tmp_path_factory):
    """Run the fixture's flows with the current code on a copy of the legacy store."""
    directory = tmp_path_factory.mktemp("legacy") / "store"
    shutil.copytree(FIXTURES / "legacy_store", directory)
    store = open_store(str(directory / STORE_FILE))
    counts = _ReuseCounts()
    logger = logging.getLogger("atomflow.reuse")
    level = logger.level
    logger.addHandler(counts)
    logger.setLevel(logging.INFO)
    try:
        numbers = _legacy_module().run_all(store)
    finally:
        logger.removeHandler(counts)
        logger.setLevel(level)
    return counts, numbers, json.loads((directory / "numbers.json").read_text())


def test_rerun_on_the_legacy_store_recomputes_nothing(rerun):
    counts, _, _ = rerun
    assert counts.computed == 0
    # relax, static; elastic bulk + 6 strained cells; vacancy bulk + perfect + 1 site; migration bulk +
    # 2 end points + 1 band: every one of them found in the store
    assert counts.reused == 16


@pytest.mark.parametrize("name", ["relax", "static", "elastic", "vacancy", "migration"])
def test_rerun_gives_the_legacy_numbers(rerun, name):
    _, new, old = rerun
    # Reused documents are identical; documents rebuilt from them (fit, E_f, barrier) agree to round-off
    # (a stress read back through GPa and eV/Å³ may differ in the last bit).
    assert new[name].keys() == old[name].keys()
    for field, value in old[name].items():
        assert np.asarray(new[name][field]) == pytest.approx(np.asarray(value), rel=1e-12, abs=1e-12), field
