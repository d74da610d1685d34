"""Cheap calculators: EMT and Lennard-Jones (ASE), OpenKIM models, Fumi-Tosi NaCl."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from atomflow.calculators.registry import Backend, register
from atomflow.errors import CalculatorError

#: OpenKIM's Na-Sn 2NN-MEAM (Kim, Ko & Lee 2020), shipped by Debian's openkim-models.
DEFAULT_KIM_MODEL = "MEAM_LAMMPS_KimKoLee_2020_NaSn__MO_329881861557_000"


def _emt_elements(params: dict[str, Any]) -> frozenset[str]:
    from ase.calculators.emt import parameters

    return frozenset(parameters)


def _build_emt(params: dict[str, Any]):
    from ase.calculators.emt import EMT

    return EMT(**params)


def _build_lj(params: dict[str, Any]):
    from ase.calculators.lj import LennardJones

    # ASE's LJ applies one (sigma, epsilon) to every pair: a toy for engine tests, not a material model.
    return LennardJones(**params)


@lru_cache(maxsize=None)
def _kim_species(model: str) -> frozenset[str]:
    from ase.calculators.kim import get_model_supported_species

    try:
        return frozenset(get_model_supported_species(model))
    except Exception as exc:
        raise CalculatorError(
            f"OpenKIM model {model!r} is not installed or cannot be opened ({exc}). "
            "Installed models: `kim-api-collections-management list`; Debian ships many in 'openkim-models'."
        ) from exc


def _kim_elements(params: dict[str, Any]) -> frozenset[str]:
    return _kim_species(params.get("model", DEFAULT_KIM_MODEL))


def _build_kim(params: dict[str, Any]):
    from ase.calculators.kim import KIM

    model = params.get("model", DEFAULT_KIM_MODEL)
    _kim_species(model)  # the clear error for a missing model
    options = {k: v for k, v in params.items() if k != "model"}
    return KIM(model, options=options or None)


def _build_fumi_tosi(params: dict[str, Any]):
    from atomflow.calculators.fumi_tosi import FumiTosiNaCl

    return FumiTosiNaCl(**params)


def _fumi_tosi_charges(params: dict[str, Any]) -> dict[str, float]:
    from atomflow.calculators.fumi_tosi import FORMAL_CHARGES

    return {**FORMAL_CHARGES, **(params.get("charges") or {})}


register(
    Backend(
        name="emt",
        description="ASE effective-medium theory (Al, Cu, Ag, Au, Ni, Pd, Pt, H, C, N, O): engine tests",
        build=_build_emt,
        elements=_emt_elements,
        distribution="ase",
        static_elements=frozenset(["Ag", "Al", "Au", "C", "Cu", "H", "N", "Ni", "O", "Pd", "Pt"]),
    )
)
register(
    Backend(
        name="lj",
        description="ASE Lennard-Jones (one sigma/epsilon for all pairs): engine tests only",
        build=_build_lj,
        elements=lambda params: None,
        distribution="ase",
    )
)
register(
    Backend(
        name="kim",
        description=f"OpenKIM model via kimpy (default {DEFAULT_KIM_MODEL}: Na-Sn MEAM)",
        build=_build_kim,
        elements=_kim_elements,
        modules=("kimpy",),
        extra="kim",
        distribution="kimpy",
        main_parameter="model",
        provenance=lambda params: {"model": params.get("model", DEFAULT_KIM_MODEL)},
        static_elements=frozenset(["Na", "Sn"]),
    )
)
register(
    Backend(
        name="fumi_tosi",
        description="Fumi-Tosi Born-Mayer-Huggins + Ewald rigid-ion potential for NaCl (Na+, Cl-)",
        build=_build_fumi_tosi,
        elements=lambda params: frozenset(["Na", "Cl"]),
        distribution="atomflow",
        provenance=lambda params: {"model": "Fumi & Tosi, J. Phys. Chem. Solids 25, 31 (1964)"},
        formal_charges=_fumi_tosi_charges,
        static_elements=frozenset(["Na", "Cl"]),
    )
)
