"""Vineyard attempt frequency: local Hessian (hopping atom + neighbours within a cutoff, as EON does) vs the
full Γ Hessian of the defect cell, same hop, same refined minimum and saddle.

    .venv/bin/python benchmarks/bench_hessian.py                    # NaCl (fumi_tosi) + bcc Na (kim MEAM), ~2 min
    .venv/bin/python benchmarks/bench_hessian.py --with-mlip         # + NaCl and bcc Na with --calculator (SevenNet-0)

For each hop (nearest-neighbour Na-vacancy hop, supercell ≥ 10 Å, bulk and end points relaxed, CI-NEB at
atomflow's defaults) ``atomflow.rates.attempt_frequency`` is run with ``hessian="full"`` and
``climbing_modes="hessian"`` (the baseline: every Hessian full, the climbing image's included), then with
``hessian="symmetric"`` (the same full Hessian from phonopy's symmetry-distinct displacements in a 1×1×1
supercell) with the climbing image's modes from that Hessian and from Lanczos iterations
(``climbing_modes="lanczos"``), and ``hessian="local"`` at each ``--cutoffs`` radius (Lanczos at the climbing
image), one after the other in this process. Every run refines the minimum (BFGS) and the saddle (dimer) to
1e-3 eV/Å itself, so the force calls compared are the whole cost of ν*. Target (issue 17): ≤ 0.2× the full
run's force calls with ν* within 10 %. ``--kinds`` picks a subset (e.g. ``--kinds full symmetric+lanczos``).
"""

from __future__ import annotations

import sys

import numpy as np

import _common as c

DEFAULT_CUTOFFS = (3.0, 4.0)  # Å (3.5 and 4.5 Å: benchmarks/README.md, no better)
#: (label, Hessian kind, climbing-image modes); the first is the baseline of the ratios
KINDS = {"full": ("full", "hessian"), "symmetric+hessian": ("symmetric", "hessian"),
         "symmetric+lanczos": ("symmetric", "lanczos"), "local": ("local", "lanczos")}


def systems(mlip=None, only_mlip=False):
    from atomflow.structures.builders import bcc_na, rocksalt_nacl

    out = [] if only_mlip else [("NaCl", "fumi_tosi", rocksalt_nacl()), ("bcc Na", "kim", bcc_na())]
    if mlip is not None:
        out += [("NaCl", mlip, rocksalt_nacl()), ("bcc Na", mlip, bcc_na())]
    return out


def band(structure, spec):
    """Relaxed end points of the shortest Na hop and its CI-NEB band: (initial, climbing image, tangent, moving)."""
    from atomflow.jobs.ase_run import relax
    from atomflow.neb import MigrationMaker, run_neb
    from atomflow.neb.analysis import mic_displacements

    relaxed = relax(structure, spec, relax_cell=True)
    maker = MigrationMaker(calculator=spec, species="Na", supercell_min_length=10.0)
    ep = min(maker.endpoints(relaxed.structure), key=lambda e: e.hop.length)
    initial, final = relax(ep.initial, spec).atoms, relax(ep.final, spec).atoms
    neb = run_neb(initial, final, spec)
    k = neb.climbing_index
    images = neb.images
    tangent = mic_displacements(images[k - 1].positions, images[k + 1].positions, np.asarray(images[0].cell))
    barrier = float(neb.energies.max() - neb.energies[0])
    return images[0], images[k], tangent, ep.moving_index, barrier


def main(argv=None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--with-mlip", action="store_true", help="also both hops with --calculator (default SevenNet-0)")
    p.add_argument("--only-mlip", action="store_true", help="only the --calculator hops (implies --with-mlip)")
    p.add_argument("--cutoffs", type=float, nargs="+", default=DEFAULT_CUTOFFS, help="local radii, Å")
    p.add_argument("--systems", nargs="+", default=["NaCl", "bcc Na"], choices=["NaCl", "bcc Na"],
                   help="which hops, in this order")
    p.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS),
                   help="which runs (the ratios are to the first)")
    args = p.parse_args(argv)
    mlip = c.start(args)
    from atomflow.rates import VineyardSettings, attempt_frequency

    c.header("bench_hessian: Vineyard ν*, local vs full Hessian", args, mlip)
    rows, checks = [], []
    chosen = [x for x in systems(mlip if args.with_mlip or args.only_mlip else None, args.only_mlip)
              if x[0] in args.systems]
    for label, spec, structure in sorted(chosen, key=lambda x: args.systems.index(x[0])):
        initial, climbing, tangent, moving, barrier = band(structure, spec)
        name = f"{label} ({spec}, {len(initial)} atoms)"
        runs = [(k, r) for k in args.kinds for r in (args.cutoffs if k == "local" else [None])]
        base = None
        for kind, radius in runs:
            hessian, climbing_modes = KINDS[kind]
            settings = VineyardSettings(hessian=hessian, climbing_modes=climbing_modes,
                                        **({"cutoff": radius} if radius else {}))
            with c.timer() as t:
                r = attempt_frequency(initial, climbing, tangent, moving, spec, settings)
            row = {"system": name, "hessian": kind if radius is None else f"local {radius:g} Å",
                   "atoms": r["n_hessian_atoms"], "calls": r["n_force_calls"], "wall": t["wall"],
                   "nu": None if r["nu_star_hz"] is None else r["nu_star_hz"] / 1e12,
                   "imag": f"{r['n_imaginary_min']}/{r['n_imaginary_climbing_image']}/{r['n_imaginary_saddle']}",
                   "e_neb": barrier, "e_first": r["barrier_first_order_eV"], "flags": ",".join(r["flags"]) or "-"}
            if base is None:
                base = row
            row["calls_ratio"] = row["calls"] / base["calls"]
            row["nu_ratio"] = (row["nu"] / base["nu"]) if row["nu"] and base["nu"] else None
            rows.append(row)
            print(f"  … {name} {row['hessian']}: {row['calls']} calls, ν* = {row['nu']} THz", flush=True)
    print()
    c.table(rows, [("system", "system", ""), ("hessian", "Hessian", ""), ("atoms", "atoms displaced", "d"),
                   ("calls", "force calls", "d"), ("wall", "wall s", ".1f"), ("nu", "ν* THz", ".3f"),
                   ("imag", "imag min/CI/saddle", ""), ("e_neb", "E_a NEB eV", ".4f"),
                   ("e_first", "E_a 1st-order eV", ".4f"), ("calls_ratio", "calls ×", ".3f"),
                   ("nu_ratio", "ν* ×", ".3f"), ("flags", "flags", "")])
    print("\n  ratios relative to the full Hessian of the same hop; the force calls include the tight minimum")
    print("  (BFGS) and the dimer saddle refinement, which every kind does identically")
    for kind in sorted({r["hessian"] for r in rows} - {rows[0]["hessian"]}):
        sel = [r for r in rows if r["hessian"] == kind and r["nu_ratio"] is not None]
        if sel:
            checks.append(c.verdict(f"{kind}: worst calls ratio", max(r["calls_ratio"] for r in sel), 0.2))
            checks.append(c.verdict(f"{kind}: worst |ν* ratio − 1|", max(abs(r["nu_ratio"] - 1) for r in sel), 0.10))
    c.dump(args.json, {"benchmark": "bench_hessian", "rows": rows, "checks": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
