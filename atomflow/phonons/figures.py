"""Band structure + DOS figure of a PhononDocument (PNG, matplotlib Agg)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _label(name: str) -> str:
    return "Γ" if name in ("\\Gamma", "GAMMA", "G") else name.replace("_", "")


def phonon_figure(doc, path: str | Path) -> Path:
    """Bands on the standard path (left) and the DOS (right); imaginary modes below zero, in red."""
    path = Path(path)
    fig, (ax, ax_dos) = plt.subplots(1, 2, figsize=(7.5, 4), sharey=True,
                                     gridspec_kw={"width_ratios": [3, 1], "wspace": 0.05})
    ticks, tick_labels = [], []
    # one label per segment end; consecutive branches join with "U|X"
    seg_ends = []
    for branch in doc.band_labels:
        seg_ends += [(branch[i], branch[i + 1]) for i in range(len(branch) - 1)]
    for k, (d, f) in enumerate(zip(doc.band_distances, doc.band_frequencies)):
        d, f = np.asarray(d), np.asarray(f)
        ax.plot(d, f, color="C0", lw=1)
        if (f < -doc.imaginary_tol).any():
            ax.plot(d, np.where(f < -doc.imaginary_tol, f, np.nan), color="red", lw=1.2)
        start, end = seg_ends[k] if k < len(seg_ends) else ("", "")
        if not ticks or abs(ticks[-1] - d[0]) > 1e-9:
            ticks.append(d[0])
            tick_labels.append(_label(start))
        elif tick_labels[-1] != _label(start):
            tick_labels[-1] = f"{tick_labels[-1]}|{_label(start)}"
        ticks.append(d[-1])
        tick_labels.append(_label(end))
    for t in ticks:
        ax.axvline(t, color="0.7", lw=0.5)
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xticks(ticks, tick_labels)
    ax.set_xlim(ticks[0], ticks[-1])
    ax.set_ylabel("frequency (THz)")
    calc = doc.provenance.calculator.get("name", "")
    stand_in = " (stand-in)" if doc.provenance.stand_in else ""
    status = "" if doc.dynamically_stable else f" — UNSTABLE (ν_min = {doc.min_frequency:.2f} THz)"
    ax.set_title(f"{doc.formula}{stand_in}, {calc}{status}", fontsize=10)
    ax_dos.plot(doc.dos, doc.dos_frequencies, color="C1", lw=1)
    ax_dos.set_xlabel("DOS (1/THz)")
    ax_dos.set_xlim(left=0)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
    return path
