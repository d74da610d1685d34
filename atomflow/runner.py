"""Run a jobflow Flow locally into the results store, showing progress from run events.

Progress and counts come from :mod:`atomflow.events` (structured events, one per job start / finish /
failure and per reused or computed result), not from jobflow's log text. In a terminal a live status
line shows what runs; elsewhere (``make run > log``, CI) one line per finished or failed job is printed
as it happens, so a log shows progress before the run ends.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Job
from jobflow.managers.local import run_locally
from rich.console import Console
from rich.text import Text

from atomflow.events import RunEvent, subscribe
from atomflow.settings import get_settings
from atomflow.store import open_store


@dataclass
class RunSummary:
    """What a run did: jobs finished and failed, results computed or reused from the store."""

    outputs: dict[str, Any]
    done: int = 0
    failed: int = 0
    reused: int = 0
    computed: int = 0
    failed_jobs: list[str] = field(default_factory=list)  # "job name: ErrorType: message"
    failures: list[RunEvent] = field(default_factory=list)  # the job_failed events


class RunMonitor:
    """Counts run events; shows them live (``status`` given) or as one printed line per finished job."""

    def __init__(self, console: Console, status=None) -> None:
        self.console, self.status = console, status
        self.running: dict[str, str] = {}
        self.done = self.failed = self.reused = self.computed = 0
        self.failures: list[RunEvent] = []
        self.results: dict[str, list[str]] = {}  # job uuid → "reused" / "computed" of each result it produced
        self.detail = ""

    def __call__(self, event: RunEvent) -> None:
        kind = event.kind
        if kind == "job_started":
            self.running[event.uuid] = event.name
            self.detail = ""
        elif kind in ("job_finished", "job_failed"):
            self.running.pop(event.uuid, None)
            if kind == "job_finished":
                self.done += 1
            else:
                self.failed += 1
                self.failures.append(event)
            if self.status is None:
                self.console.print(self.line(event), markup=False, highlight=False, soft_wrap=True)
        elif kind in ("result_reused", "result_computed"):
            outcome = "reused" if kind == "result_reused" else "computed"
            self.reused += outcome == "reused"
            self.computed += outcome == "computed"
            self.results.setdefault(event.uuid, []).append(outcome)
        elif kind == "progress":
            self.detail = event.message or ""
        if self.status is not None:
            self.refresh()

    def line(self, event: RunEvent) -> str:
        """``finished <name> · 1.2 s · computed`` (or ``· reused``; nothing for a job that keeps no result of its
        own) or ``FAILED <name> · 0.3 s · Error: message``."""
        seconds = f"{event.seconds:.1f} s" if event.seconds is not None else "? s"
        if event.kind == "job_failed":
            return f"FAILED   {event.name} · {seconds} · {event.error}"
        outcomes = self.results.get(event.uuid, [])
        if not outcomes:  # a step that stores no result of its own (planning, analysis, fan-out)
            return f"finished {event.name} · {seconds}"
        outcome = "reused" if all(o == "reused" for o in outcomes) else "computed"
        return f"finished {event.name} · {seconds} · {outcome}"

    def refresh(self) -> None:
        names = sorted(set(self.running.values()))
        current = ", ".join(names[:2]) + (" …" if len(names) > 2 else "") or "-"
        line = Text.assemble("jobs done ", (str(self.done), "green"), f" · running {len(self.running)} ",
                             f"({current}) · failed ", (str(self.failed), "red"), f" · reused {self.reused}")
        if self.detail:
            line.append(f"\n  {self.detail}")
        self.status.update(line)

    def summary(self, outputs: dict[str, Any]) -> RunSummary:
        return RunSummary(outputs, self.done, self.failed, self.reused, self.computed,
                          [f"{e.name}: {e.error}" for e in self.failures], list(self.failures))


def run_flow(flow: Flow | Job, store: str | None = None, console: Console | None = None,
             ensure_success: bool = False, workers: int = 1) -> RunSummary:
    """Run ``flow`` with jobflow's local manager into the store (jobs run in results/runs).

    A failing job does not stop the others (jobflow skips only the jobs that need its output);
    the summary lists it with its error line. ``workers`` > 1 runs the flow's independent parts in that
    many processes at once (:mod:`atomflow.parallel`), with the same store, reuse, events and summary;
    its ``outputs`` are then empty (read the store).
    """
    console = console or Console()
    if workers != 1:  # bad values are refused before the store is touched
        from atomflow.parallel import check_shared_store, check_workers

        check_workers(workers)
        check_shared_store(store)
    job_store = open_store(store)  # checks the store (integrity, that it answers) before any work
    work_dir = get_settings().results_dir / "runs"
    work_dir.mkdir(parents=True, exist_ok=True)
    if console.is_terminal:
        with console.status("starting…") as status:
            return _run(flow, job_store, work_dir, RunMonitor(console, status), ensure_success, store, workers)
    return _run(flow, job_store, work_dir, RunMonitor(console), ensure_success, store, workers)


def _run(flow, job_store, work_dir, monitor: RunMonitor, ensure_success: bool, store: str | None = None,
         workers: int = 1) -> RunSummary:
    if workers != 1:
        from atomflow.parallel import run_parts

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Some jobs are not connected", category=UserWarning)
            run_parts(flow, store, work_dir, monitor, workers)
        summary = monitor.summary({})
        if ensure_success and summary.failed:
            raise RuntimeError("Flow did not finish running successfully")
        return summary
    with subscribe(monitor), warnings.catch_warnings():
        # jobflow's own notices (monty's deprecated `cd`, "jobs are not connected" for independent
        # branches of a study) say nothing about the user's run.
        warnings.filterwarnings("ignore", message="cd is deprecated", category=FutureWarning)
        warnings.filterwarnings("ignore", message="Some jobs are not connected", category=UserWarning)
        outputs = run_locally(flow, store=job_store, log=False, root_dir=work_dir,
                              ensure_success=ensure_success)
    return monitor.summary(outputs)
