"""GPAW relaxations and NEB bands, run in a subprocess under MPI (``settings.gpaw_cmd``).

The job writes the structure and settings to a fresh directory (``gpaw-<task>-XXXX`` under the job's
working directory), runs ``<gpaw_cmd> run.py`` there — e.g. ``mpirun -np 2 gpaw python run.py`` — and
reads the result back. Inside, the same ASE code as every other calculator runs
(:func:`~atomflow.jobs.ase_run.relax_with_ase`, :func:`~atomflow.neb.run.run_neb_with_ase`), with GPAW:
the caller hands it in as ``ase_driver`` (so this layer imports neither), and the subprocess imports it
by its module and name. An empty ``gpaw_cmd`` runs the same code in-process, serially.

Why a subprocess under MPI (measured on this 2-core machine, other jobs running, bcc Na 1 atom, PW
550 eV, 12×12×12 k, one SCF + stress): ``mpirun -np 2 gpaw python`` 5.7 s; in-process serial 9.8 s
with ``OPENBLAS_NUM_THREADS=1``, but 86 s with OpenBLAS's default threads, which fight the other
processes for the cores. The subprocess also keeps MPI out of the job process (jobflow's). So: MPI ranks,
one BLAS thread per rank (set here unless the environment sets them), ``OMPI_ALLOW_RUN_AS_ROOT`` when
running as root (../shared/reference/gpaw.md).

Cell relaxations (``relax_cell``) by default fit the volume to an energy–volume curve instead of
trusting the stress for it: at a finite plane-wave cutoff the stress carries a Pulay term (at 550 eV the
stress-based NaCl lattice constant is ≈ 0.01 Å too small), which is isotropic, so the stress still gives
the cell's shape. Steps: (1) relax cell shape, volume and ions by stress (ASE's FrechetCellFilter);
(2) scale that cell isotropically to ``EOS_POINTS`` volumes within ±``EOS_SPAN`` (ions relaxed at each
when they are free to move); (3) fit Birch–Murnaghan, E(V) — if the minimum falls outside the points (a
low cutoff: at 300 eV bcc Na's minimum lies 4 % in volume above the stress-relaxed cell), scan the next
window towards it, at most ``EOS_MAX_WINDOWS`` in all, else ``converged=False`` — and (4) relax the ions
at the fitted V₀. The
stress at V₀ (≈ the Pulay stress) is stored as computed: the elastic fit subtracts it, as it subtracts any
reference stress. Calculator parameter ``cell_relax="stress"`` skips (2)–(4).
"""

from __future__ import annotations

import importlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ase import Atoms
from pymatgen.core import Structure

from atomflow.calculators.registry import require_backend
from atomflow.calculators.results import NEBRun, RunResult
from atomflow.calculators.spec import CalculatorSpec
from atomflow.errors import AtomflowError, InputError
from atomflow.settings import get_settings
from atomflow.structures.convert import to_atoms
from atomflow.run_settings import PAPER_FMAX, RELAX_MAX_STEPS

#: E–V points and half-range of the volume (fraction) for a cell relaxation: ±4 % in V is ±1.3 % in a,
#: about ten times the Pulay shift at 550 eV, and ≈ 5 meV/atom of curvature energy for NaCl.
EOS_POINTS = 7
EOS_SPAN = 0.04
EOS_MAX_WINDOWS = 3
CELL_RELAX_MODES = ("eos", "stress")


class GpawRunError(AtomflowError, RuntimeError):
    """The GPAW subprocess failed; the message names its directory and the end of its output."""


def relax(structure: Structure | Atoms, spec: CalculatorSpec | str, *, relax_cell: bool = False,
          relax_ions: bool = True, fmax: float = PAPER_FMAX, max_steps: int = RELAX_MAX_STEPS, optimizer: str = "BFGS",
          hydrostatic_only: bool = False, stress_tol: float = 1e-4,
          ase_driver: Callable[..., RunResult], initial_hessian: np.ndarray | None = None) -> RunResult:
    """:func:`atomflow.jobs.ase_run.relax` with GPAW, in the ``gpaw_cmd`` subprocess (see the module).

    ``ase_driver``: ASE's relaxation (:func:`atomflow.jobs.ase_run.relax_with_ase`), run with GPAW.
    """
    spec = CalculatorSpec.parse(spec)
    require_backend(spec)  # gpaw importable here: the clear error before anything starts
    cell_relax_mode(spec)
    kwargs = {"relax_cell": relax_cell, "relax_ions": relax_ions, "fmax": fmax, "max_steps": max_steps,
              "optimizer": optimizer, "hydrostatic_only": hydrostatic_only, "stress_tol": stress_tol}
    if initial_hessian is not None:  # the seed's curvature (atomflow.seed_hessian): ASE's optimizer takes it
        kwargs["initial_hessian"] = np.asarray(initial_hessian, float)
    atoms = to_atoms(structure)
    if not get_settings().gpaw_cmd.strip():
        return relax_here(atoms, spec, ase_driver, **kwargs)
    out = _run_subprocess("relax", {"atoms": [atoms], "spec": spec.model_dump(), "kwargs": kwargs,
                                    "ase_driver": _reference(ase_driver)})
    return _decode_run(out)


def run_neb(initial: Structure | Atoms, final: Structure | Atoms, spec: CalculatorSpec | str, *,
            ase_driver: Callable[..., NEBRun], **options: Any) -> NEBRun:
    """:func:`atomflow.neb.run.run_neb` with GPAW, in the ``gpaw_cmd`` subprocess.

    ``ase_driver``: ASE's NEB (:func:`atomflow.neb.run.run_neb_with_ase`), run with GPAW.
    """
    spec = CalculatorSpec.parse(spec)
    require_backend(spec)
    if not get_settings().gpaw_cmd.strip():
        with one_blas_thread():
            return ase_driver(initial, final, _logged(spec), **options)
    out = _run_subprocess("neb", {"atoms": [to_atoms(initial), to_atoms(final)], "spec": spec.model_dump(),
                                  "kwargs": options, "ase_driver": _reference(ase_driver)})
    return NEBRun(images=out["images"], energies=np.asarray(out["energies"]),
                  image_max_forces=np.asarray(out["image_max_forces"]), converged=out["converged"],
                  n_steps=out["n_steps"], n_force_calls=out["n_force_calls"],
                  climbing_index=out["climbing_index"], wall_time=out["wall_time"], stages=out["stages"])


def cell_relax_mode(spec: CalculatorSpec) -> str:
    mode = spec.parameters.get("cell_relax", "eos")
    if mode not in CELL_RELAX_MODES:
        raise InputError(f"gpaw:cell_relax must be one of {', '.join(CELL_RELAX_MODES)}, got {mode!r}.")
    return mode


def relax_here(atoms: Atoms, spec: CalculatorSpec, ase_driver: Callable[..., RunResult],
               **kwargs: Any) -> RunResult:
    """The relaxation in this process (the subprocess's work; also ``gpaw_cmd=''``)."""
    spec = _logged(spec)
    with one_blas_thread():
        if kwargs["relax_cell"] and cell_relax_mode(spec) == "eos" and not kwargs["hydrostatic_only"]:
            eos_kwargs = {k: v for k, v in kwargs.items() if k not in ("relax_cell", "hydrostatic_only")}
            return relax_cell_by_eos(atoms, spec, ase_driver, **eos_kwargs)
        return ase_driver(atoms, spec, **kwargs)


@contextmanager
def one_blas_thread():
    """One BLAS thread while GPAW runs in this process (OpenBLAS's own threads made it 9× slower here)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # without threadpoolctl only the environment (OPENBLAS_NUM_THREADS) decides
        yield
        return
    import _gpaw  # noqa: F401  (loads the BLAS GPAW links, so the limit reaches it)

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def relax_cell_by_eos(atoms: Atoms, spec: CalculatorSpec, ase_driver: Callable[..., RunResult], *,
                      relax_ions: bool = True, fmax: float = PAPER_FMAX,
                      max_steps: int = RELAX_MAX_STEPS, optimizer: str = "BFGS", stress_tol: float = 1e-4,
                      points: int = EOS_POINTS, span: float = EOS_SPAN) -> RunResult:
    """Cell relaxation whose volume comes from a Birch–Murnaghan fit (see the module docstring)."""
    from ase.eos import EquationOfState

    runs = [ase_driver(atoms, spec, relax_cell=True, relax_ions=relax_ions, fmax=fmax,
                           max_steps=max_steps, optimizer=optimizer, stress_tol=stress_tol)]
    shape = runs[0].atoms
    v_start = shape.get_volume()

    def at_volume(volume: float) -> RunResult:
        scaled = shape.copy()
        scaled.set_cell(shape.cell * (volume / v_start) ** (1 / 3), scale_atoms=True)
        free = relax_ions and len(scaled) > 1  # a one-atom cell has no internal coordinates
        return ase_driver(scaled, spec, relax_ions=free, fmax=fmax, max_steps=max_steps if free else 0,
                              optimizer=optimizer)

    # A large Pulay stress (low cutoff) can put the minimum outside the first window: move the window
    # towards the fitted minimum and fit all points again, at most MAX_WINDOWS times.
    volumes: list[float] = []
    energies: list[float] = []
    centre, inside, v0 = v_start, False, v_start
    for _ in range(EOS_MAX_WINDOWS):
        window = centre * (1 + np.linspace(-span, span, points))
        curve = [at_volume(v) for v in window]
        runs += curve
        volumes += list(window)
        energies += [r.energy for r in curve]
        v0, _, _ = EquationOfState(volumes, energies, eos="birchmurnaghan").fit(warn=False)
        inside = min(volumes) < v0 < max(volumes)
        if inside:
            break
        lowest = volumes[int(np.argmin(energies))]
        centre = lowest * (1 + (span if v0 > lowest else -span))
    final = at_volume(float(v0) if inside else v_start)
    runs.append(final)
    return RunResult(
        atoms=final.atoms, energy=final.energy, forces=final.forces, stress=final.stress,
        n_steps=sum(r.n_steps for r in runs), n_calls=sum(r.n_calls for r in runs),
        converged=inside and all(r.converged for r in runs),
        energies=[e for r in runs for e in (r.energies or [r.energy])],
    )


def _logged(spec: CalculatorSpec) -> CalculatorSpec:
    """The spec with GPAW's text log into the run directory (not a calculator setting: no provenance)."""
    if "txt" in spec.parameters:
        return spec
    return CalculatorSpec(name=spec.name, parameters={**spec.parameters, "txt": "gpaw.txt"})


# --- the subprocess ---------------------------------------------------------------------------------------

_SCRIPT = "from atomflow.calculators.backends.gpaw.driver import worker_main\n\nworker_main()\n"


def _reference(function: Callable) -> str:
    """``module:name`` of a module-level function, for the subprocess to import it (as pickle would)."""
    return f"{function.__module__}:{function.__qualname__}"


def _resolve(reference: str) -> Callable:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def gpaw_command() -> list[str]:
    """``settings.gpaw_cmd`` split, with ``gpaw`` found next to this Python when it is not on PATH."""
    cmd = shlex.split(get_settings().gpaw_cmd)
    local = Path(sys.executable).with_name("gpaw")
    return [str(local) if part == "gpaw" and shutil.which("gpaw") is None and local.exists() else part
            for part in cmd]


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(key, "1")  # MPI ranks, not BLAS threads (measured: threads were slower)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
        env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return env


def _run_subprocess(task: str, payload: dict[str, Any]) -> dict[str, Any]:
    from ase.io.jsonio import decode, encode

    directory = Path(tempfile.mkdtemp(prefix=f"gpaw-{task}-", dir=Path.cwd()))
    (directory / "input.json").write_text(encode({"task": task, **payload}))
    (directory / "run.py").write_text(_SCRIPT)
    cmd = [*gpaw_command(), "run.py"]
    with open(directory / "stdout.txt", "w") as out, open(directory / "stderr.txt", "w") as err:
        code = subprocess.call(cmd, cwd=directory, env=_environment(), stdout=out, stderr=err)
    result = directory / "output.json"
    if code != 0 or not result.is_file():
        tail = "\n".join(((directory / "stderr.txt").read_text(errors="replace")
                          or (directory / "stdout.txt").read_text(errors="replace")).splitlines()[-15:])
        raise GpawRunError(f"GPAW ({' '.join(cmd)}) failed in {directory} with exit status {code}:\n{tail}")
    return decode(result.read_text())


def worker_main() -> None:
    """Entry point of ``run.py``: every MPI rank computes; rank 0 writes ``output.json``."""
    from ase.io.jsonio import decode, encode
    from ase.parallel import world

    try:
        job = decode(Path("input.json").read_text())
        spec = CalculatorSpec.model_validate(job["spec"])
        ase_driver = _resolve(job["ase_driver"])
        if job["task"] == "relax":
            out = _encode_run(relax_here(job["atoms"][0], spec, ase_driver, **job["kwargs"]))
        else:
            band = ase_driver(job["atoms"][0], job["atoms"][1], _logged(spec), **job["kwargs"])
            out = {"images": band.images, "energies": band.energies, "image_max_forces": band.image_max_forces,
                   "converged": band.converged, "n_steps": band.n_steps, "n_force_calls": band.n_force_calls,
                   "climbing_index": band.climbing_index, "wall_time": band.wall_time, "stages": band.stages}
    except Exception:
        print(traceback.format_exc(), file=sys.stderr, flush=True)
        world.abort(1) if world.size > 1 else sys.exit(1)
        return
    if world.rank == 0:
        Path("output.json").write_text(encode(out))


def _encode_run(result: RunResult) -> dict[str, Any]:
    return {"atoms": result.atoms, "energy": result.energy, "forces": result.forces, "stress": result.stress,
            "n_steps": result.n_steps, "n_calls": result.n_calls, "converged": result.converged,
            "energies": [float(e) for e in result.energies]}


def _decode_run(out: dict[str, Any]) -> RunResult:
    return RunResult(atoms=out["atoms"], energy=float(out["energy"]), forces=np.asarray(out["forces"]),
                     stress=np.asarray(out["stress"]), n_steps=int(out["n_steps"]), n_calls=int(out["n_calls"]),
                     converged=bool(out["converged"]), energies=list(out["energies"]))


__all__ = ["GpawRunError", "cell_relax_mode", "one_blas_thread", "relax", "relax_cell_by_eos", "run_neb", "worker_main"]
