"""CHGNet universal potential (weights shipped in the wheel; default 0.3.0), single and batched."""

from __future__ import annotations

from typing import Any, Sequence

from atomflow.calculators.backend import Backend, BatchEvaluator, EnergyForces, register
from atomflow.calculators.backends._torch import UNIVERSAL, prepare_torch, torch_parameters
from atomflow.calculators.parameters import Parameter


def _build_chgnet(params: dict[str, Any]):
    prepare_torch()
    from chgnet.model import CHGNet
    from chgnet.model.dynamics import CHGNetCalculator

    version = params.get("model", "0.3.0")
    model = CHGNet.load(model_name=version, use_device="cpu", verbose=False)
    return CHGNetCalculator(model=model, use_device=params.get("device", "cpu"))


def _chgnet_evaluator(calc) -> BatchEvaluator:
    import numpy as np
    from pymatgen.io.ase import AseAtomsAdaptor

    model = calc.model

    def evaluate(images: Sequence) -> list[EnergyForces]:
        graphs = [model.graph_converter(AseAtomsAdaptor.get_structure(a)).to(calc.device) for a in images]
        predictions = model.predict_graph(graphs, task="ef", batch_size=len(graphs))
        if isinstance(predictions, dict):
            predictions = [predictions]
        out = []
        for atoms, p in zip(images, predictions):
            # CHGNet predicts eV/atom; scale to the cell's energy in the model's float32, as CHGNetCalculator
            # does, so that NEB's energy comparisons (tangents, climbing image) see the same numbers
            factor = len(atoms) if model.is_intensive else 1
            out.append((float(p["e"] * factor), np.asarray(p["f"], dtype=float)))
        return out

    return evaluate


register(
    Backend(
        name="chgnet",
        description="CHGNet universal potential (weights shipped in the wheel; default 0.3.0)",
        build=_build_chgnet,
        elements=lambda params: UNIVERSAL,
        modules=("torch", "chgnet"),
        extra="ml",
        distribution="chgnet",
        main_parameter="model",
        parameters=torch_parameters(
            Parameter("model", str, "CHGNet version shipped in the wheel (CHGNet.load model_name)",
                      default="0.3.0")
        ),
        expensive=True,
        provenance=lambda params: {"model": f"CHGNet {params.get('model', '0.3.0')}"},
        static_elements=UNIVERSAL,
        prepare=prepare_torch,
        batch_evaluator=_chgnet_evaluator,
        # Batched measured faster than per image on CPU too (benchmarks/bench_batched.py, 5 images of the
        # 63-atom NaCl hop: 0.88–0.92× the time per CI-NEB).
        batch_pays=lambda device: True,
    )
)
