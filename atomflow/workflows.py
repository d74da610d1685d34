"""Find and load the ready-to-run workflow definitions in the project's `workflows/` folder.

Each definition is a Python file with ``make_flow(calculator: str | None) -> Flow``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from atomflow.errors import InputError
from atomflow.settings import get_settings


def workflow_names() -> list[str]:
    folder = get_settings().workflows_dir
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


def load_workflow(name: str) -> ModuleType:
    path = get_settings().workflows_dir / f"{name}.py"
    if not path.is_file():
        raise InputError(
            f"Unknown workflow {name!r}. Available: {', '.join(workflow_names()) or 'none'} "
            f"(files in {path.parent}; set ATOMFLOW_WORKFLOWS_DIR to use another folder)."
        )
    spec = importlib.util.spec_from_file_location(f"atomflow_workflow_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, "make_flow"):
        raise InputError(f"Workflow file {path} has no make_flow(calculator) function.")
    return module
