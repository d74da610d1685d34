"""Harmonic phonons (phonopy finite displacements): generate → force jobs → analyse → PhononDocument.

``analysis`` (pure functions of forces: force constants, bands, DOS, thermal properties, stability,
sound velocities and the Christoffel check), ``document`` (:class:`PhononDocument`, ``row``/``section``
for the report), ``flow`` (:class:`PhononMaker`), ``figures`` (band + DOS PNG).

>>> from atomflow.phonons import PhononMaker
>>> flow = PhononMaker(calculator="emt").make(cu)
"""

from atomflow.phonons.analysis import (
    IMAGINARY_TOL_THZ,
    PhononResult,
    analyse_phonons,
    christoffel_velocities,
    force_constants,
    generate_displacements,
    sound_velocities,
)
from atomflow.phonons.document import PhononDocument, row, section
from atomflow.phonons.figures import phonon_figure
from atomflow.phonons.flow import PhononMaker, analyse_phonon_forces, compute_forces, run_phonon_displacements
from atomflow.phonons.property import PHONONS  # registers the property (atomflow.properties)

__all__ = [
    "IMAGINARY_TOL_THZ",
    "PhononDocument",
    "PhononMaker",
    "PhononResult",
    "analyse_phonon_forces",
    "analyse_phonons",
    "christoffel_velocities",
    "compute_forces",
    "force_constants",
    "generate_displacements",
    "phonon_figure",
    "row",
    "run_phonon_displacements",
    "section",
    "sound_velocities",
]
