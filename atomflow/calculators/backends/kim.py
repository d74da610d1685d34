"""OpenKIM models through kimpy (default: the Na–Sn 2NN-MEAM of Kim, Ko & Lee 2020)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from atomflow.calculators.backend import Backend, register
from atomflow.calculators.parameters import Parameter
from atomflow.errors import CalculatorError

#: OpenKIM's Na-Sn 2NN-MEAM (Kim, Ko & Lee 2020), shipped by Debian's openkim-models.
DEFAULT_KIM_MODEL = "MEAM_LAMMPS_KimKoLee_2020_NaSn__MO_329881861557_000"


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
        # model, and the options ASE's KIM passes to a portable model (ase.calculators.kim.kimmodel)
        parameters=(
            Parameter("model", str, "installed OpenKIM model ID", default=DEFAULT_KIM_MODEL),
            Parameter("ase_neigh", bool, "use ASE's neighbour list instead of kimpy's", default=False),
            Parameter("neigh_skin_ratio", float, "neighbour-list skin as a fraction of the model's cutoff",
                      default=0.2, ge=0),
            Parameter("release_GIL", bool, "release Python's GIL while the model computes", default=False),
        ),
        elements_need_model=True,  # the installed model's species (installed perhaps only on the cluster)
        provenance=lambda params: {"model": params.get("model", DEFAULT_KIM_MODEL)},
        static_elements=frozenset(["Na", "Sn"]),
    )
)
