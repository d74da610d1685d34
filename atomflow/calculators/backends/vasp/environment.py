"""Is VASP here? The executable and the POTCAR directory, checked before any work."""

from __future__ import annotations

import shlex
import shutil

from atomflow.errors import MissingDependencyError
from atomflow.settings import get_settings


def check_vasp_environment() -> tuple[str, str]:
    """The VASP command (its executable on PATH) and the POTCAR directory; clear errors otherwise."""
    from atomflow.calculators.backends.vasp.sets import psp_directory

    cmd = get_settings().vasp_cmd
    exe = shlex.split(cmd)[-1] if cmd.strip() else ""
    if not exe or shutil.which(exe) is None:
        raise MissingDependencyError(
            f"VASP executable {exe or cmd!r} not found on PATH. Install VASP (licensed) and set "
            "ATOMFLOW_VASP_CMD to the command that runs it, e.g. 'srun vasp_std'."
        )
    return cmd, str(psp_directory())
