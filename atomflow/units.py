"""Unit conventions. Inside atomflow: eV, Å, eV/Å³ (ASE sign: positive stress = tensile).

Conversion to GPa happens once, at the document edge, through :func:`to_gpa`.
"""

from __future__ import annotations

import numpy as np
from ase.units import GPa as _EV_PER_A3_PER_GPA

#: 1 eV/Å³ in GPa (160.2176634)
EV_PER_A3_TO_GPA = 1.0 / _EV_PER_A3_PER_GPA


def to_gpa(value):
    """eV/Å³ → GPa (scalars, lists or arrays)."""
    return np.asarray(value, dtype=float) * EV_PER_A3_TO_GPA


def from_gpa(value):
    """GPa → eV/Å³ (for numbers read back from documents)."""
    return np.asarray(value, dtype=float) / EV_PER_A3_TO_GPA
