"""Demo: relax the study's three bulk phases with one calculator (the smallest end-to-end run).

Loaded by `atomflow run demo`; `make_flow(calculator)` returns the jobflow Flow.
"""

from __future__ import annotations

from jobflow import Flow

from atomflow.jobs import RelaxMaker
from atomflow.structures.builders import bcc_na, na7sn12, rocksalt_nacl


def make_flow(calculator: str | None = None) -> Flow:
    sn = na7sn12()
    jobs = [
        RelaxMaker(name="relax NaCl", calculator=calculator, label="NaCl rock salt").make(rocksalt_nacl()),
        RelaxMaker(name="relax Na", calculator=calculator, label="bcc Na").make(bcc_na()),
        RelaxMaker(name=f"relax {sn.structure.composition.reduced_formula}", calculator=calculator,
                   label=sn.label, stand_in=sn.stand_in).make(sn.structure),
    ]
    return Flow(jobs, name="demo: relaxed bulks")
