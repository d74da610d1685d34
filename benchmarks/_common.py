"""Shared pieces of the benchmarks: command-line options, the NaCl hop, call counting, tables.

Every benchmark runs its baseline and atomflow in the same process, one after the other, and prints
the figures and their ratios; absolute times depend on the machine and its load, ratios much less.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_LIMITS: list = []  # thread limits kept alive for the whole run


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--calculator", default="sevennet", help="calculator spec (default: sevennet, SevenNet-0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (ML potentials; CI measures cpu)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch and BLAS threads (default 1: stable timings on a shared machine; 0: libraries' defaults)")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return p


def start(args: argparse.Namespace):
    """Apply --threads before any model loads; return the CalculatorSpec (with --device)."""
    if args.threads:
        os.environ["ATOMFLOW_TORCH_THREADS"] = str(args.threads)
        try:  # numpy's BLAS too (BFGS's eigh): extra threads only contend on a loaded machine
            from threadpoolctl import threadpool_limits

            _LIMITS.append(threadpool_limits(args.threads))
        except ImportError:
            pass
    import warnings

    warnings.filterwarnings("ignore")
    from atomflow.calculators import CalculatorSpec

    spec = CalculatorSpec.parse(args.calculator)
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():  # the pinned torch==2.13.0 is a CPU build
            raise SystemExit(f"--device {args.device}: torch {torch.__version__} sees no CUDA GPU. Install a CUDA "
                             "build of torch on a GPU machine, or measure with --device cpu.")
    if args.device != "cpu":
        spec = CalculatorSpec(name=spec.name, parameters={**spec.parameters, "device": args.device})
    return spec


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def header(title: str, args: argparse.Namespace, spec) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"== {title}")
    print(f"   {datetime.date.today()} · {machine()} · load {load:.1f} · calculator {spec.label} · "
          f"torch/BLAS threads {args.threads or 'default'}")


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (ru_maxrss, KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextlib.contextmanager
def timer() -> Iterator[dict]:
    out: dict = {}
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out["wall"] = time.perf_counter() - t0


class CallCounter:
    """Counts ``calculate`` calls of calculator classes (every instance, both sides of a comparison)."""

    def __init__(self, classes: Sequence[type]):
        self.classes = list(dict.fromkeys(classes))
        self.n = 0
        self._saved = {}

    def __enter__(self) -> "CallCounter":
        for cls in self.classes:
            original = cls.__dict__.get("calculate")
            if original is None:  # inherited: wrap the inherited one on this class
                original = cls.calculate
            self._saved[cls] = cls.__dict__.get("calculate")
            counter = self

            def counted(calc, *a, _original=original, **k):
                counter.n += 1
                return _original(calc, *a, **k)

            cls.calculate = counted
        return self

    def __exit__(self, *exc) -> None:
        for cls, saved in self._saved.items():
            if saved is None:
                del cls.calculate
            else:
                cls.calculate = saved


def calculator_class(spec) -> type:
    from atomflow.calculators import get_calculator

    return type(get_calculator(spec))


def nacl_hop(spec, *, fmax: float = 0.01):
    """Relaxed end points (ASE Atoms) of the Na-vacancy nearest-neighbour hop in 2×2×2 NaCl (63 atoms).

    Bulk relaxed (cell + ions) with the calculator, supercell ≥ 10 Å, both end points relaxed to fmax.
    """
    from atomflow.jobs.ase_run import relax
    from atomflow.neb import MigrationMaker
    from atomflow.structures.builders import rocksalt_nacl

    bulk = relax(rocksalt_nacl(), spec, relax_cell=True, fmax=fmax)
    (ep,) = MigrationMaker(calculator=spec, supercell_min_length=10.0).endpoints(bulk.structure)
    initial = relax(ep.initial, spec, fmax=fmax)
    final = relax(ep.final, spec, fmax=fmax)
    if not (bulk.converged and initial.converged and final.converged):
        raise SystemExit("end-point relaxation did not converge")
    return initial.atoms, final.atoms


def table(rows: Sequence[dict], columns: Sequence[tuple[str, str, str]]) -> None:
    """Print rows as a table: columns are (key, heading, format)."""
    cells = [[h for _, h, _ in columns]]
    for row in rows:
        cells.append([("" if row.get(k) is None else format(row[k], f)) if not isinstance(row.get(k), str)
                      else row[k] for k, _, f in columns])
    widths = [max(len(r[i]) for r in cells) for i in range(len(columns))]
    for n, r in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
        if n == 0:
            print("  " + "  ".join("-" * w for w in widths))


def verdict(name: str, value: float, target: float, *, below: bool = True) -> dict:
    ok = value <= target if below else value >= target
    print(f"  {'PASS' if ok else 'MISS'}  {name}: {value:.3g} (target {'≤' if below else '≥'} {target:g})")
    return {"name": name, "value": value, "target": target, "met": ok}


def dump(path: Path | None, payload: dict) -> None:
    if path is None:
        return
    payload = {"date": str(datetime.date.today()), "machine": machine(), "argv": sys.argv[1:], **payload}
    path.write_text(json.dumps(payload, indent=2, default=float))
    print(f"  results written to {path}")
