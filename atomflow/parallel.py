"""`atomflow run … --workers N`: the independent parts of a flow at the same time, in N worker processes.

What runs where. The flow's job graph falls into parts that share no output (in the screening: each phase's
relax, elastic, vacancy, migration and phonon flows; in a property run: each file's flow). The parts are handed,
in the flow's order, to N worker processes of the standard library's
:class:`concurrent.futures.ProcessPoolExecutor`. Each part runs in its worker with jobflow's own ``run_locally``
into the same results store, exactly as ``--workers 1`` runs the whole flow: dependencies, run-time fan-outs
(``Response(replace=…)``) and failed jobs (their dependants skipped, the rest run) are jobflow's; reuse is the
store lookup every keyed job makes when it runs (the embedded SQLite store takes writes from several processes);
the run events of each worker are sent back to this process, so the job lines, counts and summary are those of
a one-worker run. Nothing here orders jobs: the only decision is which jobs are independent (no output
reference between them, directly or through others).

Why not jobflow-remote's local worker, which the cluster path uses (``atomflow submit``; looked at: jobflow-remote
1.0.1, worker ``type: local`` with the shell scheduler and ``max_jobs``, and ``batch`` workers with
``parallel_jobs``). Every one of its modes runs each job as a new process, ``bash submit.sh`` →
``jf -fe execution run DIR`` (batch mode too: ``run_single_batch_jobs`` runs ``submit.sh`` per job). Measured on
this 2-core machine: a process start with atomflow imported takes ≈ 1.4 s and building SevenNet-0 ≈ 4 s
more, once per job, while most jobs of the screening take under 0.5 s in a warm process (89 of the first 116
jobs of the lead's `atomflow run interphases` log, Na to NaBr). With the runner's polling on top (≥ 1 s per state
change), NaCl's phase (34 jobs, 34 s of computing in one process, 13 of them building the model) would pay
≈ 34 × 1.4 + 13 × 4 ≈ 100 s of starts and model loads: two such workers would not beat one warm process.
Even without a model to load it costs: bcc Na + Na3N of the screening with Lennard-Jones (70 jobs) took 676 s
through jobflow-remote on the local Slurm of tests/cluster/ and 353 s in one local process, at the same load.
Its jobs also run against a file store that the runner copies into the results store afterwards, so a
relaxation another part has just stored is not seen at run time: each phase's five property flows would relax
the same bulk five times instead of reusing it. Here a worker is
a long-lived process: the calculator cache (one model load per worker) and run-time reuse work as in a
one-worker run. On a cluster, `atomflow submit` remains the way (a scheduler, many nodes, restarts).

Threads: each worker gets ``cores // N`` threads (at least 1) for torch (``ATOMFLOW_TORCH_THREADS``, unless set)
and for BLAS/OpenMP (``OMP_NUM_THREADS`` etc. and threadpoolctl), so N workers do not oversubscribe the cores.
``N < 1`` is an error; ``N`` above the cores is a warning (the workers then share cores). A store only one
process can see (``memory://``) is an error. A worker process that dies (killed, out of memory) takes the pool
with it: the parts not yet started go on in a fresh pool; each part that was running runs once more alone (what
it had finished is reused from the store), and one that dies again there is reported as failed; the others
finish.

Parallelism is across parts: the jobs a part makes at run time (the strained cells of one elastic tensor, the
hops of one migration flow) run one after another in its worker. Two parts that need the same keyed result at the
same moment both compute it where a one-worker run computes it once and then reuses it (e.g. a phase's relax and
its elastic flow's bulk relax, started together): the stored numbers are the same, the computed / reused counts
can differ by those.
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atomflow.errors import InputError

#: Environment variables that size the BLAS / OpenMP thread pools of numpy, scipy and torch.
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the system tells it)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_workers(workers: int, warn: bool = True) -> int:
    """Threads per worker for ``workers`` processes; an InputError for fewer than one worker.

    More workers than cores is allowed with a warning (``UserWarning``, :func:`oversubscribed`'s text):
    each worker then gets one thread.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InputError(f"--workers must be a whole number ≥ 1 (1 runs the jobs one after another), "
                         f"got {workers!r}.")
    message = oversubscribed(workers)
    if message and warn:
        warnings.warn(message, UserWarning, stacklevel=2)
    return max(1, available_cores() // workers)


def oversubscribed(workers: int) -> str | None:
    """The warning for more workers than cores, else None."""
    cores = available_cores()
    if workers <= cores:
        return None
    return (f"--workers {workers} is more than the {cores} cores here: the workers share cores and each job "
            f"runs slower; --workers {cores} uses every core.")


def check_shared_store(store: str | None) -> None:
    """The worker processes open the store by its URI: it must be one that other processes see."""
    from atomflow.settings import get_settings

    uri = store if store is not None else get_settings().store_uri
    if uri is not None and uri.startswith("memory://"):
        raise InputError(f"--workers needs a store other processes can open; {uri} lives in one process "
                         "only. Use a directory, a .sqlite file or MongoDB (or --workers 1).")


# --- which parts are independent ----------------------------------------------------------------------------

@dataclass
class Part:
    """Jobs of a flow that no job outside them needs and that need no job outside them, in the flow's order."""

    name: str
    jobs: list[Any]


def independent_parts(flow: Any) -> list[Part]:
    """The weakly connected pieces of ``flow``'s job graph as it stands (before run-time fan-outs).

    Two jobs are in one part when one takes the other's output, directly or through other jobs; the jobs a
    part makes at run time (``Response(replace=…)``) stay in it. Parts come in the order of their first job
    (the order the flow was built in: phase by phase, property by property). A part is named after its job
    when it has one, else after the innermost flow that holds all its jobs.
    """
    from jobflow import Flow, Job

    jobs: list[Any] = []
    chains: list[list[str]] = []  # names of the flows around each job, outermost first (the top flow left out)

    def walk(item: Any, chain: list[str]) -> None:
        if isinstance(item, Job):
            jobs.append(item)
            chains.append(chain)
        else:
            for child in item.jobs:
                walk(child, chain + [item.name or "flow"])

    if isinstance(flow, Flow):
        for item in flow.jobs:
            walk(item, [])
    else:
        walk(flow, [])
    import networkx as nx

    index = {job.uuid: i for i, job in enumerate(jobs)}
    graph = nx.Graph()  # jobflow's own edges (a job → the jobs whose outputs it takes), direction dropped
    graph.add_nodes_from(index)
    graph.add_edges_from((ref.uuid, job.uuid) for job in jobs for ref in job.input_references
                         if ref.uuid in index)
    groups = {min(index[u] for u in c): sorted(index[u] for u in c) for c in nx.connected_components(graph)}
    parts = []
    for members in sorted(groups.values()):
        if len(members) == 1:
            name = jobs[members[0]].name
        else:
            common = chains[members[0]]
            for i in members[1:]:
                n = 0
                while n < min(len(common), len(chains[i])) and common[n] == chains[i][n]:
                    n += 1
                common = common[:n]
            name = common[-1] if common else " + ".join(dict.fromkeys(jobs[i].name for i in members))
        parts.append(Part(name or "part", [jobs[i] for i in members]))
    return parts


def _runnable(jobs: list[Any], name: str) -> Any:
    """One Job, or a new Flow of (decoded copies of) ``jobs`` taken out of the flows that held them."""
    from jobflow import Flow

    for job in jobs:
        job.hosts = []
    return jobs[0] if len(jobs) == 1 else Flow(jobs, name=name)


# --- the worker processes ----------------------------------------------------------------------------------

_events: Any = None  # the queue to the parent, in a worker process
_part: int | None = None  # the part the worker runs now
_stores: dict[str | None, Any] = {}  # the results store, opened once per worker process


def _init_worker(events: Any, threads: int) -> None:
    """Runs once in each worker process, before any part: threads and the event queue."""
    global _events
    _events = events
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    os.environ.setdefault("ATOMFLOW_TORCH_THREADS", str(threads))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=threads)  # pools already loaded (numpy imported before this ran)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn/scipy stacks
        pass


def _forward(event: Any) -> None:
    _events.put(("event", _part, event))


def _run_part(index: int, part_json: str, name: str, store: str | None, work_dir: str) -> int:
    """Run one part with jobflow's run_locally into the store; its events go to the parent. Returns ``index``."""
    global _part
    from jobflow.managers.local import run_locally
    from monty.json import MontyDecoder

    from atomflow.events import subscribe
    from atomflow.store import open_store

    _part = index
    part = _runnable(json.loads(part_json, cls=MontyDecoder), name)
    folder = Path(work_dir) / f"worker-{os.getpid()}"  # jobs write files in the cwd: one folder per process
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with subscribe(_forward), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="cd is deprecated", category=FutureWarning)
            warnings.filterwarnings("ignore", message="Some jobs are not connected", category=UserWarning)
            if store not in _stores:  # once per worker: opening checks the file's integrity
                _stores[store] = open_store(store)
            run_locally(part, store=_stores[store], log=False, root_dir=folder)
    finally:
        _events.put(("end", index, None))  # after every event of this part (one queue, in order)
        _part = None
    return index


# --- the parent --------------------------------------------------------------------------------------------

@dataclass
class PartFailure:
    """A part that did not run to its end: its worker process died (also when it ran alone), or it raised
    outside any job (e.g. the store would not open)."""

    index: int
    name: str
    error: str


def run_parts(flow: Any, store: str | None, work_dir: Path, monitor: Any, workers: int) -> list[PartFailure]:
    """Run ``flow``'s independent parts in ``workers`` processes; every run event goes to ``monitor``.

    A job that raises is a ``job_failed`` event, as in a one-worker run, and the other jobs go on. Returns the
    parts that did not run to their end (their finished jobs are in the store); each is also handed to
    ``monitor`` as a ``job_failed`` event named after the part.
    """
    import multiprocessing

    from monty.json import MontyEncoder

    from atomflow.events import RunEvent, error_line

    threads = check_workers(workers, warn=False)  # run_flow / the CLI have warned
    check_shared_store(store)
    parts = independent_parts(flow)
    payloads = [json.dumps(p.jobs, cls=MontyEncoder) for p in parts]
    names = [p.name for p in parts]
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked torch or SQLite state
    # SimpleQueue: a worker's put writes the pipe itself, under the queue's lock, and returns when done. A Queue
    # hands the write to a feeder thread; a worker that died (os._exit, a kill) while that thread held the shared
    # write lock left it held, and every other worker then hung at exit (CI on 671e20a: the dead-worker test
    # waited in the pool's shutdown, a worker's feeder blocked in the lock's acquire).
    events = context.SimpleQueue()
    ended: set[int] = set()
    seen: set[int] = set()  # parts that sent at least one event (they started running)
    lock = threading.Condition()

    def drain() -> None:
        while True:
            kind, index, event = events.get()
            if kind == "stop":
                return
            with lock:
                if kind == "end":
                    ended.add(index)
                    lock.notify_all()
                    continue
                seen.add(index)
            reports(index, event)

    reports = OncePerJob(monitor)
    reader = threading.Thread(target=drain, name="atomflow-worker-events", daemon=True)
    reader.start()
    unstarted_breaks = dict.fromkeys(range(len(parts)), 0)
    pending = list(range(len(parts)))
    lost: list[PartFailure] = []

    def run(indices: list[int], size: int) -> list[int]:
        done, broken = _one_pool(indices, payloads, names, store, work_dir, size, threads, context, events)
        with lock:  # the end marker of a part comes after all its events
            lock.wait_for(lambda: set(done) <= ended, timeout=30)
        lost.extend(PartFailure(i, names[i], error_line(e)) for i, e in done.items() if e is not None)
        return broken

    try:
        while pending:
            suspects, again = [], []
            for index in run(pending, workers):
                with lock:
                    started = index in seen
                    # a part that ran to its end just before the pool broke has finished: not again
                    if started and lock.wait_for(lambda: index in ended, timeout=2):
                        continue
                unstarted_breaks[index] += not started
                if started or unstarted_breaks[index] >= 3:
                    suspects.append(index)  # running when a worker died: it, or a part beside it, was the cause
                else:
                    again.append(index)  # not started yet: simply again
            # each suspect again, alone in a fresh pool (what it had finished is reused): a second death is its own
            for index in suspects:
                reports.restart(index)
                if run([index], 1):
                    lost.append(PartFailure(index, names[index], "WorkerDied: its worker process ended (killed, "
                                            "or out of memory), also when it ran alone; its finished jobs are "
                                            "stored"))
            pending = again
    finally:
        events.put(("stop", None, None))
        reader.join(timeout=30)
        events.close()  # no feeder thread to join at exit (a SimpleQueue has none)
    for failure in sorted(lost, key=lambda f: f.index):
        monitor(RunEvent("job_failed", name=failure.name, error=failure.error))
    return sorted(lost, key=lambda f: f.index)


class OncePerJob:
    """Forwards run events to ``monitor`` so that a part run again does not report its jobs twice.

    A part that was running when another worker's death broke the pool runs again alone (:func:`run_parts`); if
    its worker had already sent some jobs' events (a job that failed, say) but not the part's end, those jobs
    report again in the rerun (reused, or failing again) and would count twice (seen in CI: one failed job
    counted as two failures). :meth:`restart` before a rerun: then, per job, as many finished/failed events as
    the earlier attempts forwarded are held back, with the events before each. Counted per job rather than
    remembered as a set because a job replaced at run time (jobflow's ``Response(replace=…)``) keeps its uuid:
    the original and its replacement are two finished events of one uuid, both real.
    """

    TERMINAL = ("job_finished", "job_failed")

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        self.forwarded: dict[tuple[int, str], int] = {}
        self.hold: dict[tuple[int, str], int] = {}

    def restart(self, part: int) -> None:
        for key, count in self.forwarded.items():
            if key[0] == part:
                self.hold[key] = count

    def __call__(self, part: int, event: Any) -> None:
        uuid = getattr(event, "uuid", None)
        key = (part, uuid)
        terminal = event.kind in self.TERMINAL
        if uuid is not None and self.hold.get(key, 0) > 0:
            if terminal:
                self.hold[key] -= 1
            return
        if uuid is not None and terminal:
            self.forwarded[key] = self.forwarded.get(key, 0) + 1
        self.monitor(event)


def _one_pool(indices: list[int], payloads: list[str], names: list[str], store: str | None, work_dir: Path,
              workers: int, threads: int, context: Any,
              events: Any) -> tuple[dict[int, BaseException | None], list[int]]:
    """One executor over ``indices``: (finished part → the exception it raised or None, parts lost with the
    pool when a worker process died)."""
    done: dict[int, BaseException | None] = {}
    broken: list[int] = []
    with ProcessPoolExecutor(max_workers=min(workers, len(indices)), mp_context=context,
                             initializer=_init_worker, initargs=(events, threads)) as pool:
        futures = {pool.submit(_run_part, i, payloads[i], names[i], store, str(work_dir)): i for i in indices}
        for future in as_completed(futures):
            index, error = futures[future], future.exception()
            if isinstance(error, BrokenProcessPool):
                broken.append(index)
            else:
                done[index] = error
    return done, sorted(broken)
