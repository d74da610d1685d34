"""Elastic constants of NaCl and bcc Na with GPAW (PW-PBE): times workflows/dft_elastic.py and checks it.

    .venv/bin/python benchmarks/dft_elastic.py                  # both, 2 MPI ranks, into the results store
    .venv/bin/python benchmarks/dft_elastic.py --systems Na --np 4

Runs the same ElasticMaker flow as every other calculator (bulk relaxation → strained cells →
stress–strain fit) with the GPAW settings of workflows/dft_elastic.py, stores the documents in the
results store (``atomflow.store.open_store()``) and prints C11 / C12 / C44 and wall times beside:

- NaCl, GPAW 26.7, PW 550 eV, 8×8×8 k, a0 from E–V: C11/C12/C44 = 47.6/12.2/12.4 GPa, a0 = 5.696 Å
  (../shared/reference/gpaw.md, measured on a machine of this kind); pass within 5 %.
- bcc Na, PBE: 8.36/6.97/6.08 GPa (../shared/reference/paper.md); pass within 10 %.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from jobflow import run_locally

from atomflow.elastic import ElasticDocument
from atomflow.settings import get_settings
from atomflow.store import open_store
from atomflow.workflows import load_workflow

#: name → (C11, C12, C44 in GPa, relative tolerance, source)
REFERENCES = {
    "NaCl": ((47.6, 12.2, 12.4), 0.05, "GPAW 26.7 PW 550 eV 8x8x8, shared/reference/gpaw.md"),
    "Na": ((8.36, 6.97, 6.08), 0.10, "PBE, shared/reference/paper.md"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--systems", default="NaCl,Na", help="comma-separated: NaCl, Na")
    parser.add_argument("--np", type=int, default=2, help="MPI ranks for GPAW (ignored if ATOMFLOW_GPAW_CMD is set)")
    parser.add_argument("--store", default=None, help="store URI (default: the results store)")
    args = parser.parse_args()
    os.environ.setdefault("ATOMFLOW_GPAW_CMD", f"mpirun -np {args.np} gpaw python")
    work = get_settings().results_dir / "runs" / "dft_elastic"
    work.mkdir(parents=True, exist_ok=True)
    store = open_store(args.store)
    print(f"GPAW command: {get_settings().gpaw_cmd}; run directories under {work}", flush=True)
    failed = 0
    workflow = load_workflow("dft_elastic")
    for name in args.systems.split(","):
        name = name.strip()
        reference, tolerance, source = REFERENCES[name]
        flow = workflow.elastic_flow(name)
        start = time.perf_counter()
        run_locally(flow, store=store, log=False, ensure_success=True, root_dir=work)
        wall = time.perf_counter() - start
        doc = ElasticDocument.model_validate(store.get_output(flow.output.uuid))
        c = doc.elastic_tensor_gpa
        got = (c[0][0], c[0][1], c[3][3])
        dev = [(g - r) / r for g, r in zip(got, reference)]
        ok = max(abs(d) for d in dev) <= tolerance
        failed += not ok
        lattice = doc.structure.lattice
        conventional = lattice.a * (2 ** 0.5 if name == "NaCl" else 2 / 3 ** 0.5)  # fcc / bcc primitive
        print(f"{name}: {doc.provenance.calculator['name']} {doc.provenance.calculator['parameters']}")
        print(f"  a0 = {conventional:.4f} Å (conventional); {doc.n_calculations} strained cells + bulk; "
              f"converged: {doc.converged}")
        print(f"  C11/C12/C44 = {got[0]:.2f} / {got[1]:.2f} / {got[2]:.2f} GPa; reference "
              f"{reference[0]} / {reference[1]} / {reference[2]} ({source})")
        print(f"  deviation {', '.join(f'{100 * d:+.1f} %' for d in dev)} (tolerance {100 * tolerance:.0f} %): "
              f"{'PASS' if ok else 'FAIL'}; wall time {wall / 60:.1f} min", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
