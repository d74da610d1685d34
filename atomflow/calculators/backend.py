"""What a calculator backend is, and the one table of registered backends.

A backend is one module under :mod:`atomflow.calculators.backends` that builds its :class:`Backend`
and calls :func:`register`; that module owns everything the backend can do (the calculator, its
elements, parameter checks, provenance, formal charges, its program's own relax / NEB driver, its
batch evaluator and when batching pays). Domain code never reads this table: it asks the questions
in :mod:`atomflow.calculators.registry` (``can_batch``, ``formal_charges``, ``driver`` …).

This module imports nothing from atomflow but the errors and the parameter declarations, so the spec and the
registry can both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from atomflow.calculators.parameters import OpenParameters, Parameter
from atomflow.errors import CalculatorError

if TYPE_CHECKING:
    import numpy as np
    from ase import Atoms
    from ase.calculators.calculator import Calculator

#: Energy (eV) and forces (N×3, eV/Å) of one structure.
EnergyForces = tuple[float, "np.ndarray"]
#: Evaluates many structures in one model call, results in input order.
BatchEvaluator = Callable[[Sequence["Atoms"]], list[EnergyForces]]

#: Tasks a program may drive itself instead of ASE's optimizers.
DRIVER_TASKS = ("relax", "neb")


def _no_provenance(params: dict[str, Any]) -> dict[str, Any]:
    return {}


def _pays_off_cpu(device: str) -> bool:
    # Default for batched ML models: on a GPU one call over the band saves per-call overhead; on CPU it
    # only pays where measured (a backend that measured it says so with its own batch_pays).
    return device != "cpu"


@dataclass(frozen=True)
class Backend:
    """How to build one kind of calculator, and what else that backend can do."""

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
    #: extra provenance (model file, checkpoint) from the parameters
    provenance: Callable[[dict[str, Any]], dict[str, Any]] = field(default=_no_provenance)
    #: quick check for elements known without building (for suggestions); None: unknown / any
    static_elements: frozenset[str] | None = None
    #: the parameters it accepts, checked when a spec is made (unknown names, types, ranges, allowed values);
    #: () takes none; None: not declared (anything goes; ``check_parameters`` alone decides)
    parameters: tuple[Parameter, ...] | None = None
    #: names passed through to the program besides the declared ones (VASP's INCAR tags)
    open_parameters: OpenParameters | None = None
    #: checks across parameters, after the declared ones (raises CalculatorError); called when a spec is made
    check_parameters: Callable[[dict[str, Any]], None] | None = None
    #: its elements are read from a model file or an installed model (loaded to know them); such checks are
    #: skipped at flow construction under :func:`atomflow.calculators.deferred_model_checks`
    elements_need_model: bool = False
    #: fixed formal charges of rigid-ion models (a vacancy then leaves a charged cell); None for others
    formal_charges: Callable[[dict[str, Any]], dict[str, float]] | None = None
    #: how to install what is missing, when it is more than a pip extra
    install_hint: str | None = None
    #: run before the backend's modules are imported (torch compatibility settings)
    prepare: Callable[[], None] | None = None
    #: a DFT code (electronic structure; its own input sets, cost per force call of minutes)
    dft: bool = False
    #: the program's own drivers, task ("relax" / "neb") → function with the arguments of
    #: atomflow.jobs.ase_run.relax / atomflow.neb.run.run_neb plus ``ase_driver=``, the ASE driver of
    #: that task (GPAW runs it in an MPI subprocess); tasks not named here are driven by ASE's optimizers
    drivers: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    #: whether relaxations and NEB bands run ASE's optimizers (in this process or in a driver's subprocess,
    #: as GPAW's): only then can a seed's Hessian start them (atomflow.seed_hessian); False for a program
    #: that optimises itself (VASP)
    ase_optimizers: bool = True
    #: builds a batch evaluator from a calculator of this backend (None from it: this model cannot batch);
    #: None here: the backend evaluates one structure per call
    batch_evaluator: Callable[["Calculator"], BatchEvaluator | None] | None = None
    #: whether batching pays on a device ("cpu", "cuda", …) when the caller leaves it to the backend
    batch_pays: Callable[[str], bool] = field(default=_pays_off_cpu)

    def __post_init__(self) -> None:
        unknown = set(self.drivers) - set(DRIVER_TASKS)
        if unknown:
            raise CalculatorError(f"Backend {self.name!r}: unknown driver tasks {sorted(unknown)}; "
                                  f"tasks are {', '.join(DRIVER_TASKS)}.")
        if self.parameters is not None:
            names = [p.name for p in self.parameters]
            if len(set(names)) != len(names):
                raise CalculatorError(f"Backend {self.name!r} declares a parameter twice: {names}.")
            if self.main_parameter is not None and self.main_parameter not in names:
                raise CalculatorError(f"Backend {self.name!r}: main parameter {self.main_parameter!r} "
                                      f"is not among its declared parameters {names}.")


#: name → backend, in registration order (the order `atomflow calculators` lists them).
BACKENDS: dict[str, Backend] = {}


def register(backend: Backend) -> Backend:
    """Make ``backend`` known by its name (a backend module calls this once, at import)."""
    if backend.name != backend.name.strip().lower() or ":" in backend.name or not backend.name:
        raise CalculatorError(f"Backend names are lower-case words without ':', got {backend.name!r}.")
    BACKENDS[backend.name] = backend
    return backend


def unregister(name: str) -> None:
    """Forget a backend (tests that register a toy one clean up with this)."""
    BACKENDS.pop(name, None)


def get_backend(name: str) -> Backend:
    """The registered backend of that name; CalculatorError listing the valid names otherwise."""
    try:
        return BACKENDS[name]
    except KeyError:
        valid = ", ".join(sorted(BACKENDS))
        raise CalculatorError(f"Unknown calculator {name!r}. Valid names: {valid}.") from None
