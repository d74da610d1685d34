"""Calculators behind one serialisable spec.

>>> from atomflow.calculators import CalculatorSpec, get_calculator
>>> spec = CalculatorSpec.parse("emt")
>>> calc = get_calculator(spec)            # an ASE calculator, built at run time

Names: see :func:`available_calculators`. Unknown names, unknown or wrong parameters (each backend declares
its own), elements a calculator cannot handle and missing optional packages raise before any work, each with
a message that names the fix. A flow built for workers on another host skips the element checks that need
a model file inside :func:`deferred_model_checks` (the jobs check there).

Each backend is one module in :mod:`atomflow.calculators.backends`; domain code asks about a spec's
backend through :func:`can_batch`, :func:`batch_pays`, :func:`batch_evaluator`, :func:`formal_charges`,
:func:`driver`, :func:`uses_ase_optimizers` and :func:`is_dft`, never through the backend table.
"""

from atomflow.calculators.backend import BACKENDS, Backend, register, unregister
from atomflow.calculators.spec import CalculatorSpec
from atomflow.calculators.registry import (
    available_calculators,
    batch_evaluator,
    batch_pays,
    batching_backends,
    calculator_provenance,
    can_batch,
    check_elements,
    check_structure,
    clear_cache,
    deferred_model_checks,
    describe_calculators,
    driver,
    formal_charges,
    get_calculator,
    is_dft,
    supported_elements,
    uses_ase_optimizers,
)

# Registering the backends (import order = listing order).
from atomflow.calculators import backends as _backends  # noqa: E402,F401

__all__ = [
    "BACKENDS",
    "Backend",
    "CalculatorSpec",
    "available_calculators",
    "batch_evaluator",
    "batch_pays",
    "batching_backends",
    "calculator_provenance",
    "can_batch",
    "check_elements",
    "check_structure",
    "clear_cache",
    "deferred_model_checks",
    "describe_calculators",
    "driver",
    "formal_charges",
    "get_calculator",
    "is_dft",
    "register",
    "supported_elements",
    "unregister",
    "uses_ase_optimizers",
]
