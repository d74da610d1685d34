"""A small job that checks a worker before a study is sent there: `atomflow cluster check`.

It runs where the study's jobs will run (same worker, same pre_run) and fails, with a message that names the
fix, when atomflow cannot build the calculator there or a file the study needs is not visible there (a MACE
model, POTCARs, a structure). A failed check is retried like any job once the cause is fixed
(`atomflow retry`).
"""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

from jobflow import job

from atomflow.cluster.errors import ClusterError


@job
def check_worker(calculator: str | None = None, paths: list[str] | None = None) -> dict[str, Any]:
    """Fail unless every path exists on the worker and ``calculator`` (a spec, e.g. "emt") can be built there.

    Output: host, Python, atomflow version, the scheduler's job id, the calculator's provenance.
    """
    missing = [p for p in (paths or []) if not Path(p).expanduser().exists()]
    if missing:
        raise ClusterError(
            f"Not visible on worker host {platform.node()}: {', '.join(missing)}. Copy them "
            "to a filesystem the compute nodes mount, then `atomflow retry`."
        )
    result: dict[str, Any] = {
        "host": platform.node(),
        "python": sys.executable,
        "atomflow_version": _atomflow_version(),
        "scheduler_job_id": os.environ.get("SLURM_JOB_ID") or os.environ.get("PBS_JOBID"),
        "paths": list(paths or []),
        "calculator": None,
    }
    if calculator:
        from atomflow.calculators import calculator_provenance, get_calculator

        get_calculator(calculator)  # raises CalculatorError / MissingDependencyError naming the fix
        result["calculator"] = calculator_provenance(calculator)
    return result


def _atomflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("atomflow")
    except PackageNotFoundError:
        return "unknown"
