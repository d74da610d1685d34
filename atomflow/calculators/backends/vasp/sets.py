"""The paper's VASP input sets, built with atomate2's generators (``atomate2.vasp.sets.core``).

Paper (../shared/reference/paper.md): VASP 5.4, PAW, GGA-PBE, spin-polarised, ENCUT 550 eV, EDIFF 1e-6 eV,
forces below 0.01 eV/Å (EDIFFG = −0.01), Monkhorst–Pack 4×4×4 for relaxations (cell + ions, ISIF 3, for
bulks; ions only, ISIF 2, for defect cells, end points and strained cells), CI-NEB with 5 images, spring
5 eV/Å², MP 2×2×2, lattice fixed; the elastic tensor of the 152-atom supercell at Γ only.

One step id per kind of VASP run, written into INCAR as ``SYSTEM = atomflow:<step>`` so outputs say what
they are (and a stand-in executable in the tests can check the tags against the step):

============  =====================================================================================
relax_cell    IBRION 2, ISIF 3, NSW = max_steps (bulks; run twice, see :mod:`.driver`)
relax_ions    IBRION 2, ISIF 2 (defect cells, NEB end points, strained cells of the elastic tensor)
static        IBRION −1, NSW 0, ISIF 2 (energy, forces and stress)
neb           VTST CI-NEB: IMAGES 5, SPRING −5, LCLIMB .TRUE., IBRION 3, POTIM 0, IOPT 7 (VTST's
              FIRE, the optimizer of the ML path), ISIF 2; KPOINTS MP 2×2×2
neb_endpoint  static on the NEB's k-mesh (2×2×2): the end points' energies must come from the same
              mesh as the images', not from the 4×4×4 end-point relaxations
============  =====================================================================================

POTCARs are the Materials Project / pymatgen choices that atomate2's base set uses: **Na_pv** (2p⁶3s¹,
7 e), **Sn_d** (4d¹⁰5s²5p², 14 e), **Cl** (7 e), from the PBE_54 set — the same valence as GPAW's
setups (../shared/reference/gpaw.md). The POTCAR is assembled with pymatgen's ``PotcarSingle`` /
``Potcar`` from ``$PMG_VASP_PSP_DIR/POT_GGA_PAW_PBE_54/<symbol>/POTCAR``.

Calculator parameters (``vasp:key=value,…``), all optional:

- ``kpoints``: MP mesh of the relax/static steps, ``[4,4,4]`` or ``4x4x4`` (paper) or ``"gamma"`` (Γ only: the
  paper's elastic run on the 152-atom supercell; give the whole ElasticMaker this spec so the bulk's
  reference stress and the strained stresses share the mesh). ``neb_kpoints``: NEB mesh, ``2x2x2``.
- ``kpt_density`` / ``neb_kpt_density``: k-points per Å⁻¹ instead of a fixed mesh,
  nᵢ = ⌈2π |bᵢ| · density⌉ (ASE's and GPAW's rule, so one number means the same mesh on both codes);
  the mesh then follows the cell. ``reciprocal_density``: k-points per Å⁻³ of reciprocal volume
  (atomate2's / pymatgen's scheme, Γ-centred). The densities apply to the relax and static steps;
  the NEB keeps ``neb_kpoints`` unless ``neb_kpt_density`` is given.
- ``potcar_functional`` (``"PBE_54"``), ``potcar`` (``{"Na": "Na_sv"}`` overrides).
- any INCAR tag (either case, checked against pymatgen's list of tags) overrides the paper's
  (``ISMEAR=1,SIGMA=0.2`` for a metal, ``encut=600``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pymatgen.core import Structure
from pymatgen.io.vasp import Kpoints, Poscar, Potcar, PotcarSingle

from atomflow.errors import CalculatorError, InputError
from atomflow.run_settings import PAPER_FMAX, PAPER_N_IMAGES, RELAX_MAX_STEPS

STEPS = ("relax_cell", "relax_ions", "static", "neb", "neb_endpoint")

#: Tags shared by every step (paper settings; the rest switches off atomate2's r2SCAN-era extras).
PAPER_INCAR: dict[str, Any] = {
    "GGA": "PE",  # PBE; atomate2's base set has GGA = PS (PBEsol)
    "ENCUT": 550,
    "ISPIN": 2,
    "EDIFF": 1e-6,
    "PREC": "Accurate",
    "LREAL": False,
    "LASPH": True,
    "ALGO": "Normal",
    "NELM": 200,
    "ISMEAR": 0,  # Gaussian, 0.05 eV: the paper does not say; right for NaCl and Na7Sn12 at 550 eV
    "SIGMA": 0.05,
    "LCHARG": False,
    "LWAVE": False,
    "LAECHG": False,
    "LVTOT": False,
    "LELF": None,
    "LMIXTAU": None,
    "LORBIT": None,
    "KSPACING": None,
}
STEP_INCAR: dict[str, dict[str, Any]] = {
    "relax_cell": {"IBRION": 2, "ISIF": 3},
    "relax_ions": {"IBRION": 2, "ISIF": 2},
    "static": {"IBRION": -1, "NSW": 0, "ISIF": 2},
    "neb": {"IBRION": 3, "POTIM": 0, "ISIF": 2},
    "neb_endpoint": {"IBRION": -1, "NSW": 0, "ISIF": 2},  # end-point energies on the NEB's k-mesh
}
#: VTST optimizers (IOPT) standing in for the ML path's NEB optimizers (atomflow.neb.run).
#: GuardedLBFGS (the ML default) runs VTST's FIRE: VTST has no guarded L-BFGS, and FIRE was the default here.
VTST_IOPT = {"FIRE": 7, "GuardedLBFGS": 7, "LBFGS": 1, "BFGS": 1, "MDMin": 3}

PAPER_KPOINTS = (4, 4, 4)
PAPER_NEB_KPOINTS = (2, 2, 2)
_OPTIONS = {"kpoints", "neb_kpoints", "kpt_density", "neb_kpt_density", "reciprocal_density",
            "potcar_functional", "potcar"}


@dataclass(frozen=True)
class VaspOptions:
    """The ``vasp`` calculator parameters, checked (see the module docstring)."""

    kpoints: tuple[int, int, int] | str = PAPER_KPOINTS
    neb_kpoints: tuple[int, int, int] | str = PAPER_NEB_KPOINTS
    kpt_density: float | None = None
    neb_kpt_density: float | None = None
    reciprocal_density: float | None = None
    potcar_functional: str = "PBE_54"
    potcar: dict[str, str] = field(default_factory=dict)
    incar: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> VaspOptions:
        tags = known_incar_tags()
        incar = {k.upper(): v for k, v in params.items() if k not in _OPTIONS and k.upper() in tags}
        unknown = sorted(k for k in params if k not in _OPTIONS and k.upper() not in tags)
        if unknown:
            raise CalculatorError(f"Unknown vasp parameter(s) {', '.join(unknown)}: neither an INCAR tag nor one of "
                                  f"{', '.join(sorted(_OPTIONS))}.")
        opts = {k: params[k] for k in _OPTIONS if k in params}
        for key in ("kpoints", "neb_kpoints"):
            if key in opts:
                opts[key] = _mesh(opts[key], key)
        for key in ("kpt_density", "neb_kpt_density", "reciprocal_density"):
            if key in opts and not float(opts[key]) > 0:
                raise CalculatorError(f"vasp:{key} must be positive, got {opts[key]!r}.")
        if "kpt_density" in opts and "reciprocal_density" in opts:
            raise CalculatorError("Give vasp:kpt_density or vasp:reciprocal_density, not both.")
        return cls(incar=incar, **opts)

    def kpoints_for(self, step: str, structure: Structure) -> Kpoints | dict:
        """The KPOINTS of ``step`` (a Kpoints object, or atomate2's reciprocal-density setting)."""
        neb = step in ("neb", "neb_endpoint")
        density = self.neb_kpt_density if neb else self.kpt_density
        if density is not None:
            return Kpoints.monkhorst_automatic(kpoint_mesh(structure, density))
        if self.reciprocal_density is not None and not neb:
            return {"reciprocal_density": self.reciprocal_density}
        mesh = self.neb_kpoints if neb else self.kpoints
        if mesh == "gamma":
            return Kpoints.gamma_automatic((1, 1, 1))
        return Kpoints.monkhorst_automatic(mesh)


@lru_cache(maxsize=1)
def known_incar_tags() -> frozenset[str]:
    """INCAR tag names pymatgen knows (its incar_parameters.json), VTST's NEB tags included."""
    import pymatgen.io.vasp

    path = Path(pymatgen.io.vasp.__file__).parent / "incar_parameters.json"
    return frozenset(json.loads(path.read_text())) | {"IMAGES", "SPRING", "LCLIMB", "IOPT", "ICHAIN"}


def _mesh(value: Any, key: str) -> tuple[int, int, int] | str:
    if isinstance(value, str) and value.lower() in ("gamma", "g"):
        return "gamma"
    if isinstance(value, str):  # "4x4x4": the CLI form (commas separate parameters there)
        value = value.lower().split("x")
    if isinstance(value, int):
        value = [value] * 3
    try:
        mesh = tuple(int(n) for n in value)
    except (TypeError, ValueError):
        mesh = ()
    if len(mesh) != 3 or min(mesh) < 1:
        raise CalculatorError(f"vasp:{key} must be three positive integers (4x4x4) or 'gamma', got {value!r}.")
    return mesh  # type: ignore[return-value]


def kpoint_mesh(structure: Structure, density: float) -> tuple[int, int, int]:
    """nᵢ = ⌈2π |bᵢ| · density⌉ with bᵢ the reciprocal vectors without 2π (ASE's / GPAW's k-point density)."""
    rec = structure.lattice.reciprocal_lattice_crystallographic.abc
    return tuple(max(1, math.ceil(2 * math.pi * b * density - 1e-9)) for b in rec)  # type: ignore[return-value]


def paper_incar(step: str, *, fmax: float = PAPER_FMAX, max_steps: int = RELAX_MAX_STEPS, n_images: int = PAPER_N_IMAGES,
                spring_constant: float = 5.0, climb: bool = True, optimizer: str = "FIRE",
                overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The INCAR tags of ``step`` (None values remove a tag from atomate2's base set).

    ``fmax`` (eV/Å) becomes EDIFFG = −fmax (a force criterion); ``max_steps`` NSW; the NEB settings
    IMAGES, SPRING = −spring_constant (eV/Å², negative: nudged), LCLIMB and IOPT.
    """
    if step not in STEPS:
        raise InputError(f"Unknown VASP step {step!r}; one of {', '.join(STEPS)}.")
    if not fmax > 0:
        raise InputError(f"fmax must be positive (eV/Å), got {fmax}.")
    incar = {**PAPER_INCAR, **STEP_INCAR[step], "SYSTEM": f"atomflow:{step}", "EDIFFG": -float(fmax)}
    if step not in ("static", "neb_endpoint"):
        incar["NSW"] = int(max_steps)
    if step == "neb":
        if optimizer not in VTST_IOPT:
            raise InputError(f"No VTST optimizer for {optimizer!r}; one of {', '.join(VTST_IOPT)}.")
        incar.update({"IMAGES": int(n_images), "SPRING": -float(spring_constant), "LCLIMB": bool(climb),
                      "IOPT": VTST_IOPT[optimizer]})
    incar.update(overrides or {})
    return incar


def input_generator(step: str, structure: Structure, options: VaspOptions, incar: dict[str, Any]):
    """atomate2's generator for ``step`` with the paper's tags and k-points as user settings."""
    from atomate2.vasp.sets.core import (
        NebSetGenerator,
        RelaxConstVolSetGenerator,
        RelaxSetGenerator,
        StaticSetGenerator,
    )

    common = {
        "user_incar_settings": incar,
        "user_kpoints_settings": options.kpoints_for(step, structure),
        "user_potcar_settings": dict(options.potcar),
        "user_potcar_functional": options.potcar_functional,
        "sort_structure": False,  # keep atomflow's atom order: forces and NEB images map back 1:1
        "auto_ismear": False,
        "auto_ispin": False,
        "inherit_incar": False,
    }
    if step == "neb":
        return NebSetGenerator(num_images=incar["IMAGES"], climbing_image=incar["LCLIMB"], **common)
    cls = {"relax_cell": RelaxSetGenerator, "relax_ions": RelaxConstVolSetGenerator,
           "static": StaticSetGenerator, "neb_endpoint": StaticSetGenerator}[step]
    return cls(**common)


def write_vasp_inputs(structure: Structure, step: str, directory: str | Path, spec_params: dict[str, Any],
                      **incar_args: Any) -> list[str]:
    """Write INCAR, KPOINTS, POSCAR and POTCAR of ``step`` into ``directory``; return the POTCAR symbols.

    ``incar_args`` go to :func:`paper_incar` (fmax, max_steps, …); ``spec_params`` are the calculator's.
    """
    options = VaspOptions.from_params(spec_params)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    incar = paper_incar(step, overrides=options.incar, **incar_args)
    inputs = input_generator(step, structure, options, incar).get_input_set(structure, potcar_spec=True)
    inputs["INCAR"].write_file(directory / "INCAR")
    inputs["KPOINTS"].write_file(directory / "KPOINTS")
    inputs["POSCAR"].write_file(directory / "POSCAR")
    symbols = inputs["POTCAR.spec"].split()
    write_potcar(symbols, options.potcar_functional, directory / "POTCAR")
    return symbols


def write_neb_inputs(images: list[Structure], directory: str | Path, spec_params: dict[str, Any],
                     **incar_args: Any) -> list[str]:
    """CI-NEB inputs: INCAR, KPOINTS, POTCAR at the top, ``00``…``NN``/POSCAR for the band (end points included)."""
    symbols = write_vasp_inputs(images[0], "neb", directory, spec_params, n_images=len(images) - 2,
                                **incar_args)
    Path(directory, "POSCAR").unlink()  # VASP reads the images' POSCARs
    for i, image in enumerate(images):
        sub = Path(directory, f"{i:02d}")
        sub.mkdir(exist_ok=True)
        Poscar(image).write_file(sub / "POSCAR")
    return symbols


def psp_directory() -> Path:
    """Where the POTCARs are: $PMG_VASP_PSP_DIR (or $VASP_PP_PATH, or pymatgen's .pmgrc.yaml), read now."""
    from pymatgen.core import SETTINGS

    found = os.environ.get("PMG_VASP_PSP_DIR") or os.environ.get("VASP_PP_PATH") or SETTINGS.get("PMG_VASP_PSP_DIR")
    if not found or not Path(found).is_dir():
        raise CalculatorError(
            f"VASP POTCAR directory not found ({found or 'PMG_VASP_PSP_DIR is not set'}). Set PMG_VASP_PSP_DIR "
            "to the directory holding POT_GGA_PAW_PBE_54 (see pymatgen's POTCAR setup: `pmg config -p`).")
    return Path(found)


def write_potcar(symbols: list[str], functional: str, path: str | Path) -> Potcar:
    """Concatenate the POTCARs of ``symbols`` (pymatgen's layouts: ``<symbol>/POTCAR`` or ``POTCAR.<symbol>``)."""
    root = psp_directory()
    subdir = PotcarSingle.functional_dir.get(functional)
    if subdir is None:
        raise CalculatorError(f"Unknown POTCAR functional {functional!r}; one of "
                              f"{', '.join(PotcarSingle.functional_dir)}.")
    potcar = Potcar()
    for symbol in symbols:
        candidates = [root / subdir / symbol / "POTCAR", root / subdir / f"POTCAR.{symbol}"]
        candidates += [Path(f"{c}.gz") for c in candidates]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise CalculatorError(f"No POTCAR for {symbol} under {root / subdir} (looked for {candidates[0].name} "
                                  f"in {symbol}/ and POTCAR.{symbol}).")
        potcar.append(PotcarSingle.from_file(str(found)))
    potcar.write_file(str(path))
    return potcar
