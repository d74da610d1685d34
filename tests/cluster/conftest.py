"""A real single-node Slurm on 127.0.0.1 and a jobflow-remote project on it, for tests/cluster/.

The session fixture runs scripts/local_slurm.sh (installs slurm-wlm + munge with apt-get if needed, starts
munged/slurmctld/slurmd on loopback, stops them by PID at the end). Without root or apt the tests are
skipped with the reason; ATOMFLOW_REQUIRE_SLURM=1 turns that skip into a failure (for CI that must run them).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "local_slurm.sh"
ATOMFLOW = str(Path(sys.executable).parent / "atomflow")
PROJECT = "atomflow-test"
ACTIVE = {
    "READY",
    "CHECKED_OUT",
    "UPLOADED",
    "SUBMITTED",
    "RUNNING",
    "RUN_FINISHED",
    "DOWNLOADED",
    "BATCH_SUBMITTED",
    "BATCH_RUNNING",
}
_TIMINGS: dict[str, float] = {}


def pytest_configure(config):
    config.addinivalue_line("markers", "slurm: runs jobs through a real local Slurm (root + Debian; minutes)")


def pytest_terminal_summary(terminalreporter):
    if _TIMINGS:
        text = ", ".join(f"{k} {v:.1f} s" for k, v in _TIMINGS.items())
        terminalreporter.write_line(f"local Slurm: {text}")


def _unavailable(reason: str):
    if os.environ.get("ATOMFLOW_REQUIRE_SLURM") == "1":
        pytest.fail(f"local Slurm required (ATOMFLOW_REQUIRE_SLURM=1) but {reason}")
    pytest.skip(f"local Slurm tests skipped: {reason}")


@pytest.fixture(scope="session")
def timings() -> dict[str, float]:
    """Wall times a test wants printed in the run's summary line ("local Slurm: …")."""
    return _TIMINGS


@dataclass
class LocalSlurm:
    conf: Path
    state_dir: Path


@pytest.fixture(scope="session")
def local_slurm(tmp_path_factory):
    if sys.platform != "linux" or os.geteuid() != 0:
        _unavailable("they need root on Linux (to install and start slurm-wlm + munge)")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        _unavailable("slurm-wlm is not installed and there is no apt-get to install it")
    pytest.importorskip("jobflow_remote")
    state = tmp_path_factory.mktemp("slurm")
    env = {**os.environ, "ATOMFLOW_SLURM_DIR": str(state)}
    start = time.perf_counter()
    try:
        result = subprocess.run(
            ["bash", str(SCRIPT), "start"], env=env, capture_output=True, text=True, timeout=900
        )
    except subprocess.TimeoutExpired:
        _unavailable("scripts/local_slurm.sh start took more than 15 min")
    if result.returncode != 0:
        subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
        _unavailable(f"scripts/local_slurm.sh start failed: {result.stderr.strip()[-1500:]}")
    _TIMINGS["start (install included)"] = time.perf_counter() - start
    yield LocalSlurm(conf=state / "slurm.conf", state_dir=state)
    stop = time.perf_counter()
    subprocess.run(["bash", str(SCRIPT), "stop"], env=env, capture_output=True, timeout=120)
    _TIMINGS["stop"] = time.perf_counter() - stop


@dataclass
class Cluster:
    """A jobflow-remote project on the local Slurm with its runner daemon up."""

    name: str
    base: Path
    store: str
    slurm: LocalSlurm
    env: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [ATOMFLOW, *args],
            env={**os.environ, **self.env, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"atomflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def rows(self):
        from atomflow.cluster import job_states

        return job_states(self.name)

    def wait(self, timeout: float = 300):
        """Until no job of the project is queued or running; returns the rows (db id order)."""
        deadline = time.monotonic() + timeout
        while True:
            rows = self.rows()
            if rows and not any(r.state in ACTIVE for r in rows):
                return rows
            if time.monotonic() > deadline:
                table = "\n".join(f"{r.db_id} {r.name} {r.state} {r.worker} {r.error_line}" for r in rows)
                log = self.base / "jfremote" / self.name / "log" / "runner.log"
                tail = log.read_text()[-3000:] if log.exists() else "no runner log"
                raise AssertionError(
                    f"jobs still active after {timeout} s:\n{table}\n--- runner log:\n{tail}"
                )
            time.sleep(1)

    def job_doc(self, db_id: str) -> dict:
        from atomflow.cluster import job_controller

        jc = job_controller(self.name)
        try:
            return jc.jobs.find_one({"db_id": db_id})
        finally:
            jc.close()

    def slurm_header(self, db_id: str) -> str:
        """The #SBATCH lines jobflow-remote wrote for the job."""
        doc = self.job_doc(db_id)
        return (Path(doc["run_dir"]) / "submit.sh").read_text()

    def ran_in_slurm(self, db_id: str) -> bool:
        """Slurm's own completion log lists the job's scheduler id."""
        process_id = self.job_doc(db_id)["remote"]["process_id"]
        log = self.slurm.state_dir / "log" / "jobcomp.log"
        return bool(process_id) and f"JobId={process_id} " in log.read_text()


@pytest.fixture(scope="module")
def cluster(local_slurm, tmp_path_factory):
    base = tmp_path_factory.mktemp("cluster")
    env = {
        "JFREMOTE_PROJECTS_FOLDER": str(base / "jfremote"),
        "SLURM_CONF": str(local_slurm.conf),
        "ATOMFLOW_RESULTS_DIR": str(base / "results"),
    }
    store = str(base / "results" / "store")
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        mp.delenv("JFREMOTE_PROJECT", raising=False)
        c = Cluster(name=PROJECT, base=base, store=store, slurm=local_slurm, env=env)
        c.cli(
            "cluster",
            "init",
            "--name",
            PROJECT,
            "--partition",
            "debug",
            "--ntasks",
            "1",
            "--time",
            "00:10:00",
            "--light-time",
            "00:05:00",
            "--fast-runner",
            "--work-dir",
            str(base / "work"),
            "--store",
            store,
        )
        c.cli("cluster", "runner", "start", "--project", PROJECT)
        start = time.perf_counter()
        try:
            yield c
        finally:
            _TIMINGS[f"jobs of {Path(__file__).parent.name}/ (module)"] = time.perf_counter() - start
            c.cli("cluster", "runner", "stop", "--project", PROJECT, check=False)
            _stop_by_pid(base / "jfremote" / PROJECT / "daemon" / "supervisord.pid")


def _stop_by_pid(pid_file: Path) -> None:
    """The runner daemon, if `runner stop` left it: by the PID in its pid file, nothing else."""
    if not pid_file.exists():
        return
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (ValueError, ProcessLookupError, PermissionError):
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
