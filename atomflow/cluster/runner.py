"""The jobflow-remote runner for a project: as a daemon (start/stop/status) or in the foreground until done.

The runner is the only process that opens the queue and the results store: it uploads job inputs to the
worker, submits to the scheduler, polls it, and moves finished outputs into the results store. The daemon is
jobflow-remote's own (``jf -p NAME runner start --single``; one process, which the litemongo queue needs).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from atomflow.cluster.errors import ClusterError
from atomflow.cluster.project import load_project, projects_folder


def jf_command() -> str:
    """The `jf` of this Python environment (the one atomflow runs in), else the one on PATH."""
    here = Path(sys.executable).parent / "jf"
    found = str(here) if here.exists() else shutil.which("jf")
    if not found:
        raise ClusterError(
            "jobflow-remote's `jf` command is not installed here: pip install 'atomflow[cluster]'."
        )
    return found


def _jf(project: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    # jf starts supervisord and `jf runner run` by name: this environment's bin first, activated or not
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = {
        **os.environ,
        "PATH": path,
        "JFREMOTE_PROJECTS_FOLDER": str(projects_folder()),
        "PYTHONWARNINGS": "ignore::FutureWarning",
        "COLUMNS": "1000",
    }  # quiet, unwrapped messages
    return subprocess.run(
        [jf_command(), "-p", project, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _checked(result: subprocess.CompletedProcess, what: str) -> str:
    lines = (result.stdout + "\n" + result.stderr).splitlines()
    out = "\n".join(ln for ln in lines if ln.strip() and not ln.startswith("The selected project is")).strip()
    if result.returncode != 0:
        raise ClusterError(f"{what} failed (jf exit {result.returncode}): {out}")
    return out


def start_daemon(project: str | None = None) -> str:
    """Start the runner daemon of the project (single process); returns jf's message."""
    name = load_project(project).name
    return _checked(_jf(name, "runner", "start", "--single"), f"Starting the runner of {name!r}")


def stop_daemon(project: str | None = None, wait: bool = True, max_wait: int = 60) -> str:
    """Stop the runner daemon (it finishes the step in hand first)."""
    name = load_project(project).name
    args = ["runner", "stop"] + (["--wait", "--max-wait", str(max_wait)] if wait else [])
    return _checked(_jf(name, *args, timeout=max_wait + 60), f"Stopping the runner of {name!r}")


def daemon_status(project: str | None = None) -> str:
    """jobflow-remote's one-line daemon state (e.g. 'Daemon status: running')."""
    name = load_project(project).name
    return _checked(_jf(name, "runner", "status"), f"Asking the runner of {name!r}")


def daemon_running(project: str | None = None) -> tuple[bool, str]:
    """(whether the runner daemon is up, jobflow-remote's state word: running, shut_down, stopped, …)."""
    text = daemon_status(project)
    state = text.rsplit(":", 1)[-1].strip().split()[0] if ":" in text else text.strip()
    return state.lower() == "running", state


def run_until_done(project: str | None = None, max_seconds: int | None = None) -> None:
    """Run the runner in this process until no job is waiting, queued or running (failed jobs stay failed).

    Do not run it next to the daemon of the same project.
    """
    import jobflow_remote
    from jobflow_remote.jobs.runner import Runner

    proj = load_project(project)
    if Path(jobflow_remote.SETTINGS.projects_folder).expanduser() != projects_folder():
        raise ClusterError(
            "jobflow-remote was imported with another JFREMOTE_PROJECTS_FOLDER; run "
            "`atomflow cluster runner run` in a fresh process."
        )
    try:
        Runner(project_name=proj.name).run_all_jobs(max_seconds=max_seconds)
    except RuntimeError as exc:
        raise ClusterError(f"{exc} ({max_seconds} s); `atomflow status` shows where the jobs are.") from exc
