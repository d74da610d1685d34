"""Run a jobflow Flow locally into the results store, with a live progress line."""

from __future__ import annotations

import logging
import re
from typing import Any

from jobflow import Flow, Job
from jobflow.managers.local import run_locally
from rich.console import Console

from atomflow.settings import get_settings
from atomflow.store import open_store

_START = re.compile(r"Starting job - (?P<name>.+?) \((?P<uuid>[0-9a-f-]+)\)")
_END = re.compile(r"Finished job - (?P<name>.+?) \((?P<uuid>[0-9a-f-]+)\)")


class _ProgressHandler(logging.Handler):
    """Turns jobflow's log lines into counts of jobs done / running / failed."""

    def __init__(self, status) -> None:
        super().__init__(level=logging.INFO)
        self.status = status
        self.running: dict[str, str] = {}
        self.done = 0
        self.failed = 0

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if m := _START.search(message):
            self.running[m["uuid"]] = m["name"]
        elif m := _END.search(message):
            self.running.pop(m["uuid"], None)
            self.done += 1
        elif "failed" in message.lower() and record.levelno >= logging.WARNING:
            self.failed += 1
        self.refresh()

    def refresh(self) -> None:
        current = ", ".join(sorted(set(self.running.values()))) or "-"
        self.status.update(f"jobs done {self.done} · running {len(self.running)} ({current}) · failed {self.failed}")


def run_flow(flow: Flow | Job, store: str | None = None, console: Console | None = None,
             ensure_success: bool = True) -> dict[str, Any]:
    """Run ``flow`` with jobflow's local manager into the store; returns {uuid: {index: output}}."""
    console = console or Console()
    job_store = open_store(store)
    work_dir = get_settings().results_dir / "runs"
    work_dir.mkdir(parents=True, exist_ok=True)
    logger = logging.getLogger("jobflow")
    with console.status("starting…") as status:
        handler = _ProgressHandler(status)
        logger.addHandler(handler)
        old_level = logger.level
        logger.setLevel(logging.INFO)
        try:
            return run_locally(flow, store=job_store, log=False, root_dir=work_dir,
                               ensure_success=ensure_success)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(old_level)
