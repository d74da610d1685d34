"""GPAW plane-wave PBE (open source; runs here when installed): the backend.

Single points resolve to an ASE GPAW calculator. Relaxations and NEB bands go to :mod:`.driver`, which
runs the ASE driver it is handed (``ase_driver=``) with GPAW in a subprocess under MPI (``settings.gpaw_cmd``)
and fits cell volumes to an E–V curve. Defaults follow the paper (PBE, 550 eV).
"""

from __future__ import annotations

from typing import Any

from atomflow.calculators.backend import Backend, register
from atomflow.calculators.backends._dft import PAPER, check_dft_parameters
from atomflow.errors import CalculatorError


def _build_gpaw(params: dict[str, Any]):
    from gpaw import GPAW, PW

    p = {**PAPER, "kpt_density": 4.0, **params}
    p.pop("cell_relax", None)  # how the driver relaxes a cell, not a GPAW keyword
    kpts = p.pop("kpts", None) or {"density": float(p.pop("kpt_density")), "gamma": True}
    p.pop("kpt_density", None)
    if isinstance(kpts, dict) and kpts.get("density", 1) <= 0:
        raise CalculatorError("k-point density must be positive (points per Å⁻¹), e.g. gpaw:kpt_density=4.")
    ecut = float(p.pop("ecut"))
    # txt=None: no log file in whatever the current directory is; the driver's runs log to theirs.
    return GPAW(mode=PW(ecut), xc=p.pop("xc"), kpts=kpts, txt=p.pop("txt", None), **p)


def _gpaw_provenance(params: dict[str, Any]) -> dict[str, Any]:
    import importlib.metadata

    try:
        setups = f"gpaw-data {importlib.metadata.version('gpaw-data')}"
    except importlib.metadata.PackageNotFoundError:
        setups = None
    return {"model": "PBE plane waves", **PAPER, "kpt_density": 4.0, "setups": setups, **params}


def _relax(*args: Any, **kwargs: Any):
    from atomflow.calculators.backends.gpaw.driver import relax

    return relax(*args, **kwargs)


def _run_neb(*args: Any, **kwargs: Any):
    from atomflow.calculators.backends.gpaw.driver import run_neb

    return run_neb(*args, **kwargs)


register(
    Backend(
        name="gpaw",
        description="GPAW plane-wave PBE (open-source DFT; `make install-gpaw`)",
        build=_build_gpaw,
        elements=lambda params: None,
        modules=("gpaw",),
        extra="gpaw",
        check_parameters=check_dft_parameters,
        install_hint="make install-gpaw (builds GPAW against Debian's libxc, FFTW, ScaLAPACK, OpenMPI)",
        distribution="gpaw",
        provenance=_gpaw_provenance,
        dft=True,
        drivers={"relax": _relax, "neb": _run_neb},
    )
)
