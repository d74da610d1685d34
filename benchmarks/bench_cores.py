"""What N worker processes can gain on this machine: single-thread potential calls alone and N at once.

    .venv/bin/python benchmarks/bench_cores.py                 # SevenNet-0, 63-atom NaCl cell, ~1 min
    .venv/bin/python benchmarks/bench_cores.py --calculator chgnet --processes 2

`--workers N` can only be N times faster if N single-thread workers each run as fast as one alone, and if the
one-worker run it is compared with did not already use the other cores. This measures both, with the call
that dominates the screening (energy + forces + stress of a rattled 63-atom NaCl cell; `--atoms` changes the
cell), each case in fresh processes:

* 1 process, 1 thread: t₁ per call;
* 1 process, the libraries' default threads (every core, as a plain `atomflow run`): t_default;
* N processes at once, 1 thread each (they start timing together, after their warm-up): t_N per call each.

It prints the throughput the N processes get (N·t₁/t_N; N when the cores are independent) and the best wall
ratio N single-thread workers could reach against the one-worker run, t_N / (N·t_default), if the work split
perfectly and nothing but these calls took time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from pathlib import Path

import _common as c

WARMUP_CALLS = 3


def _cell(n_atoms: int):
    """A rattled rock-salt NaCl supercell with about ``n_atoms`` atoms (one Na removed: a vacancy cell)."""
    from ase.build import bulk

    atoms = bulk("NaCl", "rocksalt", a=5.69, cubic=True)  # ≈ SevenNet-0's relaxed a (5.688 Å, the study's report)
    n = min(range(1, 9), key=lambda k: abs(len(atoms) * k**3 - 1 - n_atoms))
    atoms = atoms.repeat((n, n, n))
    del atoms[0]
    atoms.rattle(0.05, seed=1)
    return atoms


def _worker(calculator: str, threads: int | None, n_atoms: int, calls: int, ready, go, out) -> None:
    if threads is not None:  # before torch and numpy load, as a worker of `--workers` sets them
        from atomflow.parallel import THREAD_VARIABLES

        for name in ("ATOMFLOW_TORCH_THREADS", *THREAD_VARIABLES):
            os.environ[name] = str(threads)
    import warnings

    warnings.filterwarnings("ignore")
    from atomflow.calculators import CalculatorSpec, get_calculator

    atoms = _cell(n_atoms)
    atoms.calc = get_calculator(CalculatorSpec.parse(calculator))
    for _ in range(WARMUP_CALLS):
        atoms.positions[0, 0] += 1e-3
        atoms.get_forces(), atoms.get_stress()
    ready.put(os.getpid())
    go.wait()
    t0, cpu0 = time.perf_counter(), time.process_time()
    for _ in range(calls):
        atoms.positions[0, 0] += 1e-3  # a new geometry each call: nothing cached
        atoms.get_forces(), atoms.get_stress()
    out.put(((time.perf_counter() - t0) / calls, (time.process_time() - cpu0) / calls))


def measure(calculator: str, threads: int | None, processes: int, n_atoms: int, calls: int) -> list[tuple]:
    """(wall s per call, CPU s per call) of each of ``processes`` processes calling at the same time."""
    ctx = mp.get_context("spawn")
    ready, go, out = ctx.Queue(), ctx.Event(), ctx.Queue()
    workers = [ctx.Process(target=_worker, args=(calculator, threads, n_atoms, calls, ready, go, out))
               for _ in range(processes)]
    for w in workers:
        w.start()
    for _ in workers:  # every process has loaded the model and warmed up: the timed calls start together
        ready.get(timeout=600)
    go.set()
    results = [out.get(timeout=3600) for _ in workers]
    for w in workers:
        w.join()
        if w.exitcode:
            raise SystemExit(f"a measuring process failed (exit {w.exitcode})")
    return results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calculator", default="sevennet", help="calculator spec (default: sevennet, SevenNet-0)")
    p.add_argument("--processes", type=int, default=None, help="concurrent processes (default: the cores)")
    p.add_argument("--atoms", type=int, default=63, help="atoms in the NaCl cell (default 63)")
    p.add_argument("--calls", type=int, default=20, help="timed calls per process (default 20)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = p.parse_args()
    from atomflow.parallel import available_cores

    n = args.processes or available_cores()
    print(f"# cores: {c.machine()}; {available_cores()} cores; {args.calculator}; "
          f"{len(_cell(args.atoms))}-atom NaCl cell; {args.calls} calls per process")
    (one,) = measure(args.calculator, 1, 1, args.atoms, args.calls)
    (default,) = measure(args.calculator, None, 1, args.atoms, args.calls)
    many = measure(args.calculator, 1, n, args.atoms, args.calls)
    t_n = max(t for t, _ in many)
    rows = [{"case": "1 process, 1 thread", "wall": one[0], "cpu": one[1]},
            {"case": "1 process, default threads", "wall": default[0], "cpu": default[1]}]
    rows += [{"case": f"{n} processes at once, 1 thread each (#{i + 1})", "wall": t, "cpu": cpu}
             for i, (t, cpu) in enumerate(many)]
    c.table(rows, [("case", "case", "s"), ("wall", "wall s/call", ".4f"), ("cpu", "CPU s/call", ".4f")])
    ratios = {"slowdown": t_n / one[0], "throughput": n * one[0] / t_n, "default_vs_1": default[0] / one[0],
              "best_wall_ratio": t_n / (n * default[0])}
    print(f"\nslow-down of one process when {n} run at once: t_N/t_1 = {ratios['slowdown']:.2f} "
          "(1.00: independent cores)")
    print(f"throughput of {n} processes: N*t_1/t_N = {ratios['throughput']:.2f} (ideal {n})")
    print(f"default threads vs 1 thread, one process: t_default/t_1 = {ratios['default_vs_1']:.2f}")
    print(f"best wall ratio of {n} single-thread workers against a one-worker run at default threads, "
          f"t_N/(N*t_default) = {ratios['best_wall_ratio']:.2f} (these calls only, perfect split)")
    c.dump(args.json, {"rows": rows, **ratios})


if __name__ == "__main__":
    main()
