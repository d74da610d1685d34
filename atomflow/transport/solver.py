"""Vacancy diffusivity and tracer correlation on a hop network, with D. R. Trinkle's ``onsager``.

* The vacancy's own walk: ``OnsagerCalc.Interstitial`` (one walker on the site network; site energies = the
  vacancy's energy on each Wyckoff class, transition states = E_v(B) + forward barrier, prefactor ν*). It gives
  the exact long-time diffusion tensor of the walker, bias (non-Bravais) correction included. Rate of a vacancy
  jump i → j: Γ = ν* exp(−(E_T − E_i)/kT).
* The tracer correlation: ``OnsagerCalc.VacancyMediated`` with ``maketracerpreene`` (the solute is an isotope
  of the host: same energies, same rates), f = L_ss / L_vv (Green-function solution, exact in the dilute
  limit; fcc 0.78145, bcc 0.72719 — Compaan & Haven). It is used only where it applies: the Green function of
  the vacancy's walk exists only if the network percolates in three dimensions and reaches every site, and
  its cost grows quickly with the sites per primitive cell (``MAX_CORRELATION_SITES``). Where it does not
  apply, the document says why: in a 1-D (single-file) network f → 0 at long times (the tracer only rattles
  back and forth); otherwise f is not computed and the uncorrelated D (f = 1) is given as an upper bound, flagged.

Lengths Å, rates Hz, D inside Å²/s; converted to cm²/s once, at the document edge.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import pinv

from atomflow.errors import InputError
from atomflow.transport.network import HopNetwork, site_of_a_b
from atomflow.transport.units import KB_EV

#: sites of the species per primitive cell above which VacancyMediated is not attempted (its kinetic star
#: set grows with them: 16 Na sites of NaSn take ~5 s to set up and 2–6 s per temperature on one core)
MAX_CORRELATION_SITES = 16
#: below this fraction of its uncorrelated value, a D eigenvalue is at the floating-point floor of
#: D = D0 + bias correction (catastrophic cancellation between rates many orders apart)
ILL_CONDITIONED = 1e-9
#: eV added above the highest site energy for sites no hop reaches: their occupancy is then ~0
_UNREACHED_EV = 30.0


class NetworkSolver:
    """Diffusion of one vacancy on a :class:`HopNetwork`, and the tracer correlation where it applies."""

    def __init__(self, net: HopNetwork) -> None:
        from onsager import OnsagerCalc

        self.net = net
        self.kept = net.kept
        self.jumpnetwork = [c.jumps for c in self.kept]
        energy = net.site_energy.copy()
        reached = np.isfinite(energy)
        energy[~reached] = (np.max(energy[reached]) if reached.any() else 0.0) + _UNREACHED_EV
        self.site_energy = energy
        wyck = {i: w for w, sites in enumerate(net.sitelist) for i in sites}
        # transition-state energy of each class: E_v(B) + forward barrier (vacancy B → A)
        self.ts_energy = np.array([energy[wyck[site_of_a_b(net, c)[1]]] + net.hops[c.hop].forward_barrier
                                   for c in self.kept])
        self.nu = np.array([net.hops[c.hop].nu_star_hz for c in self.kept], dtype=float)
        self.interstitial = None
        if self.kept:
            try:
                self.interstitial = OnsagerCalc.Interstitial(net.crystal, net.chem, net.sitelist,
                                                             self.jumpnetwork)
            except Exception as exc:
                raise InputError(f"Transport solver cannot handle {net.structure.composition.reduced_formula}: "
                                 f"onsager's Interstitial rejects its jump network ({exc}).") from exc
            if net.percolation_dimension < 3 or not reached.all() or net.n_components != 1:
                # onsager's Cholesky solve assumes an invertible rate matrix (a connected 3-D network); trapped
                # sites and closed clusters make it singular, their bias is zero: the pseudo-inverse is exact.
                self.interstitial.bias_solver = lambda omega, b: np.dot(pinv(omega), b)
        self.correlation_reason = self._correlation_reason(reached)
        self._vm = None

    # -- vacancy walk --------------------------------------------------------------------------------
    def vacancy_diffusivity(self, temperature: float) -> tuple[np.ndarray, bool]:
        """D_v (Å²/s, 3×3, Cartesian) of one vacancy at ``temperature`` (K); True if numerically resolved."""
        if self.interstitial is None:
            return np.zeros((3, 3)), True
        kt = KB_EV * temperature
        n_w = len(self.net.sitelist)
        d = self.interstitial.diffusivity(np.ones(n_w), self.site_energy / kt, self.nu, self.ts_energy / kt)
        p = self.net.projector()
        d = p @ (0.5 * (d + d.T)) @ p  # exactly zero across non-percolating directions
        d0 = self._uncorrelated(temperature)
        ok = True
        for v in self.net.percolating_directions:
            ref = v @ d0 @ v
            if ref > 0 and v @ d @ v < ILL_CONDITIONED * ref:
                ok = False
        return d, ok

    def _uncorrelated(self, temperature: float) -> np.ndarray:
        """Σ ½ ρ_i Γ_ij dx dx (Å²/s): the walker's D without the bias correction."""
        kt = KB_EV * temperature
        n_w = len(self.net.sitelist)
        rho = self.interstitial.siteprob(np.ones(n_w), self.site_energy / kt)
        rates = self.interstitial.ratelist(np.ones(n_w), self.site_energy / kt, self.nu, self.ts_energy / kt)
        d0 = np.zeros((3, 3))
        for jumps, rr in zip(self.jumpnetwork, rates):
            for ((i, _j), dx), r in zip(jumps, rr):
                d0 += 0.5 * rho[i] * r * np.outer(dx, dx)
        return d0

    def jump_rates(self, temperature: float) -> list[float]:
        """Vacancy jump rate B → A (ν* exp(−E_forward/kT), Hz) of each given hop."""
        kt = KB_EV * temperature
        return [(h.nu_star_hz or 0.0) * np.exp(-h.forward_barrier / kt) for h in self.net.hops]

    # -- tracer correlation --------------------------------------------------------------------------
    def _correlation_reason(self, reached: np.ndarray) -> str | None:
        net = self.net
        n_sites = len(net.crystal.basis[net.chem])
        if not self.kept:
            return "no hop has a rate"
        if net.percolation_dimension == 1:
            return ("the network percolates in one dimension only: single-file diffusion, the vacancy-"
                    "mediated tracer correlation factor → 0 at long times (D* → 0; charge transport is not "
                    "correlated and σ stays finite)")
        if net.percolation_dimension < 3:
            return (f"the network percolates in {net.percolation_dimension} dimension(s): onsager's "
                    "VacancyMediated Green function needs a 3-D network")
        if not reached.all() or net.n_components != 1:
            return ("some sites carry no hop or the network has several disconnected parts: onsager's "
                    "VacancyMediated Green function needs one network through every site")
        if n_sites > MAX_CORRELATION_SITES:
            return (f"{n_sites} sites per primitive cell: above the {MAX_CORRELATION_SITES} for which onsager's "
                    "VacancyMediated stays fast enough here")
        return None

    def correlation(self, temperature: float) -> np.ndarray | None:
        """Tracer correlation tensor f (3×3, Cartesian; f·D_v·c_v = D*), or None where it does not apply.

        In the single-file case (1-D network) returns the zero tensor.
        """
        if self.correlation_reason is not None:
            return np.zeros((3, 3)) if self.net.percolation_dimension == 1 else None
        from onsager import OnsagerCalc

        if self._vm is None:
            try:
                self._vm = OnsagerCalc.VacancyMediated(self.net.crystal, self.net.chem, self.net.sitelist,
                                                       self.jumpnetwork, 1)
            except Exception as exc:  # onsager's own checks (e.g. repeated state tags in a low-symmetry cell)
                self.correlation_reason = f"onsager VacancyMediated failed on this structure: {exc}"
                return None
        vm = self._vm
        n_w = len(self.net.sitelist)
        # only rate *ratios* matter for f: measure energies from the lowest transition state
        thermo = {"preV": np.ones(n_w), "eneV": self.site_energy.copy(),
                  "preT0": self.nu / self.nu.max(), "eneT0": self.ts_energy.copy()}
        try:
            thermo.update(vm.maketracerpreene(**thermo))
            lvv, lss, _lsv, _l1 = vm.Lij(*vm.preene2betafree(KB_EV * temperature, **thermo))
            w, v = np.linalg.eigh(0.5 * (lvv + lvv.T))
        except (ArithmeticError, np.linalg.LinAlgError) as exc:  # e.g. "Got complex IFT?" for extreme rate ratios
            self.correlation_reason = (f"onsager VacancyMediated's solution failed numerically at "
                                       f"{temperature:.0f} K: {exc}")
            return None
        if not np.all(w > 0):  # L_vv must be positive definite along a 3-D network
            self.correlation_reason = (f"onsager VacancyMediated gave a vacancy Onsager tensor that is not positive "
                                       f"definite at {temperature:.0f} K (eigenvalues {w})")
            return None
        # f tensor in the frame of L_vv: f = L_vv^{-1/2} L_ss L_vv^{-1/2}
        inv_sqrt = v @ np.diag(1.0 / np.sqrt(w)) @ v.T
        f = inv_sqrt @ (0.5 * (lss + lss.T)) @ inv_sqrt
        return 0.5 * (f + f.T)


def tracer_tensor(d_v: np.ndarray, f: np.ndarray | None) -> np.ndarray:
    """f^{1/2} D_v f^{1/2}-style product in the common frame: D*/c_v (Å²/s); f None → D_v (f = 1)."""
    if f is None:
        return d_v.copy()
    w, v = np.linalg.eigh(d_v)
    root = v @ np.diag(np.sqrt(np.clip(w, 0, None))) @ v.T
    return root @ f @ root
