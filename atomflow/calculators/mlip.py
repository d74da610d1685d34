"""Universal machine-learned potentials: CHGNet, SevenNet, MACE (all on CPU by default).

No weights are downloaded: CHGNet and SevenNet load the checkpoints shipped inside their wheels;
MACE loads a local ``.model`` file given by path.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from atomflow.calculators.registry import Backend, register
from atomflow.errors import CalculatorError
from atomflow.settings import get_settings

# Elements H..Pu: what CHGNet (MPtrj) and SevenNet-0 cover; used only to suggest calculators.
_UNIVERSAL = frozenset(
    "H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr "
    "Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm "
    "Yb Lu Hf Ta W Re Os Ir Pt Au Hg Tl Pb Bi Ac Th Pa U Np Pu".split()
)


@lru_cache(maxsize=1)
def prepare_torch() -> None:
    """Make torch 2.13 load the trusted files our ML packages ship.

    e3nn 0.4.4 (pinned by mace-torch) reads its own ``constants.pt``, which contains ``slice`` objects
    that torch >= 2.6 refuses under ``weights_only=True``. Allow-listing ``slice`` (a harmless builtin)
    is narrower than switching weights-only loading off for the whole process.
    """
    import torch

    torch.serialization.add_safe_globals([slice])
    threads = get_settings().torch_threads
    if threads:
        torch.set_num_threads(threads)


def _symbols_from_numbers(numbers) -> frozenset[str]:
    from ase.data import chemical_symbols

    return frozenset(chemical_symbols[int(z)] for z in numbers)


# --- CHGNet ---------------------------------------------------------------------------------------

def _build_chgnet(params: dict[str, Any]):
    prepare_torch()
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    version = params.get("model", "0.3.0")
    model = CHGNet.load(model_name=version, use_device="cpu", verbose=False)
    return CHGNetCalculator(model=model, use_device=params.get("device", "cpu"))


# --- SevenNet -------------------------------------------------------------------------------------

def _sevennet_checkpoint(params: dict[str, Any]) -> str:
    model = params.get("model", "7net-0")
    if Path(model).is_file():
        return str(model)
    prepare_torch()
    from sevenn.util import pretrained_name_to_path

    try:
        return pretrained_name_to_path(model)
    except ValueError as exc:
        raise CalculatorError(
            f"SevenNet model {model!r} is neither a file nor a model shipped with sevenn "
            "(shipped: '7net-0' = SevenNet-0 11Jul2024, '7net-0_22May2024', '7net-l3i5')."
        ) from exc


def _build_sevennet(params: dict[str, Any]):
    prepare_torch()
    from sevenn.sevennet_calculator import SevenNetCalculator

    return SevenNetCalculator(_sevennet_checkpoint(params), device=params.get("device", "cpu"))


@lru_cache(maxsize=None)
def _sevennet_elements_cached(checkpoint: str) -> frozenset[str]:
    import torch

    config = torch.load(checkpoint, map_location="cpu", weights_only=False)["config"]  # shipped file
    return frozenset(config["chemical_species"])


def _sevennet_elements(params: dict[str, Any]) -> frozenset[str]:
    return _sevennet_elements_cached(_sevennet_checkpoint(params))


# --- MACE -----------------------------------------------------------------------------------------

def _mace_path(params: dict[str, Any]) -> Path:
    model = params.get("model")
    if not model:
        raise CalculatorError(
            "Calculator 'mace' needs a local model file: use 'mace:/path/to/file.model'. "
            "MACE foundation weights cannot be downloaded at run time."
        )
    path = Path(model).expanduser()
    if not path.is_file():
        raise CalculatorError(
            f"MACE model file not found: {path}. Give the path of an existing .model file "
            "(e.g. --calculator mace:/abs/path/mace.model)."
        )
    return path


@lru_cache(maxsize=None)
def _load_mace_model(path: str, mtime: float):
    prepare_torch()
    import torch

    try:
        # A local file the user chose: trusted, and MACE models are pickled modules, so weights_only=False.
        model = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:
        raise CalculatorError(
            f"Could not read {path} as a MACE model ({type(exc).__name__}: {exc}). "
            "Check that the file is a complete model saved by MACE (torch.save of the model)."
        ) from exc
    if not hasattr(model, "atomic_numbers") or not hasattr(model, "r_max"):
        raise CalculatorError(
            f"{path} is a torch file but not a MACE model (no atomic_numbers / r_max). "
            "Give a model saved by mace_run_train or torch.save(model)."
        )
    return model


def _mace_model(params: dict[str, Any]):
    path = _mace_path(params)
    return _load_mace_model(str(path.resolve()), path.stat().st_mtime)


def _build_mace(params: dict[str, Any]):
    from mace.calculators import MACECalculator

    model = _mace_model(params)
    dtype = params.get("default_dtype", "float64")
    model = model.double() if dtype == "float64" else model.float()
    return MACECalculator(models=model, device=params.get("device", "cpu"), default_dtype=dtype)


def _mace_elements(params: dict[str, Any]) -> frozenset[str]:
    return _symbols_from_numbers(_mace_model(params).atomic_numbers)


def _mace_provenance(params: dict[str, Any]) -> dict[str, Any]:
    path = _mace_path(params)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return {"model": str(path.resolve()), "model_sha256": digest}


register(
    Backend(
        name="chgnet",
        description="CHGNet universal potential (weights shipped in the wheel; default 0.3.0)",
        build=_build_chgnet,
        elements=lambda params: _UNIVERSAL,
        modules=("torch", "chgnet"),
        extra="ml",
        distribution="chgnet",
        main_parameter="model",
        expensive=True,
        batched=True,
        provenance=lambda params: {"model": f"CHGNet {params.get('model', '0.3.0')}"},
        static_elements=_UNIVERSAL,
        prepare=prepare_torch,
    )
)
register(
    Backend(
        name="sevennet",
        description="SevenNet universal potential (default SevenNet-0, 11Jul2024, shipped in the wheel)",
        build=_build_sevennet,
        elements=_sevennet_elements,
        modules=("torch", "sevenn"),
        extra="ml",
        distribution="sevenn",
        main_parameter="model",
        expensive=True,
        batched=True,
        provenance=lambda params: {"model": Path(_sevennet_checkpoint(params)).parent.name},
        static_elements=_UNIVERSAL,
        prepare=prepare_torch,
    )
)
register(
    Backend(
        name="mace",
        description="MACE potential from a local .model file (mace:/path/to/file.model)",
        build=_build_mace,
        elements=_mace_elements,
        modules=("torch", "mace"),
        extra="ml",
        distribution="mace-torch",
        main_parameter="model",
        expensive=True,
        batched=True,
        provenance=_mace_provenance,
        prepare=prepare_torch,
    )
)
