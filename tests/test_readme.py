"""The README's Python query example runs and prints the run's results."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from jobflow import Flow, run_locally

from atomflow.elastic import ElasticMaker
from atomflow.neb import MigrationMaker
from atomflow.store import open_store
from atomflow.structures.builders import rocksalt_nacl
from atomflow.vacancy import VacancyFormationMaker

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_opens_with_the_two_setup_commands():
    first = readme_blocks("bash")[0].strip().splitlines()
    assert [line.split("#")[0].strip() for line in first] == ["make run", "make test"]


def test_readme_query_example_runs_on_a_filled_store(tmp_path):
    results = tmp_path / "results"
    nacl, common = rocksalt_nacl(), {"calculator": "fumi_tosi", "label": "NaCl rock salt"}
    flow = Flow([ElasticMaker(**common).make(nacl), MigrationMaker(**common).make(nacl),
                 VacancyFormationMaker(chempot="given", mu=-1.3, **common).make(nacl)])
    run_locally(flow, store=open_store(str(results / "store")), log=False, ensure_success=True)
    example = next(block for block in readme_blocks("python") if "Results()" in block)
    assert len(example.strip().splitlines()) <= 6
    out = subprocess.run([sys.executable, "-c", example], capture_output=True, text=True, timeout=300,
                         env={"ATOMFLOW_RESULTS_DIR": str(results), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "forward_barrier_eV" in out.stdout and "E_voigt_GPa" in out.stdout and "E_f_min_eV" in out.stdout
    assert "fumi_tosi" in out.stdout
