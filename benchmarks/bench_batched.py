"""Batched vs per-image evaluation of NEB images (atomflow.neb.batched), 5 images of the NaCl hop.

    .venv/bin/python benchmarks/bench_batched.py                         # SevenNet-0 and CHGNet, CPU, ~6 min
    .venv/bin/python benchmarks/bench_batched.py --calculator sevennet --device cuda

Per calculator, on the relaxed end points of the Na-vacancy NN hop in 2×2×2 NaCl (63 atoms):

1. one band evaluation (5 intermediate images, energies + forces): per-image calculators vs one batched
   model call, alternated ``--repeat`` times, median wall time of each;
2. a whole CI-NEB (atomflow defaults, fmax 0.01 eV/Å) with ``batched=False`` and ``batched=True``:
   wall time, force calls (must be equal: same trajectory), model calls, barrier difference.

Target (issue 7): batched ≤ 0.5× the per-image wall time. The figures show where batching pays on CPU
and where it does not (each ML backend's ``batch_pays`` in atomflow/calculators/backends/ follows them).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

import _common as c


def band_images(initial, final, n_images: int):
    from atomflow.neb.path import interpolate_band

    images = interpolate_band(initial, final, n_images, "idpp")
    return images[1:-1]


def per_image_eval(images, spec):
    from atomflow.calculators import get_calculator

    out = []
    for image in images:
        atoms = image.copy()
        atoms.calc = get_calculator(spec)
        out.append((atoms.get_potential_energy(), atoms.get_forces()))
    return out


def main(argv=None) -> int:
    p = c.parser(__doc__.splitlines()[0])
    p.set_defaults(calculator="sevennet,chgnet")
    p.add_argument("--repeat", type=int, default=5, help="band evaluations per method (median taken)")
    p.add_argument("--n-images", type=int, default=5)
    p.add_argument("--no-neb", action="store_true", help="only the band evaluations, not the whole CI-NEB")
    args = p.parse_args(argv)
    names = args.calculator.split(",")
    rows, checks = [], []
    for name in names:
        args.calculator = name
        spec = c.start(args)
        c.header(f"bench_batched: {args.n_images} images, NaCl hop (63 atoms)", args, spec)
        from atomflow.neb import run_neb
        from atomflow.neb.batched import batch_evaluator

        initial, final = c.nacl_hop(spec)
        images = band_images(initial, final, args.n_images)
        evaluate = batch_evaluator(spec)
        single, batched = [], []
        per_image_eval(images, spec), evaluate(images)  # warm-up (allocators, first-call work)
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            reference = per_image_eval(images, spec)
            single.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            result = evaluate(images)
            batched.append(time.perf_counter() - t0)
        de = max(abs(a[0] - b[0]) for a, b in zip(reference, result))
        df = max(np.abs(a[1] - b[1]).max() for a, b in zip(reference, result))
        row = {"calculator": spec.label, "band_single": statistics.median(single),
               "band_batched": statistics.median(batched), "max_dE": de, "max_dF": df}
        row["band_ratio"] = row["band_batched"] / row["band_single"]
        print(f"  … band: per-image {row['band_single']:.3f} s, batched {row['band_batched']:.3f} s, "
              f"|ΔE| ≤ {de:.1e} eV, |ΔF| ≤ {df:.1e} eV/Å", flush=True)
        if not args.no_neb:
            runs = {}
            for flag in (False, True):
                t0 = time.perf_counter()
                runs[flag] = run_neb(initial, final, spec, n_images=args.n_images, batched=flag)
                runs[flag].wall = time.perf_counter() - t0
            one, many = runs[False], runs[True]
            row.update(neb_single=one.wall, neb_batched=many.wall, neb_ratio=many.wall / one.wall,
                       calls_single=one.n_force_calls, calls_batched=many.n_force_calls,
                       model_calls=many.n_model_calls,
                       d_barrier=float((many.energies.max() - many.energies[0])
                                       - (one.energies.max() - one.energies[0])))
            print(f"  … CI-NEB: per-image {one.wall:.1f} s ({one.n_force_calls} calls), batched {many.wall:.1f} s "
                  f"({many.n_force_calls} calls in {many.n_model_calls} model calls)", flush=True)
        rows.append(row)
        checks.append(c.verdict(f"{spec.label}: batched / per-image wall (band)", row["band_ratio"], 0.5))
        if "neb_ratio" in row:
            checks.append(c.verdict(f"{spec.label}: batched / per-image wall (CI-NEB)", row["neb_ratio"], 0.5))
    print()
    c.table(rows, [("calculator", "calculator", ""), ("band_single", "band per-image s", ".3f"),
                   ("band_batched", "band batched s", ".3f"), ("band_ratio", "band ×", ".2f"),
                   ("neb_single", "NEB per-image s", ".1f"), ("neb_batched", "NEB batched s", ".1f"),
                   ("neb_ratio", "NEB ×", ".2f"), ("calls_single", "calls", "d"), ("calls_batched", "calls b.", "d"),
                   ("model_calls", "model calls b.", "d"), ("d_barrier", "Δbarrier eV", "+.1e"),
                   ("max_dE", "max|ΔE| eV", ".1e"), ("max_dF", "max|ΔF| eV/Å", ".1e")])
    print("\n  × = batched / per-image (below 1: batching is faster)")
    c.dump(args.json, {"benchmark": "bench_batched", "rows": rows, "checks": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
