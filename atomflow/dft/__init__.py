"""The DFT path: VASP with the paper's input sets (through atomate2's generators and custodian) and GPAW.

The Makers do not change: ``RelaxMaker(calculator="vasp")``, ``ElasticMaker(calculator="gpaw:…")`` … run
through :func:`atomflow.jobs.ase_run.relax` and :func:`atomflow.neb.run.run_neb`, which hand a backend
whose ``runner`` is not ``"ase"`` to its module here:

- :mod:`atomflow.dft.vasp_sets` — the paper's INCAR / KPOINTS / POTCAR choices per step; writes inputs.
- :mod:`atomflow.dft.vasp` — runs VASP (its own optimizer, IBRION 2 / ISIF 3 or 2) under custodian and
  parses vasprun.xml into :class:`~atomflow.jobs.ase_run.RunResult`.
- :mod:`atomflow.dft.vasp_neb` — VTST CI-NEB in ``00``…``NN`` image directories → :class:`~atomflow.neb.run.NEBRun`.
- :mod:`atomflow.dft.gpaw` — GPAW in a subprocess under MPI (``settings.gpaw_cmd``).
"""
