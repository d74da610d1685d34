"""Framework overhead: a paper-study subset through jobflow + the results store vs the same calculations in a
bare ASE loop; and the study's peak memory.

    .venv/bin/python benchmarks/bench_overhead.py                 # the whole paper study, SevenNet-0, ~9 min
    .venv/bin/python benchmarks/bench_overhead.py --subset        # NaCl + bcc Na only, ~1.5 min

1. The study (workflows/paper.py; with --subset the same makers and settings for NaCl and bcc Na only:
   elastic tensors with the x stress–strain curve, the NaCl Na-vacancy formation energy with μ(Na) from
   bcc Na, the NaCl Na-vacancy CI-NEB) runs as `atomflow run` does: :func:`atomflow.runner.run_flow` into a fresh
   embedded store in a temporary results directory. Every relaxation / single point / NEB it computes
   is recorded (inputs and settings) on the way.
2. The bare loop redoes exactly those calculations with ASE alone: BFGS (+ FrechetCellFilter for cells),
   ase.mep NEB, no jobflow, no store, no documents.

Both count calculator calls on the calculator class; they must match. Target (issue 7): study / bare
wall time ≤ 1.10. Peak memory is the whole process's ru_maxrss right after the study (model included).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

import _common as c


def subset_flow(calculator):
    """workflows/paper.py's flow for NaCl and bcc Na (same makers, same settings)."""
    from jobflow import Flow

    from atomflow.elastic import ElasticMaker
    from atomflow.neb import MigrationMaker
    from atomflow.structures.builders import bcc_na, rocksalt_nacl
    from atomflow.vacancy import VacancyFormationMaker

    sys.path.insert(0, str(c.ROOT / "workflows"))
    from paper import MIN_LENGTH

    jobs = []
    for key, structure, label in (("NaCl", rocksalt_nacl(), "NaCl rock salt"), ("Na", bcc_na(), "bcc Na")):
        common = {"calculator": calculator, "label": label, "stand_in": False}
        jobs.append(ElasticMaker(name=f"elastic {key}", stress_strain_directions=(0,), **common).make(structure))
        if key == "Na":
            continue
        jobs.append(VacancyFormationMaker(name=f"vacancy {key}", min_length=MIN_LENGTH, **common).make(structure))
        jobs.append(MigrationMaker(name=f"migration {key}", supercell_min_length=MIN_LENGTH, **common).make(structure))
    return Flow(jobs, name="paper study (NaCl, bcc Na)")


class Recorder:
    """Records every calculation the study computes (relax_with_ase, run_neb_with_ase) with its inputs."""

    def __init__(self):
        import atomflow.jobs.ase_run as ase_run
        import atomflow.neb.run as neb_run

        self.modules = (ase_run, neb_run)
        self.calls: list[tuple[str, tuple, dict]] = []
        self._relax, self._neb = ase_run.relax_with_ase, neb_run.run_neb_with_ase

    def __enter__(self):
        ase_run, neb_run = self.modules

        def relax(structure, spec, **kw):
            self.calls.append(("relax", (structure.copy(), spec), dict(kw)))
            return self._relax(structure, spec, **kw)

        def neb(initial, final, spec, **kw):
            self.calls.append(("neb", (initial.copy(), final.copy(), spec), dict(kw)))
            return self._neb(initial, final, spec, **kw)

        ase_run.relax_with_ase, neb_run.run_neb_with_ase = relax, neb
        return self

    def __exit__(self, *exc):
        ase_run, neb_run = self.modules
        ase_run.relax_with_ase, neb_run.run_neb_with_ase = self._relax, self._neb


def atoms_of(structure):
    from pymatgen.io.ase import AseAtomsAdaptor

    return structure.copy() if hasattr(structure, "get_positions") else AseAtomsAdaptor.get_atoms(structure)


def bare_relax(structure, spec, *, relax_cell=False, relax_ions=True, fmax=0.01, max_steps=1000,
               optimizer="BFGS", hydrostatic_only=False, stress_tol=1e-4):
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE, LBFGS

    from atomflow.calculators import get_calculator

    atoms = atoms_of(structure)
    atoms.calc = get_calculator(spec)
    if relax_ions or relax_cell:
        target = atoms
        if relax_cell:
            target = FrechetCellFilter(atoms, hydrostatic_strain=hydrostatic_only,
                                       exp_cell_factor=stress_tol * atoms.get_volume() / fmax)
        {"BFGS": BFGS, "FIRE": FIRE, "LBFGS": LBFGS}[optimizer](target, logfile=None).run(fmax=fmax, steps=max_steps)
    atoms.get_potential_energy(), atoms.get_forces()
    if atoms.pbc.all():
        atoms.get_stress()


def bare_neb(initial, final, spec, *, n_images, spring_constant, fmax, climb, optimizer, max_steps,
             preconverge_fmax, method, interpolation, batched=None):
    from ase.mep import NEB

    from atomflow.calculators import get_calculator
    from atomflow.neb.batched import attach_batched
    from atomflow.neb.run import NEB_OPTIMIZERS

    a, b = atoms_of(initial), atoms_of(final)
    images = [a.copy() for _ in range(n_images + 1)] + [b.copy()]
    NEB(images, allow_shared_calculator=True).interpolate(method=interpolation, mic=True, apply_constraint=False)
    if attach_batched(images, spec, batched) is None:  # the same evaluation path as the study's
        for image in images:
            image.calc = get_calculator(spec)
    band = NEB(images, k=spring_constant, climb=False, method=method)
    plan = ([(False, preconverge_fmax)] if climb and preconverge_fmax and preconverge_fmax > fmax else [])
    steps = max_steps
    for climbing, target in plan + [(climb, fmax)]:
        band.climb = climbing
        opt = NEB_OPTIMIZERS[optimizer](band, logfile=None)
        done = opt.run(fmax=target, steps=steps)
        steps -= opt.nsteps
        if not done:
            break
    band.get_forces()
    np.array([image.get_potential_energy() for image in images])


def main(argv=None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--subset", action="store_true", help="NaCl and bcc Na only (default: the whole paper study)")
    args = p.parse_args(argv)
    spec = c.start(args)
    results = Path(tempfile.mkdtemp(prefix="atomflow-bench-"))
    os.environ["ATOMFLOW_RESULTS_DIR"] = str(results)  # a fresh embedded store: nothing to reuse
    os.environ.pop("ATOMFLOW_STORE_URI", None)
    c.header("bench_overhead: paper study " + ("subset (NaCl, bcc Na)" if args.subset else "(full)")
             + " via jobflow + store vs bare ASE", args, spec)
    from rich.console import Console

    from atomflow.neb.batched import BandImageCalculator
    from atomflow.runner import run_flow
    from atomflow.workflows import load_workflow

    classes = [c.calculator_class(spec), BandImageCalculator]  # also loads the model: neither side pays for it
    flow = subset_flow(spec) if args.subset else load_workflow("paper").make_flow(spec)
    rss_before = c.peak_rss_mib()
    with Recorder() as recorder, c.CallCounter(classes) as count, c.timer() as t:
        summary = run_flow(flow, console=Console(file=io.StringIO()))
    study = {"run": "atomflow study (jobflow + embedded store)", "calls": count.n, "wall": t["wall"],
             "jobs": summary.done, "failed": summary.failed, "computed": len(recorder.calls)}
    peak = c.peak_rss_mib()
    print(f"  … study: {count.n} calls, {t['wall']:.1f} s, {summary.done} jobs ({summary.failed} failed), "
          f"{len(recorder.calls)} calculations, peak RSS {peak:.0f} MiB", flush=True)
    with c.CallCounter(classes) as count, c.timer() as t:
        for kind, inputs, kw in recorder.calls:
            (bare_relax if kind == "relax" else bare_neb)(*inputs, **kw)
    bare = {"run": "bare ASE loop (same calculations)", "calls": count.n, "wall": t["wall"],
            "computed": len(recorder.calls)}
    print(f"  … bare loop: {count.n} calls, {t['wall']:.1f} s", flush=True)
    rows = [bare, study]
    for row in rows:
        row["wall_ratio"] = row["wall"] / bare["wall"]
        row["per_call_ms"] = 1000 * row["wall"] / max(row["calls"], 1)
    print()
    c.table(rows, [("run", "run", ""), ("computed", "calculations", "d"), ("calls", "calculator calls", "d"),
                   ("wall", "wall s", ".1f"), ("per_call_ms", "ms / call", ".1f"), ("wall_ratio", "wall ×", ".3f")])
    print(f"\n  peak memory (ru_maxrss, whole process) after the study: {peak:.0f} MiB "
          f"(before it, model loaded: {rss_before:.0f} MiB)")
    if study["calls"] != bare["calls"]:
        print("  NOTE: call counts differ; compare ms / call")
    checks = [c.verdict("study / bare wall time", study["wall_ratio"], 1.10)]
    c.dump(args.json, {"benchmark": "bench_overhead", "calculator": spec.label, "rows": rows, "checks": checks,
                       "peak_rss_mib": peak, "rss_before_mib": rss_before, "full": not args.subset})
    return 0 if summary.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
