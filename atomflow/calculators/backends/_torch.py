"""What the torch-based ML backends (CHGNet, SevenNet, MACE) share: torch's loading rules, element tables."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

from atomflow.calculators.parameters import Parameter
from atomflow.settings import get_settings

# Elements H..Pu: what CHGNet (MPtrj) and SevenNet-0 cover; used only to suggest calculators.
UNIVERSAL = frozenset(
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


def check_device(value: str) -> str | None:
    """None for a torch device string atomflow's ML backends take (cpu, cuda, cuda:N, mps); else the fix."""
    if value in ("cpu", "cuda", "mps") or re.fullmatch(r"cuda:\d+", value):
        return None
    return f"must be a torch device (cpu, cuda, cuda:N or mps), got {value!r}"


def torch_parameters(model: Parameter) -> tuple[Parameter, ...]:
    """``model`` and the device every torch backend takes."""
    device = Parameter("device", str, "torch device the model runs on", default="cpu", check=check_device)
    return (model, device)


def symbols_from_numbers(numbers) -> frozenset[str]:
    from ase.data import chemical_symbols

    return frozenset(chemical_symbols[int(z)] for z in numbers)


def split_forces(forces, counts: Sequence[int]) -> list:
    """One batch's stacked (ΣN×3) forces back into one array per structure."""
    import numpy as np

    return np.split(forces, np.cumsum(counts)[:-1])
