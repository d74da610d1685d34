"""A structure that says what it is: the paper's compound, or a stand-in for it."""

from __future__ import annotations

from dataclasses import dataclass

from pymatgen.core import Structure


@dataclass(frozen=True)
class LabelledStructure:
    """A pymatgen Structure with the provenance every document must carry.

    Attributes:
        structure: the (ordered, validated) structure; lengths in Å.
        label: human-readable name, e.g. ``"Na7Sn12 (COD 4314129), 1×2×1 supercell, ordering 0"``
            or ``"NaSn (I4_1/acd) stand-in for Na7Sn12 (COD 4314129 unreachable)"``.
        source: where the positions came from (file path, COD id, or "built").
        stand_in: True when this is NOT the compound the paper studied; any number computed on it
            must say so next to the value.
        note: anything else a reader needs (why a stand-in was used, how the cell was ordered).
    """

    structure: Structure
    label: str
    source: str
    stand_in: bool
    note: str = ""

    def as_dict(self) -> dict:
        """JSON-ready dict (the structure as pymatgen's ``as_dict()``)."""
        return {
            "structure": self.structure.as_dict(),
            "label": self.label,
            "source": self.source,
            "stand_in": self.stand_in,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict) -> LabelledStructure:
        """Inverse of :meth:`as_dict`."""
        return cls(
            structure=Structure.from_dict(d["structure"]),
            label=d["label"],
            source=d["source"],
            stand_in=bool(d["stand_in"]),
            note=d.get("note", ""),
        )
