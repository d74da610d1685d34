"""Structured run events: what a run did, job by job, without reading jobflow's log text.

>>> with subscribe(events.append):          # any callable taking a RunEvent
...     run_locally(flow, store=store)
>>> [e.kind for e in events]                # job_started, result_computed, job_finished, …

Where the events come from (the hook point, and why there):

* jobflow 0.4's local manager (``run_locally``) takes no callback; its only trace of a job is log text
  ("Starting job - name (uuid)", "… failed with exception"), whose wording is not an API. Every job,
  including those a ``Response`` adds at run time, runs through ``jobflow.Job.run(store, job_dir)``, a
  public method that every manager calls. :func:`subscribe` wraps that one method for the duration of
  the ``with`` block and always puts the original back on exit, also after an error; nested blocks share
  one wrapper, which goes away with the last subscriber. Outside a block nothing is wrapped and
  :func:`emit` does nothing, so jobs run by jobflow-remote or plain ``run_locally`` are unaffected.
* What jobflow cannot know atomflow emits itself: :func:`atomflow.reuse.reuse_or_compute` emits
  ``result_reused`` / ``result_computed`` with the running job's uuid, and the NEB driver's live
  progress lines (atomflow's own logger ``atomflow.progress``) become ``progress`` events.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import jobflow

logger = logging.getLogger(__name__)

EventKind = Literal["job_started", "job_finished", "job_failed", "result_reused", "result_computed",
                    "progress"]

#: The logger whose records become ``progress`` events (the NEB driver writes to it).
PROGRESS_LOGGER = "atomflow.progress"


@dataclass(frozen=True)
class RunEvent:
    """One thing that happened in a run.

    ``name`` and ``uuid`` are the job's (for reuse and progress events: the job running at the time);
    ``seconds`` is the job's wall time (finished / failed); ``error`` the exception's first line
    (``"RuntimeError: message"``, failed only); ``message`` the progress line or the reuse key's prefix.
    """

    kind: EventKind
    name: str = ""
    uuid: str | None = None
    seconds: float | None = None
    error: str | None = None
    message: str | None = None


Subscriber = Callable[[RunEvent], None]

_lock = threading.Lock()
_subscribers: list[Subscriber] = []
_original_run: Callable | None = None
_progress_handler: logging.Handler | None = None
_progress_level: int = logging.NOTSET


def emit(event: RunEvent) -> None:
    """Hand ``event`` to every subscriber; a subscriber that raises is logged, never stops the job."""
    for callback in list(_subscribers):
        try:
            callback(event)
        except Exception:  # a display problem must not fail a calculation
            logger.exception("run-event subscriber %r failed on %s", callback, event.kind)


def current_job() -> tuple[str, str | None]:
    """(name, uuid) of the jobflow job running in this process, ("", None) outside a job."""
    job = getattr(jobflow.CURRENT_JOB, "job", None)
    return (job.name, job.uuid) if job is not None else ("", None)


def error_line(exc: BaseException) -> str:
    """``"Type: first line of the message"`` (the line a traceback ends with)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


@contextmanager
def subscribe(callback: Subscriber) -> Iterator[None]:
    """Call ``callback(event)`` for every :class:`RunEvent` of the jobs run inside the block."""
    with _lock:
        if not _subscribers:
            _install()
        _subscribers.append(callback)
    try:
        yield
    finally:
        with _lock:
            _subscribers.remove(callback)
            if not _subscribers:
                _uninstall()


def _install() -> None:
    global _original_run, _progress_handler, _progress_level
    original = jobflow.Job.run
    _original_run = original

    def run(self, *args, **kwargs):
        emit(RunEvent("job_started", name=self.name, uuid=self.uuid))
        start = time.perf_counter()
        try:
            response = original(self, *args, **kwargs)
        except Exception as exc:
            emit(RunEvent("job_failed", name=self.name, uuid=self.uuid, seconds=time.perf_counter() - start,
                          error=error_line(exc)))
            raise
        emit(RunEvent("job_finished", name=self.name, uuid=self.uuid, seconds=time.perf_counter() - start))
        return response

    run.__wrapped__ = original
    jobflow.Job.run = run
    progress = logging.getLogger(PROGRESS_LOGGER)
    _progress_handler, _progress_level = _ProgressRecords(), progress.level
    progress.addHandler(_progress_handler)
    if progress.getEffectiveLevel() > logging.INFO:
        progress.setLevel(logging.INFO)


def _uninstall() -> None:
    global _original_run, _progress_handler
    jobflow.Job.run = _original_run
    _original_run = None
    progress = logging.getLogger(PROGRESS_LOGGER)
    progress.removeHandler(_progress_handler)
    progress.setLevel(_progress_level)
    _progress_handler = None


class _ProgressRecords(logging.Handler):
    """atomflow's own progress log records → ``progress`` events."""

    def __init__(self) -> None:
        super().__init__(level=logging.INFO)

    def emit(self, record: logging.LogRecord) -> None:  # logging's name for "handle a record"
        name, uuid = current_job()
        emit(RunEvent("progress", name=name, uuid=uuid, message=record.getMessage()))


__all__ = ["RunEvent", "current_job", "emit", "error_line", "subscribe"]
