"""Carrier (vacancy) concentrations, always stated: thermal, extrinsic or structural; and Nernst–Einstein.

c_v is the fraction of vacant sites on the hopping species' sublattice; n_v = c_v · n_sites its number density.

* ``thermal``: c_v = exp(−E_f/kT) for one vacancy (metal or alloy host); for an ionic host the vacancy comes
  with its counter-vacancy (Schottky pair), c_v = exp(−E_S/2kT). Formation entropy: exp(S_f/k) multiplies
  c_v; 0 unless stated (``formation_entropy_k``), the experimental S_S of NaCl is 6.2 ± 1.8 k (Dreyfus & Nowick).
  With several distinct sites, E is the lowest E_f (VacancyDocument.e_f_min) applied to every site: an upper
  bound on c_v by at most (sites per cell)/(multiplicity of the lowest site); the vacancy's share among the
  sites follows the site energies inside the solver.
* ``extrinsic``: a fixed vacancy density, e.g. ≈ 1e17 cm⁻³ cation vacancies in "pure" NaCl below ~550 °C,
  fixed by divalent impurities (Etzel & Maurer, J. Chem. Phys. 18, 1003 (1950)).
* ``structural``: vacancies built into the compound (e.g. Na7Sn12's half-occupied Na site), a site fraction.
  The ordered cell lists the occupied sites only, so the walk is that of a vacancy on those sites (the hops the
  NEB computed); a half-filled site is far from dilute and the result is flagged as an extrapolation.

Nernst–Einstein: σ = n q² D_σ / kT with the charge diffusivity D_σ = D*/H_R; for one isolated vacancy on one
sublattice the Haven ratio H_R = f (the vacancy's own walk is uncorrelated), so σ = n_v q² D_v / kT.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from atomflow.errors import InputError
from atomflow.transport.units import A2_TO_CM2, E_CHARGE, KB_EV

#: vacancy site fraction above which the dilute-vacancy solution (one vacancy at a time) is an extrapolation
DILUTE_LIMIT = 0.05


class CarrierModel(BaseModel):
    """How many vacancies carry the current: one of three stated models."""

    kind: Literal["thermal", "extrinsic", "structural"] = Field(description="Which carrier model.")
    label: str | None = Field(default=None, description="Short name in tables; default from the kind.")
    formation_energy: float | None = Field(
        default=None, description="thermal: vacancy formation energy E_f, or Schottky pair energy E_S if "
                                  "`schottky`, eV.")
    schottky: bool = Field(default=False, description="thermal: E is a Schottky pair energy (c = exp(−E_S/2kT)).")
    formation_entropy_k: float = Field(
        default=0.0, description="thermal: formation entropy (pair entropy if `schottky`) in units of k_B.")
    density_cm3: float | None = Field(default=None, description="extrinsic: vacancy density, cm⁻³.")
    site_fraction: float | None = Field(
        default=None, description="structural: fraction of the species' sites that are vacant (0–1).")
    source: str = Field(default="", description="Where the number comes from (document, paper, estimate).")

    def name(self) -> str:
        if self.label:
            return self.label
        if self.kind == "thermal":
            return "thermal (Schottky)" if self.schottky else "thermal"
        if self.kind == "extrinsic":
            return f"extrinsic {self.density_cm3:.1e} cm⁻³"
        return f"structural c_v = {self.site_fraction:.3g}"

    def check(self, site_density_cm3: float, species: str) -> None:
        """Raise InputError for a model that cannot be used (missing number, impossible density)."""
        if self.kind == "thermal" and self.formation_energy is None:
            raise InputError("A thermal carrier model needs formation_energy (eV): the vacancy formation "
                             "energy, or the Schottky pair energy with schottky=True.")
        if self.kind == "thermal" and self.formation_energy <= 0:
            raise InputError(f"Thermal carriers need a positive formation energy, got {self.formation_energy} "
                             "eV: a negative E_f means the host is unstable to vacancy formation.")
        if self.kind == "extrinsic":
            if self.density_cm3 is None or not self.density_cm3 > 0:
                raise InputError(f"An extrinsic carrier model needs a positive density_cm3, got "
                                 f"{self.density_cm3}.")
            if self.density_cm3 > site_density_cm3:
                raise InputError(
                    f"Carrier density {self.density_cm3:.3e} cm⁻³ exceeds the density of {species} sites "
                    f"({site_density_cm3:.3e} cm⁻³): more vacancies than sites. Give a density below it.")
        if self.kind == "structural" and (self.site_fraction is None or not 0 < self.site_fraction <= 1):
            raise InputError(f"A structural carrier model needs 0 < site_fraction ≤ 1, got {self.site_fraction}.")

    def site_fraction_at(self, temperature, site_density_cm3: float) -> np.ndarray:
        """c_v at ``temperature`` (K, scalar or array)."""
        t = np.asarray(temperature, dtype=float)
        if self.kind == "thermal":
            e = self.formation_energy / (2.0 if self.schottky else 1.0)
            s = self.formation_entropy_k / (2.0 if self.schottky else 1.0)
            return np.minimum(np.exp(s) * np.exp(-e / (KB_EV * t)), 1.0)
        if self.kind == "extrinsic":
            return np.full_like(t, self.density_cm3 / site_density_cm3)
        return np.full_like(t, self.site_fraction)

    def activation_part(self) -> float:
        """The formation part of the activation energy, eV (E_f, E_S/2, or 0)."""
        if self.kind != "thermal":
            return 0.0
        return self.formation_energy / (2.0 if self.schottky else 1.0)


def check_temperatures(temperatures) -> np.ndarray:
    """Temperatures as an array, K; InputError for any T ≤ 0 or non-finite."""
    t = np.atleast_1d(np.asarray(temperatures, dtype=float))
    if t.size == 0 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        bad = [float(x) for x in t if not (np.isfinite(x) and x > 0)]
        raise InputError(f"Temperatures must be positive (K); got {bad or 'none'}.")
    return t


def nernst_einstein(n_v_cm3: float, d_v_a2s: float, temperature: float, charge: float = 1.0) -> float:
    """σ (S/cm) = n_v (q e)² D_v / kT, with n_v in cm⁻³ and the vacancy's D_v in Å²/s."""
    kt_joule = KB_EV * temperature * E_CHARGE
    return float(n_v_cm3 * (charge * E_CHARGE) ** 2 * d_v_a2s * A2_TO_CM2 / kt_joule)
