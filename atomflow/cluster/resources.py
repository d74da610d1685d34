"""Per-job workers and resources: heavy jobs (relax, static, CI-NEB) and light ones (generate, fit, analyse).

A :class:`ResourcePlan` is an ordered list of rules; the last rule that matches a job decides its class.
:meth:`ResourcePlan.apply` writes each rule into the Flow with jobflow-remote's ``set_run_config``
(``dynamic=True``), so the same rules also reach jobs made at run time by ``Response(replace=…)``: jobflow
applies a job's ``config_updates`` to the jobs it generates, by their names and functions at that moment.

One jobflow default works against that: ``JobConfig.pass_manager_config=True`` copies the generating job's
``manager_config`` onto every generated job *after* the config updates, so a light generator
(``relax_strained_cells``) would send all its relaxations to the light worker. The plan therefore sets
``pass_manager_config=False`` on every job (also dynamically); the rules alone decide.

>>> plan = ResourcePlan(heavy=RunConfig(worker="heavy"), light=RunConfig(worker="light"))
>>> plan.apply(flow)                    # before submission
>>> plan.classify(job)                  # "heavy" or "light", by the same rules
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, Literal

from atomflow.cluster.errors import ClusterError

JobClass = Literal["heavy", "light"]

#: Words in a job name that mark it heavy (user-defined jobs included): "relax 1/6", "neb hop", "static".
HEAVY_NAME_WORDS: tuple[str, ...] = ("relax", "static", "neb")

#: Functions that call a calculator (heavy whatever their name). "module:qualname".
HEAVY_FUNCTIONS: tuple[str, ...] = (
    "atomflow.jobs.makers:RelaxMaker.make",  # also StaticMaker and every relax of every workflow
    "atomflow.neb.flow:run_ci_neb",
    "atomflow.phonons.flow:compute_forces",  # "phonon forces 3/13": a supercell single point each
    "atomflow.rates.flow:compute_attempt_frequency",  # "attempt frequency 0->1'": minimum, saddle, Hessians
)

#: Cheap generators whose names contain a heavy word; they only plan and fan out (Response(replace=…)).
LIGHT_FUNCTIONS: tuple[str, ...] = (
    "atomflow.elastic.flow:relax_strained_cells",
    "atomflow.vacancy.flow:relax_vacancy_cells",
)


@dataclass(frozen=True)
class RunConfig:
    """Where one class of jobs runs: a worker of the project and, optionally, scheduler resources.

    ``resources`` replace the worker's resources for these jobs (jobflow-remote does not merge the two). Give
    the worker's own resources to keep them: jobflow-remote turns an empty per-job value into an empty
    ``QResources``, which the runner uses instead of the worker's
    (:func:`atomflow.cluster.submit.resource_plan` does this).
    """

    worker: str
    resources: dict[str, Any] | None = None
    exec_config: str | None = None

    def run_config_kwargs(self) -> dict[str, Any]:
        # {} (not None) so a later rule also resets resources a previous rule set.
        return {
            "worker": self.worker,
            "resources": dict(self.resources or {}),
            "exec_config": self.exec_config,
        }


@dataclass(frozen=True)
class Rule:
    """Jobs whose name contains ``name`` (substring) or whose function is ``function`` get ``job_class``."""

    job_class: JobClass
    name: str | None = None
    function: str | None = None  # "module:qualname"

    def __post_init__(self) -> None:
        if (self.name is None) == (self.function is None):
            raise ClusterError("A rule matches either a job name (substring) or a function, not both.")

    def resolve_function(self) -> Callable:
        module, _, qualname = self.function.partition(":")
        try:
            obj: Any = importlib.import_module(module)
            for part in qualname.split("."):
                obj = getattr(obj, part)
        except (ImportError, AttributeError) as exc:
            raise ClusterError(f"Rule function {self.function!r} cannot be imported ({exc}).") from exc
        return obj

    def matches(self, job: Any) -> bool:
        if self.name is not None:
            return job.name is not None and self.name in job.name
        return _unwrap(job.function) is _unwrap(self.resolve_function())


def _unwrap(function: Any) -> Any:
    # as jobflow's Job.update_config compares functions: @job-decorated and bound methods → the plain function
    return getattr(function, "__wrapped__", function)


def default_rules() -> tuple[Rule, ...]:
    return (
        *(Rule("heavy", name=word) for word in HEAVY_NAME_WORDS),
        *(Rule("heavy", function=f) for f in HEAVY_FUNCTIONS),
        *(Rule("light", function=f) for f in LIGHT_FUNCTIONS),
    )


@dataclass(frozen=True)
class ResourcePlan:
    """Send heavy jobs to ``heavy`` and the rest to ``light``; rules in order, the last match wins."""

    heavy: RunConfig
    light: RunConfig
    rules: tuple[Rule, ...] = field(default_factory=default_rules)

    def config_for(self, job_class: JobClass) -> RunConfig:
        return self.heavy if job_class == "heavy" else self.light

    def classify(self, job: Any) -> JobClass:
        """The class the rules give ``job`` (what :meth:`apply` sets for it)."""
        result: JobClass = "light"
        for rule in self.rules:
            if rule.matches(job):
                result = rule.job_class
        return result

    def apply(self, flow: Any) -> Any:
        """Set worker/resources/exec_config on every job of ``flow``, now and for jobs made at run time."""
        from jobflow_remote import set_run_config

        flow.update_config({"_set": {"pass_manager_config": False}}, dict_mod=True, dynamic=True)
        set_run_config(flow, dynamic=True, **self.light.run_config_kwargs())  # the default: light
        for rule in self.rules:
            kwargs = self.config_for(rule.job_class).run_config_kwargs()
            if rule.name is not None:
                set_run_config(flow, name_filter=rule.name, dynamic=True, **kwargs)
            else:
                set_run_config(flow, function_filter=rule.resolve_function(), dynamic=True, **kwargs)
        return flow
