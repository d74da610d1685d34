"""DFT calculators: GPAW (open source, runs here when installed) and VASP (licensed; clusters).

Defaults follow the paper (PBE, 550 eV plane-wave cutoff). Here the names resolve to ASE calculators
(single points), and a missing program, potential directory or package fails with one message saying
what to install or set. Relaxations and NEB bands do not go through these ASE calculators: the backends'
``runner`` sends them to :mod:`atomflow.dft.vasp` (VASP's own optimizer, the paper's input sets,
custodian) and :mod:`atomflow.dft.gpaw` (GPAW under MPI in a subprocess).
"""

from __future__ import annotations

import os
import shutil
import shlex
from typing import Any

from atomflow.calculators.registry import Backend, register
from atomflow.errors import CalculatorError, MissingDependencyError
from atomflow.settings import get_settings

_PAPER = {"ecut": 550.0, "xc": "PBE"}


def _check_dft_parameters(params: dict[str, Any]) -> None:
    """Positive cutoff and k-point density; a zero density would silently mean a Γ-only mesh."""
    for key, unit in (("ecut", "eV"), ("encut", "eV"), ("kpt_density", "k-points per Å⁻¹")):
        if key in params:
            try:
                value = float(params[key])
            except (TypeError, ValueError):
                raise CalculatorError(f"{key} must be a number ({unit}), got {params[key]!r}.") from None
            if not value > 0:
                raise CalculatorError(
                    f"{key} must be positive ({unit}), got {params[key]!r}; e.g. kpt_density=4 (about 8×8×8 "
                    "for the NaCl primitive cell) and ecut=550 (the paper's cutoff)."
                )


def _build_gpaw(params: dict[str, Any]):
    from gpaw import GPAW, PW

    p = {**_PAPER, "kpt_density": 4.0, **params}
    p.pop("cell_relax", None)  # how atomflow.dft.gpaw relaxes a cell, not a GPAW keyword
    kpts = p.pop("kpts", None) or {"density": float(p.pop("kpt_density")), "gamma": True}
    p.pop("kpt_density", None)
    if isinstance(kpts, dict) and kpts.get("density", 1) <= 0:
        raise CalculatorError("k-point density must be positive (points per Å⁻¹), e.g. gpaw:kpt_density=4.")
    ecut = float(p.pop("ecut"))
    # txt=None: no log file in whatever the current directory is; atomflow.dft.gpaw's runs log to theirs.
    return GPAW(mode=PW(ecut), xc=p.pop("xc"), kpts=kpts, txt=p.pop("txt", None), **p)


def check_vasp_environment() -> tuple[str, str]:
    """The VASP command (its executable on PATH) and the POTCAR directory; clear errors otherwise."""
    from atomflow.dft.vasp_sets import psp_directory

    cmd = get_settings().vasp_cmd
    exe = shlex.split(cmd)[-1] if cmd.strip() else ""
    if not exe or shutil.which(exe) is None:
        raise MissingDependencyError(
            f"VASP executable {exe or cmd!r} not found on PATH. Install VASP (licensed) and set "
            "ATOMFLOW_VASP_CMD to the command that runs it, e.g. 'srun vasp_std'."
        )
    return cmd, str(psp_directory())


def _build_vasp(params: dict[str, Any]):
    from ase.calculators.vasp import Vasp

    cmd, psp = check_vasp_environment()
    os.environ.setdefault("VASP_PP_PATH", psp)
    from atomflow.dft.vasp_sets import VaspOptions

    # The paper's settings (../shared/reference/paper.md): PBE PAW, 550 eV, spin-polarised, EDIFF 1e-6.
    # (A single point through ASE's file calculator; relaxations and NEB go to atomflow.dft.vasp.)
    options = VaspOptions.from_params(params)
    kpts = {"kpts": (1, 1, 1), "gamma": True} if options.kpoints == "gamma" else {"kpts": options.kpoints}
    if options.kpt_density is not None:
        kpts = {"kpts": {"density": options.kpt_density}}
    settings = {"xc": "PBE", "encut": 550, "ispin": 2, "ediff": 1e-6, "prec": "Accurate", "lreal": False,
                "gamma": False, **kpts, **{k.lower(): v for k, v in options.incar.items()}}
    return Vasp(command=cmd, **settings)


def _check_vasp_parameters(params: dict[str, Any]) -> None:
    """Cutoff and density as for every DFT code, plus atomflow's VASP options and INCAR tag names."""
    from atomflow.dft.vasp_sets import VaspOptions

    _check_dft_parameters(params)
    VaspOptions.from_params(params)


def _gpaw_provenance(params: dict[str, Any]) -> dict[str, Any]:
    import importlib.metadata

    try:
        setups = f"gpaw-data {importlib.metadata.version('gpaw-data')}"
    except importlib.metadata.PackageNotFoundError:
        setups = None
    return {"model": "PBE plane waves", **_PAPER, "kpt_density": 4.0, "setups": setups, **params}


def _vasp_provenance(params: dict[str, Any]) -> dict[str, Any]:
    from atomflow.dft.vasp_sets import PAPER_INCAR, VaspOptions

    options = VaspOptions.from_params(params)
    return {"model": "VASP PBE-PAW", "input_set": "atomflow.dft.vasp_sets (the paper's)",
            "incar": {k: v for k, v in {**PAPER_INCAR, **options.incar}.items() if v is not None},
            "kpoints": options.kpoints, "neb_kpoints": options.neb_kpoints,
            "potcar_functional": options.potcar_functional, "potcar_overrides": options.potcar, **params}


register(
    Backend(
        name="gpaw",
        description="GPAW plane-wave PBE (open-source DFT; `make install-gpaw`)",
        build=_build_gpaw,
        elements=lambda params: None,
        modules=("gpaw",),
        extra="gpaw",
        check_parameters=_check_dft_parameters,
        install_hint="make install-gpaw (builds GPAW against Debian's libxc, FFTW, ScaLAPACK, OpenMPI)",
        distribution="gpaw",
        runner="gpaw",
        provenance=_gpaw_provenance,
    )
)
register(
    Backend(
        name="vasp",
        description="VASP PBE-PAW with the paper's settings (needs the vasp executable and POTCARs)",
        build=_build_vasp,
        check_parameters=_check_vasp_parameters,
        elements=lambda params: None,
        distribution="ase",
        runner="vasp",
        provenance=_vasp_provenance,
    )
)
