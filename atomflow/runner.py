"""Run a jobflow Flow locally into the results store, with a live progress display."""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, Job
from jobflow.managers.local import run_locally
from rich.console import Console

from atomflow.settings import get_settings
from atomflow.store import open_store

_START = re.compile(r"Starting job - (?P<name>.+?) \((?P<uuid>[0-9a-f-]+)")
_END = re.compile(r"Finished job - (?P<name>.+?) \((?P<uuid>[0-9a-f-]+)")
_FAILED = re.compile(r"(?P<name>.+?) failed with exception", re.IGNORECASE)


@dataclass
class RunSummary:
    """What a run did: jobs finished, failed, and how many results were reused from the store."""

    outputs: dict[str, Any]
    done: int = 0
    failed: int = 0
    reused: int = 0
    computed: int = 0
    failed_jobs: list[str] = field(default_factory=list)


class _ProgressHandler(logging.Handler):
    """Turns jobflow's and atomflow's log lines into a live status line."""

    def __init__(self, status) -> None:
        super().__init__(level=logging.INFO)
        self.status = status
        self.running: dict[str, str] = {}
        self.done = self.failed = self.reused = self.computed = 0
        self.failed_jobs: list[str] = []
        self.detail = ""

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.name.startswith("atomflow.progress"):
            self.detail = message
        elif record.name.startswith("atomflow.reuse") and message.startswith("Reused"):
            self.reused += 1
        elif record.name.startswith("atomflow.reuse") and message.startswith("Computed"):
            self.computed += 1
        elif m := _START.search(message):
            self.running[m["uuid"]] = m["name"]
            self.detail = ""
        elif m := _END.search(message):
            self.running.pop(m["uuid"], None)
            self.done += 1
        elif m := _FAILED.search(message):
            self.failed += 1
            reason = message.strip().splitlines()[-1]  # the exception line of the traceback
            self.failed_jobs.append(f"{m['name'].strip()}: {reason}")
        self.refresh()

    def refresh(self) -> None:
        names = sorted(set(self.running.values()))
        current = ", ".join(names[:2]) + (" …" if len(names) > 2 else "") or "-"
        line = (f"jobs done [green]{self.done}[/] · running {len(self.running)} ({current}) · "
                f"failed [red]{self.failed}[/] · reused {self.reused}")
        if self.detail:
            line += f"\n  {self.detail}"
        self.status.update(line)


def run_flow(flow: Flow | Job, store: str | None = None, console: Console | None = None,
             ensure_success: bool = False) -> RunSummary:
    """Run ``flow`` with jobflow's local manager into the store (jobs run in results/runs)."""
    console = console or Console()
    job_store = open_store(store)
    work_dir = get_settings().results_dir / "runs"
    work_dir.mkdir(parents=True, exist_ok=True)
    loggers = [logging.getLogger("jobflow"), logging.getLogger("atomflow")]
    with console.status("starting…") as status:
        handler = _ProgressHandler(status)
        levels = [lg.level for lg in loggers]
        for lg in loggers:
            lg.addHandler(handler)
            lg.setLevel(logging.INFO)
        try:
            with warnings.catch_warnings():
                # jobflow's own notices (monty's deprecated `cd`, "jobs are not connected" for independent
                # branches of a study) say nothing about the user's run.
                warnings.filterwarnings("ignore", message="cd is deprecated", category=FutureWarning)
                warnings.filterwarnings("ignore", message="Some jobs are not connected", category=UserWarning)
                outputs = run_locally(flow, store=job_store, log=False, root_dir=work_dir,
                                      ensure_success=ensure_success)
        finally:
            for lg, level in zip(loggers, levels):
                lg.removeHandler(handler)
                lg.setLevel(level)
    return RunSummary(outputs, handler.done, handler.failed, handler.reused, handler.computed, handler.failed_jobs)
