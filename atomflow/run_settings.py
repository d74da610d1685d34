"""Typed, frozen settings of the runs: relaxation, single point, CI-NEB band, elastic tensor.

Every default is written once, here; the paper's values (../shared/reference/paper.md, "convergence" and
"CI-NEB" rows) are named ``PAPER_*``, the others say why they are what they are. One settings object is
what a run is called with (:meth:`run_kwargs`), what its document records as provenance and what its reuse
key hashes (:meth:`key_dict`) — the same values, so the three cannot drift apart.

:meth:`key_dict` gives exactly the dict the Makers built by hand before these classes existed (same names,
same fields, ``batched`` only when set), so results stored then keep their reuse keys
(tests/test_legacy_store.py). Adding a field to a settings class changes the keys of every stored result of
that kind: leave it out of :meth:`key_dict` while it has its default, or bump
``atomflow.reuse.RESULT_SCHEMA``.

The Makers keep their flat keyword arguments (``RelaxMaker(fmax=…, max_steps=…)``: dataclass fields, so a
Maker still serialises and works with :func:`dataclasses.replace`); ``Maker.run_settings`` is the typed
object built from them and ``Maker.from_settings(settings, …)`` builds a Maker from one.

Nothing here imports the rest of atomflow at import time (the Makers import this module).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

from monty.json import MSONable

from atomflow import validation as check

#: eV/Å, force criterion of every relaxation and of every NEB image (paper.md: "forces 0.01 eV/Å",
#: "images relaxed to forces < 0.01 eV/Å").
PAPER_FMAX = 0.01
#: Optimizer step limit of a relaxation: not from the paper; large enough to reach PAPER_FMAX from a
#: reasonable start (hitting it flags the result as unconverged, never hides it).
RELAX_MAX_STEPS = 1000
#: ASE optimizer of relaxations (ions, and the cell through FrechetCellFilter).
RELAX_OPTIMIZER = "BFGS"

#: Intermediate NEB images (paper.md: "5 intermediate images").
PAPER_N_IMAGES = 5
#: eV/Å², NEB spring constant (paper.md: "spring 5.0 eV/Å²").
PAPER_SPRING_CONSTANT = 5.0
#: NEB optimizer steps over both stages (not from the paper; enough for PAPER_FMAX, see atomflow.neb.run).
NEB_MAX_STEPS = 1000
#: eV/Å, the band first relaxes without climbing to this (atomflow.neb.run explains why two stages).
NEB_PRECONVERGE_FMAX = 0.05
#: NEB optimizer: L-BFGS falling back to FIRE (atomflow.neb.optimizers; measured in benchmarks/README.md).
NEB_OPTIMIZER = "GuardedLBFGS"
#: ase.mep tangent/spring method (improved tangent, Henkelman & Jónsson 2000).
NEB_METHOD = "improvedtangent"
#: Å and atoms, the shared supercell rule of NEB (and vacancy) cells: shortest periodic image ≥ 10 Å.
SUPERCELL_MIN_LENGTH = 10.0
SUPERCELL_MAX_ATOMS = 300
#: Initial band: IDPP with minimum image. The paper interpolates linearly; IDPP starts nearer the path
#: and gives the same converged band (``interpolation="linear"`` is the paper's).
NEB_INTERPOLATION = "idpp"

#: Strain magnitudes of the elastic fit (dimensionless, engineering shear): ±0.5 %, ±1 %, as in atomate2 /
#: pymatgen's elastic workflow (the paper gives none).
DEFAULT_MAGNITUDES = (-0.01, -0.005, 0.005, 0.01)
#: Points of the uniaxial stress–strain curves: 0 to 2 % in 0.25 % steps.
DEFAULT_CURVE_STRAINS = tuple(round(0.0025 * i, 6) for i in range(9))
#: Å, spglib tolerance for the elastic point group.
ELASTIC_SYMPREC = 1e-3
#: How the elastic strains are defined (recorded in provenance).
STRAIN_CONVENTION = "Voigt, engineering shear, F = I + ε"


class _Settings(MSONable):
    """Base of the frozen settings dataclasses: MSONable, so jobflow stores them as job inputs.

    Dataclasses rather than pydantic models: a value is kept exactly as given (an int stays an int), so the
    key of a stored result does not change with a type coercion.
    """

    def key_dict(self) -> dict[str, Any]:
        """The provenance and reuse-key dict (plain JSON values)."""
        return {f.name: _plain(getattr(self, f.name)) for f in fields(self)}

    def replace(self, **changes: Any):
        """A copy with ``changes`` (the object itself is frozen)."""
        return replace(self, **changes)


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


@dataclass(frozen=True)
class RelaxSettings(_Settings):
    """A relaxation: ions (``relax_ions``) and the cell (``relax_cell``) until every force < ``fmax`` (eV/Å).

    ``max_steps`` is the optimizer's step limit (0 with both flags False: a single point); ``optimizer`` an
    ASE optimizer name (BFGS, FIRE, LBFGS). ``run_kwargs()`` are the arguments of
    :func:`atomflow.jobs.ase_run.relax`.
    """

    relax_cell: bool = True
    relax_ions: bool = True
    fmax: float = PAPER_FMAX
    max_steps: int = RELAX_MAX_STEPS
    optimizer: str = RELAX_OPTIMIZER

    def __post_init__(self) -> None:
        # InputError at Maker creation, before anything is submitted
        from atomflow.jobs.ase_run import OPTIMIZERS  # lazy: the Makers import this module

        check.flag("relax_cell", self.relax_cell)
        check.flag("relax_ions", self.relax_ions)
        check.positive("fmax", self.fmax, "eV/Å", f"the paper uses {PAPER_FMAX}")
        check.integer("max_steps", self.max_steps, 0, fix=f"the default is {RELAX_MAX_STEPS}")
        check.one_of("optimizer", self.optimizer, OPTIMIZERS, what="optimizer")

    def run_kwargs(self) -> dict[str, Any]:
        return self.key_dict()


@dataclass(frozen=True)
class StaticSettings(RelaxSettings):
    """A single point: nothing moves (``fmax`` is recorded but unused, as it always was: same key)."""

    relax_cell: bool = False
    relax_ions: bool = False
    max_steps: int = 0


@dataclass(frozen=True)
class NEBSettings(_Settings):
    """A CI-NEB band between relaxed end points, and what shaped those end points (part of the band's key).

    Band: ``n_images``; ``spring_constant`` eV/Å²; ``fmax`` eV/Å on every image; ``climb``; ``optimizer``
    (atomflow.neb.run.NEB_OPTIMIZERS); ``max_steps`` over both stages; ``preconverge_fmax`` eV/Å (first stage
    without climbing; None: climb at once); ``interpolation`` ("idpp", "linear"); ``method`` (ase.mep);
    ``batched`` (all images in one model call per step; None: where it pays). These are ``run_kwargs()``, the
    arguments of :func:`atomflow.neb.run.run_neb`. End points: ``species`` that hops, the supercell rule
    (``supercell_min_length`` Å, ``supercell_max_atoms``), ``endpoint_fmax`` eV/Å and ``max_hop_distance`` Å
    are recorded (provenance, reuse key) but do not reach the band run.
    """

    n_images: int = PAPER_N_IMAGES
    spring_constant: float = PAPER_SPRING_CONSTANT
    fmax: float = PAPER_FMAX
    climb: bool = True
    optimizer: str = NEB_OPTIMIZER
    max_steps: int = NEB_MAX_STEPS
    preconverge_fmax: float | None = NEB_PRECONVERGE_FMAX
    interpolation: str = NEB_INTERPOLATION
    method: str = NEB_METHOD
    batched: bool | None = None
    species: str = "Na"
    supercell_min_length: float | None = SUPERCELL_MIN_LENGTH
    supercell_max_atoms: int = SUPERCELL_MAX_ATOMS
    endpoint_fmax: float = PAPER_FMAX
    max_hop_distance: float | None = None

    _RUN = ("n_images", "spring_constant", "fmax", "climb", "optimizer", "max_steps", "preconverge_fmax",
            "method", "interpolation", "batched")

    def __post_init__(self) -> None:
        from atomflow.neb.run import check_neb_settings  # lazy: atomflow.neb imports this module

        check_neb_settings(n_images=self.n_images, spring_constant=self.spring_constant, fmax=self.fmax,
                           max_steps=self.max_steps, optimizer=self.optimizer, method=self.method,
                           preconverge_fmax=self.preconverge_fmax)

    def key_dict(self) -> dict[str, Any]:
        out = super().key_dict()
        # only when set: same numbers either way, so bands stored before the option existed keep their keys
        if self.batched is None:
            del out["batched"]
        return out

    def run_kwargs(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._RUN}


@dataclass(frozen=True)
class ElasticSettings(_Settings):
    """The stress–strain elastic tensor (recorded in the ElasticDocument's provenance).

    ``strain_magnitudes`` (dimensionless, engineering shear); ``relax_ions`` (relaxed- or clamped-ion
    tensor); ``fmax`` eV/Å and ``max_steps`` of both relaxations (bulk and strained cells);
    ``symmetry_reduce`` (one strain per point-group class); ``symprec`` Å; ``stress_strain_directions`` and
    ``curve_strains`` of the uniaxial curves.
    """

    strain_magnitudes: tuple[float, ...] = DEFAULT_MAGNITUDES
    relax_ions: bool = True
    fmax: float = PAPER_FMAX
    max_steps: int = RELAX_MAX_STEPS
    symmetry_reduce: bool = True
    symprec: float = ELASTIC_SYMPREC
    stress_strain_directions: tuple[int, ...] = ()
    curve_strains: tuple[float, ...] = DEFAULT_CURVE_STRAINS

    def __post_init__(self) -> None:
        # lazy: atomflow.elastic imports this module. The strain checks live beside the strain conventions.
        from atomflow.elastic.strains import validate_directions, validate_magnitudes

        # tuples: a list read back from JSON; the strains' range (|ε| ≤ MAX_STRAIN) is checked here too, so a
        # Maker whose fields were changed after construction is refused when make() builds its settings
        for name, value in (("strain_magnitudes", validate_magnitudes(self.strain_magnitudes)),
                            ("stress_strain_directions", validate_directions(self.stress_strain_directions)),
                            ("curve_strains", validate_magnitudes(self.curve_strains, what="curve_strains",
                                                                  allow_zero=True))):
            object.__setattr__(self, name, tuple(value))
        check.flag("relax_ions", self.relax_ions)
        check.positive("fmax", self.fmax, "eV/Å", f"the paper uses {PAPER_FMAX}")
        check.integer("max_steps", self.max_steps, 0, fix=f"the default is {RELAX_MAX_STEPS}")
        check.flag("symmetry_reduce", self.symmetry_reduce)
        check.positive("symprec", self.symprec, "Å", f"the default is {ELASTIC_SYMPREC}")

    def key_dict(self) -> dict[str, Any]:
        return {**super().key_dict(), "strain_convention": STRAIN_CONVENTION}

    def relax_settings(self, *, relax_cell: bool) -> RelaxSettings:
        """The bulk (``relax_cell``) or strained-cell relaxation these settings imply."""
        if not relax_cell and not self.relax_ions:
            return StaticSettings()
        return RelaxSettings(relax_cell=relax_cell, fmax=self.fmax, max_steps=self.max_steps)


__all__ = [
    "DEFAULT_CURVE_STRAINS", "DEFAULT_MAGNITUDES", "ELASTIC_SYMPREC", "NEB_INTERPOLATION", "NEB_MAX_STEPS",
    "NEB_METHOD", "NEB_OPTIMIZER", "NEB_PRECONVERGE_FMAX", "PAPER_FMAX", "PAPER_N_IMAGES",
    "PAPER_SPRING_CONSTANT", "RELAX_MAX_STEPS", "RELAX_OPTIMIZER", "STRAIN_CONVENTION", "SUPERCELL_MAX_ATOMS",
    "SUPERCELL_MIN_LENGTH", "ElasticSettings", "NEBSettings", "RelaxSettings", "StaticSettings",
]
