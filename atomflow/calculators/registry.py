"""One factory from :class:`CalculatorSpec` to an ASE calculator, with checks before any work, and the
questions domain code asks about a spec's backend.

Every backend (:mod:`atomflow.calculators.backends`) declares which elements it handles, which package it
needs (and the pip extra that installs it) and how to build the calculator. Expensive models (ML
potentials) are built once per process and per spec; every :func:`get_calculator` call returns a fresh
calculator object that shares the loaded model, so results of one structure never leak into another.

Domain code asks small questions here instead of reading the backend table: :func:`can_batch`,
:func:`batch_pays`, :func:`batch_evaluator`, :func:`formal_charges`, :func:`driver`, :func:`is_dft`.
"""

from __future__ import annotations

import contextvars
import copy
import importlib
import importlib.metadata
import os
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterable

from atomflow.calculators.backend import (  # noqa: F401  (register, unregister: also importable from here)
    BACKENDS,
    DRIVER_TASKS,
    Backend,
    BatchEvaluator,
    get_backend,
    register,
    unregister,
)
from atomflow.calculators.spec import CalculatorSpec
from atomflow.errors import CalculatorError, MissingDependencyError

if TYPE_CHECKING:
    from ase import Atoms
    from ase.calculators.calculator import Calculator


_PROTOTYPES: dict[str, "Calculator"] = {}
#: (spec key, what) → something built once from a loaded model (e.g. a backend's batch evaluator)
_DERIVED: dict[tuple[str, str], Any] = {}
_PROTOTYPE_LOCK = threading.Lock()
#: where (a worker's host) the model-dependent element checks were deferred to; None: check here
_DEFERRED_TO: contextvars.ContextVar[str | None] = contextvars.ContextVar("atomflow_deferred_model_checks",
                                                                         default=None)


def available_calculators() -> list[str]:
    """Names accepted by :class:`CalculatorSpec`."""
    return sorted(BACKENDS)


def describe_calculators() -> list[tuple[str, str, bool]]:
    """(name, description, importable) for every backend: what `atomflow calculators` prints."""
    return [(b.name, b.description, _missing_module(b) is None) for b in BACKENDS.values()]


#: Variables some packages set process-wide on import (mace-torch sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1,
#: which would switch off torch's safe loading for every file). We load trusted files explicitly with
#: weights_only=False instead, so these are put back as they were after each import.
_GUARDED_ENV = ("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD",)


@contextmanager
def guarded_environment():
    """Undo environment variables that imported packages set behind our back."""
    saved = {key: os.environ.get(key) for key in _GUARDED_ENV}
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _missing_module(backend: Backend) -> str | None:
    with guarded_environment():
        if backend.prepare is not None:
            try:
                backend.prepare()
            except ImportError as exc:
                return exc.name or str(exc)
        for module in backend.modules:
            try:
                importlib.import_module(module)
            except ImportError:
                return module
    return None


def require_backend(spec: CalculatorSpec) -> Backend:
    """The spec's backend, after checking that its packages import (clear error otherwise)."""
    backend = get_backend(spec.name)
    missing = _missing_module(backend)
    if missing is not None:
        how = backend.install_hint or (
            f"pip install 'atomflow[{backend.extra}]'" if backend.extra else "see the README"
        )
        raise MissingDependencyError(
            f"Calculator {spec.name!r} needs the Python package {missing!r}, which is not installed. "
            f"Install it with: {how}."
        )
    return backend


def supported_elements(spec: CalculatorSpec | str) -> frozenset[str] | None:
    """Elements the calculator handles (None: all). May load the model for ML potentials."""
    spec = CalculatorSpec.parse(spec)
    return require_backend(spec).elements(dict(spec.parameters))


@contextmanager
def deferred_model_checks(where: str = "the worker"):
    """Skip element checks that need the calculator's model while flows are built in this block.

    For a submission whose jobs run on another host (``where``): a model file there
    (``mace:/shared/na.model``) need not exist here. Backends whose elements are read from a model
    (:attr:`Backend.elements_need_model`: mace, sevennet, kim) are not checked in :func:`check_elements`
    inside the block; every other check still runs, and the job on the worker checks again when it runs
    (:func:`check_structure`, :func:`get_calculator`), failing there with the message that names the fix.
    Scoped to this block and this thread / task (a context variable), so nothing built later or elsewhere
    skips a check.
    """
    token = _DEFERRED_TO.set(where)
    try:
        yield
    finally:
        _DEFERRED_TO.reset(token)


def model_checks_deferred_to(spec: CalculatorSpec | str) -> str | None:
    """Where the spec's element check was deferred to (inside :func:`deferred_model_checks`), else None."""
    where = _DEFERRED_TO.get()
    if where is None or not get_backend(CalculatorSpec.parse(spec).name).elements_need_model:
        return None
    return where


def check_elements(spec: CalculatorSpec | str, elements: Iterable[str]) -> None:
    """Raise :class:`CalculatorError` naming the elements the calculator cannot handle, before any work.

    Inside :func:`deferred_model_checks` a calculator whose elements need its model is not checked here.
    """
    spec = CalculatorSpec.parse(spec)
    if model_checks_deferred_to(spec) is not None:
        return
    wanted = sorted(set(elements))
    known = supported_elements(spec)
    if known is None:
        return
    missing = [el for el in wanted if el not in known]
    if not missing:
        return
    alternatives = suggest_calculators(wanted)
    hint = f" Use a calculator that can: {', '.join(alternatives)}." if alternatives else ""
    raise CalculatorError(
        f"Calculator {spec.label!r} has no parameters for {', '.join(missing)} "
        f"(it handles {_summarise(known)}).{hint}"
    )


def check_structure(spec: CalculatorSpec | str, structure: Any) -> None:
    """:func:`check_elements` for a pymatgen Structure or ASE Atoms."""
    check_elements(spec, _element_symbols(structure))


def suggest_calculators(elements: Iterable[str]) -> list[str]:
    """Backends whose element coverage is known without loading a model and covers ``elements``."""
    wanted = set(elements)
    out = []
    for backend in BACKENDS.values():
        cover = backend.static_elements
        if cover is None or not wanted <= cover:
            continue
        if backend.formal_charges is not None and wanted != cover:
            continue  # a rigid-ion model needs its whole ionic compound (NaCl), not metallic Na alone
        out.append(f"'{backend.name}'")
    return out


def get_calculator(spec: CalculatorSpec | str | dict, structure: Any = None) -> "Calculator":
    """Resolve a spec to a ready ASE calculator. If ``structure`` is given its elements are checked first."""
    spec = CalculatorSpec.parse(spec)
    backend = require_backend(spec)
    if structure is not None:
        check_structure(spec, structure)
    if not backend.expensive:
        with guarded_environment():
            return backend.build(dict(spec.parameters))
    with _PROTOTYPE_LOCK, guarded_environment():
        proto = _PROTOTYPES.get(spec.key)
        if proto is None:
            proto = backend.build(dict(spec.parameters))
            _PROTOTYPES[spec.key] = proto
    calc = copy.copy(proto)  # shares the loaded model; own results / atoms
    calc.reset()
    return calc


def derived_from_model(spec: CalculatorSpec | str, what: str, build: Callable[["Calculator"], Any]) -> Any:
    """``build(calculator)`` once per loaded model of ``spec`` and ``what``; forgotten with it by clear_cache.

    For objects made from an expensive model that should live as long as the model does (a batch-mode
    copy of a network), not be rebuilt by every job that uses them.
    """
    spec = CalculatorSpec.parse(spec)
    calc = get_calculator(spec)
    with _PROTOTYPE_LOCK:
        if (spec.key, what) not in _DERIVED:
            with guarded_environment():
                _DERIVED[spec.key, what] = build(calc)
        return _DERIVED[spec.key, what]


def clear_cache() -> None:
    """Forget cached models and what was built from them (tests; freeing memory between committee members)."""
    with _PROTOTYPE_LOCK:
        _PROTOTYPES.clear()
        _DERIVED.clear()


def calculator_provenance(spec: CalculatorSpec | str) -> dict[str, Any]:
    """What produced a number: name, parameters, package version, model identity."""
    spec = CalculatorSpec.parse(spec)
    backend = get_backend(spec.name)
    version = None
    if backend.distribution:
        try:
            version = importlib.metadata.version(backend.distribution)
        except importlib.metadata.PackageNotFoundError:
            version = None
    info: dict[str, Any] = {
        "name": spec.name,
        "parameters": dict(spec.parameters),
        "package": backend.distribution,
        "package_version": version,
    }
    try:
        info.update(backend.provenance(dict(spec.parameters)))
    except Exception as exc:  # provenance must never stop a run; record why it is incomplete
        info["provenance_error"] = str(exc)
    return info


# --- what domain code asks about a spec's backend ------------------------------------------------------

def is_dft(spec: CalculatorSpec | str) -> bool:
    """Whether the spec names a DFT code (VASP, GPAW)."""
    return get_backend(CalculatorSpec.parse(spec).name).dft


def formal_charges(spec: CalculatorSpec | str) -> dict[str, float] | None:
    """Fixed formal charges (e) of a rigid-ion model, element → charge; None for every other calculator."""
    spec = CalculatorSpec.parse(spec)
    charges = get_backend(spec.name).formal_charges
    return None if charges is None else charges(dict(spec.parameters))


def driver(spec: CalculatorSpec | str, task: str) -> Callable | None:
    """The program's own driver of ``task`` ("relax" or "neb") for the spec; None when ASE drives it.

    A driver takes the arguments of :func:`atomflow.jobs.ase_run.relax` (``relax``) or
    :func:`atomflow.neb.run.run_neb` (``neb``) and ``ase_driver=``, the ASE driver of the same task (GPAW runs
    that one under MPI in a subprocess), and returns the same result type.
    """
    if task not in DRIVER_TASKS:
        raise CalculatorError(f"Unknown driver task {task!r}; tasks are {', '.join(DRIVER_TASKS)}.")
    return get_backend(CalculatorSpec.parse(spec).name).drivers.get(task)


def uses_ase_optimizers(spec: CalculatorSpec | str) -> bool:
    """Whether the spec's relaxations and bands run ASE's optimizers (so they can take a starting Hessian)."""
    return get_backend(CalculatorSpec.parse(spec).name).ase_optimizers


def can_batch(spec: CalculatorSpec | str) -> bool:
    """Whether the spec's backend can evaluate many structures in one model call (no model is loaded)."""
    return get_backend(CalculatorSpec.parse(spec).name).batch_evaluator is not None


def batch_pays(spec: CalculatorSpec | str, device: str | None = None) -> bool:
    """Whether batching is worth it for the spec on ``device`` (default: the spec's ``device``, else cpu).

    The backend decides (measured: CHGNet batches faster on CPU too, SevenNet-0 does not); backends that
    cannot batch never pay.
    """
    spec = CalculatorSpec.parse(spec)
    backend = get_backend(spec.name)
    if backend.batch_evaluator is None:
        return False
    return bool(backend.batch_pays(str(device or spec.parameters.get("device", "cpu"))))


def batching_backends() -> list[str]:
    """Names of the backends that can batch (for error messages)."""
    return [b.name for b in BACKENDS.values() if b.batch_evaluator is not None]


def batch_evaluator(spec: CalculatorSpec | str) -> BatchEvaluator | None:
    """A batched energy+forces function for the spec's model, or None where it cannot batch.

    The evaluator shares the model loaded by :func:`get_calculator` (loaded once per process) and is
    built once per model (SevenNet's private batch-mode copy costs 0.1 s on CPU).
    """
    spec = CalculatorSpec.parse(spec)
    build = get_backend(spec.name).batch_evaluator
    if build is None:
        return None
    require_backend(spec)
    return derived_from_model(spec, "batch evaluator", build)


def _element_symbols(structure: Any) -> set[str]:
    if hasattr(structure, "get_chemical_symbols"):
        return set(structure.get_chemical_symbols())
    if hasattr(structure, "composition"):
        return {el.symbol for el in structure.composition.elements}
    raise CalculatorError(f"Expected a pymatgen Structure or ASE Atoms, got {type(structure).__name__}.")


def _summarise(elements: frozenset[str]) -> str:
    items = sorted(elements)
    if len(items) <= 16:
        return ", ".join(items)
    return f"{len(items)} elements"
