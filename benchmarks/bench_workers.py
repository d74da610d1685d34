"""`atomflow run interphases --workers 2` against `--workers 1`: wall time and the stored numbers.

    .venv/bin/python benchmarks/bench_workers.py                   # Na, NaCl, NaBr, NaI; SevenNet-0; ~5 min
    .venv/bin/python benchmarks/bench_workers.py --phases Na,NaCl  # the short check, ~2 min
    make bench-workers

Each run is the command a user types, in its own process with a fresh store and results folder:
``atomflow run interphases -c CALC --workers N --store DIR --no-report`` with ``ATOMFLOW_PHASES`` naming the
phases (each phase: relax, elastic tensor, Na-vacancy formation energy, CI-NEB of every distinct hop, phonons).
The wall time is the whole command's (process start, model loads, every job). The one-worker run leaves torch
and BLAS their default threads (every core, as `atomflow run` does); the N-worker run gives each worker
cores/N. Target (issue 15): wall(2 workers) / wall(1 worker) ≤ 0.6. Then both stores are read back and every
stored number compared: relaxed energies and lattices, elastic tensors, vacancy formation energies, CI-NEB
barriers, phonon frequencies at Γ and stability; the largest differences are printed.

The subset: the four smallest phases of the screening whose per-phase cost is similar (bcc Na and three
rock salts; in the study's log 20-35 s each), so that two workers get equal shares. NaF is left out: its short
lattice gives 216-atom defect cells and ~10 min on its own.
"""

from __future__ import annotations

import argparse
import os
import resource
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common as c

DEFAULT_PHASES = "Na,NaCl,NaBr,NaI"
SUMMARY = re.compile(r"(\d+) jobs finished, (\d+) failed; computed (\d+) and reused (\d+)")
ATOMFLOW = str(Path(sys.executable).parent / "atomflow")

#: Differences allowed between the two runs' stored numbers (the same inputs on 1 or 2 threads: float32
#: reductions in another order change the last digits, and a relaxation stops anywhere inside its criteria).
#: Lattice parameters are compared relatively: a cell relaxation stops at |σ| < 1e-4 eV/Å³ (0.016 GPa), which for
#: bcc Na (K ≈ 7 GPa) leaves a free to ≈ 8e-4 of itself; 1e-3 Å absolute was tighter than that criterion.
TOLERANCE = {"energy_eV": 1e-3, "lattice_rel": 1e-3, "C_GPa": 0.1, "E_f_eV": 1e-3, "barrier_eV": 1e-3,
             "gamma_THz": 0.05}


def run(workers: int, calculator: str, phases: str, folder: Path, threads: int | None = None) -> dict:
    """One command; ``threads`` (one-worker run only): torch and BLAS threads, None for the libraries' defaults."""
    env = {**os.environ, "ATOMFLOW_PHASES": phases, "ATOMFLOW_RESULTS_DIR": str(folder / "results")}
    env.pop("ATOMFLOW_STORE_URI", None)
    if workers == 1:
        env.pop("ATOMFLOW_TORCH_THREADS", None)  # the libraries' defaults, as a plain `atomflow run`
        if threads:
            from atomflow.parallel import THREAD_VARIABLES

            env.update({name: str(threads) for name in ("ATOMFLOW_TORCH_THREADS", *THREAD_VARIABLES)})
    store = folder / "store"
    command = [ATOMFLOW, "run", "interphases", "-c", calculator, "--workers", str(workers), "--store", str(store),
               "--no-report"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    found = SUMMARY.search(result.stdout)
    if result.returncode not in (0, 1) or not found:
        sys.exit(f"{' '.join(command)} failed (exit {result.returncode}):\n{result.stdout[-3000:]}\n"
                 f"{result.stderr[-3000:]}")
    done, failed, computed, reused = map(int, found.groups())
    return {"workers": workers, "wall": wall, "cpu": cpu, "cores_busy": cpu / wall, "jobs": done, "failed": failed,
            "computed": computed, "reused": reused, "store": str(store), "log": result.stdout}


def stored_numbers(store: str) -> dict[tuple, tuple[str, list[float]]]:
    """(property, formula, what) → (tolerance kind, numbers), one entry per distinct stored result."""
    from atomflow.results import Results

    r = Results(store)
    out: dict[tuple, tuple[str, list[float]]] = {}
    for doc in r.relaxations():
        key = ("relax", doc.formula, len(doc.structure), round(doc.structure.volume / len(doc.structure), 1))
        out.setdefault(key + ("energy",), ("energy_eV", [doc.energy]))
        out.setdefault(key + ("lattice",), ("lattice_rel", list(doc.structure.lattice.abc)))
    for doc in r.elastic():
        out[("elastic", doc.formula)] = ("C_GPa", [x for row in doc.elastic_tensor_gpa for x in row])
    for doc in r.vacancy_energies():
        schottky = [doc.schottky.e_schottky] if doc.schottky else []
        out[("vacancy", doc.formula)] = ("E_f_eV", [doc.e_f_min, *schottky])
    for doc in r.barriers():
        out[("barrier", doc.formula, doc.name)] = ("barrier_eV", [doc.forward_barrier, doc.reverse_barrier])
    for doc in r.phonons():
        out[("phonons", doc.formula)] = ("gamma_THz", _gamma(doc) + [float(doc.dynamically_stable)])
    return out


def _gamma(doc) -> list[float]:
    """Frequencies at Γ and the lowest over the path and mesh, THz."""
    return [*doc.gamma_frequencies, doc.min_frequency]


def compare(one: dict, two: dict) -> tuple[bool, list[dict]]:
    rows, same = [], one.keys() == two.keys()
    if not same:
        print(f"  stored results differ: only with 1 worker {sorted(set(one) - set(two))}; "
              f"only with N {sorted(set(two) - set(one))}")
    kinds: dict[str, float] = {}
    worst: dict[str, tuple] = {}
    for key in one.keys() & two.keys():
        kind, a = one[key]
        b = two[key][1]
        if len(a) != len(b):
            same = False
            continue
        relative = kind.endswith("_rel")
        diff = max((abs(x - y) / (max(abs(x), abs(y)) if relative else 1.0) for x, y in zip(a, b)), default=0.0)
        if diff >= kinds.get(kind, 0.0):
            kinds[kind], worst[kind] = diff, (key, a, b)
    for kind, diff in sorted(kinds.items()):
        ok = diff <= TOLERANCE[kind]
        same = same and ok
        rows.append({"quantity": kind, "max_diff": diff, "tolerance": TOLERANCE[kind], "ok": "yes" if ok else "NO",
                     "where": " ".join(map(str, worst[kind][0]))})
        if not ok:
            key, a, b = worst[kind]
            print(f"  {kind} differs most at {key}: 1 worker {[round(x, 5) for x in a]}, N workers "
                  f"{[round(x, 5) for x in b]}")
    return same, rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--calculator", default="sevennet", help="calculator spec (default: sevennet, SevenNet-0)")
    p.add_argument("--phases", default=DEFAULT_PHASES, help=f"reduced formulas (default {DEFAULT_PHASES})")
    p.add_argument("--workers", type=int, default=2, help="workers of the parallel run (default 2)")
    p.add_argument("--one-worker-threads", type=int, default=None,
                   help="threads of the one-worker run (default: the libraries' own, every core; 1: a one-core "
                        "baseline, what N workers gain over a single-threaded run)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = p.parse_args()
    load = os.getloadavg()[0]
    print(f"== atomflow run interphases --workers {args.workers} vs 1 · phases {args.phases}")
    print(f"   {c.machine()} · load {load:.1f} · calculator {args.calculator}")
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        serial = run(1, args.calculator, args.phases, Path(tmp) / "one", args.one_worker_threads)
        parallel = run(args.workers, args.calculator, args.phases, Path(tmp) / "many")
        c.table([serial, parallel], [("workers", "workers", "d"), ("wall", "wall s", ".1f"), ("cpu", "CPU s", ".0f"),
                                     ("cores_busy", "cores busy", ".2f"), ("jobs", "jobs", "d"),
                                     ("failed", "failed", "d"), ("computed", "computed", "d"),
                                     ("reused", "reused", "d")])
        same, rows = compare(stored_numbers(serial["store"]), stored_numbers(parallel["store"]))
    print("  stored numbers, largest difference between the two runs:")
    c.table(rows, [("quantity", "quantity", ""), ("max_diff", "max |Δ|", ".2e"), ("tolerance", "allowed", "g"),
                   ("ok", "ok", ""), ("where", "where (largest)", "")])
    ratio = parallel["wall"] / serial["wall"]
    print(f"  wall ratio {args.workers} workers / 1 worker: {ratio:.2f} "
          f"({parallel['wall']:.1f} s / {serial['wall']:.1f} s; load at the start {load:.1f}, at the end "
          f"{os.getloadavg()[0]:.1f})")
    checks = [c.verdict("wall(N workers) / wall(1 worker)", ratio, 0.6),
              c.verdict("stored numbers the same (1 = yes)", float(same), 1.0, below=False)]
    for r in (serial, parallel):
        r.pop("log")
        r.pop("store")
    c.dump(args.json, {"phases": args.phases, "calculator": args.calculator, "runs": [serial, parallel],
                       "ratio": ratio, "same_results": same, "differences": rows, "checks": checks})


if __name__ == "__main__":
    main()
