"""Run VASP with its own optimizer under custodian, and parse vasprun.xml into atomflow's RunResult.

:func:`relax` is what :func:`atomflow.jobs.ase_run.relax` calls for ``calculator="vasp"``: it writes the
paper's inputs for the step (:mod:`.sets`), runs ``settings.vasp_cmd`` through custodian
with atomate2's VASP error handlers and validators (``atomate2.vasp.run.DEFAULT_HANDLERS``), and reads
energy, forces and stress of the last ionic step. Every run gets its own directory under the job's working
directory (``vasp-<step>-XXXX``), kept for inspection.

Cell relaxations (ISIF 3) run twice, the second from the first's CONTCAR (custodian's double relaxation):
the plane-wave basis is fixed at the starting volume, so a single run ends with a Pulay stress.

VASP stops a relaxation when every force is below |EDIFFG| = fmax; its stopping test leaves the stress
out, so after a cell relaxation the residual stress (a few 0.1 kBar) is stored as computed and the elastic
fit subtracts it. ``converged`` is VASP's own verdict: the last SCF converged within NELM and a relaxation
stopped before NSW.
"""

from __future__ import annotations

import shlex
import tempfile
from pathlib import Path

import numpy as np
from ase import Atoms
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.calculators.backends.vasp.environment import check_vasp_environment
from atomflow.calculators.backends.vasp.sets import paper_incar, write_neb_inputs, write_vasp_inputs
from atomflow.calculators.results import RunResult
from atomflow.calculators.spec import CalculatorSpec
from atomflow.errors import AtomflowError, InputError
from atomflow.structures.convert import to_atoms
from atomflow.settings import get_settings
from atomflow.units import from_gpa
from atomflow.run_settings import PAPER_FMAX, RELAX_MAX_STEPS

__all__ = ["VaspRunError", "check_vasp_environment", "paper_incar", "parse_vasprun", "relax", "run_vasp_job", "stress_from_vasp",
           "write_neb_inputs", "write_vasp_inputs"]


class VaspRunError(AtomflowError, RuntimeError):
    """VASP (under custodian) failed; the message names the run directory and the end of its output."""


def stress_from_vasp(stress_kbar) -> np.ndarray:
    """VASP's 3×3 stress (kBar, positive = pressure) → atomflow's Voigt 6-vector (eV/Å³, ASE sign).

    The one place VASP's convention is converted: 1 kBar = 0.1 GPa, and ASE's stress is (1/V) ∂E/∂ε,
    the negative of VASP's pressure-like stress.
    """
    s = from_gpa(-0.1 * np.asarray(stress_kbar, dtype=float))
    return np.array([s[0, 0], s[1, 1], s[2, 2], s[1, 2], s[0, 2], s[0, 1]])


def run_directory(step: str) -> Path:
    """A fresh directory for one VASP run under the current working directory (the job's)."""
    return Path(tempfile.mkdtemp(prefix=f"vasp-{step}-", dir=Path.cwd()))


def run_vasp_job(directory: str | Path, *, neb: bool = False, double_relaxation: bool = False) -> None:
    """Run VASP in ``directory`` (inputs already there) through custodian; raise VaspRunError on failure."""
    from atomate2.vasp.run import DEFAULT_HANDLERS, VaspNebFilesValidator
    from custodian import Custodian
    from custodian.vasp.handlers import FrozenJobErrorHandler, StdErrHandler, VaspErrorHandler
    from custodian.vasp.jobs import VaspJob, VaspNEBJob
    from custodian.vasp.validators import VaspFilesValidator, VasprunXMLValidator

    settings = get_settings()
    cmd = shlex.split(settings.vasp_cmd)
    gamma = shlex.split(settings.vasp_gamma_cmd) if settings.vasp_gamma_cmd else None
    directory = Path(directory)
    if neb:
        # The handlers that read vasprun.xml / OSZICAR expect one image; for a band custodian watches the
        # top-level output (VTST writes the images' files into 01…NN).
        handlers = [VaspErrorHandler(output_filename="neb_vasp.out"), StdErrHandler("neb_std_err.txt"),
                    FrozenJobErrorHandler(output_filename="neb_vasp.out")]
        jobs = [VaspNEBJob(cmd, gamma_vasp_cmd=gamma, auto_npar=False)]
        validators = [VaspNebFilesValidator()]
        output = "neb_std_err.txt"
    else:
        handlers = list(DEFAULT_HANDLERS)
        validators = [VasprunXMLValidator(), VaspFilesValidator()]
        output = "std_err.txt"
        if double_relaxation:
            restart = [{"file": "CONTCAR", "action": {"_file_copy": {"dest": "POSCAR"}}}]
            jobs = [VaspJob(cmd, gamma_vasp_cmd=gamma, final=False, suffix=".relax1"),
                    VaspJob(cmd, gamma_vasp_cmd=gamma, settings_override=restart)]
        else:
            jobs = [VaspJob(cmd, gamma_vasp_cmd=gamma)]
    manager = Custodian(handlers, jobs, validators=validators, max_errors=settings.vasp_max_errors,
                        polling_time_step=settings.vasp_polling_interval, directory=str(directory))
    try:
        manager.run()
    except Exception as exc:
        tail = _tail(directory / output) or _tail(directory / "vasp.out")
        raise VaspRunError(f"VASP failed in {directory}: {exc}" + (f"\n{tail}" if tail else "")) from exc


def _tail(path: Path, n: int = 15) -> str:
    if not path.is_file():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:])


def load_vasprun(path: str | Path):
    from pymatgen.io.vasp import Vasprun

    return Vasprun(str(path), parse_dos=False, parse_eigen=False, parse_projected_eigen=False,
                   parse_potcar_file=False, exception_on_bad_xml=True)


def parse_vasprun(path: str | Path, *, previous_ionic_steps: int = 0) -> RunResult:
    """RunResult of one VASP run: last ionic step's energy (σ→0, eV), forces (eV/Å) and stress (eV/Å³).

    ``previous_ionic_steps``: ionic steps of an earlier run of the same relaxation (the first of two).
    """
    run = load_vasprun(path)
    last = run.ionic_steps[-1]
    structure = run.final_structure
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = None
    stress = stress_from_vasp(last["stress"]) if last.get("stress") is not None else np.zeros(6)
    n_ionic = len(run.ionic_steps)
    relaxing = run.parameters.get("NSW", 0) > 0 and run.parameters.get("IBRION", -1) in (1, 2, 3)
    return RunResult(
        atoms=atoms,
        energy=float(run.final_energy),
        forces=np.asarray(last["forces"], dtype=float),
        stress=stress,
        n_steps=max(previous_ionic_steps - 1, 0) + (n_ionic - 1 if relaxing else 0),
        n_calls=previous_ionic_steps + n_ionic,
        converged=bool(run.converged_electronic and (run.converged_ionic if relaxing else True)),
        energies=[float(step["e_0_energy"]) for step in run.ionic_steps],
    )


def relax(structure: Structure | Atoms, spec: CalculatorSpec | str, *, relax_cell: bool = False,
          relax_ions: bool = True, fmax: float = PAPER_FMAX, max_steps: int = RELAX_MAX_STEPS, optimizer: str = "BFGS",
          hydrostatic_only: bool = False, stress_tol: float = 1e-4) -> RunResult:
    """:func:`atomflow.jobs.ase_run.relax` for VASP: VASP's conjugate gradient (IBRION 2), ISIF 3 or 2.

    ``optimizer`` and ``stress_tol`` belong to ASE's optimizers and are not used: VASP's stopping test is
    EDIFFG = −fmax. ``max_steps`` becomes NSW; 0 (or neither ions nor cell) is a static run.
    """
    spec = CalculatorSpec.parse(spec)
    if hydrostatic_only:
        raise InputError("hydrostatic_only has no VASP counterpart that also relaxes the ions (ISIF 7 freezes "
                         "them); relax the full cell (ISIF 3) instead.")
    if relax_cell and not relax_ions:
        raise InputError("A cell-only relaxation (ISIF 6) is not offered; relax cell and ions (ISIF 3).")
    if max_steps < 0:
        raise InputError(f"max_steps must be ≥ 0, got {max_steps}.")
    step = "relax_cell" if relax_cell else "relax_ions" if relax_ions else "static"
    if max_steps == 0:
        step = "static"
    check_vasp_environment()
    structure = AseAtomsAdaptor.get_structure(to_atoms(structure))
    directory = run_directory(step)
    write_vasp_inputs(structure, step, directory, dict(spec.parameters), fmax=fmax, max_steps=max_steps)
    double = step == "relax_cell"
    run_vasp_job(directory, double_relaxation=double)
    previous = 0
    if double and (directory / "vasprun.xml.relax1").is_file():
        previous = len(load_vasprun(directory / "vasprun.xml.relax1").ionic_steps)
    return parse_vasprun(directory / "vasprun.xml", previous_ionic_steps=previous)
