"""Ionic transport: jump rates on the hop network → vacancy and tracer diffusion → carriers → conductivity.

* :func:`analyse_transport` — the pure analysis (structure + hops + carrier models → TransportDocument).
* :class:`TransportMaker` — the same as a jobflow job from MigrationDocuments, attempt-frequency documents and a
  VacancyDocument.
* :func:`row`, :func:`section` — report hooks; :func:`arrhenius_figure` — the PNG.
"""

from atomflow.transport.analysis import analyse_transport
from atomflow.transport.arrhenius import DEFAULT_TEMPERATURES, ArrheniusFit, fit_arrhenius
from atomflow.transport.carriers import CarrierModel
from atomflow.transport.document import (
    DEFAULT_NU_STAR_HZ,
    ArrheniusRow,
    CarrierResult,
    HopKinetics,
    HopRate,
    TransportDocument,
)
from atomflow.transport.figures import arrhenius_figure
from atomflow.transport.flow import TransportMaker, analyse_transport_job, hops_from_documents
from atomflow.transport.report import row, section
from atomflow.transport.property import TRANSPORT  # registers the property (atomflow.properties)

__all__ = [
    "DEFAULT_NU_STAR_HZ", "DEFAULT_TEMPERATURES", "ArrheniusFit", "ArrheniusRow", "CarrierModel", "CarrierResult",
    "HopKinetics", "HopRate", "TransportDocument", "TransportMaker", "analyse_transport", "analyse_transport_job",
    "arrhenius_figure", "fit_arrhenius", "hops_from_documents", "row", "section",
]
