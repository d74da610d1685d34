"""Constants and the one conversion of the transport package: Å²/s → cm²/s at the document edge."""

from __future__ import annotations

from scipy.constants import e as E_CHARGE  # C
from scipy.constants import physical_constants

#: Boltzmann constant, eV/K
KB_EV = physical_constants["Boltzmann constant in eV/K"][0]
#: 1 Å²/s in cm²/s
A2_TO_CM2 = 1e-16
#: 1 Å³ in cm³
A3_TO_CM3 = 1e-24

__all__ = ["A2_TO_CM2", "A3_TO_CM3", "E_CHARGE", "KB_EV"]
