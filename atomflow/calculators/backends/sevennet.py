"""SevenNet universal potential (default SevenNet-0, 11Jul2024, shipped in the wheel), single and batched."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

from atomflow.calculators.backend import Backend, BatchEvaluator, EnergyForces, register
from atomflow.calculators.backends._torch import UNIVERSAL, prepare_torch, split_forces, torch_parameters
from atomflow.calculators.parameters import Parameter
from atomflow.errors import CalculatorError


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


def _sevennet_evaluator(calc) -> BatchEvaluator | None:
    from torch_geometric.data import Batch

    import sevenn._keys as KEY
    from sevenn.atom_graph_data import AtomGraphData
    from sevenn.nn.sequential import AtomGraphSequential
    from sevenn.train.dataload import unlabeled_atoms_to_graph

    if not isinstance(calc.model, AtomGraphSequential):
        return None  # a TorchScript (deployed) model has its batch mode compiled out
    # The shared model runs in single-graph mode for the per-structure calculators; a private copy
    # in batch mode (as sevenn's trainer and inference script run it) leaves them untouched.
    model = copy.deepcopy(calc.model)
    model.set_is_batch_data(True)
    model.eval()
    cutoff, device = calc.cutoff, calc.device

    def evaluate(images: Sequence) -> list[EnergyForces]:
        graphs = [AtomGraphData.from_numpy_dict(unlabeled_atoms_to_graph(a, cutoff)) for a in images]
        batch = Batch.from_data_list(graphs).to(device)
        output = model(batch)
        energies = output[KEY.PRED_TOTAL_ENERGY].detach().cpu().numpy().reshape(-1)
        forces = output[KEY.PRED_FORCE].detach().cpu().numpy()
        return [(float(e), f) for e, f in zip(energies, split_forces(forces, [len(a) for a in images]))]

    return evaluate


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
        parameters=torch_parameters(
            Parameter("model", str,
                      "checkpoint file, or a model shipped with sevenn ('7net-0', '7net-l3i5', …)",
                      default="7net-0")
        ),
        elements_need_model=True,  # read from the checkpoint, which may be a file only the cluster sees
        expensive=True,
        provenance=lambda params: {"model": Path(_sevennet_checkpoint(params)).parent.name},
        static_elements=UNIVERSAL,
        prepare=prepare_torch,
        batch_evaluator=_sevennet_evaluator,
        # SevenNet-0 on CPU has almost no per-call overhead to save (5 images cost 5× one at best) and at
        # glibc's default malloc settings its 5-graph backward pass is 1.4–2× slower than 5 single calls
        # (benchmarks/README.md): batch by default only off the CPU.
        batch_pays=lambda device: device != "cpu",
    )
)
