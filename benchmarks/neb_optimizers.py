"""NEB optimizer survey: atomflow's default (GuardedLBFGS) vs FIRE on vacancy hops of several crystals.

    .venv/bin/python benchmarks/neb_optimizers.py                    # classical potentials, ~3 min on 2 cores
    .venv/bin/python benchmarks/neb_optimizers.py --with-mlip        # + bcc Na with SevenNet-0 (--calculator)

The figures behind the default optimizer (atomflow/neb/optimizers.py, atomflow/neb/run.py): for each
system the nearest-neighbour vacancy hop (supercell ≥ 10 Å, bulk and end points relaxed with the same
calculator) runs with atomflow's run_neb and its defaults (IDPP, 5 images, preconverged to 0.05 eV/Å
without climbing, then CI to 0.01 eV/Å), once with GuardedLBFGS and once with FIRE. Printed: force calls,
whether and when GuardedLBFGS handed over to FIRE, barrier of each.
"""

from __future__ import annotations

import sys

import _common as c

FCC = ("Cu", "Al", "Ni", "Ag", "Au", "Pt", "Pd")


def systems(mlip=None):
    """(label, calculator, hopping element, bulk structure)."""
    from ase.build import bulk
    from pymatgen.io.ase import AseAtomsAdaptor

    from atomflow.structures.builders import bcc_na, rocksalt_nacl

    out = [("NaCl rock salt", "fumi_tosi", "Na", rocksalt_nacl()), ("bcc Na", "kim", "Na", bcc_na())]
    out += [(f"fcc {el}", "emt", el, AseAtomsAdaptor.get_structure(bulk(el, "fcc", cubic=True))) for el in FCC]
    if mlip is not None:
        out.append(("bcc Na", mlip, "Na", bcc_na()))
    return out


def hop(structure, spec, species: str):
    from atomflow.jobs.ase_run import relax
    from atomflow.neb import MigrationMaker

    relaxed = relax(structure, spec, relax_cell=True)
    maker = MigrationMaker(calculator=spec, species=species, supercell_min_length=10.0)
    shortest = min(maker.endpoints(relaxed.structure), key=lambda ep: ep.hop.length)
    return relax(shortest.initial, spec).atoms, relax(shortest.final, spec).atoms


def main(argv=None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.add_argument("--with-mlip", action="store_true",
                   help="also bcc Na with --calculator's ML potential (default SevenNet-0; ~2 min more)")
    args = p.parse_args(argv)
    mlip = c.start(args)
    from atomflow.neb import run_neb

    rows = []
    for label, spec, species, structure in systems(mlip if args.with_mlip else None):
        initial, final = hop(structure, spec, species)
        runs = {opt: run_neb(initial, final, spec, optimizer=opt) for opt in ("GuardedLBFGS", "FIRE")}
        g, f = runs["GuardedLBFGS"], runs["FIRE"]
        handed = [s["fallback_at_step"] for s in g.stages if s.get("fallback_at_step") is not None]
        row = {"system": f"{label} ({spec}, {len(initial)} atoms)", "calls_g": g.n_force_calls,
               "calls_f": f.n_force_calls, "ratio": g.n_force_calls / f.n_force_calls,
               "fallback": f"step {handed[0]}" if handed else "no",
               "barrier_g": float(g.energies.max() - g.energies[0]),
               "barrier_f": float(f.energies.max() - f.energies[0]),
               "ok": "yes" if g.converged and f.converged else f"G {g.converged} / F {f.converged}"}
        rows.append(row)
        print(f"  … {row['system']}: GuardedLBFGS {g.n_force_calls}, FIRE {f.n_force_calls}", flush=True)
    print()
    c.table(rows, [("system", "system", ""), ("calls_g", "GuardedLBFGS calls", "d"), ("calls_f", "FIRE calls", "d"),
                   ("ratio", "×", ".2f"), ("fallback", "hand-over to FIRE", ""),
                   ("barrier_g", "barrier G eV", ".4f"), ("barrier_f", "barrier F eV", ".4f"),
                   ("ok", "both converged", "")])
    c.dump(args.json, {"benchmark": "neb_optimizers", "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
