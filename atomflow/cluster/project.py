"""The jobflow-remote project `atomflow cluster init` writes: workers, queue store, results store, runner.

A project is one YAML file in jobflow-remote's projects folder (``~/.jfremote/<name>.yaml``, or
``$JFREMOTE_PROJECTS_FOLDER``). It defines two workers on the same machine or SSH host, ``heavy``
(relaxations, statics, CI-NEB) and ``light`` (generate, fit, analyse), each with its scheduler resources;
the ``pre_run`` of both activates the Python environment that has atomflow. Compute jobs never open a
database: they write their outputs to files in their run folder, and the runner (on the machine where you
type ``atomflow``) moves them into the results store, the same store ``atomflow.Results`` reads.

Queue store: a MongoDB URI (``--queue-uri``; what a multi-user or multi-machine setup needs), or by default a
server-less litemongo file store in the project folder (single user, one runner with ``--single``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from atomflow.cluster.errors import ClusterError

DEFAULT_PROJECT = "atomflow"
HEAVY_WORKER = "heavy"
LIGHT_WORKER = "light"
QUEUE_DATABASE = "jobflow_remote"
Scheduler = Literal["slurm", "pbs", "shell"]

#: Runner delays (s) for tests and single-user setups; jobflow-remote's defaults are 30 s (a 2-job flow on a
#: local Slurm: 90 s with the defaults, 7 s with these; ../shared/reference/local-cluster.md).
FAST_RUNNER: dict[str, Any] = {
    "delay_checkout": 1,
    "delay_check_run_status": 1,
    "delay_advance_status": 1,
    "delay_refresh_limited": 5,
    "delay_update_batch": 5,
    "delta_retry": [2, 10, 30],
}

_TIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")


def jfr_settings():
    """jobflow-remote's settings read now (``JFREMOTE_*``, ``~/.jfremote.yaml``), not its import-time copy."""
    try:
        from jobflow_remote.config.settings import JobflowRemoteSettings
    except ImportError as exc:
        from atomflow.errors import MissingDependencyError

        raise MissingDependencyError(
            "Cluster submission needs jobflow-remote: pip install 'atomflow[cluster]' (make install does)."
        ) from exc

    return JobflowRemoteSettings()


def projects_folder() -> Path:
    return Path(jfr_settings().projects_folder).expanduser()


def default_project_name() -> str:
    """``$JFREMOTE_PROJECT`` (or the project set in ~/.jfremote.yaml), else "atomflow"."""
    return jfr_settings().project or DEFAULT_PROJECT


def project_file(name: str | None = None) -> Path:
    return projects_folder() / f"{name or default_project_name()}.yaml"


class Resources(BaseModel):
    """What one class of jobs asks of the scheduler; :meth:`for_scheduler` writes qtoolkit's keys."""

    partition: str | None = Field(None, description="Slurm partition / PBS queue.")
    nodes: int | None = Field(None, ge=1, description="Nodes per job.")
    ntasks: int | None = Field(None, ge=1, description="MPI tasks per job.")
    cpus_per_task: int | None = Field(None, ge=1, description="Threads per task.")
    time: str | None = Field(None, description="Wall time, [D-]HH:MM:SS.")
    mem: str | None = Field(
        None, description="Memory per node as the scheduler writes it (Slurm 4G, PBS 4gb)."
    )
    account: str | None = None
    qos: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Other qtoolkit template keys, verbatim.")

    @field_validator("time")
    @classmethod
    def _check_time(cls, value: str | None) -> str | None:
        if value is not None and not _TIME.match(value):
            raise ValueError(f"time must look like HH:MM:SS or D-HH:MM:SS, got {value!r}")
        return value

    def for_scheduler(self, scheduler: str) -> dict[str, Any]:
        """qtoolkit template values for ``scheduler``; keys a scheduler has no use for raise."""
        if scheduler == "slurm":
            out = {
                "partition": self.partition,
                "nodes": self.nodes,
                "ntasks": self.ntasks,
                "cpus_per_task": self.cpus_per_task,
                "time": self.time,
                "mem": self.mem,
                "account": self.account,
                "qos": self.qos,
            }
        elif scheduler == "pbs":
            if self.qos:
                raise ClusterError("PBS has no QOS option; leave --qos out (or use --resource KEY=VALUE).")
            ntasks, cpus = self.ntasks or 1, self.cpus_per_task or 1
            select = f"select={self.nodes or 1}:ncpus={ntasks * cpus}:mpiprocs={ntasks}"
            if self.mem:
                select += f":mem={self.mem}"
            out = {"queue": self.partition, "walltime": self.time, "account": self.account, "select": select}
        elif scheduler == "shell":
            given = [k for k, v in self.model_dump(exclude={"extra"}).items() if v is not None]
            if given:
                raise ClusterError(
                    f"The shell scheduler runs jobs directly and takes no resources ({', '.join(given)})."
                )
            out = {}
        else:
            raise ClusterError(f"Unknown scheduler {scheduler!r}: use slurm, pbs or shell.")
        out.update(self.extra)
        out = {k: v for k, v in out.items() if v is not None}
        _check_template_keys(scheduler, out)
        return out


def _check_template_keys(scheduler: str, values: dict[str, Any]) -> None:
    """qtoolkit refuses keys its template lacks, at submission; say it now, with the close matches."""
    import difflib

    from qtoolkit.io import scheduler_mapping
    from qtoolkit.io.base import QTemplate

    known = set(QTemplate(scheduler_mapping[scheduler]().header_template).get_identifiers())
    unknown = sorted(set(values) - known)
    if unknown:
        hints = "; ".join(
            f"{k}: did you mean {', '.join(m)}?"
            for k in unknown
            if (m := difflib.get_close_matches(k, known, n=3, cutoff=0.6))
        )
        raise ClusterError(f"The {scheduler} template has no {', '.join(unknown)}. {hints}".strip())


class ClusterConfig(BaseModel):
    """What `atomflow cluster init` asks; :meth:`project_dict` turns it into the jobflow-remote project."""

    name: str = DEFAULT_PROJECT
    host: str | None = Field(None, description="SSH host of the cluster; None: this machine (local worker).")
    user: str | None = Field(None, description="SSH user (default: ~/.ssh/config or the local user).")
    port: int | None = Field(None, description="SSH port.")
    key_filename: str | None = Field(None, description="SSH private key file.")
    scheduler: Scheduler = "slurm"
    light_scheduler: Scheduler | None = Field(
        None,
        description="Scheduler of light jobs (default: scheduler); "
        "'shell' runs them on the login node without queueing.",
    )
    heavy: Resources = Field(default_factory=Resources)
    light: Resources = Field(
        default_factory=Resources,
        description="Resources of light jobs; partition, account and qos default to heavy's.",
    )
    python_env: Path = Field(
        default_factory=lambda: Path(sys.prefix),
        description="Environment (venv/conda prefix) with atomflow on the worker.",
    )
    pre_run: str | None = Field(None, description="More commands before each job, e.g. 'module load vasp'.")
    work_dir: Path = Field(description="Absolute folder on the worker where job folders are made.")
    queue_uri: str | None = Field(None, description="MongoDB URI of the queue; None: litemongo files.")
    store_uri: str | None = Field(
        None, description="Results store (atomflow store URI); None: atomflow's default."
    )
    fast_runner: bool = Field(
        False, description="Runner delays of ~1 s (tests, single user) instead of 30 s."
    )
    max_jobs: int | None = Field(None, ge=1, description="At most this many jobs queued per worker at once.")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", value):
            raise ValueError(f"project name {value!r}: use letters, digits, '.', '_' and '-' only")
        return value

    @model_validator(mode="after")
    def _check_paths(self) -> "ClusterConfig":
        if not self.work_dir.is_absolute():
            raise ValueError(f"work_dir must be an absolute path on the worker, got {self.work_dir}")
        if not self.python_env.is_absolute():
            raise ValueError(f"python_env must be an absolute path on the worker, got {self.python_env}")
        if self.queue_uri and not self.queue_uri.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError(
                "queue_uri must be a MongoDB URI (mongodb://… or mongodb+srv://…); leave it out "
                "for the server-less litemongo queue"
            )
        if (self.light_scheduler or self.scheduler) != "shell":
            inherited = {
                k: getattr(self.heavy, k)
                for k in ("partition", "account", "qos")
                if getattr(self.light, k) is None and getattr(self.heavy, k) is not None
            }
            self.light = self.light.model_copy(update=inherited)
        return self

    def base_dir(self) -> Path:
        return projects_folder() / self.name

    def queue_store(self) -> dict[str, Any]:
        """The queue store: a serialized maggma MongoStore (subclass); jobflow-remote loads it by @class."""
        if self.queue_uri:
            from maggma.stores import MongoStore

            store = MongoStore(
                database=QUEUE_DATABASE,
                collection_name="jobs",
                uri=self.queue_uri,
                mongoclient_kwargs={"serverSelectionTimeoutMS": 5000},
            )
        else:
            from atomflow.store import LiteMongoStore

            store = LiteMongoStore(self.base_dir() / "queue", database=QUEUE_DATABASE, collection_name="jobs")
        return store.as_dict()

    def jobstore(self) -> dict[str, Any]:
        """The results store: the JobStore `atomflow run` and `Results()` use, serialized."""
        from atomflow.store import get_store

        return get_store(self.store_uri).as_dict()

    def _worker(self, scheduler: str, resources: Resources) -> dict[str, Any]:
        pre_run = f"source {self.python_env / 'bin' / 'activate'}"
        if self.pre_run:
            pre_run += "\n" + self.pre_run
        from atomflow.cluster.schedulers import scheduler_type

        worker: dict[str, Any] = {
            "type": "local" if self.host is None else "remote",
            "scheduler_type": scheduler_type(scheduler),  # qtoolkit's, with job names sbatch accepts
            "work_dir": str(self.work_dir),
            "pre_run": pre_run,
            "resources": resources.for_scheduler(scheduler) or None,
        }
        if self.host is not None:
            worker.update(
                {"host": self.host, "user": self.user, "port": self.port, "key_filename": self.key_filename}
            )
        if self.max_jobs:
            worker["max_jobs"] = self.max_jobs
        return {k: v for k, v in worker.items() if v is not None}

    def project_dict(self) -> dict[str, Any]:
        """The content of the project file (validated by jobflow-remote in :func:`write_project`)."""
        base = self.base_dir()
        project: dict[str, Any] = {
            "name": self.name,
            "base_dir": str(base),
            "log_level": "info",
            "workers": {
                HEAVY_WORKER: self._worker(self.scheduler, self.heavy),
                LIGHT_WORKER: self._worker(self.light_scheduler or self.scheduler, self.light),
            },
            "queue": {"store": self.queue_store()},
            "jobstore": self.jobstore(),
            "metadata": {
                "atomflow": {
                    "heavy_worker": HEAVY_WORKER,
                    "light_worker": LIGHT_WORKER,
                    "queue": "mongodb" if self.queue_uri else "litemongo",
                }
            },
        }
        if self.fast_runner:
            project["runner"] = dict(FAST_RUNNER)
        return project


def write_project(config: ClusterConfig, force: bool = False) -> Path:
    """Validate the project with jobflow-remote, write it, make its queue ready (once); returns the file."""
    from jobflow_remote.config.base import Project

    path = project_file(config.name)
    activate = config.python_env / "bin" / "activate"
    if config.host is None and not activate.exists():
        raise ClusterError(
            f"{activate} does not exist: give --python-env the folder of the virtual environment "
            "that has atomflow (its bin/activate is sourced before each job)."
        )
    if path.exists() and not force:
        raise ClusterError(f"{path} exists. Pass --force to overwrite it (the queue and its jobs are kept).")
    content = config.project_dict()
    try:
        project = Project.model_validate(content)
    except Exception as exc:  # pydantic's message lists the fields
        raise ClusterError(f"jobflow-remote rejects this project: {exc}") from exc
    for folder in (project.base_dir, project.tmp_dir, project.log_dir, project.daemon_dir):
        Path(folder).mkdir(parents=True, exist_ok=True)
    if config.host is None:
        config.work_dir.mkdir(parents=True, exist_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# jobflow-remote project written by `atomflow cluster init` ({config.name}).\n"
        "# Edit freely; `jf -p NAME project check` verifies it. Workers: heavy = relax/static/NEB jobs,\n"
        "# light = generate/fit/analyse jobs (atomflow.cluster.resources).\n"
    )
    path.write_text(header + _yaml_text(content))
    init_queue(project)
    return path


def _yaml_text(content: dict[str, Any]) -> str:
    import io

    from ruamel.yaml import YAML  # jobflow-remote's own YAML library (and loader)
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    def quote_times(value: Any) -> Any:
        # '12:00:00' unquoted is the integer 43200 to YAML 1.1 readers (PyYAML); quote wall times for them
        if isinstance(value, dict):
            return {k: quote_times(v) for k, v in value.items()}
        if isinstance(value, list):
            return [quote_times(v) for v in value]
        if isinstance(value, str) and _TIME.match(value) and ":" in value:
            return SingleQuotedScalarString(value)
        return value

    yaml = YAML()  # round-trip dumper: keeps the order written (name, workers, queue, …)
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(quote_times(content), buffer)
    return buffer.getvalue()


def init_queue(project: Any) -> bool:
    """Prepare an empty queue (jobflow-remote's `jf admin reset`) unless it already holds jobs."""
    from jobflow_remote.jobs.jobcontroller import JobController

    jc = JobController.from_project(project)
    try:
        if jc.auxiliary.find_one({"next_id": {"$exists": True}}) is not None:
            return False
        return jc.reset(reset_output=False, max_limit=0)
    finally:
        jc.close()


def load_project(name: str | None = None) -> Any:
    """The jobflow-remote Project from its file (read now, not from jobflow-remote's import-time settings)."""
    from jobflow_remote.config.base import Project
    from monty.serialization import loadfn

    path = project_file(name)
    if not path.exists():
        others = sorted(p.stem for p in path.parent.glob("*.yaml")) if path.parent.exists() else []
        raise ClusterError(
            f"No cluster project {path.stem!r} ({path} does not exist). Create it with "
            "`atomflow cluster init`" + (f"; projects there: {', '.join(others)}." if others else ".")
        )
    try:
        return Project.model_validate(loadfn(path, cls=None))
    except Exception as exc:
        raise ClusterError(f"The project file {path} is not valid: {exc}") from exc


def job_controller(name: str | None = None) -> Any:
    """jobflow-remote's JobController for the project (close() it when done)."""
    from jobflow_remote.jobs.jobcontroller import JobController

    project = load_project(name)
    try:
        return JobController.from_project(project)
    except Exception as exc:
        raise ClusterError(
            f"The queue of project {project.name!r} does not answer ({type(exc).__name__}: "
            f"{exc}). Check queue.store in {project_file(project.name)}."
        ) from exc


def atomflow_metadata(project: Any) -> dict[str, Any]:
    """The workers atomflow put in the project (metadata.atomflow); defaults for a hand-written file."""
    meta = dict((project.metadata or {}).get("atomflow", {}))
    meta.setdefault(
        "heavy_worker", HEAVY_WORKER if HEAVY_WORKER in project.workers else next(iter(project.workers))
    )
    meta.setdefault("light_worker", LIGHT_WORKER if LIGHT_WORKER in project.workers else meta["heavy_worker"])
    return meta
