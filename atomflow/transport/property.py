"""The "transport" property: vacancy diffusion and Na⁺ conductivity (:class:`TransportDocument`), table, section,
Arrhenius figure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from atomflow.properties import Property, ReportContext, common_columns, register_property
from atomflow.transport.document import TransportDocument

#: carrier kinds that get their own numeric columns in the table (first model of each kind)
KINDS = ("extrinsic", "structural", "thermal")


def transport_row(doc: TransportDocument) -> dict[str, Any]:
    """One flat row: the carrier models by name, ν* (THz; assumed = the stated default), the effective migration
    energy (eV), D_v and f, and per carrier kind D*(T_ref) (cm²/s), σ(T_ref) (S/cm) and E_a,eff (eV)."""
    nus = [h.nu_star_hz for h in doc.hops if h.nu_star_hz is not None]
    out: dict[str, Any] = {
        **common_columns(doc), "carriers": "; ".join(c.name for c in doc.carriers), "T_K": doc.reference_temperature,
        "nu_star_THz": (min(nus) / 1e12 if nus else None),
        "nu_star_assumed": any(h.nu_star_assumed for h in doc.hops),
        "E_migration_eff_eV": None if doc.migration_fit is None else doc.migration_fit.activation_energy,
        "D_vacancy_cm2_s": doc.vacancy_diffusivity, "correlation_factor": doc.correlation_factor,
    }
    for kind in KINDS:
        c = next((c for c in doc.carriers if c.model.kind == kind), None)
        out[f"D_tracer_{kind}_cm2_s"] = None if c is None else c.tracer_diffusivity
        out[f"sigma_{kind}_S_cm"] = None if c is None else c.conductivity
        out[f"E_a_{kind}_eV"] = None if c is None else c.activation_energy
    return out


def newest(ctx: ReportContext) -> list[TransportDocument]:
    """The newest document of each system and calculator (what the section and the figure show)."""
    return [docs[0] for by_calc in ctx.groups.values() for docs in by_calc.values()]


def transport_section(ctx: ReportContext) -> str:
    """The transport package's section on the newest document per system and calculator; its summaries cite
    only trusted documents, the others are shown with their flags and listed."""
    from atomflow.transport.report import section

    text = section(newest(ctx), heading=False, trusted=ctx.trusted)  # the report links the figure after it
    return "\n\n".join(t for t in (text.strip("\n"), ctx.flagged_text()) if t)


def transport_figures(ctx: ReportContext, out: Path) -> list[Path]:
    """log10 σ against 1000/T for every system and carrier model, with the paper's 0.22 mS/cm at 300 K."""
    from atomflow.transport.figures import arrhenius_figure

    path = arrhenius_figure(newest(ctx), out / "arrhenius.png")
    return [path] if path is not None else []


TRANSPORT = register_property(Property(
    name="transport", document=TransportDocument, row=transport_row, title="Ionic transport: from barriers to D and σ",
    accessor="transport", section=transport_section, figures=transport_figures,
))
