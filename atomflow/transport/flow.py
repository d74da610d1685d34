"""Transport as a jobflow job: MigrationDocuments (+ attempt frequencies) + VacancyDocument → TransportDocument.

>>> migration = MigrationMaker(calculator="fumi_tosi").make(nacl)
>>> vacancy = VacancyMaker(calculator="fumi_tosi").make(nacl)
>>> transport = TransportMaker(extrinsic_densities_cm3=(1e17,)).make(
...     nacl, migration.output, vacancy=vacancy.output)

The job only analyses numbers (no calculator): the barriers come from the NEB documents, ν* from the
attempt-frequency documents (or the stated default, flagged), the thermal carriers from the vacancy document.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jobflow import Flow, JobConfig, Maker, job
from pydantic import ValidationError
from pymatgen.core import Structure

from atomflow import validation as check
from atomflow.documents.provenance import Provenance
from atomflow.errors import InputError
from atomflow.reuse import cache_key, reuse_or_compute
from atomflow.transport.analysis import analyse_transport
from atomflow.transport.arrhenius import DEFAULT_TEMPERATURES
from atomflow.transport.carriers import CarrierModel
from atomflow.transport.document import HopKinetics, TransportDocument


def _get(obj: Any, key: str, default: Any = None) -> Any:
    if isinstance(obj, dict):
        return obj.get(key, default)
    return getattr(obj, key, default)


def _hop_key(obj: Any) -> tuple:
    image = _get(obj, "image")
    return (_get(obj, "site_a"), _get(obj, "site_b"), None if image is None else tuple(image))


def hops_from_documents(migrations: Sequence[Any], attempt_frequencies: Sequence[Any] | None = None,
                        ) -> tuple[list[HopKinetics], list[str]]:
    """HopKinetics from MigrationDocuments, with ν* (and the verified first-order barrier) matched by hop.

    A hop is matched to its attempt-frequency document by (site_a, site_b, image), else by name. Where that
    document gives the barrier of the verified first-order saddle, the rate uses it (reverse = it − ΔE) and a
    note keeps the paper-settings barrier beside it — unless ν* came from a defect cell of another size, whose
    barrier is not the study cell's (then only ν* is taken, and a note says so). Unconverged NEBs and flagged
    hops carry their flags.
    """
    freq = list(attempt_frequencies or [])
    by_key = {_hop_key(d): d for d in freq}
    by_name = {_get(d, "name"): d for d in freq}
    hops, notes = [], []
    for m in migrations:
        name = _get(m, "name")
        if _get(m, "site_a") is None or _get(m, "site_b") is None:
            raise InputError(f"Hop {name}: the MigrationDocument has no site indices (end points were given "
                             "directly), so the hop cannot be placed on the site network. Run the migration "
                             "workflow with site-index hops.")
        a = by_key.get(_hop_key(m)) or by_name.get(name)
        forward, reverse = float(_get(m, "forward_barrier")), float(_get(m, "reverse_barrier"))
        flags = [] if _get(m, "converged", True) else ["NEB not converged: barrier not final"]
        flags += [f for f in (_get(m, "flags") or []) if f not in flags]
        nu, usable, source = None, True, ""
        if a is not None:
            nu = _get(a, "nu_star_hz")
            source = "harmonic TST (Vineyard), attempt-frequency document"
            if nu is None:
                usable = False
                flags.append("attempt-frequency document has no ν* (saddle not verified first order): no rate")
            first = _get(a, "barrier_first_order_eV")
            cells = (_get(a, "n_atoms"), _get(m, "n_atoms"))
            if None not in cells and cells[0] != cells[1]:
                # ν* from a smaller defect cell (the prefactor converges faster with size than the barrier):
                # the barrier stays the study cell's
                notes.append(f"hop {name}: ν* from a {cells[0]}-atom defect cell, barrier from the {cells[1]}-atom "
                             "one" + (f" (first-order barrier there {first:.3f} eV)" if first is not None else ""))
                first = None
            if first is not None and abs(first - forward) > 1e-6:
                notes.append(f"hop {name}: rate from the verified first-order saddle, {first:.3f} eV (paper "
                             f"settings CI-NEB: {forward:.3f} eV)")
                reverse = float(first) - (forward - reverse)
                forward = float(first)
        hops.append(HopKinetics(name=name, site_a=_get(m, "site_a"), site_b=_get(m, "site_b"),
                                image=_get(m, "image"), length=_get(m, "hop_length"),
                                forward_barrier=forward, reverse_barrier=reverse,
                                nu_star_hz=nu, nu_star_source=source, usable=usable, flags=flags))
    return hops, notes


def carriers_from_vacancy(vacancy: Any | None) -> list[CarrierModel]:
    """The thermal carrier model of a VacancyDocument: Schottky pair if computed (ionic host), else E_f,min."""
    if vacancy is None:
        return []
    schottky = _get(vacancy, "schottky")
    flagged = "" if _get(vacancy, "converged", True) else " (vacancy document not converged)"
    if schottky is not None:
        e_s = _get(schottky, "e_schottky")
        if not float(e_s) > 0:  # as for E_f below: exp(−E_S/2kT) > 1 is no concentration
            return []
        return [CarrierModel(kind="thermal", formation_energy=float(e_s), schottky=True,
                             source=f"VacancyDocument Schottky energy {float(e_s):.3f} eV{flagged}")]
    e_f = float(_get(vacancy, "e_f_min"))
    if not e_f > 0:  # the host is unstable to vacancy formation: exp(−E_f/kT) > 1 is no concentration
        return []
    return [CarrierModel(kind="thermal", formation_energy=e_f,
                         source=f"VacancyDocument e_f_min {e_f:.3f} eV (μ from {_get(vacancy, 'mu_source')})"
                                f"{flagged}")]


@job(config=JobConfig(expose_store=True))
def analyse_transport_job(structure: Structure, migrations: list[Any], vacancy: Any | None = None,
                          attempt_frequencies: list[Any] | None = None, *, species: str = "Na",
                          carriers: list[dict] | None = None, temperatures: list[float] | None = None,
                          reference_temperature: float = 300.0, charge: float = 1.0, symprec: float = 0.1,
                          label: str | None = None, stand_in: bool = False,
                          correlation: bool = True, notes: list[str] | None = None) -> TransportDocument:
    """The pure analysis as a job (numbers in, TransportDocument out); reused from the store when the same
    numbers went in before (the tracer correlation of a large cell costs seconds to minutes)."""
    if isinstance(structure, dict):
        structure = Structure.from_dict(structure)
    if not migrations:
        raise InputError("No MigrationDocuments: transport needs at least one hop barrier.")
    hops, hop_notes = hops_from_documents(migrations, attempt_frequencies)
    models = [CarrierModel.model_validate(c) for c in (carriers or [])] + carriers_from_vacancy(vacancy)
    dropped = []
    if vacancy is not None and not any(m.kind == "thermal" for m in models[len(carriers or []):]):
        schottky = _get(vacancy, "schottky")
        energy = (f"Schottky pair energy E_S = {float(_get(schottky, 'e_schottky')):.3f} eV" if schottky is not None
                  else f"E_f = {float(_get(vacancy, 'e_f_min')):.3f} eV")
        dropped.append(f"no thermal carriers: the vacancy document's {energy} ≤ 0 (the host is unstable to "
                       "Na-vacancy formation with this calculator)")
        if not models:  # a calculator's result, not a user's omission: store D_v and the rates, flagged, no σ
            dropped.append("no carrier model left: D_v and the jump rates only, no σ or D*")
    calc = _get(_get(migrations[0], "provenance") or {}, "calculator") or {"name": "unknown"}
    vacancy_converged = vacancy is None or bool(_get(vacancy, "converged", True))
    settings = {"species": species, "temperatures": list(temperatures or DEFAULT_TEMPERATURES),
                "reference_temperature": reference_temperature, "charge": charge, "symprec": symprec,
                "correlation": correlation, "notes": list(notes or [])}
    key = cache_key("transport", structure, dict(calc), settings, hops=[h.model_dump() for h in hops],
                    carriers=[m.model_dump() for m in models], vacancy_converged=vacancy_converged,
                    label=label, stand_in=stand_in)

    def compute() -> TransportDocument:
        prov = Provenance(calculator=dict(calc), settings={"n_attempt_frequency_documents":
                                                           len(attempt_frequencies or [])},
                          structure_label=label, stand_in=stand_in)
        doc = analyse_transport(structure, species, hops, models, no_carriers=bool(dropped) and not models,
                                temperatures=temperatures or DEFAULT_TEMPERATURES,
                                reference_temperature=reference_temperature, charge=charge, symprec=symprec,
                                label=label, stand_in=stand_in, provenance=prov, correlation=correlation)
        doc.notes += hop_notes + list(notes or [])
        doc.flags += dropped
        if not vacancy_converged:
            doc.flags.append("vacancy document not converged: the thermal carrier concentration is not final")
        doc.converged = vacancy_converged and all(_get(m, "converged", True) for m in migrations)
        return doc

    return reuse_or_compute(key, compute)


@dataclass
class TransportMaker(Maker):
    """Diffusion and conductivity from finished NEB (and attempt-frequency, vacancy) documents.

    Args:
        species: hopping element ("Na").
        extrinsic_densities_cm3: one extrinsic carrier model per density, cm⁻³ (NaCl: (1e17,), Etzel & Maurer).
        structural_site_fraction: vacant fraction of the species' sites built into the compound (None: none).
        carriers: further CarrierModel dicts.
        temperatures: K, the Arrhenius table (250–1000 K every 50 K).
        reference_temperature: K (300).
        charge: carrier charge, e (1 for Na⁺).
        symprec: Å, symmetry tolerance for expanding the hops.
        correlation: compute the tracer correlation factor (onsager VacancyMediated; ~a minute for 16 Na
            sites per primitive cell on one core); False: D* is given as its upper bound, flagged.
        label, stand_in: recorded in provenance.
        notes: sentences added to the document's notes (e.g. why ν* is assumed for some hops).
    """

    name: str = "transport"
    species: str = "Na"
    extrinsic_densities_cm3: tuple[float, ...] = ()
    structural_site_fraction: float | None = None
    carriers: list[dict] = field(default_factory=list)
    temperatures: tuple[float, ...] = DEFAULT_TEMPERATURES
    reference_temperature: float = 300.0
    charge: float = 1.0
    symprec: float = 0.1
    correlation: bool = True
    label: str | None = None
    stand_in: bool = False
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._check_fields()

    def _check_fields(self) -> None:
        """Types, ranges and combinations of the fields (atomflow.validation); at construction, in make()."""
        check.maker_fields(self)
        check.element("species", self.species, "the element that hops, e.g. 'Na'")
        check.numbers("extrinsic_densities_cm3", self.extrinsic_densities_cm3, "cm⁻³",
                      "e.g. (1e17,) for NaCl (Etzel & Maurer)", each=check.positive, empty=True)
        check.within("structural_site_fraction", self.structural_site_fraction, 0, 1, None,
                     "the vacant fraction of the species' sites, or None", lo_open=True, none=True)
        carriers = self.carriers
        if not isinstance(carriers, (list, tuple)) or not all(isinstance(c, dict) for c in carriers):
            check.fail("carriers", "a list of CarrierModel dicts", self.carriers,
                       "e.g. [{'kind': 'extrinsic', 'density_cm3': 1e17}]")
        for k, c in enumerate(self.carriers):
            try:
                CarrierModel.model_validate(c)
            except ValidationError as exc:
                why = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise InputError(f"carriers[{k}] = {check.show(c)} is not a carrier model ({why}); give "
                                 "kind 'thermal', 'extrinsic' or 'structural' with its number.") from None
        check.numbers("temperatures", self.temperatures, "K", "e.g. (300.0, 500.0)", each=check.positive)
        check.positive("reference_temperature", self.reference_temperature, "K", "the default is 300.0")
        check.positive("charge", self.charge, "e", "the carrier charge's magnitude, 1 for Na⁺")
        check.positive("symprec", self.symprec, "Å", "the default is 0.1")
        check.flag("correlation", self.correlation)

    def carrier_models(self) -> list[dict]:
        models = [CarrierModel(kind="extrinsic", density_cm3=n, source="given").model_dump()
                  for n in self.extrinsic_densities_cm3]
        if self.structural_site_fraction is not None:
            models.append(CarrierModel(kind="structural", site_fraction=self.structural_site_fraction,
                                       source="given").model_dump())
        return models + [CarrierModel.model_validate(c).model_dump() for c in self.carriers]

    def make(self, structure: Structure, migrations: Any, vacancy: Any | None = None,
             attempt_frequencies: Any | None = None) -> Flow:
        """One analysis job; ``migrations`` / ``attempt_frequencies`` are document lists or job outputs."""
        self._check_fields()  # fields changed after construction are checked too, before any job
        if vacancy is None and not self.carrier_models():
            raise InputError("No carrier model: give a VacancyDocument (thermal carriers), "
                             "extrinsic_densities_cm3, structural_site_fraction or carriers.")
        j = analyse_transport_job(structure, migrations, vacancy, attempt_frequencies, species=self.species,
                                  carriers=self.carrier_models(), temperatures=list(self.temperatures),
                                  reference_temperature=self.reference_temperature, charge=self.charge,
                                  symprec=self.symprec, label=self.label, stand_in=self.stand_in,
                                  correlation=self.correlation, notes=list(self.notes))
        j.name = f"{self.name} analyse"
        return Flow([j], output=j.output, name=self.name)
