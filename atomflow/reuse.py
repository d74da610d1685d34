"""Reuse finished work: results are keyed by structure + calculator spec + settings, not by job ids.

A job computes :func:`cache_key` from what determines its result; before running it asks the store
(exposed by jobflow to jobs created with ``expose_store``) for an output with that key, and returns it
if found. A re-run of a finished study, or of a study killed half-way, therefore recomputes nothing
that had finished; the reused output is stored again under the new job's id.

A keyed job can also state its key before it runs (:func:`reuse_key_hook`): `atomflow submit` computes it
from the job's arguments once they are known and resolves the job from the store instead of sending it
(:mod:`atomflow.cluster.reuse`; compute jobs on a cluster cannot see the store).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from typing import Any, Callable, TypeVar

import numpy as np
from monty.json import MontyDecoder, jsanitize

from atomflow.errors import StoreError

#: Bump when the meaning of stored results changes (a changed default, a fixed bug), so old ones are not reused.
RESULT_SCHEMA = 1

logger = logging.getLogger("atomflow.reuse")
T = TypeVar("T")


def structure_fingerprint(structure: Any) -> dict[str, Any]:
    """Species, lattice and fractional coordinates rounded to 1e-6 (numerical noise must not break reuse)."""
    from atomflow.structures.convert import to_atoms

    atoms = to_atoms(structure)
    cell = np.round(np.asarray(atoms.cell), 6) + 0.0  # + 0.0 turns -0.0 into 0.0
    frac = np.round(np.mod(atoms.get_scaled_positions(wrap=True), 1.0), 6) % 1.0 + 0.0
    return {"symbols": atoms.get_chemical_symbols(), "cell": cell.tolist(), "frac": frac.tolist()}


def cache_key(kind: str, structure: Any, spec: Any, settings: dict[str, Any], **extra: Any) -> str:
    """A stable hash of everything that determines a result."""
    payload = {
        "schema": RESULT_SCHEMA,
        "kind": kind,
        "structure": structure_fingerprint(structure) if structure is not None else None,
        "calculator": json.loads(spec.key) if hasattr(spec, "key") else spec,
        "settings": jsanitize(settings, strict=False, enum_values=True),
        "extra": jsanitize(extra, strict=False, enum_values=True),
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


#: "module:qualname" of a job function → the key its result is stored under, from the job's arguments
#: (``self`` first for a Maker's ``make``); None where it cannot be told before the job runs.
_KEY_HOOKS: dict[str, Callable[..., str | None]] = {}


def function_name(function: Callable) -> str:
    """``module:qualname`` of a job function (a ``@job`` wrapper, a bound method or a plain function)."""
    function = getattr(function, "original", function)
    function = getattr(function, "__func__", function)
    return f"{function.__module__}:{function.__qualname__}"


KeyFunction = Callable[..., "str | None"]


def reuse_key_hook(job_function: Callable) -> Callable[[KeyFunction], KeyFunction]:
    """Register the function that computes ``job_function``'s cache key from its arguments.

    The job must compute its key through the same function, so the key told before the run is the key
    the run stores (one payload, :func:`cache_key`).
    """

    def register(key_function: KeyFunction) -> KeyFunction:
        _KEY_HOOKS[function_name(job_function)] = key_function
        return key_function

    return register


def key_hook(job_function: Callable) -> Callable[..., str | None] | None:
    """The registered key function of a job function, or None (the job is not keyed before it runs)."""
    return _KEY_HOOKS.get(function_name(job_function))


def find_stored(store: Any, key: str, *, converged_only: bool = True) -> dict[str, Any] | None:
    """The newest stored job document whose output has ``cache_key == key`` (output loaded, not decoded).

    ``converged_only``: the rule of local runs, an unconverged result is not reused.
    """
    query: dict[str, Any] = {"output.cache_key": key}
    if converged_only:
        query["output.converged"] = True
    return store.query_one(query, properties=["output", "uuid", "index", "metadata"],
                           sort={"completed_at": -1}, load=True)


def reuse_or_compute(key: str, compute: Callable[[], T]) -> T:
    """Return the stored output with ``cache_key == key`` if the running job can see one, else compute it.

    Only complete documents that passed their own checks are reused: a document flagged unconverged is
    recomputed (a longer step limit or another calculator may now converge).
    """
    found = find_cached(key)
    if found is not None:
        logger.info("Reused stored result %s", key[:12])
        _emit_result("result_reused", key)
        return found
    result = compute()
    logger.info("Computed result %s", key[:12])
    _emit_result("result_computed", key)
    if isinstance(result, dict):
        result["cache_key"] = key
    elif hasattr(result, "cache_key"):
        result.cache_key = key
    return result


def _emit_result(kind: str, key: str) -> None:
    """A run event (atomflow.events) for the job running now: its result was reused or computed."""
    from atomflow.events import RunEvent, current_job, emit

    name, uuid = current_job()
    emit(RunEvent(kind, name=name, uuid=uuid, message=key[:12]))


def find_cached(key: str) -> Any | None:
    from jobflow import CURRENT_JOB

    store = getattr(CURRENT_JOB, "store", None)
    if store is None:
        return None
    try:
        doc = find_stored(store, key)
    except sqlite3.DatabaseError as exc:  # a damaged file: computing on would write into it
        raise StoreError(f"The results store cannot be read ({exc}); stopping before anything is written. "
                         "Run `atomflow store check`, restore the file or start a new store.") from exc
    except Exception as exc:  # a store problem must not stop the calculation; it just is not reused
        logger.warning("Could not look up stored results (%s); computing.", exc)
        return None
    if not doc:
        return None
    return MontyDecoder().process_decoded(doc["output"])
