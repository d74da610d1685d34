"""Attempt frequencies by harmonic transition-state theory (Vineyard) for NEB hops.

``hessian`` (finite-difference Γ Hessians, local or full, normal modes), ``lanczos`` (the lowest modes of a
stationary point from Hessian–vector products: the climbing image's order), ``vineyard`` (ν* and the
order checks, pure numbers), ``saddle`` (tight minimum; dimer saddle refinement), ``attempt`` (one hop
with a live calculator), ``document`` (:class:`AttemptFrequencyDocument`, ``row``/``section``),
``flow`` (:class:`AttemptFrequencyMaker`).
"""

from atomflow.rates.attempt import LOCAL_CUTOFF, VineyardSettings, attempt_frequency
from atomflow.rates.document import AttemptFrequencyDocument, row, section
from atomflow.rates.flow import AttemptFrequencyMaker, attempt_frequencies_for_hops, compute_attempt_frequency
from atomflow.rates.property import ATTEMPT_FREQUENCY  # registers the property (atomflow.properties)
from atomflow.rates.hessian import finite_difference_hessian, local_indices, normal_modes
from atomflow.rates.vineyard import IMAGINARY_TOL_THZ, count_imaginary, vineyard_prefactor

__all__ = [
    "IMAGINARY_TOL_THZ",
    "LOCAL_CUTOFF",
    "AttemptFrequencyDocument",
    "AttemptFrequencyMaker",
    "VineyardSettings",
    "attempt_frequencies_for_hops",
    "attempt_frequency",
    "compute_attempt_frequency",
    "count_imaginary",
    "finite_difference_hessian",
    "local_indices",
    "normal_modes",
    "row",
    "section",
    "vineyard_prefactor",
]
