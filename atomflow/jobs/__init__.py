"""Jobs shared by the workflows (relax, static) and the plain functions behind them."""

from atomflow.jobs.ase_run import RunResult, relax, run_static
from atomflow.jobs.makers import RelaxMaker, StaticMaker, relax_step, step_uuid

__all__ = ["RelaxMaker", "RunResult", "StaticMaker", "relax", "relax_step", "run_static", "step_uuid"]
