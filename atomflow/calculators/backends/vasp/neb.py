"""VTST climbing-image NEB in VASP, parsed into the ML path's :class:`~atomflow.calculators.results.NEBRun`.

Layout of one run (``vasp-neb-XXXX`` under the job's directory), VTST's convention::

    INCAR KPOINTS POTCAR        the band's inputs (IMAGES 5, SPRING −5, LCLIMB, IBRION 3, POTIM 0, IOPT 7)
    00/ … 06/POSCAR             the band, end points included (IDPP or linear, minimum image: the ML path's;
                                or the given starting band: an ML-seeded run writes the seed's converged band)
    00/, 06/                    also a full static VASP run of each end point on the NEB's k-mesh (2×2×2):
                                the barrier is E_image − E_end point, both on one mesh
    01/ … 05/                   VASP's per-image output (vasprun.xml, OUTCAR, CONTCAR, OSZICAR)

Two stages as on the ML path (:mod:`atomflow.neb.run` says why): the band first relaxes without climbing
to ``preconverge_fmax`` (LCLIMB .FALSE., EDIFFG −0.05), then restarts from the CONTCARs with LCLIMB
.TRUE. and EDIFFG −fmax; the first stage's outputs are kept with the suffix ``.stage1``. NSW = max_steps
for each stage.

The NEB forces reported per image are recomputed from VASP's energies and forces with ASE's improved
tangent (VTST's default tangent too) and the climbing image's inverted parallel force, so the
numbers mean what they mean on the ML path. ``converged`` is VASP's verdict: every image's last SCF
converged and the band stopped (max NEB force < |EDIFFG|) before NSW.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp import Incar

from atomflow.calculators.backends.vasp.driver import load_vasprun, parse_vasprun, run_directory, run_vasp_job
from atomflow.calculators.backends.vasp.environment import check_vasp_environment
from atomflow.calculators.backends.vasp.sets import write_neb_inputs, write_vasp_inputs
from atomflow.calculators.results import NEBRun, RunResult
from atomflow.calculators.spec import CalculatorSpec
from atomflow.errors import InputError
from atomflow.structures.band import interpolate_band
from atomflow.structures.convert import to_atoms
from atomflow.run_settings import NEB_MAX_STEPS, NEB_PRECONVERGE_FMAX, PAPER_FMAX, PAPER_N_IMAGES, PAPER_SPRING_CONSTANT

_STAGE_FILES = ("vasprun.xml", "OUTCAR", "OSZICAR", "CONTCAR")


def run_neb(initial: Structure | Atoms, final: Structure | Atoms, spec: CalculatorSpec | str, *,
            n_images: int = PAPER_N_IMAGES, spring_constant: float = PAPER_SPRING_CONSTANT, fmax: float = PAPER_FMAX, climb: bool = True,
            optimizer: str = "FIRE", max_steps: int = NEB_MAX_STEPS, preconverge_fmax: float | None = NEB_PRECONVERGE_FMAX,
            method: str = "improvedtangent", interpolation: str = "idpp", band: list[Atoms] | None = None
            ) -> NEBRun:
    """:func:`atomflow.neb.run.run_neb` for VASP: VTST CI-NEB between two relaxed end points.

    Reached through run_neb, which has checked the settings (atomflow.neb.run.check_neb_settings).
    ``band``: the starting band (n_images + 2 Atoms, end points included, e.g. an ML-converged band; run_neb
    made its end points ``initial`` and ``final``), written to 00…NN instead of the interpolation.
    """
    if method != "improvedtangent":
        raise InputError(f"VTST's NEB uses the improved tangent; method {method!r} has no VASP counterpart.")
    spec = CalculatorSpec.parse(spec)
    check_vasp_environment()
    start = time.perf_counter()
    if band is None:
        band = interpolate_band(to_atoms(initial), to_atoms(final), n_images, interpolation)
    structures = [AseAtomsAdaptor.get_structure(image) for image in band]
    params = dict(spec.parameters)
    directory = run_directory("neb")
    last = n_images + 1

    ends = {}
    for i in (0, last):  # end points first: a failure here costs two single points, not a band
        sub = directory / f"{i:02d}"
        write_vasp_inputs(structures[i], "neb_endpoint", sub, params)
        run_vasp_job(sub)
        ends[i] = parse_vasprun(sub / "vasprun.xml")

    plan = []
    if climb and preconverge_fmax is not None and preconverge_fmax > fmax:
        plan.append((False, preconverge_fmax))
    plan.append((climb, fmax))
    write_neb_inputs(structures, directory, params, fmax=plan[0][1], climb=plan[0][0], max_steps=max_steps,
                     spring_constant=spring_constant, optimizer=optimizer)
    stages: list[dict] = []
    converged = False
    for k, (climbing, target) in enumerate(plan):
        if k:
            _restart_band(directory, n_images, suffix=f".stage{k}")
            incar = Incar.from_file(directory / "INCAR")
            incar.update({"LCLIMB": climbing, "EDIFFG": -float(target)})
            incar.write_file(directory / "INCAR")
        run_vasp_job(directory, neb=True)
        images = [parse_vasprun(directory / f"{i:02d}" / "vasprun.xml") for i in range(1, last)]
        steps = max(len(load_vasprun(directory / "01" / "vasprun.xml").ionic_steps) - 1, 0)
        converged = all(r.converged for r in images)
        stages.append({"climb": climbing, "fmax": target, "steps": steps, "converged": converged,
                       "force_calls": (steps + 1) * n_images})
        if not converged:
            break

    results = [ends[0], *images, ends[last]]
    neb_forces, climbing_index = neb_image_forces(results, spring_constant, climb=stages[-1]["climb"])
    return NEBRun(
        images=[r.atoms.copy() for r in results],
        energies=np.array([r.energy for r in results]),
        image_max_forces=np.linalg.norm(neb_forces, axis=2).max(axis=1),
        converged=converged and all(e.converged for e in ends.values()),
        n_steps=sum(s["steps"] for s in stages),
        n_force_calls=sum(s["force_calls"] for s in stages) + 2,
        climbing_index=climbing_index,
        wall_time=time.perf_counter() - start,
        stages=stages,
    )


def neb_image_forces(results: list[RunResult], spring_constant: float, *, climb: bool
                     ) -> tuple[np.ndarray, int | None]:
    """NEB forces (n_images, n_atoms, 3; eV/Å) of a band from its images' energies and forces.

    ASE's improved tangent with the climbing image's parallel force inverted: the definition the ML
    path's convergence test uses. Returns the forces and the climbing image's index (None without).
    """
    images = []
    for r in results:
        atoms = r.atoms.copy()
        atoms.calc = SinglePointCalculator(atoms, energy=r.energy, forces=r.forces)
        images.append(atoms)
    band = NEB(images, k=spring_constant, climb=climb, method="improvedtangent")
    forces = band.get_forces().reshape(len(images) - 2, -1, 3)
    return forces, (int(band.imax) if climb else None)


def _restart_band(directory: Path, n_images: int, *, suffix: str) -> None:
    """Keep a stage's image outputs under ``suffix`` and start the next stage from its CONTCARs."""
    for i in range(1, n_images + 1):
        sub = directory / f"{i:02d}"
        for name in _STAGE_FILES:
            if (sub / name).is_file():
                shutil.copy(sub / name, sub / f"{name}{suffix}")
        shutil.copy(sub / "CONTCAR", sub / "POSCAR")
