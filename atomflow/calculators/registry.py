"""One factory from :class:`CalculatorSpec` to an ASE calculator, with checks before any work.

Every backend declares which elements it handles, which package it needs (and the pip extra that
installs it) and how to build the calculator. Expensive models (ML potentials) are built once per
process and per spec; every :func:`get_calculator` call returns a fresh calculator object that
shares the loaded model, so results of one structure never leak into another.
"""

from __future__ import annotations

import copy
import importlib
import importlib.metadata
import os
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from atomflow.calculators.spec import CalculatorSpec
from atomflow.errors import CalculatorError, MissingDependencyError

if TYPE_CHECKING:
    from ase import Atoms
    from ase.calculators.calculator import Calculator


@dataclass(frozen=True)
class Backend:
    """How to build one kind of calculator."""

    name: str
    description: str
    build: Callable[[dict[str, Any]], "Calculator"]
    #: elements the backend handles for these parameters; None means every element
    elements: Callable[[dict[str, Any]], frozenset[str] | None]
    #: importable modules the backend needs, and the pip extra / install step that provides them
    modules: tuple[str, ...] = ()
    extra: str | None = None
    #: distribution whose version goes into provenance
    distribution: str | None = None
    #: the parameter a bare ``name:ARG`` sets
    main_parameter: str | None = None
    #: build once per process and share (ML models)
    expensive: bool = False
    #: can evaluate many structures in one model call (used for batched NEB images)
    batched: bool = False
    #: extra provenance (model file, checkpoint) from the parameters
    provenance: Callable[[dict[str, Any]], dict[str, Any]] = field(default=lambda params: {})
    #: quick check for elements known without building (for suggestions); None: unknown / any
    static_elements: frozenset[str] | None = None
    #: checks the parameters without importing anything (raises CalculatorError); called when a spec is made
    check_parameters: Callable[[dict[str, Any]], None] | None = None
    #: fixed formal charges of rigid-ion models (a vacancy then leaves a charged cell); None for others
    formal_charges: Callable[[dict[str, Any]], dict[str, float]] | None = None
    #: how to install what is missing, when it is more than a pip extra
    install_hint: str | None = None
    #: run before the backend's modules are imported (torch compatibility settings)
    prepare: Callable[[], None] | None = None
    #: who drives relaxations and NEB bands: "ase" (ASE optimizers on the ASE calculator), or a program
    #: with its own driver, named in RUNNERS
    runner: str = "ase"


#: Runners other than ASE: name → task → "module:function" (``relax`` as ase_run.relax, ``run_neb`` as neb.run).
RUNNERS = {
    "vasp": {"relax": "atomflow.dft.vasp:relax", "run_neb": "atomflow.dft.vasp_neb:run_neb"},
    "gpaw": {"relax": "atomflow.dft.gpaw:relax", "run_neb": "atomflow.dft.gpaw:run_neb"},
}


def external_runner(spec: CalculatorSpec | str, task: str) -> Callable | None:
    """The program's own ``relax`` / ``run_neb`` for the spec's backend; None when ASE drives it."""
    spec = CalculatorSpec.parse(spec)
    runner = BACKENDS[spec.name].runner
    if runner == "ase":
        return None
    module, _, function = RUNNERS[runner][task].partition(":")
    return getattr(importlib.import_module(module), function)


BACKENDS: dict[str, Backend] = {}
_PROTOTYPES: dict[str, "Calculator"] = {}
#: (spec key, what) → something built once from a loaded model (e.g. atomflow.neb.batched's evaluators)
_DERIVED: dict[tuple[str, str], Any] = {}
_PROTOTYPE_LOCK = threading.Lock()


def register(backend: Backend) -> Backend:
    BACKENDS[backend.name] = backend
    return backend


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
    backend = BACKENDS[spec.name]
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


def check_elements(spec: CalculatorSpec | str, elements: Iterable[str]) -> None:
    """Raise :class:`CalculatorError` naming the elements the calculator cannot handle, before any work."""
    spec = CalculatorSpec.parse(spec)
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
    backend = BACKENDS[spec.name]
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
