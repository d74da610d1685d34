"""Phonon workflow: relax bulk → phonopy displacements and one force job each (run-time fan-out) → analyse.

>>> from atomflow.phonons import PhononMaker
>>> flow = PhononMaker(calculator="emt").make(cu)      # output: a PhononDocument
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms
from jobflow import Flow, JobConfig, Maker, Response, job
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, check_structure
from atomflow.documents import Provenance
from atomflow.errors import InputError
from atomflow.jobs.makers import RelaxMaker
from atomflow.phonons.analysis import DISPLACEMENT, IMAGINARY_TOL_THZ, analyse_phonons, generate_displacements
from atomflow.phonons.document import PhononDocument
from atomflow.reuse import cache_key, reuse_key_hook, reuse_or_compute
from atomflow.settings import get_settings
from atomflow.structures.supercell import supercell_matrix
from atomflow.structures.validate import validate_structure
from atomflow.run_settings import RELAX_MAX_STEPS


#: Å. Largest finite displacement accepted: beyond ~0.1 Å anharmonic terms enter the force constants
#: (phonopy's default is 0.01 Å; common choices 0.005–0.03 Å).
MAX_DISPLACEMENT = 0.1


@dataclass
class PhononMaker(Maker):
    """Harmonic phonons by phonopy's finite displacements (symmetry-reduced) in a supercell chosen by the
    shared rule (every periodic image ≥ ``supercell_min_length`` Å away; force constants beyond half of
    that are not sampled).

    Args:
        calculator: calculator spec; None → settings.default_calculator.
        bulk_relax_maker: relaxes cell + ions first (fmax 0.001 eV/Å: residual forces would enter the
            force constants); None → the structure is used as given.
        displacement: Å (0.01, phonopy's default).
        supercell_min_length: Å (10). supercell_max_atoms: upper limit of the supercell.
        mesh: phonopy's length-based q-mesh density for DOS and thermal properties, Å (30).
        temperatures: K, all > 0; default 10–1000 K every 10 K.
        imaginary_tol: THz; a mode below −imaginary_tol flags the document (see analysis.IMAGINARY_TOL_THZ).
        symprec: Å, phonopy/spglib tolerance.
    """

    name: str = "phonons"
    calculator: CalculatorSpec | str | None = None
    bulk_relax_maker: RelaxMaker | None = None
    relax_bulk: bool = True
    displacement: float = DISPLACEMENT
    supercell_min_length: float = 10.0
    supercell_max_atoms: int = 300
    mesh: float = 30.0
    temperatures: tuple[float, ...] | None = None
    imaginary_tol: float = IMAGINARY_TOL_THZ
    symprec: float = 1e-5
    label: str | None = None
    stand_in: bool = False

    def __post_init__(self) -> None:
        self._check_fields()
        if self.calculator is not None:
            self.calculator = CalculatorSpec.parse(self.calculator)
        if self.temperatures is not None:
            self.temperatures = tuple(float(x) for x in self.temperatures)
        if not self.relax_bulk and self.bulk_relax_maker is not None:
            raise InputError("relax_bulk=False but a bulk_relax_maker was given; drop one of them "
                             "(relax_bulk=False uses the structure as given).")
        if self.relax_bulk and self.bulk_relax_maker is None:
            self.bulk_relax_maker = RelaxMaker(name="phonon bulk relax", calculator=self.calculator,
                                               relax_cell=True, fmax=1e-3, max_steps=RELAX_MAX_STEPS,
                                               label=self.label, stand_in=self.stand_in)
        if not self.relax_bulk:
            self.bulk_relax_maker = None

    def _check_fields(self) -> None:
        """Types, ranges and combinations of the fields (atomflow.validation); at construction, in make()."""
        check.maker_fields(self)
        check.sub_maker("bulk_relax_maker", self.bulk_relax_maker, RelaxMaker)
        check.flag("relax_bulk", self.relax_bulk)
        check.within("displacement", self.displacement, 0, MAX_DISPLACEMENT, "Å",
                     f"phonopy's default is {DISPLACEMENT}", lo_open=True)
        check.positive("supercell_min_length", self.supercell_min_length, "Å", "the shared rule is 10.0")
        check.integer("supercell_max_atoms", self.supercell_max_atoms, 1, fix="the default is 300")
        check.positive("mesh", self.mesh, "Å", "phonopy's length-based mesh, the default is 30.0")
        check.numbers("temperatures", self.temperatures, "K", "e.g. (100.0, 300.0), or None for 10–1000 K",
                      each=check.positive, none=True)
        check.non_negative("imaginary_tol", self.imaginary_tol, "THz", f"the default is {IMAGINARY_TOL_THZ}")
        check.positive("symprec", self.symprec, "Å", "the default is 1e-05")

    @property
    def spec(self) -> CalculatorSpec:
        return CalculatorSpec.parse(self.calculator or get_settings().default_calculator)

    @property
    def settings(self) -> dict[str, Any]:
        return {"displacement": self.displacement, "supercell_min_length": self.supercell_min_length,
                "supercell_max_atoms": self.supercell_max_atoms, "mesh": self.mesh,
                "imaginary_tol": self.imaginary_tol, "symprec": self.symprec,
                "relax_bulk": self.bulk_relax_maker is not None,
                "bulk_fmax": getattr(self.bulk_relax_maker, "fmax", None),
                "band_path": "Setyawan–Curtarolo (pymatgen HighSymmKpath)"}

    def make(self, structure: Structure | Atoms) -> Flow:
        """Flow whose output is a :class:`PhononDocument`."""
        if isinstance(structure, Atoms):
            structure = AseAtomsAdaptor.get_structure(structure)
        validate_structure(structure)
        self._check_fields()  # fields changed after construction are checked too, before any job
        spec = self.spec
        check_structure(spec, structure)
        # the supercell rule is checked now, not after the relaxation
        supercell_matrix(structure, min_length=self.supercell_min_length, max_atoms=self.supercell_max_atoms)
        jobs = []
        bulk_converged: Any = True
        if self.bulk_relax_maker is not None:
            if self.bulk_relax_maker.spec != spec:
                raise InputError(f"The bulk would be relaxed with {self.bulk_relax_maker.spec.label!r} and the "
                                 f"forces computed with {spec.label!r}: phonons need one calculator.")
            bulk = self.bulk_relax_maker.make(structure)
            jobs.append(bulk)
            structure, bulk_converged = bulk.output.structure, bulk.output.converged
        displaced = run_phonon_displacements(structure, spec, displacement=self.displacement,
                                             min_length=self.supercell_min_length,
                                             max_atoms=self.supercell_max_atoms, symprec=self.symprec)
        displaced.name = f"{self.name} displacements"
        analyse = analyse_phonon_forces(structure, displaced.output, bulk_converged, spec=spec,
                                        settings=self.settings, temperatures=self.temperatures,
                                        label=self.label, stand_in=self.stand_in)
        analyse.name = f"{self.name} analyse"
        return Flow([*jobs, displaced, analyse], output=analyse.output, name=self.name)


@job(data="forces", config=JobConfig(expose_store=True))
def compute_forces(structure: Structure, spec: CalculatorSpec) -> dict[str, Any]:
    """Single point (energy eV, forces eV/Å) of one displaced cell; reused by structure + calculator."""
    from atomflow.jobs.ase_run import run_static

    def compute() -> dict[str, Any]:
        result = run_static(structure, spec)
        return {"energy": result.energy, "forces": np.asarray(result.forces).tolist(),
                "n_calls": result.n_calls, "converged": True}

    return reuse_or_compute(forces_key(structure, spec), compute)


@reuse_key_hook(compute_forces)
def forces_key(structure: Structure, spec: CalculatorSpec) -> str:
    """The key a displaced cell's forces are stored under: structure + calculator."""
    return cache_key("static-forces", structure, spec, {})


@job
def run_phonon_displacements(structure: Structure, spec: CalculatorSpec, *, displacement: float,
                             min_length: float, max_atoms: int, symprec: float) -> Response:
    """Supercell by the shared rule, phonopy's displacements, and one force job per displaced cell."""
    matrix = supercell_matrix(structure, min_length=min_length, max_atoms=max_atoms)
    dataset, cells = generate_displacements(structure, matrix, distance=displacement, symprec=symprec)
    jobs = []
    for n, cell in enumerate(cells, start=1):
        j = compute_forces(cell, spec)
        j.name = f"phonon forces {n}/{len(cells)}"
        jobs.append(j)
    output = {"supercell_matrix": matrix.tolist(), "dataset": dataset,
              "forces": [j.output["forces"] for j in jobs], "uuids": [j.uuid for j in jobs]}
    return Response(replace=Flow(jobs, output=output, name="phonon force calculations"))


@job(output_schema=PhononDocument, data="forces")
def analyse_phonon_forces(structure: Structure, displaced: dict[str, Any], bulk_converged: bool, *,
                          spec: CalculatorSpec, settings: dict[str, Any],
                          temperatures: tuple[float, ...] | None = None, label: str | None = None,
                          stand_in: bool = False) -> PhononDocument:
    """Force constants → bands, DOS, thermal properties, stability → PhononDocument."""
    result = analyse_phonons(structure, displaced["supercell_matrix"], displaced["dataset"], displaced["forces"],
                             temperatures=temperatures, mesh=settings["mesh"],
                             imaginary_tol=settings["imaginary_tol"], symprec=settings["symprec"])
    provenance = Provenance.from_spec(spec, {**settings, "force_job_uuids": displaced["uuids"]},
                                      structure_label=label, stand_in=stand_in)
    return PhononDocument.from_result(structure, result, supercell_matrix=displaced["supercell_matrix"],
                                      displacement=settings["displacement"], dataset=displaced["dataset"],
                                      forces=displaced["forces"], bulk_converged=bool(bulk_converged),
                                      provenance=provenance)
