"""Every calculator backend, one module each; importing this registers them (import order = listing order).

Adding a backend: write its module (build a :class:`~atomflow.calculators.backend.Backend` that declares
its parameters with :class:`~atomflow.calculators.parameters.Parameter`, call ``register``) and add its
import line here. Heavy packages (torch, gpaw, pymatgen.io.vasp, custodian)
are imported inside the backends' functions, so this stays fast.
"""

from atomflow.calculators.backends import emt  # noqa: F401
from atomflow.calculators.backends import lj  # noqa: F401
from atomflow.calculators.backends import kim  # noqa: F401
from atomflow.calculators.backends import fumi_tosi  # noqa: F401
from atomflow.calculators.backends import chgnet  # noqa: F401
from atomflow.calculators.backends import sevennet  # noqa: F401
from atomflow.calculators.backends import mace  # noqa: F401
from atomflow.calculators.backends import gpaw  # noqa: F401
from atomflow.calculators.backends import vasp  # noqa: F401
