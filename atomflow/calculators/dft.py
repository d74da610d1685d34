"""DFT calculators: GPAW (open source, runs here when installed) and VASP (licensed; clusters).

Defaults follow the paper (PBE, 550 eV plane-wave cutoff). The full input sets (custodian, NEB
tags, per-job k-point meshes) live with the DFT workflows; here the names resolve, and a missing
program, potential directory or package fails with one message saying what to install or set.
"""

from __future__ import annotations

import os
import shutil
import shlex
from pathlib import Path
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
    kpts = p.pop("kpts", None) or {"density": float(p.pop("kpt_density")), "gamma": True}
    p.pop("kpt_density", None)
    if isinstance(kpts, dict) and kpts.get("density", 1) <= 0:
        raise CalculatorError("k-point density must be positive (points per Å⁻¹), e.g. gpaw:kpt_density=4.")
    ecut = float(p.pop("ecut"))
    return GPAW(mode=PW(ecut), xc=p.pop("xc"), kpts=kpts, txt=p.pop("txt", "gpaw.txt"), **p)


def _vasp_environment() -> tuple[str, str]:
    cmd = get_settings().vasp_cmd
    exe = shlex.split(cmd)[-1] if cmd else ""
    if not exe or shutil.which(exe) is None:
        raise MissingDependencyError(
            f"VASP executable {exe or cmd!r} not found on PATH. Install VASP (licensed) and set "
            "ATOMFLOW_VASP_CMD to the command that runs it, e.g. 'srun vasp_std'."
        )
    psp = os.environ.get("PMG_VASP_PSP_DIR") or os.environ.get("VASP_PP_PATH")
    if not psp or not Path(psp).is_dir():
        raise CalculatorError(
            f"VASP POTCAR directory not found ({psp or 'PMG_VASP_PSP_DIR is not set'}). "
            "Set PMG_VASP_PSP_DIR to the directory holding POT_GGA_PAW_PBE (see pymatgen's POTCAR setup)."
        )
    return cmd, psp


def _build_vasp(params: dict[str, Any]):
    from ase.calculators.vasp import Vasp

    cmd, psp = _vasp_environment()
    os.environ.setdefault("VASP_PP_PATH", psp)
    # The paper's settings (../shared/reference/paper.md): PBE PAW, 550 eV, spin-polarised, EDIFF 1e-6.
    settings = {"xc": "PBE", "encut": 550, "ispin": 2, "ediff": 1e-6, "prec": "Accurate", "lreal": False,
                "kpts": (4, 4, 4), "gamma": False, **params}
    return Vasp(command=cmd, **settings)


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
        provenance=lambda params: {"model": "PBE plane waves", **_PAPER, **params},
    )
)
register(
    Backend(
        name="vasp",
        description="VASP PBE-PAW with the paper's settings (needs the vasp executable and POTCARs)",
        build=_build_vasp,
        check_parameters=_check_dft_parameters,
        elements=lambda params: None,
        distribution="ase",
        provenance=lambda params: {"model": "VASP PBE-PAW", "encut": 550, **params},
    )
)
