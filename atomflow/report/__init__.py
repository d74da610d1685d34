"""The report of any store: results/report.md + PNG figures, rebuilt from the store without recomputing.

One section per registered property that the store holds (its registration's ``section`` and ``figures``, see
:mod:`atomflow.properties`), an overview by system and property, the comparison with the seed paper
(:mod:`atomflow.report.paper`) when the paper's systems are present, and each registered multi-property
section (:class:`~atomflow.properties.ReportSection`, e.g. the interphase ranking) that finds something to say.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path

from atomflow import __version__
from atomflow.errors import InputError
from atomflow.properties import (
    ReportContext,
    ReportSection,
    StudyContext,
    default_section,
    registered_properties,
    registered_sections,
)
from atomflow.results import Results
from atomflow.settings import get_settings
from atomflow.store import describe_store_uri


def write_report(store: str | None = None, directory: str | Path | None = None) -> Path:
    """Write ``report.md`` and its figures into ``directory`` (default: results/); returns the report path."""
    from atomflow.report import paper
    from atomflow.report.collect import collect

    out = Path(directory) if directory else get_settings().results_dir
    out.mkdir(parents=True, exist_ok=True)
    results = Results(store)
    where = describe_store_uri(store)
    contexts = [ReportContext(prop, docs, out, where) for prop in registered_properties()
                if (docs := results.query(prop.name).documents)]
    if not contexts:
        raise InputError(f"The store {where} holds no results yet: run a workflow first, e.g. "
                         "`atomflow run paper` (or pass --store).")
    calculators = sorted({c for ctx in contexts for c in ctx.calculators})
    parts = [f"""# atomflow report

Made {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC by atomflow {__version__} from the store
{where} (nothing recomputed). Calculators: {", ".join(calculators)}.
Every summary (committee means, agreement with a reference) uses only converged, unflagged, mechanically stable
results; the others are shown with their flags and listed under each section.""", "## What the store holds",
             overview(contexts)]
    study = collect({ctx.property.name: ctx.documents for ctx in contexts})
    if paper.applies(study):
        parts.append(paper.section(study, out))
    everything = StudyContext({ctx.property.name: ctx for ctx in contexts}, out, where)
    parts += [text for section in registered_sections() if (text := study_section(section, everything))]
    for ctx in contexts:
        parts.append(property_section(ctx, out))
    text = "\n\n".join(p.strip("\n") for p in parts) + "\n"
    path = out / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text(text)
    tmp.replace(path)  # never leave a half-written report
    return path


def overview(contexts: list[ReportContext]) -> str:
    """One row per system: how many results of each property, how many of them flagged."""
    systems = sorted({s for ctx in contexts for s in ctx.systems})
    rows = []
    for system in systems:
        formulas = sorted({str(getattr(d, "formula", "")) for ctx in contexts
                           for docs in ctx.groups.get(system, {}).values() for d in docs} - {""})
        stand_in = any(ctx.stand_in(system) for ctx in contexts)
        cells = []
        for ctx in contexts:
            docs = [d for docs in ctx.groups.get(system, {}).values() for d in docs]
            n_flagged = sum(not ctx.trusted(d) for d in docs)
            cells.append(f"{len(docs)}" + (f" ({n_flagged} flagged)" if n_flagged else "") if docs else "—")
        rows.append([system + (" †" if stand_in else ""), ", ".join(formulas[:4]) + (" …" if len(formulas) > 4
                                                                                     else ""), *cells])
    note = "\n\n† = a stand-in structure, not the compound it stands for." if any("†" in r[0] for r in rows) else ""
    return (ReportContext.table(["system", "formulas", *(ctx.property.title for ctx in contexts)], rows) + note
            + overview_warnings(contexts))


def overview_warnings(contexts: list[ReportContext]) -> str:
    """What each property says makes a system's results suspect (its ``warnings`` hook), under the overview."""
    lines = [line for ctx in contexts if ctx.property.warnings for line in ctx.property.warnings(ctx)]
    return "".join(f"\n\n{line}" for line in lines)


def study_section(section: ReportSection, study: StudyContext) -> str:
    """``## title``, a multi-property section and its figures; '' when the store holds nothing for it."""
    body = section.section(study).strip("\n")
    if not body:
        return ""
    figures = section.figures(study, study.output_dir) if section.figures else []
    links = [f"![{section.title}: {path.stem.replace('_', ' ')}]"
             f"({Path(os.path.relpath(path, study.output_dir)).as_posix()})" for path in figures]
    return "\n\n".join([f"## {section.title}", body, *links])


def property_section(ctx: ReportContext, out: Path) -> str:
    """``## title``, the property's own section (or one row per document) and its figures."""
    prop = ctx.property
    figures = prop.figures(ctx, out) if prop.figures else []
    body = (prop.section or default_section)(ctx)
    links = [f"![{prop.title}: {path.stem.replace('_', ' ')}]({Path(os.path.relpath(path, out)).as_posix()})"
             for path in figures]
    return "\n\n".join([f"## {prop.title}", body.strip("\n"), *links])
