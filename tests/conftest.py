"""Shared fixtures: an isolated results directory for every test, a tiny MACE model file."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path, monkeypatch):
    """Every test writes to its own results directory; nothing touches the project's results/."""
    monkeypatch.setenv("ATOMFLOW_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.delenv("ATOMFLOW_STORE_URI", raising=False)


@pytest.fixture(scope="session")
def tiny_mace_model(tmp_path_factory):
    """A randomly initialised two-element (Na, Cl) MACE model saved the way MACE saves models.

    Loaded back through atomflow's real 'mace' path: it tests the loading code, not the physics.
    """
    torch = pytest.importorskip("torch")
    from atomflow.calculators.backends._torch import prepare_torch
    from atomflow.calculators.registry import guarded_environment

    prepare_torch()
    with guarded_environment():
        import numpy as np
        from e3nn import o3
        from mace import modules

    torch.manual_seed(0)
    model = modules.ScaleShiftMACE(
        r_max=4.0,
        num_bessel=4,
        num_polynomial_cutoff=5,
        max_ell=1,
        interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        num_interactions=1,
        num_elements=2,
        hidden_irreps=o3.Irreps("8x0e"),
        MLP_irreps=o3.Irreps("8x0e"),
        atomic_energies=np.array([-1.3, -1.7]),
        avg_num_neighbors=8.0,
        atomic_numbers=[11, 17],
        correlation=2,
        gate=torch.nn.functional.silu,
        radial_MLP=[8, 8],
        atomic_inter_scale=1.0,
        atomic_inter_shift=0.0,
    ).double()
    path = tmp_path_factory.mktemp("mace") / "tiny_nacl.model"
    torch.save(model, path)
    return path
