"""Arrhenius fits: y(T) = A exp(−E_a / kT), least squares in ln y against 1/kT."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, Field

from atomflow.errors import InputError
from atomflow.transport.units import KB_EV

#: default temperature grid of the Arrhenius table, K (250–1000 K in steps of 50 K)
DEFAULT_TEMPERATURES = tuple(float(t) for t in range(250, 1001, 50))


class ArrheniusFit(BaseModel):
    """ln y = ln A − E_a/kT fitted over a temperature range, with its worst residual as the quality signal."""

    activation_energy: float = Field(description="E_a = −d ln y / d(1/kT), eV.")
    prefactor: float = Field(description="A, in the unit of the fitted quantity.")
    max_log_residual: float = Field(description="Largest |ln y − fit| over the points (0: exactly Arrhenius).")
    t_range: tuple[float, float] = Field(description="Lowest and highest temperature of the fit, K.")


def fit_arrhenius(temperatures, values) -> ArrheniusFit | None:
    """Fit ``values`` (> 0) at ``temperatures`` (K); None when fewer than two positive values exist."""
    t = np.asarray(temperatures, dtype=float)
    y = np.asarray(values, dtype=float)
    if t.shape != y.shape:
        raise InputError(f"{t.size} temperatures but {y.size} values to fit.")
    ok = np.isfinite(y) & (y > 0)
    if ok.sum() < 2 or np.ptp(t[ok]) == 0:
        return None
    x = 1.0 / (KB_EV * t[ok])
    slope, intercept = np.polyfit(x, np.log(y[ok]), 1)
    resid = np.log(y[ok]) - (slope * x + intercept)
    return ArrheniusFit(activation_energy=float(-slope), prefactor=float(np.exp(intercept)),
                        max_log_residual=float(np.max(np.abs(resid))),
                        t_range=(float(t[ok].min()), float(t[ok].max())))
