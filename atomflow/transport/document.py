"""Result document of the transport analysis: rates, diffusion, carriers and conductivity of one host.

Units: energies eV, temperatures K, frequencies and rates Hz (s⁻¹), diffusion coefficients cm²/s, densities
cm⁻³, conductivity S/cm. Tensors are Cartesian 3×3 in the frame of the structure's lattice.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from pymatgen.core import Structure

from atomflow.documents.provenance import Provenance
from atomflow.transport.arrhenius import ArrheniusFit
from atomflow.transport.carriers import CarrierModel

#: attempt frequency used where no attempt-frequency document is given, Hz (a typical phonon frequency;
#: flagged as assumed wherever it is used)
DEFAULT_NU_STAR_HZ = 1e13


class HopKinetics(BaseModel):
    """One distinct hop as input: where it goes, its barriers and its attempt frequency."""

    name: str = Field(description="Hop label, e.g. '0->1'.")
    site_a: int = Field(description="Site the atom leaves (index of the structure given to the analysis).")
    site_b: int = Field(description="Vacant site the atom moves into (same structure).")
    image: tuple[int, int, int] | None = Field(default=None, description="Lattice translation of site B.")
    length: float | None = Field(default=None, description="Hop length where the barrier was computed, Å "
                                                           "(checks that the indices refer to this cell).")
    forward_barrier: float = Field(description="Atom A → B barrier (= vacancy B → A), eV.")
    reverse_barrier: float = Field(description="Atom B → A barrier (= vacancy A → B), eV.")
    nu_star_hz: float | None = Field(
        default=None, description="Attempt frequency ν*, Hz; None → DEFAULT_NU_STAR_HZ, flagged as assumed.")
    nu_star_source: str = Field(default="", description="Where ν* comes from (harmonic TST document, given).")
    usable: bool = Field(default=True, description="False: the hop has no rate (e.g. its saddle is not "
                                                   "first order); it is left out of the network.")
    flags: list[str] = Field(default_factory=list, description="Flags carried from the hop's documents.")


class HopRate(BaseModel):
    """One distinct hop as used: its length, rate and place in the network."""

    name: str = Field(description="Hop label.")
    site_a: int = Field(description="Site the atom leaves.")
    site_b: int = Field(description="Vacant site the atom moves into.")
    image: tuple[int, int, int] = Field(description="Lattice translation of site B.")
    length: float = Field(description="Hop length, Å.")
    forward_barrier: float = Field(description="Atom A → B barrier, eV.")
    reverse_barrier: float = Field(description="Atom B → A barrier, eV.")
    nu_star_hz: float | None = Field(description="Attempt frequency used, Hz (None: no rate).")
    nu_star_assumed: bool = Field(description="True if ν* is the stated default, not computed.")
    nu_star_source: str = Field(description="Where ν* comes from.")
    rate_hz: float | None = Field(description="Jump rate Γ = ν* exp(−E_forward/kT) at the reference "
                                              "temperature, Hz.")
    rate_reverse_hz: float | None = Field(description="Γ = ν* exp(−E_reverse/kT) at the reference "
                                                      "temperature, Hz.")
    jumps_per_cell: int = Field(description="Jumps of this hop's symmetry family per primitive cell "
                                            "(each direction counted; 0: not in the network).")


class ArrheniusRow(BaseModel):
    """One temperature of a carrier model's Arrhenius table."""

    temperature: float = Field(description="T, K.")
    site_fraction: float = Field(description="Vacancy site fraction c_v on the species' sublattice.")
    density_cm3: float = Field(description="Vacancy density n_v, cm⁻³.")
    tracer_diffusivity: float | None = Field(
        description="Tracer D* = f c_v D_v (orientational average, trace/3), cm²/s; None if f unknown.")
    charge_diffusivity: float = Field(description="D_σ = c_v D_v (trace/3), cm²/s.")
    conductivity: float = Field(description="σ = n_sites q² D_σ / kT (Nernst–Einstein), S/cm.")


class CarrierResult(BaseModel):
    """Diffusion and conductivity of one carrier model."""

    model: CarrierModel = Field(description="The stated carrier model.")
    name: str = Field(description="Its short name.")
    site_fraction: float = Field(description="c_v at the reference temperature.")
    density_cm3: float = Field(description="n_v at the reference temperature, cm⁻³.")
    tracer_diffusivity: float | None = Field(
        description="D* at the reference temperature (trace/3), cm²/s; None if f was not computed.")
    tracer_diffusivity_upper: float = Field(
        description="c_v D_v at the reference temperature (f = 1, uncorrelated upper bound), cm²/s.")
    tracer_tensor: list[list[float]] | None = Field(description="D* tensor at the reference temperature, cm²/s.")
    conductivity: float = Field(description="σ at the reference temperature, S/cm.")
    activation_energy: float | None = Field(
        description="E_a,eff from ln(σT) against 1/kT over the table, eV (None: σ = 0).")
    fit: ArrheniusFit | None = Field(description="The fit behind `activation_energy` (prefactor in S K/cm).")
    table: list[ArrheniusRow] = Field(description="Arrhenius table over `temperatures`.")


class TransportDocument(BaseModel):
    """Vacancy-mediated diffusion and ionic conductivity of one species in one host, per carrier model."""

    model_config = {"arbitrary_types_allowed": True}

    formula: str = Field(description="Reduced formula of the host.")
    species: str = Field(description="Hopping species.")
    structure: Structure = Field(description="The structure the hops refer to.")
    label: str | None = Field(default=None, description="Structure label (e.g. 'NaSn stand-in').")
    stand_in: bool = Field(default=False, description="True if the host is a stand-in for the paper's compound.")
    reference_temperature: float = Field(description="Temperature of the single-number results, K.")
    temperatures: list[float] = Field(description="Temperatures of the Arrhenius tables, K.")
    charge: float = Field(description="Charge of the carrier in units of e (Na⁺: 1).")
    site_density_cm3: float = Field(description="Density of the species' sites, cm⁻³.")
    hops: list[HopRate] = Field(description="Each distinct hop with its rate at the reference temperature.")
    percolation_dimension: int = Field(
        description="Dimensions in which the hop network percolates (0–3); D = 0 across the others.")
    percolating_directions: list[list[float]] = Field(description="Cartesian unit vectors spanning them.")
    n_components: int = Field(description="Connected parts of the hop network (per primitive cell).")
    vacancy_diffusivity: float = Field(description="D_v of one vacancy at the reference temperature "
                                                   "(trace/3), cm²/s.")
    vacancy_diffusivity_tensor: list[list[float]] = Field(description="D_v tensor at the reference "
                                                                      "temperature, cm²/s.")
    migration_fit: ArrheniusFit | None = Field(
        description="Arrhenius fit of D_v over the table: its activation_energy is the network's effective "
                    "migration energy, eV (prefactor cm²/s).")
    correlation_factor: float | None = Field(
        description="Tracer correlation factor f at the reference temperature (tr D*/tr c_v D_v); None: not "
                    "computed (see correlation_note).")
    correlation_tensor: list[list[float]] | None = Field(description="f as a tensor (frame of D_v).")
    correlation_method: str = Field(description="How f was obtained.")
    correlation_note: str | None = Field(default=None, description="Why f is not computed, or is 0.")
    haven_ratio: float | None = Field(
        description="H_R = D*/D_σ used in Nernst–Einstein; = f for one isolated vacancy on one sublattice.")
    carriers: list[CarrierResult] = Field(description="One result per stated carrier model.")
    converged: bool = Field(default=True, description="False if an NEB or the vacancy document behind it did "
                                                      "not converge (its flags say which).")
    flags: list[str] = Field(default_factory=list, description="Problems a reader must see next to the numbers.")
    notes: list[str] = Field(default_factory=list, description="What each number is and what it assumes.")
    provenance: Provenance = Field(description="Calculator of the barriers, settings, code version.")
    cache_key: str | None = Field(default=None, description="Reuse key (structure + barriers + carriers + "
                                                            "settings).")
