"""Elastic tensors of NaCl and bcc Na (primitive cells) with DFT: GPAW PW-PBE unless a calculator is given.

Loaded by `atomflow run dft_elastic` (and benchmarks/dft_elastic.py, which times it); `make_flow(calculator)`
returns the jobflow Flow. With no calculator each system gets its own GPAW settings:

- the paper's cutoff, 550 eV; fixed k-meshes (a density would let the mesh jump between strained cells);
  the cell volume from an E–V fit (calculators/backends/gpaw/driver.py: at 550 eV the stress carries a Pulay term);
- NaCl: 8×8×8 (= 4 k-points per Å⁻¹, GPAW's default density, on this cell);
- bcc Na, a metal with C' = (C11 − C12)/2 ≈ 0.7 GPa: Fermi–Dirac 0.1 eV and 24×24×24. Measured (±0.5 %
  strains at a0 = 4.198 Å, GPa, C11/C12/C44; PBE reference 8.36/6.97/6.08): 12³ 9.34/6.95/6.60 (C11 12 %,
  C44 9 % high), 16³ 8.69/7.29/5.62, 20³ 8.56/7.36/5.90, 24³ 8.69/7.29/6.08, 28³ 8.62/7.32/6.18 — converged
  to ≈ 0.1 GPa from 24³. Smearing moves them as much: 24³ with Fermi–Dirac 0.05 eV 8.64/7.31/5.76,
  Marzari–Vanderbilt 0.2 eV 8.93/7.16/5.86.
"""

from __future__ import annotations

from ase.build import bulk
from jobflow import Flow
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.calculators import CalculatorSpec
from atomflow.elastic import ElasticMaker

#: name → (ase.build.bulk arguments of the primitive cell, GPAW parameters)
SYSTEMS = {
    "NaCl": (("NaCl", "rocksalt", 5.69), {"ecut": 550, "kpts": [8, 8, 8]}),
    "Na": (("Na", "bcc", 4.20), {"ecut": 550, "kpts": [24, 24, 24],
                                 "occupations": {"name": "fermi-dirac", "width": 0.1}}),
}


def elastic_flow(name: str, calculator: str | CalculatorSpec | None = None) -> Flow:
    """The elastic flow of one system; ``calculator`` None → its GPAW settings above."""
    (symbols, crystal, a), gpaw = SYSTEMS[name]
    spec = calculator if calculator is not None else CalculatorSpec(name="gpaw", parameters=gpaw)
    structure = AseAtomsAdaptor.get_structure(bulk(symbols, crystal, a=a))
    maker = ElasticMaker(name=f"elastic {name} (DFT)", calculator=spec, label=f"{name} primitive")
    return maker.make(structure)


def make_flow(calculator: str | None = None) -> Flow:
    return Flow([elastic_flow(name, calculator) for name in SYSTEMS], name="DFT elastic: NaCl, bcc Na")
