"""The serialisable calculator spec: a name plus parameters, resolved at run time by one factory."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from atomflow.calculators.backend import get_backend
from atomflow.calculators.parameters import check_declared
from atomflow.errors import CalculatorError


class CalculatorSpec(BaseModel):
    """Which calculator to use and with which parameters; plain JSON, safe to store and send to a cluster.

    Build one with :meth:`parse` from a string such as ``"sevennet"``, ``"mace:/path/to/file.model"``,
    ``"kim:MEAM_LAMMPS_KimKoLee_2020_NaSn__MO_329881861557_000"`` or ``"gpaw:ecut=550"``, or directly:
    ``CalculatorSpec(name="lj", parameters={"sigma": 2.3})``. The name and the parameters (against the
    backend's declared ones: names, types, ranges, allowed values) are checked when the spec is made; the
    values are kept as given, so equal input gives an equal :attr:`key`. Everything that needs the
    calculator's package or files is checked by
    :func:`atomflow.calculators.get_calculator` / :func:`~atomflow.calculators.check_structure`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Calculator name, one of atomflow.calculators.available_calculators().")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Calculator parameters (JSON values); units eV and Å."
    )

    def __init__(self, **data: Any) -> None:
        # Checked here rather than in a validator so the user gets CalculatorError itself,
        # not pydantic's ValidationError wrapper around it.
        if isinstance(data.get("name"), str):
            data["name"] = _known_name(data["name"])
        super().__init__(**data)
        backend = get_backend(self.name)
        if backend.parameters is not None:
            check_declared(self.name, backend.parameters, self.parameters, backend.open_parameters)
        blank = [k for k in self.parameters if not k.strip()]
        if blank:
            raise CalculatorError(f"Calculator {self.name!r}: a parameter has an empty name ({blank[0]!r}); "
                                  f"write {self.name}:key=value.")
        if backend.check_parameters is not None:
            backend.check_parameters(dict(self.parameters))

    @field_validator("parameters")
    @classmethod
    def _json_parameters(cls, parameters: dict[str, Any]) -> dict[str, Any]:
        try:
            json.dumps(parameters, sort_keys=True)
        except TypeError as exc:
            raise CalculatorError(
                f"Calculator parameters must be plain JSON values (numbers, strings, lists, dicts): {exc}"
            ) from exc
        return parameters

    @classmethod
    def parse(cls, value: str | dict | CalculatorSpec) -> CalculatorSpec:
        """Make a spec from a spec, a dict ``{"name":…, "parameters":…}`` or a CLI string.

        The string form is ``NAME`` or ``NAME:ARG`` or ``NAME:key=value,key=value``; a bare ``ARG`` is the
        backend's main parameter (``model`` for mace, sevennet, chgnet and kim).
        """
        if isinstance(value, CalculatorSpec):
            return value
        if isinstance(value, dict):
            return cls(**value)
        if not isinstance(value, str) or not value.strip():
            raise CalculatorError(f"A calculator must be given as a name such as 'sevennet', not {value!r}.")
        name, _, arg = value.strip().partition(":")
        spec = cls(name=name)  # validates the name first, so a typo gets the list of valid names
        if not arg:
            return spec
        if "=" in arg:
            params: dict[str, Any] = {}
            for item in arg.split(","):
                if not item.strip():
                    raise CalculatorError(f"Calculator {spec.name!r}: empty item (a trailing or doubled "
                                          f"comma) in {value.strip()!r}; remove it.")
                key, equals, raw = item.partition("=")
                key = key.strip()
                if not equals and key:
                    raise CalculatorError(
                        f"Calculator {spec.name!r}: parameter {key!r} in {value.strip()!r} has no value; "
                        f"write {spec.name}:{key}=VALUE (parameters are key=value, separated by commas)."
                    )
                if key in params:
                    raise CalculatorError(f"Calculator {spec.name!r}: parameter {key!r} is given twice in "
                                          f"{value.strip()!r}; give it once.")
                params[key] = _parse_scalar(raw.strip())
        else:
            main = get_backend(spec.name).main_parameter
            if main is None:
                raise CalculatorError(
                    f"Calculator {spec.name!r} takes no positional argument (got {arg!r}); "
                    f"use {spec.name}:key=value."
                )
            params = {main: arg}
        return cls(name=spec.name, parameters=params)

    @property
    def key(self) -> str:
        """Canonical JSON of the spec: equal specs give equal keys (used for caching and result reuse)."""
        return json.dumps({"name": self.name, "parameters": self.parameters}, sort_keys=True)

    @property
    def digest(self) -> str:
        """Short hash of :attr:`key`."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        """Short human-readable form, e.g. ``sevennet`` or ``mace(model=tiny.model)``."""
        if not self.parameters:
            return self.name
        items = ", ".join(f"{k}={_short(v)}" for k, v in sorted(self.parameters.items()))
        return f"{self.name}({items})"

    def __str__(self) -> str:
        return self.label


def _known_name(name: str) -> str:
    name = name.strip().lower()
    get_backend(name)  # CalculatorError listing the valid names
    return name


def _parse_scalar(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def _short(value: Any) -> str:
    text = str(value)
    if "/" in text:  # paths: the file name is what tells models apart in a table
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return text
