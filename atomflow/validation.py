"""One validation layer for settings and Makers: each check names the parameter, the value and the fix.

Every message has the same shape, ``"<name> must be <what>, got <value>; <fix>."``, e.g.
``"fmax must be a positive number of eV/Å, got nan; the paper uses 0.01."``. The checks are plain
functions called in ``__post_init__`` (run settings in :mod:`atomflow.run_settings`, every Maker), so a bad
value fails when the object is built, before any job exists. A check returns the value unchanged (an int
stays an int: reuse keys hash values as given); only :func:`numbers` turns a list into a tuple.

What every number check refuses: ``True``/``False`` (a bool is an int in Python, never a number here),
strings, NaN and ±inf. Nothing here imports the rest of atomflow (run_settings imports this module).
"""

from __future__ import annotations

import difflib
import math
import numbers as _numbers
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from atomflow.errors import InputError

__all__ = ["element", "fail", "finite", "flag", "instance", "integer", "non_negative", "number", "numbers",
           "one_of", "positive", "show", "text", "within"]


def show(value: Any) -> str:
    """The value as a message shows it: ``nan``, ``-0.01``, ``'abc'``, ``True``; long reprs shortened."""
    if isinstance(value, float) and not isinstance(value, bool):
        return repr(float(value))
    out = repr(value)
    return out if len(out) <= 60 else out[:57] + "..."


def fail(name: str, must: str, value: Any, fix: str | None = None) -> None:
    """Raise the one-line :class:`InputError` of a bad ``name``."""
    raise InputError(f"{name} must be {must}, got {show(value)}{_tail(fix)}")


def _tail(fix: str | None) -> str:
    if not fix:
        return "."
    fix = fix.rstrip(".")
    return f"; {fix}" + ("" if fix.endswith("?") else ".")


def _of(unit: str | None) -> str:
    return f" of {unit}" if unit else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, _numbers.Real) and not isinstance(value, bool)


def number(name: str, value: Any, unit: str | None = None, fix: str | None = None, *, none: bool = False,
           must: str | None = None, test: Callable[[float], bool] = lambda x: True) -> Any:
    """A finite real number (not a bool, not a string) for which ``test`` holds; None too with ``none``."""
    if value is None and none:
        return value
    must = must or f"a finite number{_of(unit)}"
    if none:
        must += " or None"
    if not _is_number(value) or not math.isfinite(value) or not test(value):
        fail(name, must, value, fix)
    return value


def finite(name: str, value: Any, unit: str | None = None, fix: str | None = None, *,
           none: bool = False) -> Any:
    """Any finite real number."""
    return number(name, value, unit, fix, none=none)


def positive(name: str, value: Any, unit: str | None = None, fix: str | None = None, *,
             none: bool = False) -> Any:
    """A finite number > 0."""
    return number(name, value, unit, fix, none=none, must=f"a positive number{_of(unit)}",
                  test=lambda x: x > 0)


def non_negative(name: str, value: Any, unit: str | None = None, fix: str | None = None, *,
                 none: bool = False) -> Any:
    """A finite number ≥ 0."""
    return number(name, value, unit, fix, none=none, must=f"a number ≥ 0{_of(unit)}", test=lambda x: x >= 0)


def within(name: str, value: Any, lo: float, hi: float, unit: str | None = None, fix: str | None = None, *,
           lo_open: bool = False, hi_open: bool = False, none: bool = False) -> Any:
    """A finite number in the interval from ``lo`` to ``hi`` (open ends with ``lo_open``/``hi_open``)."""
    interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    return number(name, value, unit, fix, none=none, must=f"a number{_of(unit)} in {interval}",
                  test=lambda x: (x > lo if lo_open else x >= lo) and (x < hi if hi_open else x <= hi))


def integer(name: str, value: Any, lo: int | None = None, hi: int | None = None, fix: str | None = None, *,
            none: bool = False) -> Any:
    """A whole number (int or numpy integer, not a bool or a float) with ``lo ≤ value ≤ hi``."""
    if value is None and none:
        return value
    bounds = (f" ≥ {lo}" if hi is None else f" from {lo} to {hi}") if lo is not None else (
        f" ≤ {hi}" if hi is not None else "")
    must = f"a whole number{bounds}" + (" or None" if none else "")
    ok = isinstance(value, _numbers.Integral) and _is_number(value)
    if not ok or (lo is not None and value < lo) or (hi is not None and value > hi):
        fail(name, must, value, fix)
    return value


def flag(name: str, value: Any, fix: str | None = None, *, none: bool = False) -> Any:
    """True or False (None too with ``none``); 0/1 and strings such as 'yes' are refused."""
    if isinstance(value, bool) or (value is None and none):
        return value
    fail(name, "True or False" + (" or None" if none else ""), value, fix)


def text(name: str, value: Any, fix: str | None = None, *, none: bool = False) -> Any:
    """A string (None too with ``none``)."""
    if isinstance(value, str) or (value is None and none):
        return value
    fail(name, "a string" + (" or None" if none else ""), value, fix)


def one_of(name: str, value: Any, choices: Iterable[Any], fix: str | None = None, *,
           what: str | None = None) -> Any:
    """One of ``choices``; the message lists them and, for a string, the closest match."""
    choices = list(choices)
    if value in choices and type(value) is type(choices[choices.index(value)]):
        return value
    listed = ", ".join(repr(c) for c in choices)
    close = difflib.get_close_matches(value, [str(c) for c in choices], n=1) if isinstance(value, str) else []
    hint = f"did you mean {close[0]!r}?" if close else None
    fix = "; ".join(x.rstrip(".") for x in (fix, hint) if x) or None
    if what:
        raise InputError(f"Unknown {what} {show(value)}: {name} must be one of {listed}{_tail(fix)}")
    fail(name, f"one of {listed}", value, fix)


def numbers(name: str, values: Any, unit: str | None = None, fix: str | None = None, *,
            each: Callable[..., Any] = finite, empty: bool = False, none: bool = False) -> Any:
    """A list or tuple of numbers, each passing ``each`` (named ``name[i]``); returned as a tuple.

    A string, a dict or a single number is refused (``"0.01"`` would otherwise read as the strains
    0 and 0.01 one character at a time).
    """
    if values is None and none:
        return values
    if isinstance(values, (str, bytes, dict)) or not isinstance(values, (Sequence, _array_types())):
        fail(name, f"a list or tuple of numbers{_of(unit)}" + (" or None" if none else ""), values, fix)
    out = tuple(values.tolist() if hasattr(values, "tolist") else values)
    if not out and not empty:
        fail(name, f"a non-empty list of numbers{_of(unit)}", values, fix)
    for i, v in enumerate(out):
        each(f"{name}[{i}]", v, unit, fix)
    return out


def _array_types() -> tuple[type, ...]:
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a dependency
        return ()
    return (np.ndarray,)


def element(name: str, value: Any, fix: str | None = None) -> str:
    """A chemical element symbol ('Na', 'Cu'); 'X', 'na' and 'Xx' are refused."""
    from pymatgen.core import Element  # lazy: pymatgen is slow to import

    if isinstance(value, str) and value == value.strip() and value[:1].isupper():
        try:
            Element(value)
            return value
        except ValueError:
            pass
    fail(name, "an element symbol such as 'Na'", value, fix)


def instance(name: str, value: Any, kinds: type | tuple[type, ...], fix: str | None = None, *,
             none: bool = False) -> Any:
    """An instance of ``kinds`` (None too with ``none``)."""
    if (value is None and none) or isinstance(value, kinds):
        return value
    names = " or ".join(k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,)))
    fail(name, f"a {names}" + (" or None" if none else ""), value, fix)


def maker_fields(maker: Any, *, stand_in_none: bool = False) -> None:
    """The fields every atomflow Maker has: ``name`` (str), ``label`` (str or None), ``stand_in`` (bool)."""
    text("name", maker.name, "a job name such as 'relax'")
    text("label", maker.label, "a short name of the structure, or None", none=True)
    flag("stand_in", maker.stand_in, "True when the structure stands in for the paper's compound",
         none=stand_in_none)


def sub_maker(name: str, value: Any, kind: type, *, none: bool = True) -> Any:
    """A sub-step Maker field (``bulk_relax_maker`` …): an instance of ``kind`` (or None where allowed)."""
    return instance(name, value, kind, f"give a {kind.__name__}(…)" + (" or None for the default" if none
                                                                       else ""), none=none)
