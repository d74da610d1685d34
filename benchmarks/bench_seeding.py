"""ML-seeded vs unseeded GPAW (PW-PBE): DFT force calls, SCF cycles, wall time and the DFT numbers.

    .venv/bin/python benchmarks/bench_seeding.py          # NEB + elastic: 25 min on one core (load 2-4)
    .venv/bin/python benchmarks/bench_seeding.py --parts neb --json results/benchmarks/seeding.json

Each part runs the same atomflow Maker twice in this process, ``seed=None`` (the baseline, run first)
then ``seed="sevennet"`` (SevenNet-0 relaxes / converges first, GPAW continues with the same DFT
criteria; :mod:`atomflow.seeding`), each into a fresh in-memory store (nothing reused between them),
and prints the figures and their ratios to the baseline:

- ``neb``: the NaCl Na-vacancy nearest-neighbour hop on the small cell of ``workflows/dft.py``
  (30 sites, 29 atoms with the vacancy — the 16-site 2×2×2 primitive cell cannot hold the hop, see there;
  ``SMALL_CELL_GPAW``: PW 300 eV, Γ-centred k-density 1.0 Å → Γ only in this cell, GPAW's default
  Fermi–Dirac 0.1 eV, point symmetry off) with :func:`workflows.dft.migration_maker` — bulk relax
  (cell, E–V fit) → end points (ions, fmax) → CI-NEB (fmax); unseeded from an IDPP band, seeded from the
  SevenNet-0 band, climbing from the first step;
- ``elastic``: NaCl primitive cell, :class:`atomflow.elastic.ElasticMaker` (bulk relax + strained cells +
  fit) at PW 300 eV, 6×6×6 k (:data:`ELASTIC_GPAW`).

Counting is GPAW's own: every run of its SCF loop (``gpaw.new.scf.SCFLoop.iterate``) is one DFT call
(energy + forces / stress of one geometry), every iteration of it one SCF cycle, attributed to the
jobflow job that ran it (stage = bulk / end points / band / strained cells). GPAW runs in this process,
serially (``ATOMFLOW_GPAW_CMD=''``, one BLAS thread): one core.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parent.parent)]

import _common  # noqa: E402

from atomflow.workflows import load_workflow  # noqa: E402

#: The elastic part's GPAW settings: cheaper than workflows/dft_elastic.py (550 eV, 8×8×8), same method.
ELASTIC_GPAW = {"ecut": 300, "kpts": [6, 6, 6]}
#: Goals of issue 14 (seeded / unseeded DFT force calls; |Δbarrier|, eV).
GOAL_CALLS, GOAL_BARRIER = 0.3, 0.01


class DFTCounter:
    """GPAW SCF runs and iterations (and wall time) per jobflow job, while active."""

    def __init__(self) -> None:
        self.job = "(outside a job)"
        self.calls: dict[str, int] = defaultdict(int)
        self.cycles: dict[str, int] = defaultdict(int)
        self.wall: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def active(self):
        from gpaw.new.scf import SCFLoop
        from jobflow.core.job import Job

        iterate, run, counter = SCFLoop.iterate, Job.run, self

        def counted_iterate(loop, *args, **kwargs):
            counter.calls[counter.job] += 1
            for ctx in iterate(loop, *args, **kwargs):
                counter.cycles[counter.job] += 1
                yield ctx

        def named_run(job, *args, **kwargs):
            counter.job, t0 = job.name, time.perf_counter()
            try:
                return run(job, *args, **kwargs)
            finally:
                counter.wall[job.name] += time.perf_counter() - t0
                counter.job = "(outside a job)"

        SCFLoop.iterate, Job.run = counted_iterate, named_run
        try:
            yield self
        finally:
            SCFLoop.iterate, Job.run = iterate, run

    def by_stage(self, stage_of) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = defaultdict(lambda: {"calls": 0, "cycles": 0, "wall": 0.0})
        for name in set(self.calls) | set(self.wall):
            row = out[stage_of(name)]
            row["calls"] += self.calls.get(name, 0)
            row["cycles"] += self.cycles.get(name, 0)
            row["wall"] += self.wall.get(name, 0.0)
        return dict(out)


def neb_stage(name: str) -> str:
    if name.startswith("neb"):
        return "band"
    if name.startswith(("relax initial", "relax final")):
        return "end points"
    if "bulk relax" in name:
        return "bulk"
    return "other"


def elastic_stage(name: str) -> str:
    if "bulk relax" in name:
        return "bulk"
    if name.startswith("elastic relax"):
        return "strained cells"
    return "other"


def run_arm(flow, stage_of, work: Path, store_uri: str | None = None):
    from jobflow import run_locally

    from atomflow.store import open_store

    store = open_store(store_uri or f"memory://bench-seeding-{time.monotonic_ns()}")
    counter = DFTCounter()
    with counter.active(), _common.timer() as t:
        run_locally(flow, store=store, log=False, ensure_success=True, raise_immediately=True, root_dir=work)
    return store, counter.by_stage(stage_of), t["wall"]


def neb_part(seed, store_uri: str | None = None) -> dict:
    from atomflow.neb import MigrationDocument

    dft = load_workflow("dft")
    maker = dft.migration_maker(seed=seed)
    flow, flow_calculator = maker.make(dft.small_cell()), maker.spec.name
    with tempfile.TemporaryDirectory(prefix="bench-seeding-") as work:
        store, stages, wall = run_arm(flow, neb_stage, Path(work), store_uri)
    found = store.query({"output.forward_barrier": {"$exists": True},
                         "output.provenance.calculator.name": flow_calculator},
                        properties=["output", "completed_on"], load=True)
    raw = max(found, key=lambda d: str(d.get("completed_on")))  # the newest (a kept store may hold more)
    doc = MigrationDocument.model_validate(raw["output"])
    return {"seed": seed, "stages": stages, "wall": wall, "barrier": doc.forward_barrier,
            "reverse": doc.reverse_barrier, "converged": doc.converged, "flags": doc.flags,
            "neb_steps": doc.n_steps, "neb_force_calls": doc.n_force_calls, "E_initial": doc.initial_energy,
            "E_final": doc.final_energy}


def elastic_part(seed, store_uri: str | None = None) -> dict:
    from ase.build import bulk
    from pymatgen.io.ase import AseAtomsAdaptor

    from atomflow.calculators import CalculatorSpec
    from atomflow.elastic import ElasticDocument, ElasticMaker
    from atomflow.properties import flag_list

    spec = CalculatorSpec(name="gpaw", parameters=ELASTIC_GPAW)
    maker = ElasticMaker(name="elastic NaCl (bench)", calculator=spec, label="NaCl primitive", seed=seed)
    flow = maker.make(AseAtomsAdaptor.get_structure(bulk("NaCl", "rocksalt", a=5.69)))
    with tempfile.TemporaryDirectory(prefix="bench-seeding-") as work:
        store, stages, wall = run_arm(flow, elastic_stage, Path(work), store_uri)
    doc = ElasticDocument.model_validate(store.get_output(flow.output.uuid))
    c = doc.elastic_tensor_gpa
    return {"seed": seed, "stages": stages, "wall": wall, "C11": c[0][0], "C12": c[0][1], "C44": c[3][3],
            "a": doc.structure.lattice.a * 2 ** 0.5, "converged": doc.converged, "flags": flag_list(doc)}


def report(part: str, base: dict, seeded: dict, values: list[str]) -> dict:
    print(f"\n-- {part}: DFT calls / SCF cycles / wall s per stage (wall includes the seed's jobs)")
    rows = []
    for stage in sorted(set(base["stages"]) | set(seeded["stages"])):
        b = base["stages"].get(stage, {"calls": 0, "cycles": 0, "wall": 0.0})
        s = seeded["stages"].get(stage, {"calls": 0, "cycles": 0, "wall": 0.0})
        if not (b["calls"] or s["calls"]):
            continue
        rows.append({"stage": stage, "b_calls": b["calls"], "s_calls": s["calls"],
                     "calls_x": s["calls"] / b["calls"] if b["calls"] else None,
                     "b_cyc": b["cycles"], "s_cyc": s["cycles"],
                     "cyc_x": s["cycles"] / b["cycles"] if b["cycles"] else None,
                     "b_wall": b["wall"], "s_wall": s["wall"],
                     "wall_x": s["wall"] / b["wall"] if b["wall"] else None})
    total = {k: sum(r[k] for r in rows) for k in ("b_calls", "s_calls", "b_cyc", "s_cyc")}
    rows.append({"stage": "all", **total, "calls_x": total["s_calls"] / total["b_calls"],
                 "cyc_x": total["s_cyc"] / total["b_cyc"], "b_wall": base["wall"], "s_wall": seeded["wall"],
                 "wall_x": seeded["wall"] / base["wall"]})
    _common.table(rows, [("stage", "stage", ""), ("b_calls", "calls IDPP/unseeded", "d"),
                         ("s_calls", "calls seeded", "d"), ("calls_x", "×", ".2f"),
                         ("b_cyc", "SCF unseeded", "d"), ("s_cyc", "SCF seeded", "d"), ("cyc_x", "×", ".2f"),
                         ("b_wall", "wall unseeded", ".0f"), ("s_wall", "wall seeded", ".0f"),
                         ("wall_x", "×", ".2f")])
    for arm in (base, seeded):
        shown = ", ".join(f"{k} {arm[k]:.4f}" if isinstance(arm[k], float) else f"{k} {arm[k]}"
                          for k in values)
        print(f"  seed={arm['seed']}: {shown}; converged {arm['converged']}; flags {arm['flags'] or 'none'}")
    return {"rows": rows, "unseeded": base, "seeded": seeded}


def main() -> int:
    p = _common.parser(__doc__.split("\n")[0])
    p.add_argument("--parts", default="neb,elastic", help="comma-separated: neb, elastic")
    p.add_argument("--store", default=None,
                   help="also keep the seeded runs in this store (a fresh one, e.g. sqlite:///…; a store "
                        "that "
                        "already holds them would reuse them and count nothing), so that `atomflow run dft` "
                        "with the same store reuses the seeded barrier; default: in memory only")
    args = p.parse_args()
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(key, "1")
    os.environ["ATOMFLOW_GPAW_CMD"] = ""  # GPAW in this process, serial: one core, counted here
    spec = _common.start(args)
    _common.header("ML-seeded vs unseeded GPAW: force calls, SCF cycles, wall, DFT numbers", args, spec)
    dft = load_workflow("dft")
    NEB_FMAX, NEB_IMAGES, SMALL_CELL_GPAW = dft.NEB_FMAX, dft.NEB_IMAGES, dft.SMALL_CELL_GPAW

    print(f"   NEB cell: NaCl, 30 sites, 29 atoms with the Na vacancy; GPAW {SMALL_CELL_GPAW}; "
          f"{NEB_IMAGES} images, fmax {NEB_FMAX} eV/Å (end points and band)\n   elastic: NaCl primitive, "
          f"GPAW {ELASTIC_GPAW}; seed: sevennet (SevenNet-0)", flush=True)
    results, verdicts, failed = {}, [], []
    parts = [s.strip() for s in args.parts.split(",")]

    def part(name, run):
        """One part; a failure is printed and recorded, the other parts still run."""
        try:
            run()
        except Exception as exc:  # noqa: BLE001  (a benchmark reports what broke and goes on)
            failed.append(name)
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            print(f"  {name} part FAILED: {type(exc).__name__}: {exc}", flush=True)
        _common.dump(args.json, {"results": results, "verdicts": verdicts, "load": os.getloadavg()[0]})

    def neb():
        base = neb_part(None)
        print(f"  unseeded NEB part done: {base['wall']:.0f} s", flush=True)
        seeded = neb_part("sevennet", args.store)
        results["neb"] = report("NaCl Na-vacancy hop (29 atoms)", base, seeded,
                                ["barrier", "reverse", "E_initial", "E_final", "neb_steps",
                                 "neb_force_calls"])
        rows = {r["stage"]: r for r in results["neb"]["rows"]}
        verdicts.append(_common.verdict("band DFT calls seeded / IDPP", rows["band"]["calls_x"], GOAL_CALLS))
        verdicts.append(_common.verdict("end-point DFT calls seeded / unseeded",
                                        rows["end points"]["calls_x"], GOAL_CALLS))
        verdicts.append(_common.verdict("|Δbarrier| eV", abs(seeded["barrier"] - base["barrier"]),
                                        GOAL_BARRIER))

    def elastic():
        base = elastic_part(None)
        print(f"  unseeded elastic part done: {base['wall']:.0f} s", flush=True)
        seeded = elastic_part("sevennet")
        results["elastic"] = report("NaCl elastic tensor (primitive cell)", base, seeded,
                                    ["a", "C11", "C12", "C44"])
        verdicts.append(_common.verdict("elastic DFT calls seeded / unseeded",
                                        results["elastic"]["rows"][-1]["calls_x"], GOAL_CALLS))

    for name, run in (("neb", neb), ("elastic", elastic)):
        if name in parts:
            part(name, run)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
