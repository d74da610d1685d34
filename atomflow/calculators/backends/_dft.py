"""What the DFT backends (GPAW, VASP) share: the paper's functional and cutoff, parameter checks."""

from __future__ import annotations

from typing import Any

from atomflow.errors import CalculatorError

#: The paper's settings (../shared/reference/paper.md): PBE, 550 eV plane-wave cutoff.
PAPER = {"ecut": 550.0, "xc": "PBE"}


def check_dft_parameters(params: dict[str, Any]) -> None:
    """Positive cutoff and k-point density; a zero density would silently mean a Γ-only mesh."""
    for key, unit in (("ecut", "eV"), ("encut", "eV"), ("kpt_density", "k-points per Å⁻¹")):
        if key in params:
            try:
                value = float(params[key])
            except (TypeError, ValueError):
                raise CalculatorError(f"{key} must be a number ({unit}), got {params[key]!r}.") from None
            if not value > 0:
                example = ("kpt_density=4 (about 8×8×8 for the NaCl primitive cell)" if key == "kpt_density"
                           else f"{key}=550 (the paper's cutoff)")  # encut for VASP, ecut for GPAW
                raise CalculatorError(f"{key} must be positive ({unit}), got {params[key]!r}; e.g. {example}.")
