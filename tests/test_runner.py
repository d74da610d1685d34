"""Run events and the local runner, on a toy flow of cheap jobs (no calculator, no science)."""

from __future__ import annotations

import io
import textwrap
import uuid

import jobflow
import pytest
from jobflow import Flow, JobConfig, job
from rich.console import Console
from typer.testing import CliRunner

from atomflow.cli import app
from atomflow.events import RunEvent, subscribe
from atomflow.reuse import reuse_or_compute
from atomflow.runner import run_flow
from atomflow.store import open_store


@job
def add(a, b):
    return a + b


@job
def explode(x):
    raise RuntimeError(f"no result for x={x}")


@job(config=JobConfig(expose_store=True))
def stored_square(x, after=None):
    """A result keyed by x: the second job with the same x finds the first one's in the store."""
    return reuse_or_compute(f"toy-square-{x}", lambda: {"value": x * x, "converged": True})


def toy_flow() -> Flow:
    a = add(1, 2)
    b = add(a.output, 3)
    bad = explode(a.output)
    skipped = add(bad.output, 1)  # needs the failed job's output: jobflow skips it, it never runs
    first = stored_square(4, after=b.output)
    second = stored_square(4, after=first.output)  # runs after `first`: reuses its stored result
    return Flow([a, b, bad, skipped, first, second])


def quiet_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, force_terminal=False, width=200), buffer


def test_counts_come_from_events(tmp_path):
    console, _ = quiet_console()
    flow = toy_flow()
    summary = run_flow(flow, store=str(tmp_path / "store"), console=console)
    assert (summary.done, summary.failed) == (4, 1)  # add, add, 2 × stored_square; explode; the child skipped
    assert (summary.computed, summary.reused) == (1, 1)
    (failure,) = summary.failures
    assert failure.kind == "job_failed" and failure.uuid == flow.jobs[2].uuid
    assert failure.error == "RuntimeError: no result for x=3"
    assert summary.failed_jobs == ["explode: RuntimeError: no result for x=3"]


def test_reuse_events_carry_the_running_jobs_uuid(tmp_path):
    events: list[RunEvent] = []
    flow = toy_flow()
    with subscribe(events.append):
        jobflow.run_locally(flow, store=open_store(f"memory://{uuid.uuid4()}"), log=False)
    first, second = flow.jobs[4], flow.jobs[5]
    reuse = [(e.kind, e.uuid) for e in events if e.kind.startswith("result_")]
    assert reuse == [("result_computed", first.uuid), ("result_reused", second.uuid)]
    started = [e.uuid for e in events if e.kind == "job_started"]
    assert flow.jobs[3].uuid not in started and len(started) == 5
    ended = [e for e in events if e.kind in ("job_finished", "job_failed")]
    assert len(ended) == 5 and all(e.seconds is not None and e.seconds >= 0 for e in ended)


def test_without_a_terminal_each_job_prints_one_line_as_it_finishes(tmp_path):
    console, buffer = quiet_console()
    seen_at_start: dict[str, str] = {}

    def snapshot(event: RunEvent) -> None:  # subscribed outside the runner's own subscriber
        if event.kind == "job_started":
            seen_at_start[event.uuid] = buffer.getvalue()

    flow = toy_flow()
    with subscribe(snapshot):
        summary = run_flow(flow, store=str(tmp_path / "store"), console=console)
    lines = buffer.getvalue().splitlines()
    finished = [line for line in lines if line.startswith("finished ")]
    assert len(finished) == summary.done == 4
    assert sum(line.startswith("FAILED ") for line in lines) == 1
    assert any(line.startswith("FAILED   explode · ") and line.endswith("RuntimeError: no result for x=3")
               for line in lines)
    squares = [line for line in finished if line.startswith("finished stored_square ")]
    assert [line.rsplit(" · ", 1)[1] for line in squares] == ["computed", "reused"]
    assert all(line.endswith(" s") or " s · " in line for line in finished)  # seconds on every line
    others = [line for line in finished if not line.startswith("finished stored_square ")]
    assert others and all(line.endswith(" s") for line in others)  # no reuse outcome for unkeyed jobs
    # printed while the run goes on: the first job's line is out before the last job starts
    assert lines[0].startswith("finished add ") and lines[0] in seen_at_start[flow.jobs[5].uuid]


def test_job_run_is_restored_even_when_the_run_raises(tmp_path):
    original = jobflow.Job.run
    console, _ = quiet_console()
    with pytest.raises(RuntimeError, match="did not finish"):
        run_flow(toy_flow(), store=str(tmp_path / "store"), console=console, ensure_success=True)
    assert jobflow.Job.run is original
    events: list[RunEvent] = []
    with subscribe(events.append):
        pass
    jobflow.run_locally(add(1, 1), store=open_store(f"memory://{uuid.uuid4()}"), log=False)
    assert events == []  # after its block a subscriber hears nothing


WORKFLOW = '''
from jobflow import Flow, job


@job
def relax_everything(x):
    return x


@job
def broken_step(x):
    raise ValueError("the calculator stopped at step 7")


def make_flow(calculator=None):
    ok = relax_everything(1)
    return Flow([ok, broken_step(ok.output)], name="failing")
'''


def test_atomflow_run_exits_non_zero_naming_the_failed_job(tmp_path, monkeypatch):
    (tmp_path / "failing.py").write_text(textwrap.dedent(WORKFLOW))
    monkeypatch.setenv("ATOMFLOW_WORKFLOWS_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["run", "failing", "--store", str(tmp_path / "store")])
    assert result.exit_code == 1, result.output
    out = result.output
    assert "1 jobs finished, 1 failed; computed 0 and reused 0" in out
    assert "failed broken_step: ValueError: the calculator stopped at step 7" in out
    assert "1 job(s) failed: broken_step" in out
    assert "finished relax_everything · " in out  # the per-job line (CliRunner's output is no terminal)
