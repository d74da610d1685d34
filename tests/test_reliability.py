"""Interrupted runs resume without redoing work; concurrent `atomflow run` processes lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import defaultdict

import pytest
from monty.json import MontyDecoder

from atomflow.store import open_store

WORKFLOW = '''
"""Test workflow: two relaxations, a wait (where the test kills the run), two more relaxations."""
import os, time
from ase.build import bulk
from jobflow import Flow, job
from pymatgen.io.ase import AseAtomsAdaptor
from atomflow.jobs import RelaxMaker


@job
def wait(previous, marker):
    open(marker, "w").close()  # tells the test the first two relaxations are stored
    time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
    return previous


@job
def then(previous, a, offset):
    """A new structure, made after `previous` finished: fixes the order of the jobs."""
    return cu(a, offset)


def cu(a, offset):
    atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=int(1000 * a) + offset)
    return AseAtomsAdaptor.get_structure(atoms)


def make_flow(calculator=None):
    offset = int(os.environ.get("OFFSET", "0"))
    relax = lambda s: RelaxMaker(calculator=calculator).make(s)
    a = relax(cu(3.60, offset))
    s_b = then(a.output.energy, 3.62, offset)
    b = relax(s_b.output)
    hold = wait(b.output.energy, os.environ["MARKER"])
    s_c = then(hold.output, 3.64, offset)
    c = relax(s_c.output)
    s_d = then(c.output.energy, 3.66, offset)
    d = relax(s_d.output)
    return Flow([a, s_b, b, hold, s_c, c, s_d, d], name="resume test")
'''


@pytest.fixture
def workflow_dir(tmp_path):
    folder = tmp_path / "workflows"
    folder.mkdir()
    (folder / "resume.py").write_text(textwrap.dedent(WORKFLOW))
    return folder


def _run(workflow_dir, store, marker, slow=0.0, offset=0, wait=True):
    env = {**os.environ, "ATOMFLOW_WORKFLOWS_DIR": str(workflow_dir), "SLOW_SECONDS": str(slow),
           "OFFSET": str(offset), "MARKER": str(marker), "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "atomflow.cli", "run", "resume", "--calculator", "emt", "--store", store]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    if wait:
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out
        return out
    return proc


def _relax_docs(store_path):
    """cache_key → list of (created_at, energy) of every stored relaxation document."""
    store = open_store(store_path)
    found = defaultdict(list)
    for raw in store.query({"output.@class": "RelaxDocument"}, properties=["output"]):
        doc = MontyDecoder().process_decoded(raw["output"])  # every document must decode: none corrupted
        found[doc.cache_key].append((doc.provenance.created_at, doc.energy))
    store.close()
    return found


def test_sigkill_then_rerun_recomputes_no_finished_job(workflow_dir, tmp_path):
    store, marker = str(tmp_path / "store"), tmp_path / "two-done"
    proc = _run(workflow_dir, store, marker, slow=300, wait=False)
    deadline = time.time() + 300
    while not marker.exists():
        assert proc.poll() is None, proc.stdout.read()
        assert time.time() < deadline, "the first two relaxations did not finish"
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # in the middle of the run, as a user's kill -9 would
    proc.wait(timeout=30)

    before = _relax_docs(store)  # the store is still readable after the kill
    assert len(before) == 2 and all(len(v) == 1 for v in before.values())

    out = _run(workflow_dir, store, marker)
    assert "computed 2 and reused 2" in out, out
    after = _relax_docs(store)
    for key, entries in before.items():
        # reused, not recomputed: every copy carries the first computation's timestamp and energy
        assert {e for e in after[key]} == set(entries)
    assert len(after) == 4

    fresh = str(tmp_path / "uninterrupted")
    _run(workflow_dir, fresh, marker)
    reference = _relax_docs(fresh)
    assert set(reference) == set(after)  # same results (same keys) as an uninterrupted run …
    for key in reference:
        assert reference[key][0][1] == pytest.approx(after[key][0][1], abs=1e-8)  # … and same energies


def test_two_concurrent_runs_into_one_store_lose_nothing(workflow_dir, tmp_path):
    store, marker = str(tmp_path / "store"), tmp_path / "marker"
    open_store(store).close()
    procs = [_run(workflow_dir, store, marker, offset=offset, wait=False) for offset in (0, 1)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    docs = _relax_docs(store)
    assert len(docs) == 8  # 4 distinct relaxations per run, different structures per run
    assert all(len(v) == 1 for v in docs.values())
