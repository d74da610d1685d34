"""CI-NEB vacancy-migration workflow: generate hops → relax end points → NEB → analyse.

>>> from atomflow.neb import MigrationMaker
>>> flow = MigrationMaker(calculator="fumi_tosi").make(nacl)          # every distinct Na hop
>>> flow = MigrationMaker(calculator="kim", supercell_min_length=None,  # the paper's named paths
...                       hops=[(1, 2, "1->2"), (3, 1, (1, 0, 0), "3->1'")]).make(na7sn12_supercell)

The flow's output is the list of :class:`~atomflow.neb.document.MigrationDocument`, one per hop.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from ase import Atoms
from jobflow import Flow, JobConfig, Maker, Response, job
from pydantic import ValidationError
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow import validation as check
from atomflow.calculators import CalculatorSpec, check_structure, uses_ase_optimizers
from atomflow.documents import Provenance
from atomflow.errors import InputError
from atomflow.jobs.makers import RelaxMaker, relax_step
from atomflow.neb.analysis import analyse_path, mic_displacements
from atomflow.neb.batched import check_batched
from atomflow.neb.document import MigrationDocument
from atomflow.neb.hops import (
    Hop,
    HopEndpoints,
    build_endpoints,
    check_endpoints,
    find_hops,
    match_atom_order,
    moving_atom_index,
    resolve_hop,
    species_indices,
)
from atomflow.neb.path import INTERPOLATIONS
from atomflow.neb.run import run_neb
from atomflow.reuse import cache_key, reuse_key_hook, reuse_or_compute, structure_fingerprint
from atomflow.run_settings import (
    NEB_INTERPOLATION,
    NEB_MAX_STEPS,
    NEB_METHOD,
    NEB_OPTIMIZER,
    NEB_PRECONVERGE_FMAX,
    PAPER_FMAX,
    PAPER_N_IMAGES,
    PAPER_SPRING_CONSTANT,
    SUPERCELL_MAX_ATOMS,
    SUPERCELL_MIN_LENGTH,
    NEBSettings,
    RelaxSettings,
)
from atomflow.seed_hessian import HESSIAN_OPTIMIZERS, band_hessians, curvature_settings
from atomflow.seeding import AUTO, resolve_seed, seed_key
from atomflow.settings import get_settings
from atomflow.structures.supercell import supercell_matrix
from atomflow.structures.validate import validate_structure


def _bulk_relax_maker() -> RelaxMaker:
    # Barriers belong to the calculator's own lattice: a strained lattice shifts them.
    return RelaxMaker.from_settings(RelaxSettings(relax_cell=True), name="migration bulk relax")


def _endpoint_relax_maker() -> RelaxMaker:
    # Paper: end points fully relaxed (ions), lattice fixed, forces < 0.01 eV/Å (PAPER_FMAX).
    return RelaxMaker.from_settings(RelaxSettings(relax_cell=False), name="relax end point")


@dataclass
class MigrationMaker(Maker):
    """Vacancy migration barriers by CI-NEB for every requested hop of ``species``.

    Args (defaults are the paper's NEB settings):
        calculator: calculator spec; None → settings.default_calculator.
        n_images: intermediate images (5).
        spring_constant: eV/Å² (5.0).
        fmax: force criterion on every image, eV/Å (0.01).
        climb: climbing image on (True).
        species: element that hops into its own vacancy ("Na").
        hops: None → all symmetry-distinct hops up to ``max_hop_distance``; else explicit hops,
            each ``(site_a, site_b)``, ``(site_a, site_b, name)``, ``(site_a, site_b, (i, j, k), name)``
            or :class:`~atomflow.neb.hops.Hop`, indices of the structure given to :meth:`make`.
        max_hop_distance: Å; None → nearest-neighbour distance of ``species`` + 0.5 Å.
        supercell_min_length: Å, the shared supercell rule; None → use the structure as the supercell.
        supercell_max_atoms: upper limit of the supercell size.
        endpoint_relax_maker: relaxes each end point (ions only; its calculator is set to ours).
        optimizer: NEB optimizer (GuardedLBFGS: L-BFGS falling back to FIRE; see atomflow.neb.run).
        max_steps: NEB optimizer steps over both stages; hitting it flags the hop.
        preconverge_fmax: eV/Å, band relaxed without climbing to this first; None: climb from the start.
        interpolation: initial band, "idpp" (default) or "linear"; minimum image either way.
        method: ase.mep NEB tangent/spring method ("improvedtangent").
        batched: all images in one model call per NEB step (ML potentials; atomflow.neb.batched);
            None: where it pays (GPU, or CHGNet on CPU). Recorded in the settings only when set.
        symprec: Å, symmetry tolerance for finding distinct hops.
        label, stand_in: recorded in provenance (which structure; True for a stand-in compound).
        seed: ML potential that relaxes the bulk and end points and converges the band before a DFT
            calculator does (:mod:`atomflow.seeding`): "auto" = SevenNet-0 for DFT, none otherwise; None
            = DFT from the given structures and an interpolated band. Seeded, the DFT band starts from the
            seed's converged band between the seed's end points (inner images; the end points are the
            DFT-relaxed ones) and climbs from its first step; the DFT criteria (``fmax``) are unchanged.
            A guard flag of a DFT end point or the bulk goes into the hop's ``flags``.

    :attr:`run_settings` is the typed form of the NEB settings (:class:`~atomflow.run_settings.NEBSettings`):
    the band's run arguments, provenance and reuse key; :attr:`settings` is ``run_settings.key_dict()``.
    The calculator is parsed once, here (or, when None, once in :meth:`make`), and passed down as a spec.
    """

    name: str = "migration"
    calculator: CalculatorSpec | str | None = None
    n_images: int = PAPER_N_IMAGES
    spring_constant: float = PAPER_SPRING_CONSTANT
    fmax: float = PAPER_FMAX
    climb: bool = True
    species: str = "Na"
    hops: list[Any] | None = None
    max_hop_distance: float | None = None
    supercell_min_length: float | None = SUPERCELL_MIN_LENGTH
    supercell_max_atoms: int = SUPERCELL_MAX_ATOMS
    endpoint_relax_maker: RelaxMaker = field(default_factory=_endpoint_relax_maker)
    #: relaxes the bulk (cell + ions) before the supercell is built; None: use the structure as given
    bulk_relax_maker: RelaxMaker | None = field(default_factory=_bulk_relax_maker)
    optimizer: str = NEB_OPTIMIZER
    max_steps: int = NEB_MAX_STEPS
    preconverge_fmax: float | None = NEB_PRECONVERGE_FMAX
    interpolation: str = NEB_INTERPOLATION
    method: str = NEB_METHOD
    batched: bool | None = None
    symprec: float = 0.1
    label: str | None = None
    stand_in: bool = False
    seed: CalculatorSpec | str | None = AUTO

    def __post_init__(self) -> None:
        check.maker_fields(self)
        check.element("species", self.species, "the element that hops, e.g. 'Na'")
        check.flag("climb", self.climb, "True: the climbing image, as the paper")
        check.flag("batched", self.batched, "None picks it where it pays", none=True)
        check.positive("max_hop_distance", self.max_hop_distance, "Å",
                       "None takes the nearest-neighbour distance + 0.5 Å", none=True)
        check.positive("supercell_min_length", self.supercell_min_length, "Å",
                       f"the shared rule is {SUPERCELL_MIN_LENGTH}; None uses the structure as given",
                       none=True)
        check.integer("supercell_max_atoms", self.supercell_max_atoms, 1,
                      fix=f"the default is {SUPERCELL_MAX_ATOMS}")
        check.positive("symprec", self.symprec, "Å", "the default is 0.1")
        check.one_of("interpolation", self.interpolation, INTERPOLATIONS, what="interpolation")
        check.sub_maker("endpoint_relax_maker", self.endpoint_relax_maker, RelaxMaker, none=False)
        check.sub_maker("bulk_relax_maker", self.bulk_relax_maker, RelaxMaker)
        if self.calculator is not None:
            self.calculator = CalculatorSpec.parse(self.calculator)
        self.run_settings  # n_images, spring, fmax, steps, optimizer, method checked (atomflow.validation)
        if self.hops is not None:
            if isinstance(self.hops, (str, dict, Hop)) or not isinstance(self.hops, (list, tuple)):
                check.fail("hops", "a list of hops such as [(0, 1), (3, 1, (1, 0, 0), \"3->1'\")] or None",
                           self.hops, "None finds every distinct hop")
            self.hops = [_parse_hop(k, h) for k, h in enumerate(self.hops)]
            if not self.hops:
                raise InputError("hops is an empty list; give at least one hop or None to find them.")
        if self.endpoint_relax_maker.relax_cell:
            raise InputError(
                "NEB keeps the lattice fixed: the end-point relax maker must have relax_cell=False.")
        if self.seed is not None and not (isinstance(self.seed, str) and self.seed.strip().lower() == AUTO):
            self.seed = CalculatorSpec.parse(self.seed)
        if self.calculator is not None:
            self.seed_spec  # a seed for a non-DFT calculator: refused now

    @property
    def seed_spec(self) -> CalculatorSpec | None:
        """The seed calculator (None: unseeded); see :func:`atomflow.seeding.resolve_seed`."""
        return resolve_seed(self.seed, self.spec)

    @property
    def spec(self) -> CalculatorSpec:
        if isinstance(self.calculator, CalculatorSpec):
            return self.calculator
        return CalculatorSpec.parse(self.calculator or get_settings().default_calculator)

    @property
    def run_settings(self) -> NEBSettings:
        """The typed NEB settings of every band of this Maker."""
        return NEBSettings(
            n_images=self.n_images, spring_constant=self.spring_constant, fmax=self.fmax, climb=self.climb,
            optimizer=self.optimizer, max_steps=self.max_steps, preconverge_fmax=self.preconverge_fmax,
            interpolation=self.interpolation, method=self.method, batched=self.batched, species=self.species,
            supercell_min_length=self.supercell_min_length, supercell_max_atoms=self.supercell_max_atoms,
            endpoint_fmax=self.endpoint_relax_maker.fmax, max_hop_distance=self.max_hop_distance)

    @property
    def settings(self) -> dict[str, Any]:
        """The settings recorded in each document's provenance (and hashed into each band's reuse key)."""
        return self.run_settings.key_dict()

    def make(self, structure: Structure) -> Flow:
        """Flow: find/check hops and build end points (one job) → per hop: relax ×2 → NEB → analyse."""
        if isinstance(structure, Atoms):
            structure = AseAtomsAdaptor.get_structure(structure)
        validate_structure(structure)  # bulk input: ordered, periodic, no overlapping atoms
        self.run_settings  # fields changed after construction are checked too, before any job
        # fail now, before the bulk relax: the species, the hops, the supercell rule, the calculator
        if self.hops is not None:
            for hop in self.hops:
                resolve_hop(structure, hop, self.species)
        else:  # no atom of the hopping species: fail now, not after the bulk relaxation
            species_indices(structure, self.species)
        if self.supercell_min_length is not None:
            supercell_matrix(structure, min_length=self.supercell_min_length,
                             max_atoms=self.supercell_max_atoms)
        spec = self.spec
        check_structure(spec, structure)
        check_batched(spec, self.batched)
        seed = self.seed_spec
        if seed is not None:
            from atomflow.seeding import check_seed_structure

            check_seed_structure(seed, structure)  # before any job: the seed handles every element
        # the default calculator is resolved once, now: the hop jobs get this spec, not a fresh look-up
        maker = self if self.calculator == spec else replace(self, calculator=spec)
        jobs = []
        bulk_flags = None
        if self.bulk_relax_maker is not None:
            bulk = relax_step(replace(self.bulk_relax_maker, calculator=spec, label=self.label,
                                      stand_in=self.stand_in, seed=self.seed), structure)
            jobs.append(bulk)
            structure = bulk.output.structure  # same atom order: hop site indices still apply
            if seed is not None:
                bulk_flags = bulk.output.flags
        generate = (generate_migration_hops(structure, maker) if bulk_flags is None
                    else generate_migration_hops(structure, maker, bulk_flags=bulk_flags))
        generate.name = f"{self.name} generate hops"
        jobs.append(generate)
        return Flow(jobs, output=generate.output, name=self.name)

    def make_hop_flow(self, initial: Structure, final: Structure, *, name: str = "hop",
                      moving_index: int | None = None, hop_info: dict[str, Any] | None = None) -> Flow:
        """Relax two end points, run CI-NEB between them and analyse: one hop, output a MigrationDocument.

        ``initial`` and ``final`` must hold the same atoms; another atom order in ``final`` is matched to
        ``initial``'s (:func:`~atomflow.neb.hops.match_atom_order`). ``moving_index`` defaults to the atom
        that moves farthest between them.
        """
        final = match_atom_order(initial, final)
        check_endpoints(initial, final)
        if moving_index is None:
            moving_index = moving_atom_index(initial, final)
        d = mic_displacements(initial.cart_coords[[moving_index]], final.cart_coords[[moving_index]],
                              initial.lattice.matrix)
        info = {"name": name, "species": initial[moving_index].specie.symbol, "moving_index": moving_index,
                "hop_length": float(np.linalg.norm(d)), "site_a": None, "site_b": None, "image": None,
                "supercell_site_a": None, "supercell_site_b": None, **(hop_info or {})}
        spec, settings = self.spec, self.run_settings
        seed = self.seed_spec
        relaxer = self._endpoint_maker()
        relax_initial = relax_step(relaxer, initial, name=f"relax initial {name}")
        relax_final = relax_step(relaxer, final, name=f"relax final {name}")
        ends = [{"energy": r.output.energy, "converged": r.output.converged}
                for r in (relax_initial, relax_final)]
        jobs = [relax_initial, relax_final]
        if seed is None:
            neb = run_ci_neb(relax_initial.output.structure, relax_final.output.structure, spec, settings)
            extra: dict[str, Any] = {}
        else:
            # the seed's band between the seed's end points (the first job of each seeded relax step) …
            seed_ends = [r.jobs[0].output.structure if isinstance(r, Flow) else r.output.structure
                         for r in (relax_initial, relax_final)]
            seed_neb = run_ci_neb(seed_ends[0], seed_ends[1], seed, settings)
            seed_neb.name = f"neb {name} [seed {seed.label}]"
            jobs.append(seed_neb)
            # … then DFT from that band between the DFT end points, climbing from the first step
            seeding = seed_key(seed, settings.key_dict())
            if settings.optimizer in HESSIAN_OPTIMIZERS and uses_ase_optimizers(spec):
                seeding["curvature"] = curvature_settings()  # the seed band's Hessians start DFT's optimizer
            neb = run_ci_neb(relax_initial.output.structure, relax_final.output.structure, spec, settings,
                             band=seed_neb.output.image_structures, seed=seeding)
            for end, r in zip(ends, (relax_initial, relax_final)):
                if isinstance(r, Flow):
                    end["flags"] = r.output.flags
            extra = {"seed": seeding}
        neb.name = f"neb {name}"
        analyse = analyse_migration(neb.output, ends[0], ends[1], info, spec, settings, self.label,
                                    self.stand_in, **extra)
        analyse.name = f"analyse {name}"
        return Flow([*jobs, neb, analyse], output=analyse.output, name=f"{self.name} {name}")

    def endpoints(self, structure: Structure) -> list[HopEndpoints]:
        """The hops of ``structure`` and their unrelaxed end points (no calculator needed)."""
        if self.supercell_min_length is None:
            supercell = structure
        else:
            from atomflow.structures.supercell import make_supercell

            supercell = make_supercell(structure, min_length=self.supercell_min_length,
                                       max_atoms=self.supercell_max_atoms)
        if self.hops is not None:
            hops = [resolve_hop(structure, hop, self.species) for hop in self.hops]
        else:
            hops = find_hops(structure, self.species, self.max_hop_distance, self.symprec)
        return [build_endpoints(structure, hop, supercell) for hop in hops]

    def _endpoint_maker(self) -> RelaxMaker:
        own, spec = self.endpoint_relax_maker.calculator, self.spec  # RelaxMaker parsed its own already
        if own is not None and own != spec:
            raise InputError(
                f"The end points would be relaxed with {own.label!r} but the band run with {spec.label!r}; "
                "barriers need one calculator. Leave endpoint_relax_maker.calculator as None."
            )
        return replace(self.endpoint_relax_maker, calculator=spec, label=self.label, stand_in=self.stand_in,
                       seed=self.seed)


def _parse_hop(k: int, value: Any) -> Hop:
    """hops[k] as a Hop; a bad entry gives one line naming it (not pydantic's multi-line report)."""
    try:
        return Hop.parse(value)
    except InputError as exc:
        raise InputError(f"hops[{k}] = {check.show(value)}: {exc}") from None
    except (ValidationError, TypeError, ValueError) as exc:
        errors = exc.errors() if isinstance(exc, ValidationError) else []
        why = "; ".join(str(e.get("msg", "")).removeprefix("Value error, ") for e in errors) or str(exc)
        raise InputError(f"hops[{k}] = {check.show(value)} is not a hop ({why}); give (site_a, site_b), "
                         "(site_a, site_b, name) or (site_a, site_b, (i, j, k), name) with 0-based site "
                         "indices.") from None


@job
def generate_migration_hops(structure: Structure, maker: MigrationMaker,
                            bulk_flags: list[str] | None = None) -> Response:
    """Find (or check) the hops, build their end points and replace this job by one sub-flow per hop.

    ``bulk_flags``: the seed guard's flags of the bulk relaxation (seeded runs), carried into every hop.
    """
    check_structure(maker.spec, structure)
    flows = []
    for ep in maker.endpoints(structure):
        hop = ep.hop
        info = {"site_a": hop.site_a, "site_b": hop.site_b, "image": list(hop.image),
                "hop_length": hop.length, "host_formula": structure.composition.reduced_formula,
                "supercell_site_a": ep.supercell_site_a, "supercell_site_b": ep.supercell_site_b}
        if bulk_flags:
            info["bulk_flags"] = [f"bulk: {f}" for f in bulk_flags]
        flows.append(maker.make_hop_flow(ep.initial, ep.final, name=hop.name, moving_index=ep.moving_index,
                                         hop_info=info))
    return Response(replace=Flow(flows, output=[f.output for f in flows], name=f"{maker.name} hops"))


def _neb_settings(settings: NEBSettings | dict[str, Any]) -> NEBSettings:
    # a dict: MigrationMaker.settings, as callers passed before NEBSettings existed
    return settings if isinstance(settings, NEBSettings) else NEBSettings(**settings)


@job(data="image_structures", config=JobConfig(expose_store=True))
def run_ci_neb(initial: Structure, final: Structure, calculator: CalculatorSpec,
               settings: NEBSettings | dict[str, Any], band: list[Structure] | None = None,
               seed: dict[str, Any] | None = None) -> dict[str, Any]:
    """CI-NEB between relaxed end points; the band's structures go to the ``data`` store.

    A band already computed from the same end points, calculator and settings is reused. Seeded
    (:mod:`atomflow.seeding`): ``band`` is the seed's converged band (its inner images start this one),
    ``seed`` the seed's calculator and settings (part of the key); the band climbs from its first step
    (no pre-convergence stage: the seed's band has found the valley), to the same ``fmax``.
    """
    settings = _neb_settings(settings)
    key = ci_neb_key(initial, final, calculator, settings, band, seed)
    return reuse_or_compute(key, lambda: _run_ci_neb(initial, final, calculator, settings, band, seed))


@reuse_key_hook(run_ci_neb)
def ci_neb_key(initial: Structure, final: Structure, calculator: CalculatorSpec,
               settings: NEBSettings | dict[str, Any], band: list[Structure] | None = None,
               seed: dict[str, Any] | None = None) -> str:
    """The key a band is stored under: end points, calculator, NEB settings (and the seed, when seeded)."""
    if seed is None:
        return cache_key("ci-neb", initial, calculator, _neb_settings(settings).key_dict(),
                         final=structure_fingerprint(final))
    return cache_key("ci-neb", initial, calculator, _neb_settings(settings).key_dict(),
                     final=structure_fingerprint(final), seed=seed)


def _run_ci_neb(initial: Structure, final: Structure, calculator: CalculatorSpec, settings: NEBSettings,
                band: list[Structure] | None = None, seed: dict[str, Any] | None = None) -> dict[str, Any]:
    kwargs = settings.run_kwargs()
    curvature_calls = None
    if band is not None:
        kwargs["preconverge_fmax"] = None  # climbing from the start (the seed's band is converged)
        if seed is not None and "curvature" in seed:
            images = [AseAtomsAdaptor.get_atoms(s) if isinstance(s, Structure) else s for s in band]
            kwargs["image_hessians"], curvature_calls = band_hessians(
                images, CalculatorSpec.model_validate(seed["calculator"]), settings.spring_constant)
    result = run_neb(initial, final, calculator, band=band, **kwargs)
    return {
        "energies": [float(e) for e in result.energies],
        "image_max_forces": [float(f) for f in result.image_max_forces],
        "converged": result.converged,
        "n_steps": result.n_steps,
        "n_force_calls": result.n_force_calls,
        "climbing_index": result.climbing_index,
        "wall_time": result.wall_time,
        "stages": result.stages,
        "image_structures": [AseAtomsAdaptor.get_structure(image) for image in result.images],
        "seed_curvature_calls": curvature_calls,
    }


@job(data="image_structures")
def analyse_migration(neb: dict[str, Any], initial: dict[str, Any], final: dict[str, Any],
                      info: dict[str, Any], calculator: CalculatorSpec,
                      settings: NEBSettings | dict[str, Any], label: str | None = None,
                      stand_in: bool = False, seed: dict[str, Any] | None = None) -> MigrationDocument:
    """Barriers, profile and flags of one hop from the NEB output and the end-point relaxations.

    Seeded (``seed``: the seed calculator and settings): recorded in provenance; the guard flags of the
    end points (``initial["flags"]``, ``final["flags"]``) and of the bulk (``info["bulk_flags"]``) join
    the hop's flags.
    """
    settings = _neb_settings(settings)
    images: list[Structure] = neb["image_structures"]
    first = images[0]
    analysis = analyse_path(
        neb["energies"],
        positions=[s.cart_coords for s in images],
        cell=first.lattice.matrix,
        species_initial=[s.specie.symbol for s in first],
        species_final=[s.specie.symbol for s in images[-1]],
        moving_index=info["moving_index"],
        climbing_index=neb["climbing_index"],
        converged=neb["converged"],
        endpoints_converged=bool(initial["converged"] and final["converged"]),
    )
    b = analysis.barriers
    return MigrationDocument(
        name=info["name"],
        formula=info.get("host_formula") or first.composition.reduced_formula,
        cell_formula=first.composition.formula.replace(" ", ""),
        species=info["species"],
        site_a=info["site_a"],
        site_b=info["site_b"],
        image=tuple(info["image"]) if info["image"] is not None else None,
        supercell_site_a=info["supercell_site_a"],
        supercell_site_b=info["supercell_site_b"],
        moving_index=info["moving_index"],
        n_atoms=len(first),
        hop_length=info["hop_length"],
        relaxed_hop_length=analysis.hop_length,
        forward_barrier=b.forward,
        reverse_barrier=b.reverse,
        delta_e=b.delta_e,
        image_energies=[float(e) for e in analysis.relative_energies],
        image_energies_absolute=[float(e) for e in neb["energies"]],
        reaction_coordinate=[float(x) for x in analysis.reaction_coordinate],
        highest_image_index=b.highest_index,
        climbing_image_index=neb["climbing_index"],
        spline_x=[float(x) for x in analysis.spline_x],
        spline_y=[float(y) for y in analysis.spline_y],
        n_images=settings.n_images,
        spring_constant=settings.spring_constant,
        fmax=settings.fmax,
        climb=settings.climb,
        max_force_final=max(neb["image_max_forces"]),
        image_max_forces=neb["image_max_forces"],
        converged=neb["converged"],
        n_steps=neb["n_steps"],
        n_force_calls=neb["n_force_calls"],
        neb_wall_time=neb["wall_time"],
        stages=neb["stages"],
        initial_energy=initial["energy"],
        final_energy=final["energy"],
        initial_converged=initial["converged"],
        final_converged=final["converged"],
        endpoint_rms_displacement=analysis.rms_endpoint_displacement,
        flags=[*analysis.flags, *info.get("bulk_flags", []),
               *[f"{which} end point: {f}" for which, end in (("initial", initial), ("final", final))
                 for f in (end.get("flags") or [])]],
        notes=analysis.notes,
        image_structures=images,
        provenance=Provenance.from_spec(calculator,
                                        {**settings.key_dict(), **({"seed": seed} if seed else {})},
                                        structure_label=label, stand_in=stand_in),
    )
