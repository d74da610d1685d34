"""Exceptions with one message that names the problem and how to fix it."""

from __future__ import annotations


class AtomflowError(Exception):
    """Base class of every error atomflow raises on purpose."""


class InputError(AtomflowError, ValueError):
    """The user's input (structure, setting, argument) cannot be used as given."""


class CalculatorError(AtomflowError, ValueError):
    """A calculator spec cannot be resolved or cannot handle the given structure."""


class MissingDependencyError(AtomflowError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""


class StructureError(InputError):
    """A structure failed validation (composition, interatomic distances, occupancies, periodicity)."""


class StoreError(AtomflowError, RuntimeError):
    """The results store cannot be opened or written."""


class IncompleteResultsError(AtomflowError, RuntimeError):
    """Too many jobs of a fan-out failed for its analysis; the message names the failed ones."""
