"""Elastic tensor by the stress–strain method: generate strains → relax strained cells → fit.

``strains`` (generate, with point-group reduction), ``fit`` (pure analysis of numbers), ``document``
(:class:`ElasticDocument`, GPa), ``flow`` (:class:`ElasticMaker` and its jobs).
"""

from atomflow.elastic.document import ElasticDocument, StressStrainCurve
from atomflow.elastic.fit import ElasticProperties, TensorFit, elastic_properties, fit_elastic_tensor
from atomflow.elastic.flow import ElasticMaker, fit_elastic, relax_strained_cells
from atomflow.elastic.strains import DEFAULT_MAGNITUDES, StrainPlan, deform, plan_strains
from atomflow.elastic.property import ELASTIC  # registers the property (atomflow.properties)

__all__ = [
    "ELASTIC",
    "DEFAULT_MAGNITUDES",
    "ElasticDocument",
    "ElasticMaker",
    "ElasticProperties",
    "StrainPlan",
    "StressStrainCurve",
    "TensorFit",
    "deform",
    "elastic_properties",
    "fit_elastic",
    "fit_elastic_tensor",
    "plan_strains",
    "relax_strained_cells",
]
