"""Find and load the ready-to-run workflow definitions in the project's `workflows/` folder.

Each definition is a Python file with ``make_flow(calculator: str | None) -> Flow``. Whatever goes wrong
in such a file (it does not import, has no or a wrong ``make_flow``, raises, returns no Flow) gives one
:class:`~atomflow.errors.InputError` that names the file and the line, instead of a traceback.
"""

from __future__ import annotations

import importlib.util
import inspect
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from atomflow.errors import AtomflowError, InputError
from atomflow.settings import get_settings

SIGNATURE_HINT = "def make_flow(calculator: str | None = None) -> Flow"


def workflow_names() -> list[str]:
    folder = get_settings().workflows_dir
    return sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))


@dataclass
class WorkflowDefinition:
    """A loaded workflow file; :meth:`make_flow` checks what the file's ``make_flow`` returns."""

    name: str
    path: Path
    module: ModuleType

    def make_flow(self, calculator: str | None = None) -> Any:
        from jobflow import Flow, Job

        function = self.module.make_flow
        try:
            flow = function(calculator)
        except AtomflowError:
            raise  # already one clear message (an unknown calculator, an element it cannot handle, …)
        except Exception as exc:
            raise InputError(f"make_flow in {self._where(exc)} raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(flow, (Flow, Job)):
            line = inspect.getsourcelines(function)[1]
            raise InputError(f"make_flow in {self.path}:{line} returned {type(flow).__name__}, not a jobflow "
                             "Flow or Job: end it with `return Flow(jobs, name=...)`.")
        return flow

    def __getattr__(self, attribute: str) -> Any:  # other names the file defines (PAPER_PATHS, …)
        return getattr(self.module, attribute)

    def _where(self, exc: BaseException) -> str:
        """FILE:LINE of the deepest frame of the traceback inside the workflow file."""
        return f"{self.path}:{_line_in(self.path, exc) or '?'}"


def _line_in(path: Path, exc: BaseException) -> int | None:
    if isinstance(exc, SyntaxError) and exc.filename and Path(exc.filename).resolve() == path.resolve():
        return exc.lineno
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if Path(f.filename).resolve() == path.resolve()]
    return frames[-1].lineno if frames else None


def load_workflow(name: str) -> WorkflowDefinition:
    path = get_settings().workflows_dir / f"{name}.py"
    if not path.is_file():
        raise InputError(
            f"Unknown workflow {name!r}. Available: {', '.join(workflow_names()) or 'none'} "
            f"(files in {path.parent}; set ATOMFLOW_WORKFLOWS_DIR to use another folder)."
        )
    spec = importlib.util.spec_from_file_location(f"atomflow_workflow_{name}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except AtomflowError:
        raise
    except Exception as exc:
        line = _line_in(path, exc)
        raise InputError(f"Workflow file {path}:{line or '?'} does not import: {type(exc).__name__}: "
                         f"{getattr(exc, 'msg', None) or exc}.") from exc
    function = getattr(module, "make_flow", None)
    if not callable(function):
        raise InputError(f"Workflow file {path} has no make_flow function: add `{SIGNATURE_HINT}`.")
    try:
        inspect.signature(function).bind(None)
    except TypeError:
        line = inspect.getsourcelines(function)[1]
        raise InputError(f"make_flow in {path}:{line} has the signature {inspect.signature(function)}; it must "
                         f"take the calculator as its one argument: `{SIGNATURE_HINT}`.") from None
    return WorkflowDefinition(name, path, module)
