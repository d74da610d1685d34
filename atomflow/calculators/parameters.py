"""What a calculator backend accepts: declared parameters, checked when a :class:`CalculatorSpec` is made.

A backend lists its parameters (:class:`Parameter`: name, JSON type, allowed values or range, default,
one-line meaning); :func:`check_declared` refuses an unknown or misspelt name with the valid names and the
closest match, and a wrong type, a non-finite number, a value out of range or not among the allowed ones with
the parameter's meaning and an example of a right value. A backend that passes names through to its program
(VASP's INCAR tags) says so with :class:`OpenParameters`.

Values are checked, never converted: the spec's key (result reuse) is the JSON the user gave.

This module imports nothing from atomflow but the errors (the backend table and the spec both use it).
"""

from __future__ import annotations

import difflib
import json
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence

from atomflow.errors import CalculatorError

#: JSON value types a parameter may declare; ``float`` means any number (an int too), ``int`` a whole one.
_TYPE_WORDS = {
    float: "a number",
    int: "an integer",
    str: "a string",
    bool: "true or false",
    list: "a list",
    dict: "a mapping",
    type(None): "null",
}

#: what a wrong value is, in a message
_GOT_WORDS = {**_TYPE_WORDS, bool: "a boolean"}


@dataclass(frozen=True)
class Parameter:
    """One parameter of a calculator backend (units in ``meaning``)."""

    name: str
    #: the JSON type(s) accepted: float (any number), int, str, bool, list, dict
    types: type | tuple[type, ...]
    #: one line: what it sets, with its unit
    meaning: str
    #: what the backend uses when the parameter is not given (None: nothing / chosen by the backend);
    #: null is accepted as a value where the default is None
    default: Any = None
    #: the only values allowed (None: any value of the type)
    choices: tuple[Any, ...] | None = None
    #: bounds of a number: > gt, >= ge, < lt, <= le
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None
    #: a right value as the user writes it after ``name=`` (default: the default value's CLI form)
    example: str | None = None
    #: further check of a value of the right type: returns what is wrong (with the fix), or None
    check: Callable[[Any], str | None] | None = None

    def __post_init__(self) -> None:
        types = self.types if isinstance(self.types, tuple) else (self.types,)
        unknown = [t for t in types if t not in _TYPE_WORDS]
        if unknown:
            raise CalculatorError(f"Parameter {self.name!r}: types must be JSON types, got {unknown}.")

    @property
    def type_tuple(self) -> tuple[type, ...]:
        return self.types if isinstance(self.types, tuple) else (self.types,)

    @property
    def type_words(self) -> str:
        return " or ".join(_TYPE_WORDS[t] for t in self.type_tuple)

    def describe(self) -> str:
        """``name`` (type, default …): meaning — one line of `atomflow calculators`-style help."""
        extra = [self.type_words]
        if self.choices is not None:
            extra.append("one of " + ", ".join(map(_show, self.choices)))
        bounds = self._bounds()
        if bounds:
            extra.append(bounds)
        if self.default is not None:
            extra.append(f"default {_show(self.default)}")
        return f"{self.name} ({'; '.join(extra)}): {self.meaning}"

    def _bounds(self) -> str:
        if self.gt == 0 and self.ge is None and self.lt is None and self.le is None:
            return "positive"
        parts = []
        if self.gt is not None:
            parts.append(f"> {_show(self.gt)}")
        if self.ge is not None:
            parts.append(f">= {_show(self.ge)}")
        if self.lt is not None:
            parts.append(f"< {_show(self.lt)}")
        if self.le is not None:
            parts.append(f"<= {_show(self.le)}")
        return " and ".join(parts)

    def problem(self, value: Any) -> str | None:
        """What is wrong with ``value`` (type, finiteness, range, choices, own check); None if it is right."""
        if value is None and self.default is None:
            return None
        if not _has_type(value, self.type_tuple):
            what = _GOT_WORDS.get(type(value), type(value).__name__)
            return f"must be {self.type_words}, got {_show(value)} ({what})"
        if _is_number(value):
            if not math.isfinite(value):
                return f"must be a finite number, got {_show(value)}"
            low_ok = (self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
            high_ok = (self.lt is None or value < self.lt) and (self.le is None or value <= self.le)
            if not (low_ok and high_ok):
                return f"must be {self._bounds()}, got {_show(value)}"
        if self.choices is not None and value not in self.choices:
            close = difflib.get_close_matches(str(value), [str(c) for c in self.choices], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return f"must be one of {', '.join(map(_show, self.choices))}, got {_show(value)}{hint}"
        if self.check is not None:
            return self.check(value)
        return None


@dataclass(frozen=True)
class OpenParameters:
    """Names a backend passes through to its program besides its declared ones (VASP's INCAR tags)."""

    #: how a message names them, e.g. "any INCAR tag (pymatgen's list, either case)"
    what: str
    #: the names, read when first needed (for the check and for "did you mean")
    names: Callable[[], Iterable[str]]
    #: how a given name is compared with ``names`` (str.upper for INCAR tags)
    fold: Callable[[str], str] = str

    def accepts(self, name: str) -> bool:
        return self.fold(name) in set(self.names())


def check_declared(backend: str, declared: Sequence[Parameter], params: Mapping[str, Any],
                   open_names: OpenParameters | None = None) -> None:
    """Raise :class:`CalculatorError` naming the first wrong parameter of ``params`` and the fix."""
    by_name = {p.name: p for p in declared}
    for name, value in params.items():
        parameter = by_name.get(name)
        if parameter is None:
            if open_names is not None and isinstance(name, str) and open_names.accepts(name):
                continue
            raise CalculatorError(unknown_parameter_message(backend, name, declared, open_names))
        problem = parameter.problem(value)
        if problem is not None:
            raise CalculatorError(_value_message(backend, parameter, problem))


def unknown_parameter_message(backend: str, name: Any, declared: Sequence[Parameter],
                              open_names: OpenParameters | None = None) -> str:
    """"Calculator 'x' has no parameter 'y' (did you mean 'z'?); its parameters: …"."""
    if not declared and open_names is None:
        return (f"Calculator {backend!r} takes no parameters (got {_show_name(name)}); "
                f"write just {backend!r}.")
    candidates = {p.name.lower(): p.name for p in declared}
    if open_names is not None:
        candidates.update({open_names.fold(n).lower(): open_names.fold(n) for n in open_names.names()})
    close = difflib.get_close_matches(str(name).lower(), list(candidates), n=1, cutoff=0.6)
    hint = f" (did you mean {candidates[close[0]]!r}?)" if close else ""
    listed = ", ".join(p.name for p in declared)
    if open_names is not None:
        listed = f"{listed} and {open_names.what}" if listed else open_names.what
    return f"Calculator {backend!r} has no parameter {_show_name(name)}{hint}; its parameters: {listed}."


def _value_message(backend: str, parameter: Parameter, problem: str) -> str:
    if parameter.example is not None and not set(parameter.type_tuple) - {list, dict}:
        # no CLI form (its commas would split it): the dict form of the spec
        example, default = f"; e.g. {{\"{parameter.name}\": {parameter.example}}} in a dict or JSON spec", ""
    elif parameter.example is not None:
        example, default = f"; e.g. {backend}:{parameter.name}={parameter.example}", ""
    elif parameter.default is not None:
        example, default = f"; e.g. {backend}:{parameter.name}={_cli(parameter.default)}", " (the default)"
    else:
        example, default = "", ""
    return (f"Calculator {backend!r}: {parameter.name} {problem}{example}{default}. "
            f"{parameter.name}: {parameter.meaning}.")


def _has_type(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):  # JSON true/false is a bool, never a number
        return bool in types
    if isinstance(value, int) and (int in types or float in types):
        return True
    if isinstance(value, float):
        return float in types
    return any(t not in (int, float, bool) and isinstance(value, t) for t in types)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, str) else str(value)


def _show_name(name: Any) -> str:
    return "'' (an empty name)" if name == "" else repr(name)


def _cli(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
