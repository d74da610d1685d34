"""Bad-input corpus, Maker layer: every Maker refuses a bad field when it is built, and a bad input that
only the structure reveals when ``make()`` is called, before any job runs, with ONE line naming the
parameter, the value and the fix (atomflow.validation). The ``make()`` cases run against a store holding a finished result: the
store is unchanged afterwards (no bulk relaxation ran before the error).

(tests/test_bad_inputs.py holds the other layers' cases; calculator-spec cases live in their own file.)
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from ase.build import bulk
from jobflow import run_locally
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from atomflow.elastic import ElasticMaker
from atomflow.errors import AtomflowError, CalculatorError, InputError
from atomflow.jobs import RelaxMaker, StaticMaker
from atomflow.neb import MigrationMaker
from atomflow.phonons import PhononMaker
from atomflow.rates import AttemptFrequencyMaker
from atomflow.store import open_store
from atomflow.structures.builders import rocksalt_nacl
from atomflow.transport import TransportMaker
from atomflow.vacancy import VacancyFormationMaker


NAN, INF = float("nan"), float("inf")


@pytest.fixture
def store_path(tmp_path):
    """A store holding one finished result (as in tests/test_bad_inputs.py)."""
    path = str(tmp_path / "store")
    run_locally(RelaxMaker(calculator="emt").make(cu()), store=open_store(path), log=False,
                ensure_success=True)
    return path


def snapshot(path):
    store = open_store(path)
    rows = store.query({}, properties=["uuid", "output"])
    docs = sorted(json.dumps(d, sort_keys=True, default=str) for d in rows)
    store.close()
    return hashlib.sha256("".join(docs).encode()).hexdigest(), len(docs)


def assert_one_clear_message(case: str, message: str, words: list[str]) -> None:
    assert message.strip() and "\n" not in message.strip(), f"{case}: not one line: {message!r}"
    assert "Traceback" not in message and 'File "' not in message, f"{case}: a traceback: {message!r}"
    for word in words:
        assert word in message, f"{case}: {word!r} not in {message!r}"


def cu() -> Structure:
    return AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6, cubic=True))


def cu3ni() -> Structure:
    alloy = cu()
    alloy.replace(0, "Ni")
    return alloy


# (id, build, words): `build()` constructs a Maker; the words name the parameter, the value and the fix.
CONSTRUCTION = [
    # RelaxMaker / StaticMaker (atomflow.run_settings.RelaxSettings)
    ("relax fmax nan", lambda: RelaxMaker(fmax=NAN),
     ["fmax must be a positive number of eV/Å", "got nan", "the paper uses 0.01"]),
    ("relax fmax bool", lambda: RelaxMaker(fmax=True), ["fmax must be a positive number", "got True"]),
    ("relax max_steps negative", lambda: RelaxMaker(max_steps=-1),
     ["max_steps must be a whole number ≥ 0", "got -1", "the default is 1000"]),
    ("relax max_steps float", lambda: RelaxMaker(max_steps=2.5),
     ["max_steps must be a whole number", "got 2.5"]),
    ("relax optimizer misspelt", lambda: RelaxMaker(optimizer="BFSG"),
     ["Unknown optimizer 'BFSG'", "'BFGS', 'FIRE', 'LBFGS'", "did you mean 'BFGS'?"]),
    ("relax relax_cell string", lambda: RelaxMaker(relax_cell="yes"),
     ["relax_cell must be True or False", "got 'yes'"]),
    ("relax label not text", lambda: RelaxMaker(label=5), ["label must be a string or None", "got 5"]),
    ("relax extra_settings list", lambda: RelaxMaker(extra_settings=[1]),
     ["extra_settings must be a dict", "got [1]", "extra provenance"]),
    ("static fmax inf", lambda: StaticMaker(fmax=INF), ["fmax must be a positive number of eV/Å", "got inf"]),
    # ElasticMaker (ElasticSettings, atomflow.elastic.strains)
    ("elastic strains as a string", lambda: ElasticMaker(calculator="emt", strain_magnitudes="0.01"),
     ["strain_magnitudes must be a list or tuple of numbers", "got '0.01'", "(-0.01, -0.005, 0.005, 0.01)"]),
    ("elastic strain nan", lambda: ElasticMaker(calculator="emt", strain_magnitudes=(NAN, 0.01)),
     ["strain_magnitudes[0] must be a finite number", "got nan", "strains are fractions"]),
    ("elastic strain beyond validity",
     lambda: ElasticMaker(calculator="emt", strain_magnitudes=(-0.15, 0.15)),
     ["strain_magnitudes", "the strain -0.15", "validity range", "|ε| ≤ 0.02"]),
    ("elastic curve strain beyond validity",
     lambda: ElasticMaker(calculator="emt", stress_strain_directions=(0,), curve_strains=(0.0, 0.2)),
     ["curve_strains", "the strain 0.2", "not percent"]),
    ("elastic symprec zero", lambda: ElasticMaker(calculator="emt", symprec=0),
     ["symprec must be a positive number of Å", "got 0", "the default is 0.001"]),
    ("elastic directions as a string", lambda: ElasticMaker(calculator="emt", stress_strain_directions="0"),
     ["stress_strain_directions must be a list or tuple", "got '0'", "integers 0–5"]),
    ("elastic direction bool", lambda: ElasticMaker(calculator="emt", stress_strain_directions=(True,)),
     ["stress_strain_directions [True]", "integers 0–5"]),
    ("elastic relax_ions int", lambda: ElasticMaker(calculator="emt", relax_ions=1),
     ["relax_ions must be True or False", "got 1"]),
    ("elastic sub maker string", lambda: ElasticMaker(calculator="emt", bulk_relax_maker="emt"),
     ["bulk_relax_maker must be a RelaxMaker or None", "got 'emt'", "give a RelaxMaker(…)"]),
    # MigrationMaker (NEBSettings, atomflow.neb.run.check_neb_settings)
    ("neb n_images zero", lambda: MigrationMaker(n_images=0),
     ["n_images must be a whole number ≥ 1", "got 0", "the paper uses 5"]),
    ("neb n_images float", lambda: MigrationMaker(n_images=2.5),
     ["n_images must be a whole number", "got 2.5"]),
    ("neb spring zero", lambda: MigrationMaker(spring_constant=0.0),
     ["spring_constant must be a positive number of eV/Å²", "got 0.0", "the paper uses 5.0"]),
    ("neb spring nan", lambda: MigrationMaker(spring_constant=NAN), ["spring_constant", "got nan"]),
    ("neb preconverge zero", lambda: MigrationMaker(preconverge_fmax=0),
     ["preconverge_fmax must be a positive number of eV/Å or None", "got 0", "None climbs from the start"]),
    ("neb species not an element", lambda: MigrationMaker(species="Xx"),
     ["species must be an element symbol", "got 'Xx'", "the element that hops"]),
    ("neb species lower case", lambda: MigrationMaker(species="na"), ["species must be an element", "'na'"]),
    ("neb negative hop site", lambda: MigrationMaker(hops=[(-1, 2)]),
     ["hops[0] = (-1, 2) is not a hop", "non-negative, got -1", "0-based site indices"]),
    ("neb hops as a string", lambda: MigrationMaker(hops="0,1"),
     ["hops must be a list of hops", "got '0,1'", "None finds every distinct hop"]),
    ("neb interpolation misspelt", lambda: MigrationMaker(interpolation="idp"),
     ["Unknown interpolation 'idp'", "'idpp', 'linear'", "did you mean 'idpp'?"]),
    ("neb negative supercell", lambda: MigrationMaker(supercell_min_length=-10),
     ["supercell_min_length must be a positive number of Å or None", "got -10", "shared rule is 10.0"]),
    ("neb supercell atoms zero", lambda: MigrationMaker(supercell_max_atoms=0),
     ["supercell_max_atoms must be a whole number ≥ 1", "got 0", "the default is 300"]),
    ("neb hop distance inf", lambda: MigrationMaker(max_hop_distance=INF),
     ["max_hop_distance must be a positive number of Å or None", "got inf", "nearest-neighbour"]),
    ("neb symprec zero", lambda: MigrationMaker(symprec=0.0),
     ["symprec must be a positive number of Å", "0.0"]),
    ("neb method misspelt", lambda: MigrationMaker(method="improved"),
     ["Unknown NEB method 'improved'", "'improvedtangent'"]),
    # VacancyFormationMaker
    ("vacancy species not an element", lambda: VacancyFormationMaker(species="Xx"),
     ["species must be an element symbol", "got 'Xx'", "whose vacancy is made"]),
    ("vacancy mu inf", lambda: VacancyFormationMaker(species="Cu", mu=INF),
     ["mu must be a finite number of eV/atom or None", "got inf", "energy per atom of the reference phase"]),
    ("vacancy mu bool", lambda: VacancyFormationMaker(species="Cu", mu=True),
     ["mu must be a finite", "True"]),
    ("vacancy chempot misspelt", lambda: VacancyFormationMaker(chempot="bcc_na"),
     ["Unknown chempot 'bcc_na'", "'host_bulk'", "did you mean 'bcc_Na'?"]),
    ("vacancy hull_limit misspelt", lambda: VacancyFormationMaker(chempot="hull", hull_limit="richer"),
     ["Unknown hull_limit 'richer'", "'rich', 'poor'"]),
    ("vacancy bcc Na reference for Cu", lambda: VacancyFormationMaker(species="Cu", chempot="bcc_Na"),
     ["chempot='bcc_Na' is a μ_Na reference", "species is 'Cu'", "elemental Cu"]),
    ("vacancy hull phases without hull", lambda: VacancyFormationMaker(species="Cu", hull_phases=[cu()]),
     ["hull_phases were given", "chempot='auto'", "use chempot='hull'"]),
    ("vacancy negative supercell", lambda: VacancyFormationMaker(species="Cu", min_length=-10),
     ["min_length must be a positive number of Å", "got -10", "rule is 10.0"]),
    ("vacancy max_atoms zero", lambda: VacancyFormationMaker(species="Cu", max_atoms=0),
     ["max_atoms must be a whole number ≥ 1", "got 0"]),
    ("vacancy size check nan", lambda: VacancyFormationMaker(species="Cu", size_check_min_length=NAN),
     ["size_check_min_length must be a positive number of Å", "got nan", "14.0"]),
    ("vacancy schottky string", lambda: VacancyFormationMaker(species="Cu", schottky="auto"),
     ["schottky must be True or False or None", "got 'auto'", "None decides by the host"]),
    # PhononMaker
    ("phonon displacement zero", lambda: PhononMaker(displacement=0.0),
     ["displacement must be a number of Å in (0, 0.1]", "got 0.0", "phonopy's default is 0.01"]),
    ("phonon displacement too large", lambda: PhononMaker(displacement=0.5), ["displacement", "got 0.5"]),
    ("phonon temperature zero", lambda: PhononMaker(temperatures=(0.0, 300.0)),
     ["temperatures[0] must be a positive number of K", "got 0.0", "(100.0, 300.0)"]),
    ("phonon temperatures string", lambda: PhononMaker(temperatures="300"),
     ["temperatures must be a list or tuple of numbers of K or None", "got '300'"]),
    ("phonon mesh negative", lambda: PhononMaker(mesh=-1.0), ["mesh must be a positive number of Å", "-1.0"]),
    ("phonon supercell atoms negative", lambda: PhononMaker(supercell_max_atoms=-4),
     ["supercell_max_atoms must be a whole number ≥ 1", "got -4"]),
    ("phonon imaginary_tol negative", lambda: PhononMaker(imaginary_tol=-0.1),
     ["imaginary_tol must be a number ≥ 0 of THz", "got -0.1"]),
    ("phonon relax_bulk off with a maker",
     lambda: PhononMaker(relax_bulk=False, bulk_relax_maker=RelaxMaker(calculator="emt")),
     ["relax_bulk=False but a bulk_relax_maker was given", "drop one"]),
    # AttemptFrequencyMaker (atomflow.rates.attempt.VineyardSettings)
    ("rates hessian misspelt", lambda: AttemptFrequencyMaker(hessian="ful"),
     ["Unknown Hessian kind 'ful'", "'local', 'full', 'symmetric'", "did you mean 'full'?"]),
    ("rates delta inf", lambda: AttemptFrequencyMaker(delta=INF),
     ["delta must be a positive number of Å", "got inf", "the default is 0.01"]),
    ("rates fmax zero", lambda: AttemptFrequencyMaker(fmax=0),
     ["fmax must be a positive number of eV/Å", "got 0", "0.001"]),
    ("rates refinements negative", lambda: AttemptFrequencyMaker(max_refinements=-1),
     ["max_refinements must be a whole number ≥ 0", "got -1", "the default is 2"]),
    ("rates cutoff bool", lambda: AttemptFrequencyMaker(cutoff=True), ["cutoff must be a positive", "True"]),
    # TransportMaker
    ("transport species not an element", lambda: TransportMaker(species="Xx"),
     ["species must be an element symbol", "got 'Xx'"]),
    ("transport temperature zero", lambda: TransportMaker(temperatures=(0.0, 300.0)),
     ["temperatures[0] must be a positive number of K", "got 0.0"]),
    ("transport reference temperature negative", lambda: TransportMaker(reference_temperature=-300.0),
     ["reference_temperature must be a positive number of K", "got -300.0", "300.0"]),
    ("transport charge zero", lambda: TransportMaker(charge=0),
     ["charge must be a positive number of e", "got 0", "1 for Na⁺"]),
    ("transport site fraction above one", lambda: TransportMaker(structural_site_fraction=1.5),
     ["structural_site_fraction must be a number in (0, 1] or None", "got 1.5"]),
    ("transport densities scalar", lambda: TransportMaker(extrinsic_densities_cm3=1e17),
     ["extrinsic_densities_cm3 must be a list or tuple of numbers of cm⁻³", "got 1e+17", "(1e17,)"]),
    ("transport carrier kind unknown", lambda: TransportMaker(carriers=[{"kind": "bogus"}]),
     ["carriers[0] = {'kind': 'bogus'} is not a carrier model", "'thermal', 'extrinsic' or 'structural'"]),
    ("transport correlation string", lambda: TransportMaker(correlation="no"),
     ["correlation must be True or False", "got 'no'"]),
]


@pytest.mark.parametrize("case, build, words", CONSTRUCTION, ids=[c[0] for c in CONSTRUCTION])
def test_maker_refuses_a_bad_field_when_built(case, build, words, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as raised:
        build()
    assert_one_clear_message(case, str(raised.value), words)
    assert not (tmp_path / "results").exists()  # no store made on the way


# (id, (maker, structure), error, words): the error comes from make(), before the flow runs.
MAKE = [
    ("migration without the hopping species", lambda: (MigrationMaker(calculator="emt"), cu()), InputError,
     ["no Na atoms", "it has Cu", "set species"]),
    ("migration hop site out of range", lambda: (MigrationMaker(calculator="emt", species="Cu",
                                                                hops=[(0, 99)]), cu()),
     InputError, ["99", "does not exist"]),
    ("migration supercell rule unmet", lambda: (MigrationMaker(calculator="emt", species="Cu",
                                                               supercell_max_atoms=8), cu()),
     InputError, ["max_atoms=8", "Raise max_atoms or lower min_length"]),
    ("migration element the calculator lacks", lambda: (MigrationMaker(calculator="emt"), rocksalt_nacl()),
     CalculatorError, ["'emt'", "no parameters for Cl, Na"]),
    ("vacancy without the species", lambda: (VacancyFormationMaker(calculator="emt", mu=-1.0), cu()),
     InputError, ["The host Cu has no Na", "choose species from ['Cu']"]),
    ("vacancy compound host without μ",
     lambda: (VacancyFormationMaker(calculator="emt", species="Cu"), cu3ni()),
     InputError, ["No default μ_Cu for Cu3Ni", "Give mu (eV/atom", "elemental Cu phase"]),
    ("vacancy host_bulk on a compound",
     lambda: (VacancyFormationMaker(calculator="emt", species="Cu", chempot="host_bulk"), cu3ni()),
     InputError, ["chempot='host_bulk'", "Cu3Ni is not one", "Give mu"]),
    ("vacancy hull on an elemental host",
     lambda: (VacancyFormationMaker(calculator="emt", species="Cu", chempot="hull"), cu()),
     InputError, ["chempot='hull' on the elemental host Cu", "μ_Cu", "chempot='auto'"]),
    ("vacancy hull phases without the species",
     lambda: (VacancyFormationMaker(calculator="emt", species="Cu", chempot="hull",
                                    hull_phases=[AseAtomsAdaptor.get_structure(bulk("Ni", "fcc", a=3.52))]),
              cu3ni()),
     InputError, ["no elemental Cu phase", "the relaxed elemental Cu crystal", "hull_phases"]),
    ("vacancy supercell rule unmet", lambda: (VacancyFormationMaker(calculator="emt", species="Cu",
                                                                    max_atoms=8), cu()),
     InputError, ["max_atoms=8", "Raise max_atoms"]),
    ("phonon supercell rule unmet", lambda: (PhononMaker(calculator="emt", supercell_max_atoms=4), cu()),
     InputError, ["max_atoms=4", "Raise max_atoms"]),
    ("elastic element the calculator lacks", lambda: (ElasticMaker(calculator="emt"), rocksalt_nacl()),
     CalculatorError, ["'emt'", "no parameters for Cl, Na"]),
]


@pytest.mark.parametrize("case, build, error, words", MAKE, ids=[c[0] for c in MAKE])
def test_make_refuses_before_any_job_runs_and_the_store_is_unchanged(case, build, error, words, store_path):
    before = snapshot(store_path)
    assert before[1] == 1  # the one finished relaxation
    maker, structure = build()
    with pytest.raises(error) as raised:
        # were make() to pass, the flow would run here and its bulk relaxation would reach the store
        run_locally(maker.make(structure), store=open_store(store_path), log=False, ensure_success=True)
    if "Na" not in {e.symbol for e in structure.composition.elements}:
        assert "bcc Na" not in str(raised.value)  # a hint names the host's own elements
    assert_one_clear_message(case, str(raised.value), words)
    assert snapshot(store_path) == before


@pytest.mark.parametrize("maker, field, value, words", [
    (lambda: ElasticMaker(calculator="emt"), "strain_magnitudes", (-0.5, 0.5),
     ["the strain -0.5", "validity"]),
    (lambda: MigrationMaker(calculator="emt", species="Cu"), "n_images", 0, ["n_images must be", "got 0"]),
    (lambda: VacancyFormationMaker(calculator="emt", species="Cu"), "fmax", NAN, ["fmax must be", "got nan"]),
    (lambda: PhononMaker(calculator="emt"), "displacement", -0.01, ["displacement must be", "got -0.01"]),
    (lambda: TransportMaker(extrinsic_densities_cm3=(1e17,)), "charge", INF, ["charge must be", "got inf"]),
], ids=["elastic", "migration", "vacancy", "phonons", "transport"])
def test_a_field_changed_after_construction_is_refused_by_make(maker, field, value, words):
    m = maker()
    setattr(m, field, value)
    with pytest.raises(InputError) as raised:
        if isinstance(m, TransportMaker):
            m.make(rocksalt_nacl(), [])
        else:
            m.make(cu())
    assert_one_clear_message(field, str(raised.value), words)


def test_no_tensor_is_fitted_from_strains_beyond_the_validity_range():
    """|ε| > 10 % (MAX_STRAIN): the fit itself refuses, so no tensor without a flag can come out of it."""
    from atomflow.documents import Provenance
    from atomflow.elastic import ElasticDocument
    from atomflow.elastic.fit import fit_elastic_tensor
    from atomflow.elastic.strains import MAX_STRAIN, fit_strain_states

    c = np.diag([10.0, 10.0, 10.0, 5.0, 5.0, 5.0])
    inside = np.array(fit_strain_states((-MAX_STRAIN, -0.05, 0.05, MAX_STRAIN)))  # the edge is accepted
    assert np.allclose(fit_elastic_tensor(inside, inside @ c.T).tensor, c)
    beyond = np.array(fit_strain_states((-0.01, 0.01))) * 15  # ±15 %
    with pytest.raises(InputError, match=r"strain xx-0\.1500 is beyond the validity range \|ε\| ≤ 0\.1"):
        fit_elastic_tensor(beyond, beyond @ c.T)
    with pytest.raises(InputError, match="validity range"):
        ElasticDocument.from_fit(rocksalt_nacl(), beyond, beyond @ c.T, np.zeros(6),
                                 provenance=Provenance.from_spec("emt", {}), crystal_system="cubic")


def test_validation_keeps_values_as_given():
    """A check returns what it was given (reuse keys hash values as given); numpy numbers are numbers."""
    from atomflow import validation as check

    assert check.integer("n", np.int64(3), 1) == 3 and type(check.integer("n", 5, 1)) is int
    assert check.positive("x", np.float64(0.5)) == 0.5 and type(check.positive("x", 2)) is int
    assert check.numbers("t", [300, 400.0], each=check.positive) == (300, 400.0)
    assert check.numbers("t", np.array([1.0, 2.0])) == (1.0, 2.0)
    assert RelaxMaker(max_steps=7).run_settings.key_dict()["max_steps"] == 7
    with pytest.raises(AtomflowError, match="n must be a whole number ≥ 0, got False"):
        check.integer("n", False, 0)
