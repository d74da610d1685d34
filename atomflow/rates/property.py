"""The "attempt_frequency" property: Vineyard ν* of NEB hops (:class:`AttemptFrequencyDocument`), table, section."""

from __future__ import annotations

from typing import Any

from atomflow.properties import Property, ReportContext, common_columns, register_property
from atomflow.rates.document import AttemptFrequencyDocument
from atomflow.rates.document import row as _document_row


def attempt_row(doc: AttemptFrequencyDocument) -> dict[str, Any]:
    """The common columns, then ν* (THz), both barriers (eV) and the saddle's order."""
    own = {k: v for k, v in _document_row(doc).items() if k not in ("formula", "calculator", "stand_in", "flags")}
    return {**common_columns(doc), **own}


def attempt_section(ctx: ReportContext) -> str:
    """ν* of every hop with the barrier at the paper's settings beside the verified first-order one."""
    f = ctx.fmt
    rows = []
    for system, calc, d in ctx.items():
        ci = "—" if d.n_imaginary_climbing_image is None else str(d.n_imaginary_climbing_image)
        nu = "no rate" if d.nu_star_hz is None else f(d.nu_star_hz / 1e12)
        rows.append([system, d.name, str(d.n_atoms), calc, nu, _noise_factor(d),
                     f(d.barrier_paper_settings_eV, 3), f(d.barrier_first_order_eV, 3),
                     f"{d.n_imaginary_min} / {ci} / {d.n_imaginary_saddle}", d.hessian, str(d.n_force_calls),
                     ctx.status(d)])
    parts = ["ν* = Πν_min / Π′ν_saddle (Vineyard 1957) at Γ of the defect cell, translations removed; the minimum "
             "must have no imaginary mode and the saddle exactly one, else the hop gets no rate. The climbing "
             "image is refined by the dimer method to the force criterion; where it was a higher-order "
             "stationary point (CI column > 1) the verified first-order barrier differs from the CI-NEB one at "
             "the paper's settings. Both barriers here are this defect cell's; a transport document may take ν* "
             "from a smaller cell than its barriers (its notes say so). \"ν* ×/÷\" is ν*'s 1σ uncertainty factor from "
             "the calculator's force noise, estimated from the antisymmetric part of the raw finite-difference "
             "Hessians where every coordinate was displaced (— : the symmetric kind, where it is not estimated, a "
             "document from before this estimate, or no rate).",
             ctx.table(["system", "hop", "defect cell (atoms)", "calculator", "ν* (THz)", "ν* ×/÷ (noise, 1σ)",
                        "E_a, paper settings (eV)",
                        "E_a, first-order saddle (eV)", "imag. modes min / CI / saddle", "Hessian", "force calls",
                        "status"], rows)]
    notes = [f"- {s}, {d.name}: " + " ".join(d.notes) for s, _, d in ctx.items() if d.notes]
    if notes:
        parts.append("\n".join(notes))
    if ctx.flagged_text():
        parts.append(ctx.flagged_text())
    return "\n\n".join(parts)


def _noise_factor(d: AttemptFrequencyDocument) -> str:
    if d.nu_star_hz is None or d.hessian_noise_thz is None:
        return "—"
    return "not resolved" if d.nu_star_uncertainty_factor is None else f"{d.nu_star_uncertainty_factor:.2f}"


ATTEMPT_FREQUENCY = register_property(Property(
    name="attempt_frequency", document=AttemptFrequencyDocument, row=attempt_row,
    title="Attempt frequencies (harmonic TST, Vineyard)", accessor="attempt_frequencies", section=attempt_section,
))
