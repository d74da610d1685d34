"""NEB optimizer that takes few force calls on smooth potentials and stays safe on rough ones.

:class:`GuardedLBFGS`: limited-memory BFGS (D. C. Liu and J. Nocedal, Math. Program. 45, 503 (1989);
ase.optimize.LBFGS) with an initial Hessian of 10 eV/Å² instead of ASE's 70. NEB forces are not the
gradient of an energy (springs act only along the tangent; the climbing image's tangential force is
inverted), so a quasi-Newton model of them can mislead; where it does, the optimizer goes back to the
band with the smallest force it has seen and hands over to FIRE (E. Bitzek et al., Phys. Rev. Lett.
97, 170201 (2006)), which needs no model. The hand-over happens when the largest force exceeds
``growth`` × the best so far, or no new best came in ``patience`` steps.

Why 10 eV/Å²: the first L-BFGS steps are F/α; with α = 70 (ASE's default, tuned for stiff covalent
solids) they are a seventh of what the NEB springs (5 eV/Å²) and ionic curvatures (~5–15 eV/Å²)
allow. Measured force calls to CI-NEB fmax 0.01 eV/Å (5 images, IDPP, preconverged to 0.05 eV/Å,
benchmarks/README.md): NaCl Na-vacancy hop, SevenNet-0 82 (α = 20: 137; FIRE: 212), Fumi–Tosi 77
(α = 20: 102; FIRE: 237); bcc Na hop, SevenNet-0 92 (FIRE: 172). On bcc Na with the OpenKIM Na–Sn
MEAM plain L-BFGS (any α) and BFGS diverge; the guard hands that band to FIRE.
"""

from __future__ import annotations

import numpy as np
from ase.optimize import FIRE, LBFGS


class GuardedLBFGS(LBFGS):
    """L-BFGS (initial Hessian ``alpha`` eV/Å²) that falls back to FIRE when it stops making progress.

    ``patience``: steps without a new smallest force before the hand-over; ``growth``: hand over at once
    when the largest force exceeds ``growth`` × the smallest so far. ``switched_at`` is the step of the
    hand-over (None while L-BFGS runs). Other arguments are ase.optimize.LBFGS's.
    """

    def __init__(self, atoms, *, alpha: float = 10.0, patience: int = 30, growth: float = 5.0, **kwargs):
        super().__init__(atoms, alpha=alpha, **kwargs)
        if patience < 1 or not growth > 1:
            raise ValueError(f"patience must be ≥ 1 and growth > 1, got {patience} and {growth}.")
        self._target = atoms
        self.patience = patience
        self.growth = growth
        self.fallback: FIRE | None = None
        self.switched_at: int | None = None
        self._best = np.inf
        self._best_x: np.ndarray | None = None
        self._since_best = 0

    def step(self, forces=None):
        if self.fallback is None and self._diverging():
            self.optimizable.set_x(self._best_x)  # back to the best band; FIRE starts there at rest
            self.fallback = FIRE(self._target, logfile=None)
            self.switched_at = self.nsteps
        if self.fallback is not None:
            self.fallback.step()
            return
        super().step()

    def _diverging(self) -> bool:
        gradient = self.optimizable.get_gradient()  # the current band's forces: no new calculation
        fmax = float(self.optimizable.gradient_norm(gradient))
        if fmax < self._best:
            self._best, self._best_x, self._since_best = fmax, self.optimizable.get_x().copy(), 0
            return False
        self._since_best += 1
        return fmax > self.growth * self._best or self._since_best >= self.patience
