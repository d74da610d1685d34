"""A stand-in for the `vasp_std` executable (tests copy it into tmp_path and point ATOMFLOW_VASP_CMD at it).

It does what VASP would do for the step it is given, with a cheap real calculator instead of DFT:

1. reads INCAR / KPOINTS / POSCAR / POTCAR (VASP's formats, parsed here by hand, not with the code under
   test) and checks them against the paper's settings (../shared/reference/paper.md) for the step named
   in ``SYSTEM = atomflow:<step>``, and that the tags agree with that step (ISIF, IBRION, IMAGES …). Any
   mismatch: a message on stderr and exit status 1, which custodian turns into a failed run;
2. runs the step with ASE and ``$FAKE_VASP_CALC`` (an atomflow calculator name): a single point, an ionic
   relaxation (ISIF 2), a cell + ionic relaxation (ISIF 3) or a climbing-image NEB over 00…NN;
3. writes what VASP writes and atomflow / custodian read: vasprun.xml (every ionic step: structure,
   forces, stress in kBar with VASP's sign, energies), OUTCAR, OSZICAR, CONTCAR.

Each call appends one JSON line (step, directory, k-mesh, POTCAR symbols) to ``$FAKE_VASP_LOG``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import numpy as np

# The paper's settings, written out independently of calculators/backends/vasp/sets.py (which is what is tested).
COMMON = {"GGA": "PE", "ENCUT": 550.0, "ISPIN": 2, "EDIFF": 1e-6, "PREC": "ACCURATE", "LREAL": False}
STEPS = {
    "relax_cell": {"IBRION": 2, "ISIF": 3, "EDIFFG": -0.01},
    "relax_ions": {"IBRION": 2, "ISIF": 2, "EDIFFG": -0.01},
    "static": {"IBRION": -1, "NSW": 0},
    "neb_endpoint": {"IBRION": -1, "NSW": 0},
    "neb": {"IBRION": 3, "POTIM": 0.0, "ISIF": 2, "IMAGES": 5, "SPRING": -5.0, "IOPT": 7},
}
KPOINTS = {"relax_cell": ("MONKHORST", (4, 4, 4)), "relax_ions": ("MONKHORST", (4, 4, 4)),
           "static": ("MONKHORST", (4, 4, 4)), "neb_endpoint": ("MONKHORST", (2, 2, 2)),
           "neb": ("MONKHORST", (2, 2, 2))}
POTCARS = {"Na": "Na_pv", "Sn": "Sn_d", "Cl": "Cl"}  # the MP / pymatgen choices


def fail(message: str) -> None:
    print(f"FAKE VASP: {message}", file=sys.stderr)
    sys.exit(1)


def read_incar(path: Path) -> dict:
    tags = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].split("!")[0]
        if "=" not in line:
            continue
        key, value = (x.strip() for x in line.split("=", 1))
        tags[key.upper()] = parse_value(value)
    return tags


def parse_value(value: str):
    low = value.lower().strip(".")
    if low in ("true", "t"):
        return True
    if low in ("false", "f"):
        return False
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value.upper() if value.isalpha() else value


def read_kpoints(path: Path) -> tuple[str, tuple[int, ...]]:
    lines = path.read_text().splitlines()
    if int(lines[1].split()[0]) != 0:
        fail("KPOINTS is not an automatic mesh")
    style = {"m": "MONKHORST", "g": "GAMMA"}.get(lines[2].strip()[0].lower(), lines[2])
    return style, tuple(int(x) for x in lines[3].split()[:3])


def potcar_symbols(path: Path) -> list[str]:
    return re.findall(r"TITEL\s*=\s*PAW_PBE\s+(\S+)", path.read_text())


def check_inputs(step: str, incar: dict, kpoints, symbols: list[str], species: list[str]) -> None:
    if step not in STEPS:
        fail(f"unknown step {step!r} in SYSTEM")
    for key, want in {**COMMON, **STEPS[step]}.items():
        have = incar.get(key, 0 if key == "NSW" else None)
        if key == "EDIFFG" and step == "neb":
            continue
        if isinstance(want, float) and isinstance(have, (int, float)):
            ok = abs(have - want) <= 1e-12 + 1e-9 * abs(want)
        elif isinstance(want, str) and isinstance(have, str):
            ok = have.upper() == want.upper()
        else:
            ok = have == want
        if not ok:
            fail(f"INCAR {key} = {have!r} but step {step} needs {want!r}")
    if step in ("relax_cell", "relax_ions", "neb") and not incar.get("NSW", 0) > 0:
        fail(f"step {step} needs NSW > 0")
    if step == "neb":  # two stages: a band without climbing to 0.05 eV/Å, then CI-NEB to 0.01 eV/Å
        stage = (incar.get("LCLIMB"), incar.get("EDIFFG"))
        if stage not in ((False, -0.05), (True, -0.01)):
            fail(f"NEB stage LCLIMB/EDIFFG = {stage} is neither (F, -0.05) nor (T, -0.01)")
    if kpoints != KPOINTS[step]:
        fail(f"KPOINTS {kpoints} but step {step} needs {KPOINTS[step]}")
    blocks = [s for i, s in enumerate(species) if i == 0 or s != species[i - 1]]
    if len(symbols) != len(blocks):
        fail(f"POTCAR has {len(symbols)} entries for the POSCAR's species blocks {blocks}")
    for element, symbol in zip(blocks, symbols):
        want = POTCARS.get(element, element)
        if symbol != want:
            fail(f"POTCAR {symbol} for {element}; the paper's (MP) choice is {want}")


def calculator():
    from atomflow.calculators import get_calculator

    return get_calculator(os.environ["FAKE_VASP_CALC"])


def snapshot(atoms) -> dict:
    return {"cell": np.array(atoms.cell), "frac": atoms.get_scaled_positions(wrap=False),
            "energy": float(atoms.get_potential_energy()), "forces": atoms.get_forces().copy(),
            "stress": atoms.get_stress(voigt=False).copy()}


def run_single(step: str, incar: dict, directory: Path) -> list[dict]:
    from ase.filters import FrechetCellFilter
    from ase.io import read
    from ase.optimize import BFGS

    atoms = read(directory / "POSCAR", format="vasp")
    atoms.calc = calculator()
    steps = [snapshot(atoms)]
    if step in ("relax_cell", "relax_ions"):
        fmax = abs(incar["EDIFFG"])
        target = FrechetCellFilter(atoms, exp_cell_factor=1e-4 * atoms.get_volume() / fmax) \
            if step == "relax_cell" else atoms
        opt = BFGS(target, logfile=None)
        opt.attach(lambda: steps.append(snapshot(atoms)))
        opt.run(fmax=fmax, steps=incar["NSW"] - 1)
        steps = steps[1:] if len(steps) > 1 else steps  # BFGS reports the start again as step 0
    write_outputs(directory, atoms, steps, incar)
    return steps


def run_neb(incar: dict, directory: Path) -> None:
    from ase.io import read
    from ase.mep import NEB
    from ase.optimize import FIRE

    n = incar["IMAGES"]
    images = [read(directory / f"{i:02d}" / "POSCAR", format="vasp") for i in range(n + 2)]
    for image in images:
        image.calc = calculator()
    band = NEB(images, k=abs(incar["SPRING"]), climb=bool(incar["LCLIMB"]), method="improvedtangent")
    trajectories = [[snapshot(image)] for image in images[1:-1]]

    def record():
        for traj, image in zip(trajectories, images[1:-1]):
            traj.append(snapshot(image))

    opt = FIRE(band, logfile=None)
    opt.attach(record)
    opt.run(fmax=abs(incar["EDIFFG"]), steps=incar["NSW"] - 1)
    for i, (image, traj) in enumerate(zip(images[1:-1], trajectories), start=1):
        write_outputs(directory / f"{i:02d}", image, traj[1:] if len(traj) > 1 else traj, incar)


def write_outputs(directory: Path, atoms, steps: list[dict], incar: dict) -> None:
    from ase.io import write
    from ase.units import GPa

    write(directory / "CONTCAR", atoms, format="vasp", direct=True)
    kbar = [-s["stress"] / GPa * 10.0 for s in steps]  # ASE (eV/Å³, tensile +) → VASP (kBar, pressure +)
    symbols = atoms.get_chemical_symbols()
    (directory / "vasprun.xml").write_text(vasprun_xml(symbols, steps, kbar, incar))
    with open(directory / "OSZICAR", "w") as f:
        for k, s in enumerate(steps, start=1):
            f.write(f"DAV:   1    {s['energy']:.12E}   {s['energy']:.5E}   0.00000E+00   100   0.1E-06\n")
            f.write(f"{k:4d} F= {s['energy']:.8E} E0= {s['energy']:.8E}  d E =0.000000E+00  mag=     0.0000\n")
    last = steps[-1]
    with open(directory / "OUTCAR", "w") as f:
        f.write(" vasp.5.4.4 (fake, atomflow tests)\n")
        for k, s in enumerate(steps, start=1):
            f.write(f"--------------------------------------- Iteration{k:7d}(   1)  ---------------------------------------\n")
            f.write(f"  free  energy   TOTEN  = {s['energy']:18.8f} eV\n")
            f.write(f"  energy  without entropy= {s['energy']:18.8f}  energy(sigma->0) = {s['energy']:18.8f}\n")
        f.write(f"  FORCES: max atom, RMS {np.linalg.norm(last['forces'], axis=1).max():12.6f}\n")
        f.write(" General timing and accounting informations for this job:\n")


def xml_type(value) -> str:
    return {bool: "logical", int: "int", float: "float"}.get(type(value), "string")


def _v(values) -> str:
    return " ".join(f"{x: .10f}" for x in values)


def structure_xml(name: str | None, cell, frac) -> str:
    rec = np.linalg.inv(cell).T
    head = f'<structure name="{name}" >' if name else "<structure>"
    return "\n".join([
        head, " <crystal>", '  <varray name="basis" >', *[f"   <v> {_v(r)} </v>" for r in cell], "  </varray>",
        f'  <i name="volume"> {abs(np.linalg.det(cell)):.10f} </i>', '  <varray name="rec_basis" >',
        *[f"   <v> {_v(r)} </v>" for r in rec], "  </varray>", " </crystal>", ' <varray name="positions" >',
        *[f"  <v> {_v(r)} </v>" for r in frac], " </varray>", "</structure>"])


def vasprun_xml(symbols: list[str], steps: list[dict], kbar: list, incar: dict) -> str:
    types = [s for i, s in enumerate(symbols) if s not in symbols[:i]]
    blocks = [s for i, s in enumerate(symbols) if i == 0 or s != symbols[i - 1]]
    incar_xml = [f'  <i type="{xml_type(v)}" name="{k}">{"T" if v is True else "F" if v is False else v}</i>'
                 for k, v in incar.items()]
    params = {"NELM": ("int", 200), "NSW": ("int", incar.get("NSW", 0)), "IBRION": ("int", incar.get("IBRION", -1)),
              "ISIF": ("int", incar.get("ISIF", 2)), "ISPIN": ("int", 2), "EDIFF": ("", incar["EDIFF"]),
              "EDIFFG": ("", incar.get("EDIFFG", -0.01)), "ENCUT": ("", incar["ENCUT"]), "ISMEAR": ("int", 0),
              "SIGMA": ("", 0.05), "NELMIN": ("int", 2), "NELECT": ("", 8.0), "NBANDS": ("int", 8)}
    param_xml = [f'  <i {f"type={chr(34)}{t}{chr(34)} " if t else ""}name="{k}">{v}</i>' for k, (t, v) in params.items()]
    out = ['<?xml version="1.0" encoding="ISO-8859-1"?>', "<modeling>", " <generator>",
           '  <i name="program" type="string">vasp </i>', '  <i name="version" type="string">5.4.4 </i>',
           " </generator>", " <incar>", *incar_xml, " </incar>", " <kpoints>",
           '  <generation param="Monkhorst-Pack">', '   <v type="int" name="divisions"> 1 1 1 </v>',
           "  </generation>", '  <varray name="kpointlist" >', "   <v> 0.0 0.0 0.0 </v>", "  </varray>",
           '  <varray name="weights" >', "   <v> 1.0 </v>", "  </varray>", " </kpoints>", " <parameters>",
           *param_xml, " </parameters>", " <atominfo>", f"  <atoms> {len(symbols)} </atoms>",
           f"  <types> {len(types)} </types>", '  <array name="atoms" >', "   <set>",
           *[f"    <rc><c>{s}</c><c>{types.index(s) + 1}</c></rc>" for s in symbols], "   </set>", "  </array>",
           '  <array name="atomtypes" >', "   <set>",
           *[f"    <rc><c>{symbols.count(s)}</c><c>{s}</c><c>1.0</c><c>1.0</c><c>  PAW_PBE {POTCARS.get(s, s)} "
             f"06Sep2000</c></rc>" for s in blocks], "   </set>", "  </array>", " </atominfo>",
           structure_xml("initialpos", steps[0]["cell"], steps[0]["frac"])]
    for s, stress in zip(steps, kbar):
        e = s["energy"]
        energy = (f'  <energy>\n   <i name="e_fr_energy"> {e:.8f} </i>\n   <i name="e_wo_entrp"> {e:.8f} </i>\n'
                  f'   <i name="e_0_energy"> {e:.8f} </i>\n  </energy>')
        out += [" <calculation>", "  <scstep>", energy.replace("  <", "   <", 1), "  </scstep>",
                structure_xml(None, s["cell"], s["frac"]), '  <varray name="forces" >',
                *[f"   <v> {_v(f)} </v>" for f in s["forces"]], "  </varray>", '  <varray name="stress" >',
                *[f"   <v> {_v(r)} </v>" for r in stress], "  </varray>", energy, " </calculation>"]
    out += [structure_xml("finalpos", steps[-1]["cell"], steps[-1]["frac"]), "</modeling>", ""]
    return "\n".join(out)


def main() -> None:
    directory = Path.cwd()
    incar = read_incar(directory / "INCAR")
    step = str(incar.get("SYSTEM", "")).lower().removeprefix("atomflow:")
    kpoints = read_kpoints(directory / "KPOINTS")
    symbols = potcar_symbols(directory / "POTCAR")
    if step == "neb":
        n = incar.get("IMAGES", 0)
        dirs = sorted(p.name for p in directory.iterdir() if p.is_dir() and p.name.isdigit())
        if dirs != [f"{i:02d}" for i in range(n + 2)]:
            fail(f"IMAGES = {n} but the image directories are {dirs}")
        poscar = directory / "00" / "POSCAR"
    else:
        poscar = directory / "POSCAR"
    lines = poscar.read_text().splitlines()
    species = [s for s, c in zip(lines[5].split(), lines[6].split()) for _ in range(int(c))]
    check_inputs(step, incar, kpoints, symbols, species)
    with open(os.environ["FAKE_VASP_LOG"], "a") as log:
        log.write(json.dumps({"step": step, "dir": str(directory), "kpoints": kpoints, "potcar": symbols,
                              "incar": {k: v for k, v in incar.items() if k in ("ISIF", "LCLIMB", "EDIFFG")}}) + "\n")
    if step == "neb":
        run_neb(incar, directory)
    else:
        run_single(step, incar, directory)
    print(" reached required accuracy - stopping structural energy minimisation")


if __name__ == "__main__":
    main()
