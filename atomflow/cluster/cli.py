"""`atomflow cluster …`, `atomflow submit`, `atomflow status`, `atomflow retry` (jobflow-remote underneath).

Registered on the main app by :func:`register`. Heavy imports happen inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.console import Console
from rich.table import Table

from atomflow.errors import AtomflowError

cluster_app = typer.Typer(
    help="Run workflows on a cluster through jobflow-remote: set up, runner, checks.", no_args_is_help=True
)
runner_app = typer.Typer(
    help="The jobflow-remote runner that feeds the scheduler and collects results.", no_args_is_help=True
)
cluster_app.add_typer(runner_app, name="runner")
console = Console()

PROJECT_HELP = "jobflow-remote project (default: $JFREMOTE_PROJECT, else 'atomflow')."


def _fail(exc: Exception) -> None:
    console.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def _key_values(items: list[str] | None, option: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        value = value.strip()
        out[key.strip()] = int(value) if value.isdigit() else value
    return out


@cluster_app.command("init")
def init(
    name: str = typer.Option(
        "atomflow", "--name", "-n", help="Project name (file <projects folder>/NAME.yaml)."
    ),
    host: Optional[str] = typer.Option(None, help="SSH host of the cluster (default: this machine)."),
    user: Optional[str] = typer.Option(None, help="SSH user."),
    port: Optional[int] = typer.Option(None, help="SSH port."),
    key: Optional[str] = typer.Option(None, "--key", help="SSH private key file."),
    scheduler: str = typer.Option("slurm", help="slurm, pbs or shell (no queue: jobs run directly)."),
    partition: Optional[str] = typer.Option(None, help="Heavy jobs: Slurm partition / PBS queue."),
    nodes: Optional[int] = typer.Option(None, help="Heavy jobs: nodes."),
    ntasks: Optional[int] = typer.Option(None, help="Heavy jobs: MPI tasks."),
    cpus_per_task: Optional[int] = typer.Option(None, help="Heavy jobs: threads per task."),
    time: Optional[str] = typer.Option(None, "--time", help="Heavy jobs: wall time [D-]HH:MM:SS."),
    mem: Optional[str] = typer.Option(None, help="Heavy jobs: memory per node (Slurm 4G, PBS 4gb)."),
    account: Optional[str] = typer.Option(None, help="Account/project to charge (light jobs too)."),
    qos: Optional[str] = typer.Option(None, help="Slurm QOS (light jobs too)."),
    resource: Optional[List[str]] = typer.Option(
        None, help="Heavy jobs: other template key, KEY=VALUE (repeat)."
    ),
    light_scheduler: Optional[str] = typer.Option(
        None, help="Light jobs' scheduler (default: --scheduler; 'shell' runs them on the login node)."
    ),
    light_partition: Optional[str] = typer.Option(None, help="Light jobs: partition (default: --partition)."),
    light_ntasks: Optional[int] = typer.Option(None, help="Light jobs: MPI tasks."),
    light_time: Optional[str] = typer.Option(None, help="Light jobs: wall time."),
    light_mem: Optional[str] = typer.Option(None, help="Light jobs: memory per node."),
    light_resource: Optional[List[str]] = typer.Option(
        None, help="Light jobs: other key, KEY=VALUE (repeat)."
    ),
    python_env: Optional[Path] = typer.Option(
        None,
        help="Python environment with atomflow on the worker "
        "(default here: this one); pre_run activates it.",
    ),
    pre_run: Optional[str] = typer.Option(None, help="More shell lines before each job (module load …)."),
    work_dir: Optional[Path] = typer.Option(
        None, help="Folder for job folders on the worker (default here: <projects folder>/NAME/work)."
    ),
    queue_uri: Optional[str] = typer.Option(
        None,
        help="MongoDB URI for the queue (default: litemongo files "
        "in the project folder; one user, one runner).",
    ),
    store: Optional[str] = typer.Option(
        None,
        help="Results store URI (default: atomflow's store, "
        "results/store, what `atomflow query` and Results() read).",
    ),
    fast_runner: bool = typer.Option(False, help="Runner delays ~1 s instead of 30 s (tests, single user)."),
    max_jobs: Optional[int] = typer.Option(None, help="At most this many jobs in the scheduler per worker."),
    force: bool = typer.Option(False, help="Overwrite an existing project file (the queue is kept)."),
) -> None:
    """Write a jobflow-remote project for atomflow: heavy and light workers, queue, results store."""
    try:
        from atomflow.cluster.project import ClusterConfig, Resources, projects_folder, write_project

        if host is not None and (python_env is None or work_dir is None):
            raise typer.BadParameter("with --host give --python-env and --work-dir as paths on that host")
        heavy = Resources(
            partition=partition,
            nodes=nodes,
            ntasks=ntasks,
            cpus_per_task=cpus_per_task,
            time=time,
            mem=mem,
            account=account,
            qos=qos,
            extra=_key_values(resource, "--resource"),
        )
        light = Resources(
            partition=light_partition,
            ntasks=light_ntasks,
            time=light_time,
            mem=light_mem,
            extra=_key_values(light_resource, "--light-resource"),
        )
        fields: dict[str, Any] = {
            "name": name,
            "host": host,
            "user": user,
            "port": port,
            "key_filename": key,
            "scheduler": scheduler,
            "light_scheduler": light_scheduler,
            "heavy": heavy,
            "light": light,
            "pre_run": pre_run,
            "work_dir": work_dir or projects_folder() / name / "work",
            "queue_uri": queue_uri,
            "store_uri": store,
            "fast_runner": fast_runner,
            "max_jobs": max_jobs,
        }
        if python_env is not None:
            fields["python_env"] = python_env
        config = ClusterConfig(**fields)
        path = write_project(config, force=force)
        content = config.project_dict()
        console.print(f"project [bold]{name}[/]: {path}")
        schedulers = {"heavy": config.scheduler, "light": config.light_scheduler or config.scheduler}
        for wname, worker in content["workers"].items():
            where = worker.get("host", "this machine")
            console.print(
                f"  worker {wname}: {schedulers[wname]} on {where}, resources "
                f"{worker.get('resources') or 'scheduler defaults'}, jobs in {worker['work_dir']}"
            )
        queue = f"MongoDB {queue_uri}" if queue_uri else f"litemongo {config.base_dir() / 'queue'}"
        console.print(f"  queue: {queue}")
        from atomflow.store import describe_store_uri

        console.print(f"  results: {describe_store_uri(store)}")
        if fast_runner:
            console.print("  runner delays: ~1 s")
        console.print(
            f"next: atomflow cluster runner start{_project_flag(name)} · atomflow submit paper "
            f"--calculator NAME{_project_flag(name)} · atomflow status{_project_flag(name)}"
        )
    except (AtomflowError, ValueError) as exc:
        _fail(exc)


def _project_flag(name: str) -> str:
    from atomflow.cluster.project import default_project_name

    return "" if name == default_project_name() else f" --project {name}"


@runner_app.command("start")
def runner_start(project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP)) -> None:
    """Start the runner daemon (one process) in the background."""
    try:
        from atomflow.cluster.runner import start_daemon

        console.print(start_daemon(project) or "runner started")
    except AtomflowError as exc:
        _fail(exc)


@runner_app.command("stop")
def runner_stop(
    project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP),
    wait: bool = typer.Option(True, help="Wait until it has stopped."),
) -> None:
    """Stop the runner daemon."""
    try:
        from atomflow.cluster.runner import stop_daemon

        console.print(stop_daemon(project, wait=wait) or "runner stopped")
    except AtomflowError as exc:
        _fail(exc)


@runner_app.command("status")
def runner_status(project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP)) -> None:
    """Is the runner daemon running?"""
    try:
        from atomflow.cluster.runner import daemon_status

        console.print(daemon_status(project))
    except AtomflowError as exc:
        _fail(exc)


@runner_app.command("run")
def runner_run(
    project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP),
    max_seconds: Optional[int] = typer.Option(None, help="Give up after this many seconds."),
) -> None:
    """Run the runner here until every job has finished or failed (no daemon)."""
    try:
        from atomflow.cluster.runner import run_until_done

        run_until_done(project, max_seconds=max_seconds)
        _print_summary(project)
    except AtomflowError as exc:
        _fail(exc)


@cluster_app.command("check")
def check(
    calculator: Optional[str] = typer.Option(None, "--calculator", "-c", help="Build this calculator there."),
    path: Optional[List[str]] = typer.Option(
        None, "--path", help="A file the study needs on the worker (repeat)."
    ),
    worker: Optional[str] = typer.Option(None, help="Worker to check (default: the heavy one)."),
    project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP),
) -> None:
    """Submit one small job that checks a worker: atomflow imports, the calculator builds, files are there."""
    try:
        from atomflow.cluster.checks import check_worker
        from atomflow.cluster.project import atomflow_metadata, load_project
        from atomflow.cluster.submit import submit_flow

        target = worker or atomflow_metadata(load_project(project))["heavy_worker"]
        # a check must run: not resolved from the store, not stopped by an earlier check still queued
        ids = submit_flow(check_worker(calculator, list(path or [])), project=project, worker=target,
                          reuse=False, force=True)
        console.print(f"check job {ids[0]} submitted to worker {target}; `atomflow status` shows its result")
    except AtomflowError as exc:
        _fail(exc)


def submit(
    workflow: str = typer.Argument(..., help="Workflow name: a file in workflows/ (paper, demo), or a property "
                                   "(elastic, vacancy, migration, phonons, transport) with --structure."),
    more_structures: Optional[List[str]] = typer.Argument(None, metavar="FILE", show_default=False,
                                                          help="More structure files after --structure."),
    structure: Optional[List[str]] = typer.Option(None, "--structure", "-s", help="Structure file(s) for a "
                                                  "property (CIF, POSCAR, any format pymatgen or ASE reads)."),
    species: Optional[str] = typer.Option(None, "--species", help="Hopping element with --structure (Na)."),
    calculator: Optional[str] = typer.Option(
        None, "--calculator", "-c", help="Calculator spec; several, comma-separated: one study each."
    ),
    project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP),
    worker: Optional[str] = typer.Option(None, help="Send every job to this worker (no heavy/light split)."),
    heavy_worker: Optional[str] = typer.Option(None, help="Worker for relaxations, statics, CI-NEB."),
    light_worker: Optional[str] = typer.Option(None, help="Worker for generate/fit/analyse jobs."),
    dry_run: bool = typer.Option(
        False, help="Show which jobs are reused from the store and where the others would go; submit nothing."
    ),
    no_reuse: bool = typer.Option(
        False, "--no-reuse", help="Send every job, even those whose results are in the store."
    ),
    reuse_flagged: bool = typer.Option(
        False, "--reuse-flagged", help="Also reuse stored results that are flagged or not converged."
    ),
    force: bool = typer.Option(
        False, "--force", help="Submit even if jobs of this workflow are already queued or running."
    ),
) -> None:
    """Submit a workflow to the cluster project's queue (the runner sends it to the scheduler).

    Jobs whose results are already in the results store (same structure, calculator, settings; converged,
    unflagged) are taken from it and not sent; their dependants receive the stored outputs.
    """
    try:
        from atomflow.calculators.registry import model_checks_deferred_to
        from atomflow.cli import split_calculators, structure_files
        from atomflow.cluster.project import load_project
        from atomflow.cluster.submit import (
            flows_built_for,
            quiet_iterflow,
            resolve_submission,
            resource_plan,
            submit_flow,
        )
        from atomflow.settings import get_settings
        from atomflow.workflows import flow_builder

        make_flow = flow_builder(workflow, structure_files(structure, more_structures), species)
        proj = load_project(project)
        plan = resource_plan(proj, worker, heavy_worker, light_worker)
        total = {"reused": 0, "sent": 0}
        for spec in split_calculators(calculator):
            with flows_built_for(proj, plan) as host:
                flow = make_flow(spec)
                deferred = host and model_checks_deferred_to(spec or get_settings().default_calculator)
            label = spec or "default calculator"
            if deferred:
                named = spec or get_settings().default_calculator
                console.print(f"{label}: its model is read on {deferred}, not here; the jobs check its "
                              f"elements there (`atomflow cluster check -c {named}` tries it first)")
            resolution = resolve_submission(flow, proj.name, reuse=not no_reuse, reuse_flagged=reuse_flagged)
            total["reused"] += len(resolution.reused)
            total["sent"] += len(resolution.sent)
            if dry_run:
                table = Table(
                    "job",
                    "class",
                    "worker",
                    "reuse",
                    title=f"{workflow} with {label} (jobs made at run time follow the same rules)",
                )
                sent_jobs = {}
                if resolution.flow is not None:
                    with quiet_iterflow():
                        sent_jobs = {job.uuid: job for job, _ in resolution.flow.iterflow()}
                for d in resolution.decisions:
                    if d.reused:
                        table.add_row(d.name, "—", "—", f"[green]reused[/]: {d.why}")
                    elif d.expanded:
                        table.add_row(d.name, "—", "—", f"run here: {d.why}")
                    else:
                        job_class = plan.classify(sent_jobs[d.uuid])
                        table.add_row(d.name, job_class, plan.config_for(job_class).worker, f"sent: {d.why}")
                console.print(table)
                console.print(_reuse_line(f"{workflow} with {label}", resolution, would=True))
                continue
            for d in resolution.decisions:
                mark = "[green]reused[/]" if d.reused else "run here" if d.expanded else "sent  "
                console.print(f"  {mark} {d.name} ({d.why})", soft_wrap=True)
            ids = submit_flow(resolution, project=proj.name, plan=plan, force=force)
            where = (
                f" to project {proj.name} (db ids {ids[0]}–{ids[-1]}; heavy → {plan.heavy.worker}, "
                f"light → {plan.light.worker})" if ids else ""
            )
            line = _reuse_line(f"[bold]{workflow}[/] with {label}", resolution)
            console.print(line + where, soft_wrap=True)
        if not dry_run and total["sent"]:
            console.print(
                "the runner sends them to the scheduler: `atomflow cluster runner start` if it is not up"
            )
        if split_calculators(calculator)[1:]:
            console.print(f"in all: {total['reused']} jobs reused from the store, {total['sent']} sent")
    except AtomflowError as exc:
        _fail(exc)


def _reuse_line(what: str, resolution: Any, would: bool = False) -> str:
    reused, sent, here = len(resolution.reused), len(resolution.sent), len(resolution.expanded)
    verb = "would be sent" if would else "sent"
    fan_outs = f" ({here} fan-outs made here, their stored jobs counted as reused)" if here else ""
    if not sent:
        return f"{what}: {reused} jobs reused from the store, nothing {verb}: every result is stored" + fan_outs
    return f"{what}: {reused} jobs reused from the store, {sent} {verb}{fan_outs}"


def status(
    project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP),
    state: Optional[List[str]] = typer.Option(None, "--state", "-s", help="Only these states (repeat)."),
    flow: Optional[str] = typer.Option(None, help="Only this flow (uuid or a job's db id)."),
    limit: int = typer.Option(0, min=0, help="Only the N most recently updated jobs (0: all)."),
) -> None:
    """Job states in the cluster queue: name, state, worker, last update; failed jobs with their error."""
    try:
        from atomflow.cluster.submit import job_states

        rows = job_states(project, states=state, flow_id=flow, limit=limit)
        if not rows:
            console.print("no jobs" + (" in these states" if state else "; submit with `atomflow submit`"))
            return
        table = Table("db id", "name", "state", "worker", "updated (UTC)", title=f"{len(rows)} jobs")
        for row in rows:
            colour = {"COMPLETED": "green", "FAILED": "red", "REMOTE_ERROR": "red"}.get(row.state)
            shown = f"[{colour}]{row.state}[/]" if colour else row.state
            table.add_row(row.db_id, row.name, shown, row.worker, f"{row.updated:%Y-%m-%d %H:%M:%S}")
        Console().print(table)
        _print_counts(rows)
        _warn_if_runner_down(project, rows)
    except AtomflowError as exc:
        _fail(exc)


#: States in which a job waits for the runner to move it on (upload, submit, poll, download, complete).
WAITING_FOR_RUNNER = ("READY", "CHECKED_OUT", "UPLOADED", "SUBMITTED", "RUNNING", "RUN_FINISHED", "DOWNLOADED",
                      "BATCH_SUBMITTED", "BATCH_RUNNING")


def _warn_if_runner_down(project: str | None, rows: list) -> None:
    waiting = [r for r in rows if r.state in WAITING_FOR_RUNNER]
    if not waiting:
        return
    from atomflow.cluster.runner import daemon_running

    up, state = daemon_running(project)
    if not up:
        console.print(f"[yellow]the runner is not running[/] (daemon: {state}): {len(waiting)} jobs wait for it "
                      "and will not move until it runs: `atomflow cluster runner start`"
                      f"{_project_flag(load_name(project))} (or `atomflow cluster runner run` in the foreground)")


def load_name(project: str | None) -> str:
    from atomflow.cluster.project import load_project

    return load_project(project).name


def _print_counts(rows: list) -> None:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state] = counts.get(row.state, 0) + 1
    console.print(" · ".join(f"{state} {n}" for state, n in sorted(counts.items())))
    failed = [r for r in rows if r.state in ("FAILED", "REMOTE_ERROR")]
    for row in failed:
        console.print(
            f"  [red]{row.state}[/] {row.db_id} {row.name}: {row.error_line or 'no error recorded'}"
        )
    if failed:
        console.print("fix the cause, then `atomflow retry DB_ID` (or `--all-failed`)")


def _print_summary(project: str | None) -> None:
    from atomflow.cluster.submit import job_states

    _print_counts(job_states(project))


def retry(
    job_ids: Optional[List[str]] = typer.Argument(None, help="db ids of the jobs (see `atomflow status`)."),
    all_failed: bool = typer.Option(False, help="Every FAILED or REMOTE_ERROR job of the project."),
    project: Optional[str] = typer.Option(None, "--project", "-p", help=PROJECT_HELP),
) -> None:
    """Send failed jobs back to the queue once the cause is fixed (FAILED: rerun; REMOTE_ERROR: retry)."""
    try:
        from atomflow.cluster.submit import retry_jobs

        changed = retry_jobs(job_ids, all_failed=all_failed, project=project)
        if not changed:
            console.print("no failed jobs")
            return
        console.print(
            f"back in the queue: {', '.join(changed)} (children included); the runner picks them up"
        )
    except AtomflowError as exc:
        _fail(exc)


def register(app: typer.Typer) -> None:
    """Add `cluster …` and the top-level `submit`, `status`, `retry` to the main app."""
    app.add_typer(cluster_app, name="cluster")
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("retry")(retry)
