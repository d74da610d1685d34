"""VASP PBE-PAW with the paper's settings (licensed; clusters): the backend.

- :mod:`.sets` — the paper's INCAR / KPOINTS / POTCAR choices per step (atomate2's generators); writes inputs.
- :mod:`.driver` — runs VASP (its own optimizer, IBRION 2 / ISIF 3 or 2) under custodian and parses
  vasprun.xml into :class:`~atomflow.calculators.results.RunResult`.
- :mod:`.neb` — VTST CI-NEB in ``00``…``NN`` image directories →
  :class:`~atomflow.calculators.results.NEBRun`.
- :mod:`.environment` — the executable and POTCAR checks.

Here the name resolves to ASE's file calculator (single points); relaxations and NEB bands go to the
drivers. Everything that imports pymatgen.io.vasp or custodian is imported when used.
"""

from __future__ import annotations

import os
from typing import Any

from atomflow.calculators.backend import Backend, register
from atomflow.calculators.backends._dft import check_dft_parameters
from atomflow.calculators.backends.vasp.environment import check_vasp_environment
from atomflow.calculators.parameters import OpenParameters, Parameter

__all__ = ["check_vasp_environment"]

_MESH = "Monkhorst–Pack mesh, 4x4x4 or [4, 4, 4], or 'gamma' (Γ only)"

#: atomflow's VASP options (.sets.VaspOptions); any INCAR tag besides (checked against pymatgen's list).
VASP_PARAMETERS = (
    Parameter("kpoints", (list, str, int), f"k-points of the relax and static steps: {_MESH}",
              default="4x4x4"),
    Parameter("neb_kpoints", (list, str, int), f"k-points of the CI-NEB and its end points: {_MESH}",
              default="2x2x2"),
    Parameter("kpt_density", float, "k-points per Å⁻¹ instead of a fixed mesh (relax and static steps)", gt=0,
              example="4"),
    Parameter("neb_kpt_density", float, "k-points per Å⁻¹ instead of neb_kpoints", gt=0, example="2"),
    Parameter("reciprocal_density", float, "k-points per Å⁻³ of reciprocal volume (pymatgen's scheme)", gt=0,
              example="64"),
    Parameter("potcar_functional", str, "POTCAR set (pymatgen's functional name)", default="PBE_54"),
    Parameter("potcar", dict, "POTCAR per element replacing the Materials Project choice",
              example='{"Na": "Na_sv"}'),
)


def _incar_tags():
    from atomflow.calculators.backends.vasp.sets import known_incar_tags

    return known_incar_tags()


def _build_vasp(params: dict[str, Any]):
    from ase.calculators.vasp import Vasp

    cmd, psp = check_vasp_environment()
    os.environ.setdefault("VASP_PP_PATH", psp)
    from atomflow.calculators.backends.vasp.sets import VaspOptions

    # The paper's settings (../shared/reference/paper.md): PBE PAW, 550 eV, spin-polarised, EDIFF 1e-6.
    # (A single point through ASE's file calculator; relaxations and NEB go to the drivers.)
    options = VaspOptions.from_params(params)
    kpts = {"kpts": (1, 1, 1), "gamma": True} if options.kpoints == "gamma" else {"kpts": options.kpoints}
    if options.kpt_density is not None:
        kpts = {"kpts": {"density": options.kpt_density}}
    settings = {"xc": "PBE", "encut": 550, "ispin": 2, "ediff": 1e-6, "prec": "Accurate", "lreal": False,
                "gamma": False, **kpts, **{k.lower(): v for k, v in options.incar.items()}}
    return Vasp(command=cmd, **settings)


def _check_vasp_parameters(params: dict[str, Any]) -> None:
    """Cutoff and density as for every DFT code, plus atomflow's VASP options and INCAR tag names."""
    from atomflow.calculators.backends.vasp.sets import VaspOptions

    check_dft_parameters(params)
    VaspOptions.from_params(params)


def _vasp_provenance(params: dict[str, Any]) -> dict[str, Any]:
    from atomflow.calculators.backends.vasp.sets import PAPER_INCAR, VaspOptions

    options = VaspOptions.from_params(params)
    return {"model": "VASP PBE-PAW", "input_set": "atomflow.calculators.backends.vasp.sets (the paper's)",
            "incar": {k: v for k, v in {**PAPER_INCAR, **options.incar}.items() if v is not None},
            "kpoints": options.kpoints, "neb_kpoints": options.neb_kpoints,
            "potcar_functional": options.potcar_functional, "potcar_overrides": options.potcar, **params}


def _relax(*args: Any, ase_driver: Any = None, **kwargs: Any):
    from atomflow.calculators.backends.vasp.driver import relax

    return relax(*args, **kwargs)  # VASP's own optimizer: the ASE driver is not needed


def _run_neb(*args: Any, ase_driver: Any = None, **kwargs: Any):
    from atomflow.calculators.backends.vasp.neb import run_neb

    return run_neb(*args, **kwargs)


register(
    Backend(
        name="vasp",
        description="VASP PBE-PAW with the paper's settings (needs the vasp executable and POTCARs)",
        build=_build_vasp,
        parameters=VASP_PARAMETERS,
        open_parameters=OpenParameters("any INCAR tag (pymatgen's list, either case)", _incar_tags,
                                       str.upper),
        check_parameters=_check_vasp_parameters,
        elements=lambda params: None,
        distribution="ase",
        provenance=_vasp_provenance,
        dft=True,
        drivers={"relax": _relax, "neb": _run_neb},
        ase_optimizers=False,  # IBRION 2 and VTST's FIRE: no starting Hessian (seeded by geometry only)
    )
)
