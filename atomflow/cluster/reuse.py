"""Cluster submissions reuse the results store: jobs whose result is stored are resolved here, not sent.

Locally a keyed job asks the store itself (:func:`atomflow.reuse.reuse_or_compute`); on a cluster compute
jobs cannot see the store, so `atomflow submit` (which can) decides before anything is sent.

Design. The flow is walked in jobflow's order (parents first). A job is *resolved* when every job it reads
from is resolved and the store holds its result:

* a keyed job (relax/static, CI-NEB band, phonon forces, attempt frequency:
  :func:`atomflow.reuse.reuse_key_hook`) computes its cache key from its arguments, the parents' stored
  outputs filled in, and is found by ``output.cache_key``: the local rule, so results of local runs, of
  other studies and of other flows count;
* every other job (generators, fits, analyses) is found by its *flow key*, stamped into ``job.metadata`` at
  each submission and kept by jobflow in the stored document: a hash of the job's function and arguments,
  each reference to a parent replaced by the parent's flow key. The same workflow definition gives the same
  keys, and since a job is only looked up once its parents are resolved, its inputs are the stored ones.
  A generator (``Response(replace=…)``) is found with the output of its last run, i.e. its fan-out's
  collected results.
* a generator that is not found (its fan-out unfinished, a fan-out job failed, or it never ran) but whose
  inputs are stored is run here (:data:`EXPANDABLE`: light planning code, seconds): the jobs it makes
  join the walk and are looked up by their own keys, so only the missing strained cells, hops or
  displaced cells are sent, with jobflow's collector of the fan-out (the generator's uuid, next index).

A resolved job is left out of the flow that is sent, and the references of the jobs that remain are replaced
by the stored values (what jobflow would have resolved on the worker). Nothing is written to the store: a
resubmission of a finished study adds no document and sends no job. Replacing jobs in place (the other ways
considered: adding COMPLETED jobs to jobflow-remote's queue, or light jobs that return the stored document)
would have needed a copy of each output under a new job id or a worker slot per reused job.

Not reused: the fan-out of a generator that is sent (its inputs are not stored yet: a first submission)
is made on the worker, without the store, and computed in full. Jobs that ran locally and are not keyed
(fits, analyses) carry no flow key: they are sent (light jobs).

Rules as in local runs: an unconverged keyed result is not reused, nor any result with ``converged: False``,
``flags``/``warnings`` or ``mechanically_stable: False`` anywhere in it, unless ``reuse_flagged``; a job
whose parent is sent is sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from monty.json import MontyDecoder, jsanitize

from atomflow.reuse import function_name, key_hook

#: The field of ``job.metadata`` (kept in the stored document and the queue) holding the job's flow key.
FLOW_KEY = "atomflow_flow_key"


@dataclass
class JobDecision:
    """What submission does with one job: ``reused`` (from the store) or sent, and why."""

    name: str
    uuid: str
    reused: bool
    why: str
    flow_key: str
    expanded: bool = False  # a generator run here: its fan-out's jobs have their own decisions


@dataclass
class Resolution:
    """The flow to send (None: nothing) and the decision for each job of the submitted flow."""

    flow: Any
    decisions: list[JobDecision] = field(default_factory=list)

    @property
    def reused(self) -> list[JobDecision]:
        return [d for d in self.decisions if d.reused]

    @property
    def sent(self) -> list[JobDecision]:
        return [d for d in self.decisions if not d.reused and not d.expanded]

    @property
    def expanded(self) -> list[JobDecision]:
        return [d for d in self.decisions if d.expanded]


def resolve_flow(
    flow: Any, store: Any | None, *, reuse: bool = True, reuse_flagged: bool = False
) -> Resolution:
    """Stamp flow keys on every job and, with ``reuse``, resolve from ``store`` (a connected JobStore).

    The jobs of ``flow`` that are sent get the stored values in place of references to resolved jobs.
    """
    from jobflow import Flow
    from jobflow.core.flow import get_flow

    from atomflow.cluster.submit import quiet_iterflow

    flow = get_flow(flow)
    with quiet_iterflow():
        jobs = [job for job, _ in flow.iterflow()]
    keys = flow_keys(jobs)
    names = {job.uuid: job.name for job in jobs}
    known: dict[str, Any] = {}  # uuid → stored output (decoded)
    decisions = []
    todo, remaining = list(jobs), []
    while todo:
        job = todo.pop(0)
        job.metadata[FLOW_KEY] = keys[job.uuid]
        if not reuse or store is None:
            decisions.append(JobDecision(job.name, job.uuid, False, "reuse off", keys[job.uuid]))
            remaining.append(job)
            continue
        _fill_known(job, known)
        waiting = sorted({names.get(r.uuid, r.uuid) for r in job.input_references if r.uuid not in known})
        if waiting:
            why = f"needs {', '.join(waiting)}"
            decisions.append(JobDecision(job.name, job.uuid, False, why, keys[job.uuid]))
            remaining.append(job)
            continue
        found, why = _stored_output(job, keys[job.uuid], store, reuse_flagged)
        if found is not None:
            known[job.uuid] = found
            decisions.append(JobDecision(job.name, job.uuid, True, why, keys[job.uuid]))
            continue
        made = expand_generator(job) if function_name(job.function) in EXPANDABLE else None
        if made:
            # its fan-out joins the walk: each of its jobs is looked up like the others
            new_keys = flow_keys(made)
            new_keys[job.uuid] = keys[job.uuid]  # the fan-out's collector keeps the generator's uuid and key
            keys.update(new_keys)
            names.update({j.uuid: j.name for j in made})
            why = f"{why}; fan-out of {len(made) - 1} made here"
            decisions.append(JobDecision(job.name, job.uuid, False, why, keys[job.uuid], expanded=True))
            todo[:0] = made
            continue
        decisions.append(JobDecision(job.name, job.uuid, False, why, keys[job.uuid]))
        remaining.append(job)
    for job in remaining:
        job.hosts = []  # leaves its old flow, joins the flat one that is sent
    sent = Flow(remaining, name=flow.name) if remaining else None
    return Resolution(flow=sent, decisions=decisions)


#: Generators (``Response(replace=…)``) run here when their inputs are stored but their fan-out is not
#: (or not all of it): light planning code; each job they make is then looked up by its own key.
EXPANDABLE: tuple[str, ...] = (
    "atomflow.elastic.flow:relax_strained_cells",
    "atomflow.vacancy.flow:relax_vacancy_cells",
    "atomflow.neb.flow:generate_migration_hops",
    "atomflow.phonons.flow:run_phonon_displacements",
    "atomflow.rates.flow:attempt_frequencies_for_hops",
)


def expand_generator(job: Any) -> list[Any] | None:
    """Run a generator whose inputs are all values; its replacement's jobs in order, or None.

    The last job is jobflow's collector of the fan-out, with the generator's uuid (index + 1), so the
    generator's dependants read the fan-out's outputs as they would after a run on a worker. A generator
    that fails here is sent as it is (it fails on the worker with its own error, or succeeds there).
    """
    from jobflow import JobStore
    from maggma.stores import MemoryStore

    from atomflow.cluster.submit import quiet_iterflow

    scratch = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
    scratch.connect()
    try:
        response = job.run(scratch)
    except Exception:  # noqa: BLE001 - sent unchanged, the worker reports the error
        return None
    if response is None or response.replace is None:
        return None
    with quiet_iterflow():
        return [j for j, _ in response.replace.iterflow()]


def flow_keys(jobs: list[Any]) -> dict[str, str]:
    """A key per job (uuid → hex): its function and arguments, references replaced by the parents' keys."""
    keys: dict[str, str] = {}
    for job in jobs:
        d = job.as_dict()  # jobflow's own serialization: a Maker's fields, structures, references
        payload = {part: _stable(d[part], keys) for part in ("function", "function_args", "function_kwargs")}
        text = json.dumps(payload, sort_keys=True, default=str)
        keys[job.uuid] = hashlib.sha256(text.encode()).hexdigest()
    return keys


def _stable(value: Any, keys: dict[str, str]) -> Any:
    """The serialized arguments without what changes between two makes of one definition (ids, versions)."""
    if isinstance(value, dict):
        if value.get("@class") == "OutputReference":
            # a parent outside this flow keeps its uuid: it never matches a later submission
            return {"ref": keys.get(value["uuid"], value["uuid"]), "attributes": value.get("attributes")}
        return {k: _stable(v, keys) for k, v in value.items() if k not in ("@version", "uuid")}
    if isinstance(value, (list, tuple)):
        return [_stable(v, keys) for v in value]
    return value


def _fill_known(job: Any, known: dict[str, Any]) -> None:
    """Replace references to resolved jobs in the job's arguments by their stored values, in place."""
    job.function_args = tuple(_substitute(a, known) for a in job.function_args)
    job.function_kwargs = {k: _substitute(v, known) for k, v in job.function_kwargs.items()}


def _substitute(value: Any, known: dict[str, Any]) -> Any:
    from jobflow import OutputReference

    if isinstance(value, OutputReference):
        if value.uuid not in known:
            return value
        data = known[value.uuid]
        for kind, attr in value.attributes:  # as OutputReference.resolve does
            data = data[attr] if kind == "i" or isinstance(data, dict) else getattr(data, attr)
        return data
    if isinstance(value, list):
        return [_substitute(v, known) for v in value]
    if isinstance(value, tuple):
        return tuple(_substitute(v, known) for v in value)
    if isinstance(value, dict):
        return {k: _substitute(v, known) for k, v in value.items()}
    return value


def submission_key(job: Any) -> str | None:
    """A keyed job's cache key from its (filled-in) arguments; None if it has none before it runs."""
    from jobflow import OutputReference

    hook = key_hook(job.function)
    if hook is None:
        return None
    if _contains(job.function_args, OutputReference) or _contains(job.function_kwargs, OutputReference):
        return None
    owner = getattr(job.function, "__self__", None)
    args = (owner, *job.function_args) if owner is not None else tuple(job.function_args)
    try:
        return hook(*args, **job.function_kwargs)
    except Exception:  # noqa: BLE001 - bad inputs: the job is sent and fails on the worker with its own error
        return None


def _contains(value: Any, kind: type) -> bool:
    if isinstance(value, kind):
        return True
    if isinstance(value, dict):
        return any(_contains(v, kind) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains(v, kind) for v in value)
    return False


def _stored_output(job: Any, flow_key: str, store: Any, reuse_flagged: bool) -> tuple[Any | None, str]:
    """(the stored output, why) or (None, why not)."""
    from atomflow.reuse import find_stored

    key = submission_key(job)
    if key is not None:
        doc = find_stored(store, key, converged_only=not reuse_flagged)
        if doc is None:
            flagged = find_stored(store, key, converged_only=False)
            return None, "stored result not converged (--reuse-flagged reuses it)" if flagged else "not stored"
        how = f"result {key[:12]}"
        raw = output = doc["output"]
    else:
        hit = store.query_one({f"metadata.{FLOW_KEY}": flow_key}, properties=["uuid"],
                              sort={"completed_at": -1})
        if hit is None:
            keyed = key_hook(job.function) is not None
            return None, "not stored (no key before it runs)" if keyed else "not stored"
        # the last run of that job: a generator's is its fan-out's collected output (references resolved)
        try:
            output = store.get_output(hit["uuid"], which="last", load=True)
        except ValueError:  # a reference into a fan-out job that did not finish
            output = None
        if output is None:
            return None, "stored without output (fan-out unfinished)"
        raw = jsanitize(output, strict=False, enum_values=True)  # for the flags only
        how = f"job {hit['uuid'][:8]}"
    flags = output_flags(raw)
    if flags and not reuse_flagged:
        return None, f"stored result flagged ({flags[0]}; --reuse-flagged reuses it)"
    return MontyDecoder().process_decoded(output), f"stored {how}" + (" (flagged)" if flags else "")


def output_flags(output: Any) -> list[str]:
    """Reasons not to reuse a stored output (serialized), looking into lists and nested documents."""
    found: list[str] = []
    if isinstance(output, dict):
        if output.get("converged") is False:
            found.append("not converged")
        if output.get("mechanically_stable") is False:
            found.append("mechanically unstable")
        found += [str(f) for f in (output.get("flags") or []) + (output.get("warnings") or [])]
        for k, v in output.items():
            if k not in ("flags", "warnings") and isinstance(v, (dict, list)):
                found += output_flags(v)
    elif isinstance(output, list):
        for v in output:
            found += ["a fan-out job failed"] if v is None else output_flags(v)
    return found
