"""Elastic tensor of NaCl: atomflow's ElasticMaker vs atomate2's force-field ElasticMaker, same potential.

    .venv/bin/python benchmarks/bench_elastic.py                 # SevenNet-0 (both sides), CPU, ~5 min

Both flows start from the same rock-salt NaCl cell (8 atoms, a = 5.64 Å), relax it (cell + ions) and fit
the relaxed-ion 6×6 tensor from strained cells, each run by jobflow's ``run_locally`` on an in-memory
store, one after the other in this process:

- atomate2 0.1.5: ``atomate2.forcefields.flows.elastic.ElasticMaker.from_force_field_name`` (its
  defaults: fixed-symmetry relaxations to 1e-5 eV/Å, ±0.5/1 % normal and ±3/6 % shear strains,
  pymatgen's symmetry reduction of deformations);
- atomflow: ``atomflow.elastic.ElasticMaker`` with its defaults (relaxations to 0.01 eV/Å and stress
  below 1e-4 eV/Å³, ±0.5/1 % strains, point-group reduction: 6 strained cells for a cubic crystal).

Calculator calls are counted on the calculator class (every instance, both sides). Targets (issue 7):
atomflow ≤ 0.5× atomate2's calls, C11/C12/C44 within 1 GPa of atomate2's.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
import uuid

import numpy as np

import _common as c

ATOMATE2_NAMES = {"sevennet": "SevenNet", "chgnet": "CHGNet"}


def run_atomate2(structure, spec) -> dict:
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore

    from atomflow.calculators.registry import guarded_environment

    with guarded_environment():
        from atomate2.forcefields.flows.elastic import ElasticMaker

        kwargs = {}
        if "device" in spec.parameters:
            kwargs = {"device": spec.parameters["device"]} if spec.name == "sevennet" else {
                "use_device": spec.parameters["device"]}
        maker = ElasticMaker.from_force_field_name(ATOMATE2_NAMES[spec.name], calculator_kwargs=kwargs)
        flow = maker.make(structure)
        store = JobStore(MemoryStore(), additional_stores={"data": MemoryStore()})
        # atomate2's relaxations append final_atoms_object.xyz to the working directory: keep it out of the repo
        with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(scratch):
            out = run_locally(flow, store=store, log=False, ensure_success=True)
    doc = out[flow.output.uuid][1].output
    tensor = np.asarray(doc.elastic_tensor.ieee_format)  # GPa
    return {"C": tensor, "n_strained": len(doc.fitting_data.deformations)}


def run_atomflow(structure, spec) -> dict:
    from jobflow import run_locally

    from atomflow.elastic import ElasticMaker
    from atomflow.store import open_store

    flow = ElasticMaker(calculator=spec).make(structure)
    store = open_store(f"memory://{uuid.uuid4()}")
    run_locally(flow, store=store, log=False, ensure_success=True)
    doc = store.get_output(flow.output.uuid)
    doc = doc if isinstance(doc, dict) else doc.model_dump()
    return {"C": np.asarray(doc["elastic_tensor_gpa"]), "n_strained": doc["n_calculations"]}


def main(argv=None) -> int:
    args = c.parser(__doc__.splitlines()[0]).parse_args(argv)
    spec = c.start(args)
    if spec.name not in ATOMATE2_NAMES:
        raise SystemExit(f"atomate2's force-field makers are compared for {', '.join(ATOMATE2_NAMES)} here.")
    c.header("bench_elastic: NaCl elastic tensor, atomflow vs atomate2 (force-field ElasticMaker)", args, spec)
    from atomflow.structures.builders import rocksalt_nacl

    from atomflow.calculators import clear_cache

    structure = rocksalt_nacl()
    cls = c.calculator_class(spec)  # a first load warms the disk cache for both sides…
    clear_cache()  # …and is forgotten: each side below pays for its own model loading
    rows = []
    for label, run in (("atomate2 ElasticMaker (force field)", run_atomate2), ("atomflow ElasticMaker", run_atomflow)):
        with c.CallCounter([cls]) as count, c.timer() as t:
            result = run(structure, spec)
        C = result["C"]
        rows.append({"run": label, "calls": count.n, "wall": t["wall"], "n_strained": result["n_strained"],
                     "C11": float(np.mean([C[0, 0], C[1, 1], C[2, 2]])),
                     "C12": float(np.mean([C[0, 1], C[0, 2], C[1, 2]])),
                     "C44": float(np.mean([C[3, 3], C[4, 4], C[5, 5]]))})
        print(f"  … {label}: {count.n} calls, {t['wall']:.1f} s", flush=True)
    base, ours = rows
    for row in rows:
        row["calls_ratio"] = row["calls"] / base["calls"]
        row["wall_ratio"] = row["wall"] / base["wall"]
    print()
    c.table(rows, [("run", "run", ""), ("calls", "calculator calls", "d"), ("n_strained", "strained cells", "d"),
                   ("wall", "wall s", ".1f"), ("C11", "C11 GPa", ".2f"), ("C12", "C12 GPa", ".2f"),
                   ("C44", "C44 GPa", ".2f"), ("calls_ratio", "calls ×", ".2f"), ("wall_ratio", "wall ×", ".2f")])
    print("\n  ratios relative to atomate2; wall time includes each side's model loading (atomate2 builds a")
    print("  calculator in every job, atomflow loads the model once per process)")
    checks = [c.verdict("atomflow / atomate2 calculator calls", ours["calls_ratio"], 0.5)]
    checks += [c.verdict(f"|Δ{k}| vs atomate2 (GPa)", abs(ours[k] - base[k]), 1.0) for k in ("C11", "C12", "C44")]
    c.dump(args.json, {"benchmark": "bench_elastic", "calculator": spec.label, "rows": rows, "checks": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
