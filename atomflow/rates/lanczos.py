"""The lowest normal modes of a stationary point without its Hessian: Lanczos iterations on the mass-weighted
Hessian, one central-difference Hessian–vector product (two force calls) per iteration.

The order of a climbing image is a property of its lowest two or three curvatures only; a full Hessian
(3N coordinates, or phonopy's symmetry-distinct ones) measures all 3N. Iterative eigensolvers on
finite-difference Hessian–vector products are how saddle searches get those few: the dimer and Lanczos
methods of EON (Malek & Mousseau, Phys. Rev. E 62, 7723 (2000); Olsen et al., J. Chem. Phys. 121, 9776
(2004)) and Sella's Davidson solver (Hermes et al., J. Chem. Theory Comput. 18, 6974 (2022)). Here: plain
Lanczos with full reorthogonalisation (Golub & Van Loan, *Matrix Computations*, 4th ed., §10.1) in the
mass-weighted coordinates of the chosen atoms, the rigid translations projected out for a whole periodic cell,
started from the band tangent (the hop's mode) plus a fixed pseudo-random vector.

Ritz values θ_k are upper bounds of the k-th lowest eigenvalues (Cauchy interlacing), and an eigenvalue lies
within the residual ‖r_k‖ of each; the iterations stop when the negative Ritz values and the next one
are converged to ``residual_thz2`` THz² and their count is unchanged since the previous iteration, which is what
counting imaginary modes needs. Forward differences (``central=False``, one call per iteration, O(δ)) are what
atomflow.rates.attempt uses: on the Fumi–Tosi NaCl climbing image they give −3.007 / −1.056 THz against the
symmetric Hessian's −3.006 / −1.029 THz, for 40 calls instead of 78.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from atomflow.errors import InputError
from atomflow.rates.hessian import _THZ, DELTA, Modes

#: THz²: a Ritz value counts as converged when its residual bound is below this (ν = 1 THz known to ±1 %).
RESIDUAL_THZ2 = 0.02
#: Lanczos steps at most (each 2 force calls); a 63-atom NaCl climbing image needs ~15.
MAX_ITERATIONS = 60


def lowest_modes(atoms: Atoms, *, start: np.ndarray | None = None, indices: list[int] | None = None,
                 remove_translations: bool = True, delta: float = DELTA, tol_thz: float = 0.1,
                 residual_thz2: float = RESIDUAL_THZ2, max_iterations: int = MAX_ITERATIONS,
                 central: bool = True, seed: int = 0) -> tuple[Modes, int]:
    """(modes, force calls): the converged lowest modes of ``atoms`` (which carries a calculator) —
    every mode below ``tol_thz`` THz plus the next one — from Lanczos on finite-difference Hessian–vector
    products of step ``delta`` Å. ``start`` (N×3, Cartesian; e.g. the band tangent) seeds the iterations;
    ``indices``: the atoms that move (None: all); ``remove_translations`` for a whole periodic cell."""
    if not delta > 0:
        raise InputError(f"finite-difference displacement must be positive (Å), got {delta}.")
    n_all = len(atoms)
    idx = list(range(n_all)) if indices is None else sorted(int(i) for i in indices)
    if remove_translations and len(idx) != n_all:
        raise InputError("Translations can only be removed when every atom moves.")
    m = np.repeat(atoms.get_masses()[idx], 3)
    dim = 3 * len(idx)
    work = atoms.copy()
    work.calc = atoms.calc
    x0 = work.get_positions()
    calls = 0
    trans = np.zeros((3 if remove_translations else 0, dim))
    for k in range(len(trans)):
        trans[k, k::3] = np.sqrt(m[k::3])
    if len(trans):
        trans /= np.linalg.norm(trans, axis=1, keepdims=True)

    def project(v: np.ndarray) -> np.ndarray:
        return v - trans.T @ (trans @ v) if len(trans) else v

    def apply(q: np.ndarray) -> np.ndarray:
        """Mass-weighted Hessian times q: M^-1/2 H M^-1/2 q by differences of the forces."""
        u = (q / np.sqrt(m)).reshape(-1, 3)
        scale = delta / np.linalg.norm(u, axis=1).max()  # the largest atomic displacement is delta
        f = [forces_at(scale * u), forces_at(-scale * u) if central else f0]
        return project(-(f[0] - f[1]) / ((2 if central else 1) * scale) / np.sqrt(m))

    def forces_at(step: np.ndarray) -> np.ndarray:
        nonlocal calls
        x = x0.copy()
        x[idx] += step
        work.set_positions(x)
        forces = work.get_forces()
        calls += 1
        if remove_translations:
            forces = forces - forces.mean(axis=0)  # as in symmetric_hessian: no net force from noise
        return forces[idx].ravel()

    f0 = None if central else forces_at(np.zeros((len(idx), 3)))
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(dim)
    if start is not None:
        s = (np.asarray(start, float).reshape(n_all, 3)[idx]).ravel() * np.sqrt(m)
        s = project(s)
        if np.linalg.norm(s) > 0:
            q = s / np.linalg.norm(s) + 0.3 * project(q) / np.linalg.norm(project(q))
    q = project(q)
    q /= np.linalg.norm(q)
    basis, alpha, beta = [q], [], []
    tol_w2 = (tol_thz / _THZ) ** 2
    res_w2 = residual_thz2 / _THZ**2
    history: list[int] = []
    theta = vecs = None
    n_iter = min(max_iterations, dim - len(trans))
    for j in range(n_iter):
        w = apply(basis[-1])
        a = float(basis[-1] @ w)
        alpha.append(a)
        qs = np.array(basis)
        for _ in range(2):  # full reorthogonalisation, twice (Kahan's "twice is enough")
            w = w - qs.T @ (qs @ w)
        w = project(w)
        b = float(np.linalg.norm(w))
        t = np.diag(alpha) + np.diag(beta, 1) + np.diag(beta, -1)
        theta, s_vec = np.linalg.eigh(t)
        residuals = np.abs(b * s_vec[-1])
        n_neg = int(np.sum(theta < -tol_w2))
        wanted = min(n_neg + 1, len(theta))
        converged = bool(np.all(residuals[:wanted] < res_w2)) and len(theta) > wanted
        history.append(n_neg)
        vecs = qs.T @ s_vec
        if converged and len(history) >= 2 and history[-1] == history[-2]:
            break
        if b < 1e-12:  # invariant subspace: the Ritz values are exact
            break
        beta.append(b)
        basis.append(w / b)
    work.set_positions(x0)
    n_keep = min(int(np.sum(theta < -tol_w2)) + 1, len(theta))
    freqs = np.sign(theta[:n_keep]) * np.sqrt(np.abs(theta[:n_keep])) * _THZ
    vectors = np.zeros((n_keep, n_all, 3))
    for k in range(n_keep):
        vk = (vecs[:, k] / np.sqrt(m)).reshape(-1, 3)
        vectors[k, idx] = vk / np.linalg.norm(vk)
    return Modes(frequencies=freqs, vectors=vectors, indices=idx,
                 translations_removed=len(trans)), calls
