"""Calculators behind one serialisable spec.

>>> from atomflow.calculators import CalculatorSpec, get_calculator
>>> spec = CalculatorSpec.parse("emt")
>>> calc = get_calculator(spec)            # an ASE calculator, built at run time

Names: see :func:`available_calculators`. Unknown names, elements a calculator cannot handle and
missing optional packages raise before any work, each with a message that names the fix.
"""

from atomflow.calculators.spec import CalculatorSpec
from atomflow.calculators.registry import (
    BACKENDS,
    available_calculators,
    calculator_provenance,
    check_elements,
    check_structure,
    clear_cache,
    describe_calculators,
    get_calculator,
    supported_elements,
)

# Registering the backends (import order = listing order).
from atomflow.calculators import classical as _classical  # noqa: E402,F401
from atomflow.calculators import mlip as _mlip  # noqa: E402,F401
from atomflow.calculators import dft as _dft  # noqa: E402,F401

__all__ = [
    "BACKENDS",
    "CalculatorSpec",
    "available_calculators",
    "calculator_provenance",
    "check_elements",
    "check_structure",
    "clear_cache",
    "describe_calculators",
    "get_calculator",
    "supported_elements",
]
