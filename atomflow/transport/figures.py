"""Arrhenius figure of the transport documents: log10 σ against 1000/T, one line per system and carrier model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from atomflow.transport.document import TransportDocument  # noqa: E402

#: the seed paper's interphase conductivity at room temperature, S/cm (transport.md: seed 001, line 256)
PAPER_SIGMA_S_CM = 0.22e-3
_STYLES = ["-", "--", ":", "-."]


def arrhenius_figure(docs: Sequence[TransportDocument], path: str | Path) -> Path | None:
    """Write the PNG to ``path``; None (nothing written) when no document has a positive σ."""
    docs = [d for d in docs if any(r.conductivity > 0 for c in d.carriers for r in c.table)]
    if not docs:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    for s_i, doc in enumerate(docs):
        system = (doc.label or doc.formula) + (" (stand-in)" if doc.stand_in else "")
        for c_i, c in enumerate(doc.carriers):
            t = np.array([r.temperature for r in c.table])
            sigma = np.array([r.conductivity for r in c.table])
            ok = sigma > 0
            if not ok.any():
                continue
            ea = "—" if c.activation_energy is None else f"{c.activation_energy:.2f} eV"
            ax.plot(1000.0 / t[ok], np.log10(sigma[ok]), _STYLES[c_i % 4], marker="o", ms=3, color=f"C{s_i}",
                    label=f"{system}: {c.name}, E_a,eff {ea}")
    ax.plot([1000.0 / 300.0], [np.log10(PAPER_SIGMA_S_CM)], "k*", ms=10,
            label="paper, Na–Sn interphase (impedance, RT)")
    ax.set_xlabel("1000 / T (K⁻¹)")
    ax.set_ylabel("log10 σ (S/cm)")
    ax.set_title("Vacancy-mediated Na⁺ conductivity (Nernst–Einstein), 250–1000 K", fontsize=10)
    top = ax.secondary_xaxis("top", functions=(lambda x: 1000.0 / np.maximum(x, 1e-9),
                                               lambda x: 1000.0 / np.maximum(x, 1e-9)))
    top.set_xlabel("T (K)")
    ax.legend(fontsize=6.5)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
