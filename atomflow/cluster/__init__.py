"""Run atomflow workflows on a cluster through jobflow-remote (Slurm, PBS, or plain shell; local or SSH).

>>> from atomflow.cluster import ClusterConfig, write_project, submit_flow, job_states, retry_jobs
>>> write_project(ClusterConfig(work_dir="/scratch/me/atomflow", heavy=Resources(partition="cpu", ntasks=16)))
>>> submit_flow(flow)                    # heavy jobs → worker "heavy", the rest → "light"
>>> job_states()                         # JobRow(db_id, name, state, worker, updated, …)

The command line is the same path: `atomflow cluster init`, `atomflow cluster runner start`,
`atomflow submit`, `atomflow status`, `atomflow retry`. Outputs land in the results store that
`atomflow.Results` reads.
"""

from atomflow.cluster.errors import ClusterError
from atomflow.cluster.project import ClusterConfig, Resources, job_controller, load_project, write_project
from atomflow.cluster.resources import ResourcePlan, Rule, RunConfig
from atomflow.cluster.submit import JobRow, job_states, retry_jobs, submit_flow, submit_workflow

__all__ = [
    "ClusterConfig",
    "ClusterError",
    "JobRow",
    "ResourcePlan",
    "Resources",
    "Rule",
    "RunConfig",
    "job_controller",
    "job_states",
    "load_project",
    "retry_jobs",
    "submit_flow",
    "submit_workflow",
    "write_project",
]
