"""Submit flows to a jobflow-remote project, list job states, retry failed jobs.

>>> from atomflow.cluster import submit_flow, job_states, retry_jobs
>>> submit_flow(ElasticMaker(calculator="emt").make(cu))          # heavy/light split from the project
>>> [(j.name, j.state.value) for j in job_states()]
>>> retry_jobs(all_failed=True)

The project is read from its file each call (:func:`atomflow.cluster.project.load_project`); submission is
jobflow-remote's own (``JobController.add_flow``, what ``jobflow_remote.submit_flow`` calls) with the same
checks, so an environment changed after import (a test, a second project) is honoured. Before that, jobs
whose results are already in the results store are resolved from it and not sent (:mod:`.reuse`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from atomflow.cluster.errors import ClusterError
from atomflow.cluster.project import atomflow_metadata, job_controller, load_project
from atomflow.cluster.resources import ResourcePlan, RunConfig
from atomflow.cluster.reuse import FLOW_KEY, Resolution, resolve_flow

#: States from which a job is retried (REMOTE_ERROR: the runner gave up on a transfer or submission) or
#: rerun (FAILED: the job itself raised).
RETRYABLE = ("FAILED", "REMOTE_ERROR")


def resource_plan(
    project: Any, worker: str | None = None, heavy_worker: str | None = None, light_worker: str | None = None
) -> ResourcePlan:
    """Heavy/light workers for a submission: ``worker`` puts everything on one; else the project's split."""
    for name in (worker, heavy_worker, light_worker):
        if name is not None and name not in project.workers:
            raise ClusterError(
                f"Worker {name!r} is not in project {project.name!r} "
                f"(workers: {', '.join(project.workers)})."
            )

    def config(name: str) -> RunConfig:
        # The worker's resources written on each job: jobflow-remote stores an empty per-job value as an empty
        # QResources, which would hide the worker's own resources instead of falling back to them.
        return RunConfig(worker=name, resources=dict(project.workers[name].resources or {}))

    if worker is not None:
        return ResourcePlan(heavy=config(worker), light=config(worker), rules=())
    meta = atomflow_metadata(project)
    return ResourcePlan(
        heavy=config(heavy_worker or meta["heavy_worker"]), light=config(light_worker or meta["light_worker"])
    )


def worker_host(project: Any, worker: str) -> str | None:
    """The SSH host of ``worker`` in the (loaded) project; None for a worker on this machine."""
    return getattr(project.workers[worker], "host", None) or None


@contextmanager
def flows_built_for(project: Any, plan: ResourcePlan) -> Iterator[str | None]:
    """Build flows for ``plan``'s heavy worker: model-file checks deferred to it when it is on another host.

    A model that only the cluster sees (``mace:/shared/na.model``) cannot be read here to list its elements;
    the jobs check it on the worker (see :func:`atomflow.calculators.deferred_model_checks`). Yields the host,
    or None when the heavy worker runs on this machine (then every check runs here, as for `atomflow run`).
    """
    from atomflow.calculators import deferred_model_checks

    host = worker_host(project, plan.heavy.worker)
    if host is None:
        yield None
        return
    with deferred_model_checks(f"worker {plan.heavy.worker} on {host}"):
        yield host


def resolve_submission(
    flow: Any, project: str | None = None, reuse: bool = True, reuse_flagged: bool = False
) -> Resolution:
    """What of ``flow`` is resolved from the project's results store and what is sent (:mod:`.reuse`)."""
    proj = load_project(project)
    if not reuse:
        return resolve_flow(flow, None, reuse=False)
    try:
        store = proj.get_jobstore()
        store.connect()
    except Exception as exc:
        raise ClusterError(
            f"The results store of project {proj.name!r} cannot be read to reuse stored results ({exc}); "
            "fix it or submit with --no-reuse (everything is computed)."
        ) from exc
    try:
        return resolve_flow(flow, store, reuse=True, reuse_flagged=reuse_flagged)
    finally:
        store.close()


def submit_flow(
    flow: Any,
    project: str | None = None,
    worker: str | None = None,
    heavy_worker: str | None = None,
    light_worker: str | None = None,
    plan: ResourcePlan | None = None,
    priority: int = 0,
    reuse: bool = True,
    reuse_flagged: bool = False,
    force: bool = False,
) -> list[str]:
    """Add ``flow`` to the project's queue, jobs routed by ``plan`` (default: :func:`resource_plan`).

    Jobs whose results are in the results store are not sent (``reuse``, ``reuse_flagged``:
    :func:`resolve_submission`; ``flow`` may be its :class:`Resolution`). A job already waiting, queued or
    running in the project (same flow key: same workflow, calculator, settings) stops the submission with a
    :class:`ClusterError` unless ``force``. Returns the db ids of the jobs sent (none: everything was stored).
    Nothing runs until a runner (``atomflow cluster runner start``) is up.
    """
    from jobflow_remote.remote.data import check_additional_stores

    proj = load_project(project)
    plan = plan or resource_plan(proj, worker, heavy_worker, light_worker)
    if isinstance(flow, Resolution):
        resolution = flow
    else:
        resolution = resolve_submission(flow, proj.name, reuse, reuse_flagged)
    if resolution.flow is None:
        return []
    flow = resolution.flow
    plan.apply(flow)
    jobstore = proj.get_jobstore()
    with quiet_iterflow():
        jobs = [job for job, _ in flow.iterflow()]
    for job in jobs:
        missing = check_additional_stores(job, jobstore)
        if missing:
            raise ClusterError(
                f"Job {job.name!r} writes to additional stores {missing} that the project's "
                "jobstore lacks; rewrite the project with `atomflow cluster init --force`."
            )
    jc = job_controller(proj.name)
    try:
        if not force:
            _refuse_double_submission(jc, proj.name, [job.metadata[FLOW_KEY] for job in jobs])
        with quiet_iterflow():
            return jc.add_flow(flow=flow, worker=plan.light.worker, priority=priority)
    finally:
        jc.close()


#: Queue states of a job that has not finished: a second copy of it would run twice.
UNFINISHED = ("WAITING", "READY", "CHECKED_OUT", "UPLOADED", "SUBMITTED", "RUNNING", "RUN_FINISHED",
              "DOWNLOADED", "BATCH_SUBMITTED", "BATCH_RUNNING", "PAUSED")


def _refuse_double_submission(jc: Any, project: str, keys: list[str]) -> None:
    query = {f"job.metadata.{FLOW_KEY}": {"$in": keys}, "state": {"$in": list(UNFINISHED)}}
    found = list(jc.jobs.find(query, {"db_id": 1, "state": 1, "job.name": 1}))
    if found:
        found.sort(key=lambda d: _numeric(d["db_id"]))
        shown = ", ".join(f"{d['db_id']} {d['job']['name']!r} {d['state']}" for d in found[:5])
        more = f" and {len(found) - 5} more" if len(found) > 5 else ""
        raise ClusterError(
            f"{len(found)} jobs of this workflow with this calculator are already queued or running in "
            f"project {project!r} ({shown}{more}); submitting again would run them twice. Wait for them "
            "(`atomflow status`), or pass --force to submit anyway."
        )


@contextmanager
def quiet_iterflow() -> Iterator[None]:
    """Silence jobflow's "Some jobs are not connected" when it walks a flow: a study is independent parts."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Some jobs are not connected", category=UserWarning)
        yield


def submit_workflow(
    name: str,
    calculator: str | None = None,
    project: str | None = None,
    worker: str | None = None,
    heavy_worker: str | None = None,
    light_worker: str | None = None,
    plan: ResourcePlan | None = None,
    priority: int = 0,
    force: bool = False,
) -> list[str]:
    """Submit a ready-made workflow (``workflows/<name>.py``) with one calculator; see :func:`submit_flow`.

    The flow is built as for its heavy worker (:func:`flows_built_for`: a model file on another host is not
    read here).
    """
    from atomflow.workflows import load_workflow

    proj = load_project(project)
    plan = plan or resource_plan(proj, worker, heavy_worker, light_worker)
    with flows_built_for(proj, plan):
        flow = load_workflow(name).make_flow(calculator)
    return submit_flow(flow, project=proj.name, plan=plan, priority=priority, force=force)


@dataclass(frozen=True)
class JobRow:
    """One line of `atomflow status`."""

    db_id: str
    name: str
    state: str
    worker: str
    updated: datetime
    flow_id: str | None
    error: str | None

    @property
    def error_line(self) -> str | None:
        """The last non-empty line of the error (the exception), for tables."""
        if not self.error:
            return None
        lines = [ln.strip() for ln in self.error.strip().splitlines() if ln.strip()]
        return lines[-1] if lines else None


def job_states(
    project: str | None = None,
    states: list[str] | None = None,
    flow_id: str | None = None,
    name: str | None = None,
    limit: int = 0,
) -> list[JobRow]:
    """Jobs of the project by db id: name, state, worker, last update (UTC), error if any.

    ``limit``: only the ``limit`` most recently updated jobs (0: all).
    """
    from jobflow_remote.jobs.state import JobState

    jc = job_controller(project)
    try:
        try:
            wanted = [JobState(s.upper()) for s in states] if states else None
        except ValueError as exc:
            raise ClusterError(f"{exc}. States: {', '.join(s.value for s in JobState)}.") from exc
        infos = jc.get_jobs_info(
            states=wanted, flow_ids=flow_id, name=name, sort=[("updated_on", -1)], limit=limit
        )
        flows = {}
        if infos:
            for doc in jc.flows.find({"jobs": {"$in": [i.uuid for i in infos]}}, {"uuid": 1, "jobs": 1}):
                flows.update({uuid: doc["uuid"] for uuid in doc["jobs"]})
        rows = [
            JobRow(
                db_id=i.db_id,
                name=i.name,
                state=i.state.value,
                worker=i.worker,
                updated=i.updated_on,
                flow_id=flows.get(i.uuid),
                error=i.error or (i.remote.error if i.remote else None),
            )
            for i in infos
        ]
    finally:
        jc.close()
    return sorted(rows, key=lambda r: (_numeric(r.db_id), r.db_id))


def _numeric(db_id: str) -> int:
    digits = "".join(c for c in db_id if c.isdigit())
    return int(digits) if digits else 0


def retry_jobs(
    job_ids: list[str] | None = None, all_failed: bool = False, project: str | None = None
) -> list[str]:
    """Put failed jobs back in the queue; returns the db ids changed (children included).

    FAILED (the job raised): jobflow-remote's ``rerun_job`` (back to READY, waiting children reset).
    REMOTE_ERROR (transfer/submission gave up): ``retry_job`` (back to the step that failed).
    Fix the cause first (a missing file, a module, resources); the job runs again as it was submitted.
    """
    if not job_ids and not all_failed:
        raise ClusterError("Name the jobs to retry (db ids from `atomflow status`) or pass --all-failed.")
    jc = job_controller(project)
    changed: list[str] = []
    try:
        if all_failed:
            query = {"state": {"$in": list(RETRYABLE)}}
            targets = [doc["db_id"] for doc in jc.jobs.find(query, {"db_id": 1})]
        else:
            targets = list(job_ids or [])
        for db_id in targets:
            doc = jc.jobs.find_one({"db_id": db_id}, {"state": 1, "db_id": 1})
            if doc is None:
                raise ClusterError(f"No job with db id {db_id!r} in this project (see `atomflow status`).")
            state = doc["state"]
            try:
                if state == "REMOTE_ERROR":
                    changed.append(jc.retry_job(db_id=db_id))
                elif state == "FAILED":
                    changed.extend(jc.rerun_job(db_id=db_id))
                else:
                    raise ClusterError(
                        f"Job {db_id} is {state}; only {' or '.join(RETRYABLE)} jobs are retried."
                    )
            except ClusterError:
                raise
            except Exception as exc:  # jobflow-remote's ValueError / JobLockedError say why
                raise ClusterError(f"Job {db_id} could not be retried: {exc}") from exc
    finally:
        jc.close()
    return list(dict.fromkeys(changed))
