"""MACE potential from a local ``.model`` file (no weights are downloaded), single and batched."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from atomflow.calculators.backend import Backend, BatchEvaluator, EnergyForces, register
from atomflow.calculators.backends._torch import (
    prepare_torch,
    split_forces,
    symbols_from_numbers,
    torch_parameters,
)
from atomflow.calculators.parameters import Parameter
from atomflow.errors import CalculatorError


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
    return symbols_from_numbers(_mace_model(params).atomic_numbers)


def _mace_provenance(params: dict[str, Any]) -> dict[str, Any]:
    path = _mace_path(params)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return {"model": str(path.resolve()), "model_sha256": digest}


def _mace_evaluator(calc) -> BatchEvaluator | None:
    import numpy as np
    import torch
    from mace import data as mace_data
    from mace.tools import torch_geometric, torch_tools

    if getattr(calc, "use_compile", False) or getattr(calc, "model_type", "MACE") != "MACE":
        return None  # compiled models are padded to fixed shapes; other heads are not energy models
    keyspec = mace_data.KeySpecification(info_keys=calc.info_keys,
                                         arrays_keys={**calc.arrays_keys, calc.charges_key: "charges"})

    def evaluate(images: Sequence) -> list[EnergyForces]:
        # The graphs MACECalculator._atoms_to_batch builds for one structure, collated into one batch.
        with torch_tools.default_dtype(calc.default_dtype):
            graphs = [
                mace_data.AtomicData.from_config(
                    mace_data.config_from_atoms(a, key_specification=keyspec, head_name=calc.head),
                    z_table=calc.z_table, cutoff=calc.r_max, heads=calc.available_heads)
                for a in images
            ]
        base = torch_geometric.Batch.from_data_list(graphs).to(calc.device)
        energies = np.zeros(len(images))
        forces = np.zeros((sum(len(a) for a in images), 3))
        for model in calc.models:  # a committee is averaged, as the calculator does
            batch = base.clone()
            dtype = next(model.parameters()).dtype
            for key in batch.keys:
                value = batch[key]
                if torch.is_tensor(value) and torch.is_floating_point(value):
                    batch[key] = value.to(dtype=dtype)
            out = model(batch.to_dict(), compute_stress=False, training=False)
            energies += out["energy"].detach().cpu().numpy().reshape(-1) * calc.energy_units_to_eV
            forces += (out["forces"].detach().cpu().numpy()
                       * calc.energy_units_to_eV / calc.length_units_to_A)
        n = len(calc.models)
        per_image = split_forces(forces, [len(a) for a in images])
        return [(float(e / n), f / n) for e, f in zip(energies, per_image)]

    return evaluate


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
        parameters=torch_parameters(
            Parameter("model", str, "path of a local MACE .model file (no weights are downloaded)",
                      example="/abs/path/mace.model")
        ) + (
            Parameter("default_dtype", str, "floating-point precision the model runs in", default="float64",
                      choices=("float64", "float32")),
        ),
        elements_need_model=True,  # read from the model file, which may exist only on the cluster
        expensive=True,
        provenance=_mace_provenance,
        prepare=prepare_torch,
        batch_evaluator=_mace_evaluator,
        batch_pays=lambda device: device != "cpu",  # not measured faster on CPU
    )
)
