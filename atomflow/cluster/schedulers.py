"""qtoolkit's Slurm, PBS and shell writers with job names a batch script can carry.

jobflow-remote names the scheduler job after the jobflow job, replacing only spaces. atomflow's names carry
quotes and braces (a CI-NEB hop "relax initial 0->1'", "vacancy Schottky {'Na': 1, 'Cl': 1}"), and sbatch
refuses the script: ``Unmatched ' in [--job-name=relax_initial_0->1']`` (seen on the local Slurm). These
subclasses write the name with every other character replaced by "_"; the project names them in each
worker's ``scheduler_type`` (jobflow-remote loads a BaseSchedulerIO subclass by @module/@class).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from qtoolkit.core.data_objects import QResources
from qtoolkit.io import pbs as _pbs
from qtoolkit.io import shell as _shell
from qtoolkit.io import slurm as _slurm

_UNSAFE = re.compile(r"[^A-Za-z0-9._+=,-]")


def safe_job_name(name: str, max_length: int = 200) -> str:
    """Letters, digits and ``._+=,-`` kept, the rest "_": ``relax initial 0->1'`` → ``relax_initial_0-_1_``"""
    return _UNSAFE.sub("_", name)[:max_length] or "job"


class _SafeNames:
    def generate_header(self, options: dict | QResources | None) -> str:
        if isinstance(options, QResources) and options.job_name:
            options = copy.copy(options)
            options.job_name = safe_job_name(options.job_name)
        elif isinstance(options, dict) and options.get("job_name"):
            options = {**options, "job_name": safe_job_name(str(options["job_name"]))}
        return super().generate_header(options)  # type: ignore[misc]


class SlurmIO(_SafeNames, _slurm.SlurmIO):
    """Slurm (sbatch/squeue/scancel) with scheduler-safe job names."""


class PBSIO(_SafeNames, _pbs.PBSIO):
    """PBS Pro / Torque (qsub/qstat/qdel) with scheduler-safe job names."""


class ShellIO(_SafeNames, _shell.ShellIO):
    """No scheduler: jobs run as background shell processes, with shell-safe job names."""


SCHEDULER_IO: dict[str, type] = {"slurm": SlurmIO, "pbs": PBSIO, "shell": ShellIO}


def scheduler_type(name: str) -> dict[str, Any]:
    """The serialized writer for a worker's ``scheduler_type``."""
    return SCHEDULER_IO[name]().as_dict()
