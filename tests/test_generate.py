"""The generator (issue 5): determinism, validity, calibration of the bundled instances, sizes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fluxopt.generate import (
    DEPARTEMENTS,
    Calibration,
    NATIONAL_STOCK,
    departement_sizes,
    generate,
    generate_departement,
    nouvelle_aquitaine,
    write_bundled,
    write_instance,
)
from fluxopt.instance import Instance, load_instance

INSTANCES = Path(__file__).resolve().parents[1] / "instances"
#: Public figures of data/nouvelle-aquitaine.csv (DREAL NA, RPLS), with its notes applied:
#: (dwellings 1/1/2020, turnover, QPV share, new lettings).
RATIO = 6472 / 311066
FIGURES = {
    "gironde-33": (106677, 0.064, 0.24, 3298),
    "pyrenees-atlantiques-64": (36819, 0.076, 0.12, 920),
    "haute-vienne-87": (26183, 0.076, 0.37, 313),
    "charente-16": (16066, 0.086, 0.41, 16066 * RATIO),
    "creuse-23": (5542, 0.109, 0.10, 5542 * RATIO),
}


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _check_shapes(inst: Instance) -> None:
    p, stock = inst.patrimoine, inst.stock
    assert (p["flux_base"] >= 0).all()
    assert (p["liberations"].notna()).all()
    live = stock[~(stock["fin_droits"] < inst.annee)]
    reserved = stock.groupby(["bailleur", "commune", "qpv"])["logements_reserves"].sum()
    eligible = p.set_index(["bailleur", "commune", "qpv"])["logements_flux"]
    assert (reserved <= eligible.reindex(reserved.index)).all()  # even counting expired rights
    assert len(live) < len(stock)  # some rights expire
    assert (p["logements_hors_flux"] > 0).any()
    by_type = stock.merge(inst.reservataires[["reservataire", "type"]])
    share = by_type.groupby("type")["logements_reserves"].sum() / p["logements"].sum()
    assert 0.20 <= share["prefet"] + share["prefet_agents"] <= 0.32
    assert 0.02 <= share["prefet_agents"] <= 0.07
    assert 0.28 <= share["action_logement"] <= 0.45
    oph = p.groupby("bailleur")["logements"].sum()["OPH"] / p["logements"].sum()
    assert 0.38 <= oph <= 0.52
    assert set(inst.cil["epci"]) == set(p.loc[p["qpv"], "epci"])


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    a = generate(2, seed=7, out=tmp_path / "a", scale=0.2)
    generate(2, seed=7, out=tmp_path / "b", scale=0.2)
    c = generate(2, seed=8, out=tmp_path / "c", scale=0.2)
    assert [p.name for p in a] == ["synthetique-01", "synthetique-02"]
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    for x, z in zip(a, c):
        assert _files(x)["patrimoine.csv"] != _files(z)["patrimoine.csv"]


def test_a_departement_does_not_depend_on_how_many_are_generated(tmp_path: Path) -> None:
    one = generate(1, seed=5, out=tmp_path / "one", scale=0.1)[0]
    three = generate(3, seed=5, out=tmp_path / "three", scale=0.1)[0]
    assert _files(one) == _files(three)


@pytest.mark.parametrize("code", ["01", "2A", "33", "974"])
def test_generated_instances_load_with_synthetic_codes(tmp_path: Path, code: str) -> None:
    inst = load_instance(write_instance(generate_departement(code, seed=11, scale=0.5), tmp_path / code))
    assert inst.territoire == code and inst.annee == 2025
    _check_shapes(inst)
    for commune in inst.patrimoine["commune"]:
        assert len(commune) == 5 and commune.startswith(code) and commune[len(code)] == "Z"
    for epci in inst.patrimoine["epci"]:
        assert re.fullmatch(r"99\d{7}", epci) and not _luhn_ok(epci)


@pytest.mark.parametrize("seed", [1, 2])
def test_gironde_scale_lp_size(seed: int) -> None:
    """Synthetic communes (no real ones given) at Gironde's size: a realistic LP."""
    gironde = Calibration("33", "Gironde-scale", 106677, 0.064, 0.24, 3298)
    tables = generate_departement("33", seed=seed, calibration=gironde).tables
    assert 300 <= len(tables["patrimoine"]) <= 1500
    assert 10 <= len(tables["reservataires"]) <= 25


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_bundled_instance_loads_and_matches_public_figures(name: str) -> None:
    inst = load_instance(INSTANCES / name)
    assert not [w for w in inst.warnings if w.severity == "error"]
    p = inst.patrimoine
    logements, taux, qpv, mes = FIGURES[name]
    got = {
        "logements": (p["logements"].sum(), logements),
        "taux_mobilite": (p["liberations"].sum() / p["logements_flux"].sum(), taux),
        "part_qpv": (p.loc[p["qpv"], "logements"].sum() / p["logements"].sum(), qpv),
        "mises_en_service": (p["mises_en_service"].sum(), mes),
    }
    for key, (value, target) in got.items():
        assert abs(value / target - 1) <= 0.05, f"{name} {key}: {value} vs {target}"
    _check_shapes(inst)
    assert (INSTANCES / name / "README.md").is_file()


def test_bundled_instances_are_the_generators_output(tmp_path: Path) -> None:
    written = write_bundled(tmp_path)
    assert sorted(p.name for p in written) == sorted(FIGURES)
    for folder in written:
        assert _files(folder) == _files(INSTANCES / folder.name), folder.name


def test_scale_multiplies_totals() -> None:
    sizes, half = departement_sizes(3), departement_sizes(3, 0.5)
    assert sum(half.values()) == round(NATIONAL_STOCK * 0.5)
    small = generate_departement("01", seed=3, scale=0.5).tables["patrimoine"]
    assert small["logements"].sum() == half["01"]
    assert abs(half["01"] / sizes["01"] - 0.5) < 0.01
    creuse = nouvelle_aquitaine("23")
    double = generate_departement("23", seed=3, scale=2.0, calibration=creuse).tables["patrimoine"]
    assert double["logements"].sum() == 2 * creuse.logements
    assert double["mises_en_service"].sum() == round(2 * creuse.mises_en_service)


def test_national_set_is_near_the_french_stock() -> None:
    sizes = departement_sizes(42)
    assert list(sizes) == list(DEPARTEMENTS) and len(sizes) == 101
    assert sum(sizes.values()) == NATIONAL_STOCK == 5_300_000
    assert min(sizes.values()) > 1000
    for code in ("01", "59", "976"):  # each département holds exactly its size
        assert generate_departement(code, seed=42).tables["patrimoine"]["logements"].sum() == sizes[code]


def test_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        generate(0, seed=1, out=tmp_path)
    with pytest.raises(ValueError):
        generate(102, seed=1, out=tmp_path)
    with pytest.raises(ValueError):
        generate_departement("01", seed=1, scale=0)
    with pytest.raises(ValueError):
        nouvelle_aquitaine("75")
