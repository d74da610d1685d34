"""CI-NEB force calls and wall time: atomflow's defaults vs plain-ASE baselines, same relaxed end points.

    .venv/bin/python benchmarks/bench_neb.py                       # SevenNet-0, CPU, ~10 min on 2 cores
    .venv/bin/python benchmarks/bench_neb.py --calculator fumi_tosi --schemes   # + the scheme table (s)

System: Na-vacancy nearest-neighbour hop in 2×2×2 NaCl (63 atoms), bulk and end points relaxed with the
same calculator (BFGS, 0.01 eV/Å). Every run: 5 images, spring 5 eV/Å², improved tangent, every force on
every image (climbing image included) below 0.01 eV/Å, at most 1000 optimizer steps.

- ``linear + CI + BFGS``: matcalc's NEBCalc scheme (straight-line band, climbing image from the first
  step, ASE BFGS), written here with plain ASE.
- ``IDPP + CI + FIRE``: ASE's documented recipe (IDPP band, climbing image from the start, FIRE).
- ``atomflow``: :func:`atomflow.neb.run_neb` with its defaults.

Force calls = single-structure evaluations (one per image per step, end points once), counted by
wrapping the calculator class's ``calculate`` for all runs alike. Targets (issue 7): atomflow ≤ 0.5× the
force calls and ≤ 0.5× the wall time of the linear/BFGS baseline, barrier within 0.02 eV of it.
``--schemes`` adds atomflow's run_neb with other optimizers / climbing schedules (the table behind the
default choice, atomflow/neb/optimizers.py).
"""

from __future__ import annotations

import sys

import numpy as np

import _common as c


def plain_ase_neb(initial, final, spec, *, interpolation: str, optimizer: str, n_images=5, k=5.0,
                  fmax=0.01, max_steps=1000) -> dict:
    """A CI-NEB the way a script using ASE alone runs it: climbing image on from the first step."""
    from ase.mep import NEB
    from ase.optimize import BFGS, FIRE

    from atomflow.calculators import get_calculator

    images = [initial.copy() for _ in range(n_images + 1)] + [final.copy()]
    for image in images:
        image.calc = get_calculator(spec)
    band = NEB(images, k=k, climb=True, method="improvedtangent")
    band.interpolate(method=interpolation, mic=True, apply_constraint=False)
    opt = {"BFGS": BFGS, "FIRE": FIRE}[optimizer](band, logfile=None)
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    forces = np.linalg.norm(band.get_forces().reshape(n_images, -1, 3), axis=2).max()
    energies = np.array([image.get_potential_energy() for image in images])
    return {"converged": converged and forces < fmax, "steps": int(opt.nsteps), "fmax_final": float(forces),
            "barrier": float(energies.max() - energies[0])}


def atomflow_neb(initial, final, spec, **options) -> dict:
    from atomflow.neb import run_neb

    run = run_neb(initial, final, spec, **options)
    return {"converged": run.converged, "steps": run.n_steps, "fmax_final": run.max_force,
            "barrier": float(run.energies.max() - run.energies[0]), "batched": run.batched}


SCHEMES = [  # (label, run_neb options) for --schemes
    ("atomflow FIRE, preconverge 0.05 (old default)", {"optimizer": "FIRE", "preconverge_fmax": 0.05}),
    ("atomflow FIRE, climb from start", {"optimizer": "FIRE", "preconverge_fmax": None}),
    ("atomflow MDMin, preconverge 0.05", {"optimizer": "MDMin", "preconverge_fmax": 0.05}),
    ("atomflow LBFGS (α=70), preconverge 0.05", {"optimizer": "LBFGS", "preconverge_fmax": 0.05}),
    ("atomflow BFGS, preconverge 0.05", {"optimizer": "BFGS", "preconverge_fmax": 0.05}),
    ("atomflow GuardedLBFGS, climb from start", {"optimizer": "GuardedLBFGS", "preconverge_fmax": None}),
    ("atomflow GuardedLBFGS, preconverge 0.1", {"optimizer": "GuardedLBFGS", "preconverge_fmax": 0.1}),
]


def main(argv=None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--schemes", action="store_true", help="also run the scheme table (more atomflow runs)")
    p.add_argument("--max-steps", type=int, default=1000)
    args = p.parse_args(argv)
    spec = c.start(args)
    c.header("bench_neb: CI-NEB, NaCl Na-vacancy NN hop (63 atoms), fmax 0.01 eV/Å", args, spec)

    from atomflow.neb.batched import BandImageCalculator

    initial, final = c.nacl_hop(spec)  # also loads the model: no run below pays for it
    runs = [
        ("linear + CI + BFGS (matcalc-style)", lambda: plain_ase_neb(initial, final, spec, interpolation="linear",
                                                                     optimizer="BFGS", max_steps=args.max_steps)),
        ("IDPP + CI + FIRE (ASE)", lambda: plain_ase_neb(initial, final, spec, interpolation="idpp",
                                                         optimizer="FIRE", max_steps=args.max_steps)),
        ("atomflow (defaults)", lambda: atomflow_neb(initial, final, spec, max_steps=args.max_steps)),
    ]
    if args.schemes:
        runs += [(label, (lambda o=o: atomflow_neb(initial, final, spec, max_steps=args.max_steps, **o)))
                 for label, o in SCHEMES]
    rows = []
    for label, run in runs:
        with c.CallCounter([c.calculator_class(spec), BandImageCalculator]) as count, c.timer() as t:
            row = run()
        row.update(run=label, calls=count.n, wall=t["wall"])
        rows.append(row)
        print(f"  … {label}: {count.n} calls, {t['wall']:.1f} s, converged {row['converged']}", flush=True)

    base = rows[0]
    for row in rows:
        row["calls_ratio"] = row["calls"] / base["calls"]
        row["wall_ratio"] = row["wall"] / base["wall"]
        row["d_barrier"] = row["barrier"] - base["barrier"]
        row["status"] = "converged" if row["converged"] else f"NOT converged ({row['steps']} steps)"
    print()
    c.table(rows, [("run", "run", ""), ("calls", "force calls", "d"), ("steps", "steps", "d"),
                   ("wall", "wall s", ".1f"), ("barrier", "barrier eV", ".4f"), ("calls_ratio", "calls ×", ".2f"),
                   ("wall_ratio", "wall ×", ".2f"), ("d_barrier", "Δbarrier eV", "+.4f"), ("status", "status", "")])
    print("\n  ratios are relative to the first row (linear + CI + BFGS)")
    ours = next(r for r in rows if r["run"] == "atomflow (defaults)")
    if not base["converged"]:
        print("  NOTE: the linear/BFGS baseline did not converge within its step limit; its figures are a floor.")
    checks = [c.verdict("atomflow / baseline force calls", ours["calls_ratio"], 0.5),
              c.verdict("atomflow / baseline wall time", ours["wall_ratio"], 0.5),
              c.verdict("|Δ barrier| vs baseline (eV)", abs(ours["d_barrier"]), 0.02)]
    c.dump(args.json, {"benchmark": "bench_neb", "calculator": spec.label, "rows": rows, "checks": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
