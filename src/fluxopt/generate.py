"""Deterministic synthetic instances: calibrated départements and national-scale sets.

Everything is drawn from ``numpy.random.default_rng`` seeded by ``(seed, département)``:
the same arguments give byte-identical files, and a département does not depend on how
many others are generated with it. See ``docs/generator.md`` for the shapes and the
calibration.

- :func:`generate_departement` builds the tables of one département in memory;
- :func:`write_instance` writes them as an instance folder (SPEC §2);
- :func:`generate` is ``fluxopt generate``: one folder per synthetic département;
- :func:`write_bundled` regenerates the calibrated ``instances/`` of Nouvelle-Aquitaine;
- :func:`realise_table` draws a plausible year of lettings (``realise.csv``, SPEC §6) for an
  instance's tables, for ``fluxopt bilan``.

Synthetic codes cannot be mistaken for real ones: a commune code is the département
code, the letter ``Z`` and a base-36 number (``33Z01``; real INSEE codes hold no letter
after the département), and an EPCI code is ``99``, the département number on three
digits, a three-digit number and a check digit chosen so that the Luhn check every real
SIREN passes fails.
"""

from __future__ import annotations

import functools
import io
import json
import re
import unicodedata
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.territoires import DEPARTEMENTS

ANNEE = 2025
POLITIQUE = "elan-2020"
#: Social dwellings in France, order of magnitude of the RPLS (issue 5: about 5.3 million).
NATIONAL_STOCK = 5_300_000
#: Départements of ``data/nouvelle-aquitaine.csv`` bundled as ``instances/<name>-<code>``.
BUNDLED = ("33", "64", "87", "16", "23")
BUNDLED_SEED = 2025
#: Regional values of Nouvelle-Aquitaine (DREAL, RPLS), used where a département's figure
#: is not published (the ``notes`` column of the data file says which).
REGIONAL = {"taux_mobilite": 0.076, "part_qpv": 0.24, "mises_en_service_ratio": 6472 / 311066}
#: "part_qpv: use a low value (0.10)" (Creuse, in the data file's notes).
LOW_QPV = 0.10
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass(frozen=True)
class Calibration:
    """Targets of one département; ``communes`` lists real (insee, nom, epci, epci_nom),
    empty for synthetic communes; ``sources`` says where each target comes from."""

    departement: str
    nom: str
    logements: int
    taux_mobilite: float
    part_qpv: float
    mises_en_service: int
    communes: tuple[tuple[str, str, str, str], ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    def scaled(self, scale: float) -> Calibration:
        """The same département with its dwellings and new lettings multiplied by ``scale``."""
        return Calibration(self.departement, self.nom, round(self.logements * scale), self.taux_mobilite,
                           self.part_qpv, round(self.mises_en_service * scale), self.communes, self.sources)


@dataclass(frozen=True)
class Territory:
    """A generated instance: ``meta`` (instance.toml), ``tables`` (one DataFrame per CSV), ``readme``."""

    meta: dict[str, object]
    tables: dict[str, pd.DataFrame]
    calibration: Calibration
    readme: str


def _data(name: str) -> pd.DataFrame:
    with resources.files("fluxopt").joinpath("data", name).open("r", encoding="utf-8") as f:
        return pd.read_csv(f, dtype=str, keep_default_na=False)


def nouvelle_aquitaine(code: str) -> Calibration:
    """Calibration of a département of Nouvelle-Aquitaine from the package's public aggregates.

    Missing figures follow the file's notes: regional turnover 7.6 % and QPV share 24 %,
    Creuse's QPV share 10 %, new lettings at the regional ratio 6,472 / 311,066 of the stock.
    """
    table = _data("nouvelle-aquitaine.csv").set_index("departement")
    if code not in table.index:
        raise ValueError(f"no public figures for département {code!r} (known: {', '.join(table.index)})")
    row = table.loc[code]
    rpls = "DREAL Nouvelle-Aquitaine, RPLS"
    sources = {"logements": f"{rpls}, social dwellings at 1 January 2020"}
    stock = int(row["logements_sociaux_2020"])
    if row["taux_mobilite_2024"]:
        taux, sources["taux_mobilite"] = float(row["taux_mobilite_2024"]), f"{rpls}, turnover 2024"
    else:
        taux, sources["taux_mobilite"] = REGIONAL["taux_mobilite"], f"{rpls}, regional turnover 2024 (not published)"
    if row["part_qpv_2021"]:
        qpv, sources["part_qpv"] = float(row["part_qpv_2021"]), f"{rpls}, share in QPV at 1 January 2021"
    elif code == "23":
        qpv, sources["part_qpv"] = LOW_QPV, "low value given by the data notes (not published)"
    else:
        qpv, sources["part_qpv"] = REGIONAL["part_qpv"], f"{rpls}, regional share in QPV 2021 (not published)"
    if row["mises_en_service_2019"]:
        mes, sources["mises_en_service"] = int(row["mises_en_service_2019"]), f"{rpls}, new lettings 2019"
    else:
        mes = round(stock * REGIONAL["mises_en_service_ratio"])
        sources["mises_en_service"] = "regional ratio 6,472 / 311,066 of the stock (not published)"
    communes = _data("communes.csv")
    communes = communes[communes["departement"] == code]
    return Calibration(code, row["nom"], stock, taux, qpv, mes,
                       tuple(communes[["commune_insee", "commune_nom", "epci_siren", "epci_nom"]]
                             .itertuples(index=False, name=None)), sources)


def _number(code: str) -> int:
    """A département code as a number: 2A → 201, 2B → 202."""
    return {"2A": 201, "2B": 202}.get(code) or int(code)


def _rng(seed: int, code: str) -> np.random.Generator:
    return np.random.default_rng([seed, _number(code)])


@functools.lru_cache(maxsize=16)
def departement_sizes(seed: int, scale: float = 1.0) -> dict[str, int]:
    """Social dwellings of each synthetic département: log-normal sizes summing to
    ``scale × NATIONAL_STOCK`` over the 101 départements."""
    weights = np.random.default_rng([seed, 0]).lognormal(0.0, 0.8, len(DEPARTEMENTS))
    return dict(zip(DEPARTEMENTS, _apportion(round(NATIONAL_STOCK * scale), weights).tolist()))


def _synthetic(code: str, logements: int, rng: np.random.Generator) -> Calibration:
    taux, qpv, ratio = rng.uniform(0.055, 0.11), rng.uniform(0.08, 0.35), rng.uniform(0.012, 0.025)
    drawn = "drawn by the generator"
    return Calibration(code, f"Département synthétique {code}", logements, round(float(taux), 4),
                       round(float(qpv), 4), round(logements * float(ratio)),
                       sources=dict.fromkeys(("logements", "taux_mobilite", "part_qpv", "mises_en_service"), drawn))


def _apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    base[np.argsort(base - quota, kind="stable")[: total - base.sum()]] += 1
    return base


def _siren(code: str, k: int) -> str:
    """A synthetic EPCI SIREN: 99, département, number, and a check digit failing Luhn."""
    body = f"99{_number(code):03d}{k:03d}"
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    valid = (10 - total % 10) % 10
    return body + str((valid + 1) % 10)


def _b36(n: int, width: int) -> str:
    """``n`` in base 36 on ``width`` characters."""
    out = ""
    for _ in range(width):
        n, r = divmod(n, 36)
        out = _B36[r] + out
    return out


def _communes(cal: Calibration, rng: np.random.Generator) -> pd.DataFrame:
    """Communes (commune, nom, epci, epci_nom, weight); the first is the main one."""
    if cal.communes:
        frame = pd.DataFrame(list(cal.communes), columns=["commune", "nom", "epci", "epci_nom"])
        rank = np.arange(1, len(frame) + 1)
        frame["weight"] = rank ** -0.9 * rng.lognormal(0.0, 0.25, len(frame))
        return frame
    width = 5 - len(cal.departement) - 1
    n = int(np.clip(round(cal.logements / 800), 6, min(150, 36**width - 1)))
    weights = np.sort(np.arange(1, n + 1) ** -1.0 * rng.lognormal(0.0, 0.3, n))[::-1]
    n_epci = max(1, round(n / 7))
    seat = np.sqrt(weights[:n_epci])
    epci = np.concatenate([np.arange(n_epci), rng.choice(n_epci, n - n_epci, p=seat / seat.sum())])
    codes = [f"{cal.departement}Z{_b36(i, width)}" for i in range(1, n + 1)]
    sirens = [_siren(cal.departement, k + 1) for k in range(n_epci)]
    return pd.DataFrame({
        "commune": codes, "nom": [f"Commune synthétique {c}" for c in codes],
        "epci": [sirens[e] for e in epci], "epci_nom": [f"EPCI synthétique {sirens[e]}" for e in epci],
        "weight": weights,
    })


def _bailleurs(cal: Calibration, communes: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """The bailleurs and their presence matrix (bailleur × commune)."""
    n_esh = int(np.clip(round(1.5 * np.log(max(cal.logements, 1) / 5000)) + 2, 2, 6))
    coop = bool(rng.random() < 0.6)
    oph, sem = rng.uniform(0.40, 0.50), rng.uniform(0.05, 0.10)
    coop_share = rng.uniform(0.01, 0.03) if coop else 0.0
    esh = rng.uniform(0.4, 1.6, n_esh)
    esh *= (1 - oph - sem - coop_share) / esh.sum()
    rows = [("OPH", f"Office public de l'habitat — {cal.nom} (fictif)", "oph", oph)]
    rows += [(f"ESH-{_B36[10 + k]}", f"ESH {_B36[10 + k]} (fictive)", "esh", s) for k, s in enumerate(esh)]
    rows += [("SEM", "SEM de l'agglomération (fictive)", "sem", sem)]
    if coop:
        rows.append(("COOP", "Coopérative HLM (fictive)", "coop", coop_share))
    table = pd.DataFrame(rows, columns=["bailleur", "nom", "type", "share"])
    w = communes["weight"].to_numpy()
    reach = 0.25 + 0.75 * np.sqrt(w / w.max())
    main_epci = (communes["epci"] == communes["epci"].iloc[0]).to_numpy()
    presence = np.zeros((len(table), len(communes)), dtype=bool)
    for i, kind in enumerate(table["type"]):
        if kind == "oph":
            presence[i] = True
        elif kind == "esh":
            presence[i] = rng.random(len(w)) < reach
        elif kind == "sem":
            presence[i] = main_epci & (rng.random(len(w)) < 0.8)
        else:
            presence[i] = (w >= np.median(w)) & (rng.random(len(w)) < 0.5)
        presence[i, 0] = True
    return table, presence


def _segments(cal: Calibration, communes: pd.DataFrame, bailleurs: pd.DataFrame, presence: np.ndarray,
              rng: np.random.Generator) -> pd.DataFrame:
    """Split the stock over (bailleur, commune) by iterative proportional fitting, then over QPV."""
    rows, cols = bailleurs["share"].to_numpy(), communes["weight"].to_numpy() / communes["weight"].sum()
    m = presence * np.outer(rows, cols)
    for _ in range(100):
        m *= (cols / m.sum(axis=0))[None, :]
        m *= (rows / m.sum(axis=1))[:, None]
    cells = _apportion(cal.logements, m.ravel()).reshape(m.shape)
    stock_c = cells.sum(axis=0)
    order = np.argsort(-stock_c, kind="stable")
    cumulative = np.cumsum(stock_c[order]) / max(stock_c.sum(), 1)
    n_qpv = int(np.searchsorted(cumulative, min(1.0, cal.part_qpv / 0.4) - 1e-9) + 1) if cal.part_qpv > 0 else 0
    qpv_communes = np.zeros(len(stock_c), dtype=bool)
    qpv_communes[order[:n_qpv]] = True
    if n_qpv:  # the main commune of every sizeable EPCI has a QPV too
        by_epci = pd.Series(stock_c).groupby(communes["epci"].to_numpy())
        seats = by_epci.idxmax()[by_epci.sum() >= max(0.04 * stock_c.sum(), 2000)]
        qpv_communes[seats.to_numpy()] = True
    target = round(cal.part_qpv * cal.logements)
    mean = target / max(stock_c[qpv_communes].sum(), 1)
    g = (mean * rng.lognormal(0.0, 0.25, len(stock_c)))[None, :] * rng.uniform(0.7, 1.3, cells.shape)
    g[0] *= 1.2
    g = np.clip(g * qpv_communes[None, :], 0.0, 0.85)
    qpv = np.minimum(_apportion(target, (cells * g).ravel()).reshape(cells.shape), cells)
    records = []
    for b, c in zip(*np.nonzero(cells)):
        for in_qpv, n in ((False, cells[b, c] - qpv[b, c]), (True, qpv[b, c])):
            if n > 0:
                records.append((bailleurs["bailleur"].iat[b], communes["commune"].iat[c],
                                communes["epci"].iat[c], in_qpv, int(n), b, c))
    return pd.DataFrame(records, columns=["bailleur", "commune", "epci", "qpv", "logements", "b", "c"])


def _flows(cal: Calibration, seg: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Défense dwellings, turnover, new lettings, internal transfers and rehousing per segment."""
    n, logements, qpv = len(seg), seg["logements"].to_numpy(), seg["qpv"].to_numpy()
    hors = np.zeros(n, dtype=np.int64)
    candidates = np.flatnonzero(~qpv & (logements >= 50))
    if len(candidates):
        k = min(len(candidates), max(1, round(0.03 * n)))
        p = logements[candidates] / logements[candidates].sum()
        chosen = rng.choice(candidates, k, replace=False, p=p)
        hors[chosen] = np.maximum(1, np.round(logements[chosen] * rng.uniform(0.03, 0.15, k))).astype(np.int64)
    eligible = logements - hors
    rate = rng.lognormal(0.0, 0.25, n) * np.where(qpv, 1.15, 1.0) * rng.lognormal(0.0, 0.1, seg["b"].max() + 1)[seg["b"]]
    for _ in range(3):
        rate = np.clip(rate * cal.taux_mobilite * eligible.sum() / (rate * eligible).sum(), 0.01, 0.30)
    by_rate = rng.random(n) < 0.5
    taux = np.where(by_rate, np.round(rate, 4), np.nan)
    liberations = np.where(by_rate, np.nan, np.round(rate * eligible, 1))
    released = np.where(by_rate, taux * eligible, liberations)
    building = (~qpv) & (rng.random(n) < 0.25)
    if not building.any():
        building = ~qpv if (~qpv).any() else np.ones(n, dtype=bool)
    mes = _apportion(cal.mises_en_service, eligible * building * rng.uniform(0.5, 1.5, n))
    mutations = np.floor(released * rng.uniform(0.03, 0.12, n) * (rng.random(n) < 0.6))
    rehousing = np.floor(released * np.where(qpv, rng.uniform(0.05, 0.25, n) * (rng.random(n) < 0.5),
                                             rng.uniform(0.02, 0.08, n) * (rng.random(n) < 0.05)))
    return seg.assign(logements_hors_flux=hors, liberations=liberations, taux_rotation=taux,
                      mises_en_service=mes, mutations_internes=mutations, relogements=rehousing,
                      _eligible=eligible, _released=released)


def _reservataires(cal: Calibration, communes: pd.DataFrame, seg: pd.DataFrame) -> pd.DataFrame:
    """Préfet and its agents, Action Logement, the département, the large communes, the main EPCI, maybe an other."""
    nom = f"{cal.nom} ({cal.departement})"
    rows = [("PREF", f"Préfet — {nom}", "prefet", ""),
            ("PREF-AG", f"Préfet, agents de l'État — {nom}", "prefet_agents", ""),
            ("AL", "Action Logement Services", "action_logement", ""),
            (f"DEP{cal.departement}", f"Département — {nom}", "departement", "")]
    stock_c = seg.groupby("c")["logements"].sum().reindex(range(len(communes)), fill_value=0).to_numpy()
    large = [c for c in np.argsort(-stock_c, kind="stable")[:15] if stock_c[c] >= 0.015 * stock_c.sum()] or [0]
    rows += [(f"COM-{communes['commune'].iat[c]}", f"Commune — {communes['nom'].iat[c]}", "commune",
              communes["commune"].iat[c]) for c in large]
    main = communes["epci"].iat[0]
    if (communes["epci"] == main).sum() >= 3:
        rows.append((f"EPCI-{main}", f"EPCI — {communes['epci_nom'].iat[0]}", "epci", main))
    if cal.logements >= 20000:
        rows.append(("AUTRE-CH", "Centre hospitalier (fictif)", "autre", ""))
    return pd.DataFrame(rows, columns=["reservataire", "nom", "type", "perimetre"])


#: Per réservataire type: (share of the bailleur's stock drawn in [low, high], probability a
#: bailleur holds such rights, probability a segment of that bailleur carries them).
_SHARES = {
    "prefet": (0.17, 0.25, 1.0, 0.95), "prefet_agents": (0.04, 0.07, 1.0, 0.9),
    "action_logement": (0.30, 0.45, 1.0, 0.9), "departement": (0.05, 0.10, 0.6, 0.85),
    "commune": (0.05, 0.20, 0.8, 0.9), "epci": (0.02, 0.06, 0.6, 0.7), "autre": (0.01, 0.03, 0.5, 0.5),
}


def _rights(res: pd.DataFrame, seg: pd.DataFrame, communes: pd.DataFrame, n_bailleurs: int,
            rng: np.random.Generator) -> pd.DataFrame:
    """Reserved dwellings per (segment, réservataire): at most 92 % of the flux-eligible dwellings."""
    fractions = np.zeros((len(seg), len(res)))
    epci_of = dict(zip(communes["commune"], communes["epci"]))
    top = communes["commune"].iat[0]
    for j, (kind, perimetre) in enumerate(zip(res["type"], res["perimetre"])):
        low, high, p_bailleur, p_segment = _SHARES[kind]
        share = rng.uniform(low, high, n_bailleurs) * (rng.random(n_bailleurs) < p_bailleur)
        if kind in ("departement", "prefet", "prefet_agents", "action_logement"):
            share[0] = max(share[0], rng.uniform(low, high))
        if kind == "commune":
            inside = (seg["commune"] == perimetre).to_numpy()
        elif kind == "epci":
            inside = (seg["commune"].map(epci_of) == perimetre).to_numpy()
        elif kind == "autre":
            inside = (seg["commune"] == top).to_numpy()
        else:
            inside = np.ones(len(seg), dtype=bool)
        carried = inside & (rng.random(len(seg)) < p_segment)
        fractions[:, j] = share[seg["b"]] * carried * rng.lognormal(0.0, 0.2, len(seg))
    total = fractions.sum(axis=1, keepdims=True)
    fractions *= np.minimum(1.0, 0.92 / np.maximum(total, 1e-12))
    reserved = np.floor(fractions * seg["_eligible"].to_numpy()[:, None]).astype(np.int64)
    s, holder = np.nonzero(reserved)
    rights = pd.DataFrame({
        "bailleur": seg["bailleur"].to_numpy()[s], "reservataire": res["reservataire"].to_numpy()[holder],
        "commune": seg["commune"].to_numpy()[s], "qpv": seg["qpv"].to_numpy()[s],
        "logements_reserves": reserved[s, holder],
    })
    observed = rng.random(len(rights)) < 0.3
    per_dwelling = (seg["_released"] / seg["_eligible"]).to_numpy()[s]
    rights["liberations"] = np.where(observed, np.round(rights["logements_reserves"] * per_dwelling
                                                        * np.clip(rng.lognormal(0.0, 0.2, len(rights)), 0.6, 1.08), 1),
                                     np.nan)
    u = rng.random(len(rights))
    years = np.where(u < 0.03, rng.integers(2015, ANNEE, len(rights)), rng.integers(ANNEE + 1, 2061, len(rights)))
    rights["fin_droits"] = np.where(u < 0.13, years, np.nan)
    rights["_b"], rights["_r"] = seg["b"].to_numpy()[s], holder
    return rights.sort_values(["_b", "_r", "commune", "qpv"], kind="stable").drop(columns=["_b", "_r"])


def generate_departement(code: str, *, seed: int, scale: float = 1.0,
                         calibration: Calibration | None = None) -> Territory:
    """Generate one département in memory.

    ``calibration`` gives the targets (e.g. :func:`nouvelle_aquitaine`) and real communes;
    without it the département is synthetic, sized by :func:`departement_sizes`. ``scale``
    multiplies the dwellings and new lettings; rates stay.
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    rng = _rng(seed, code)
    if calibration is None:
        cal = _synthetic(code, departement_sizes(seed, scale)[code], rng)
    else:
        cal = calibration.scaled(scale)
    communes = _communes(cal, rng)
    bailleurs, presence = _bailleurs(cal, communes, rng)
    seg = _flows(cal, _segments(cal, communes, bailleurs, presence, rng), rng)
    res = _reservataires(cal, communes, seg)
    rights = _rights(res, seg, communes, len(bailleurs), rng)
    res = res[res["reservataire"].isin(rights["reservataire"])].reset_index(drop=True)
    cil_epcis = seg.loc[seg["qpv"], "epci"].unique()
    tables = {
        "patrimoine": seg[["bailleur", "commune", "epci", "qpv", "logements", "logements_hors_flux", "liberations",
                           "taux_rotation", "mises_en_service", "mutations_internes", "relogements"]],
        "reservataires": res,
        "stock": rights.reset_index(drop=True),
        "cil": pd.DataFrame({"epci": cil_epcis, "part_q1_hors_qpv": np.nan, "part_autres_qpv": np.nan}),
        "bailleurs": bailleurs[["bailleur", "nom", "type"]],
    }
    real = bool(calibration and calibration.communes)
    meta = {"nom": f"{cal.nom} ({code}) — {'calibré' if real else 'synthétique'}, graine {seed}"
                   + (f", échelle {scale:g}" if scale != 1 else ""),
            "territoire": code, "annee": ANNEE, "politique": POLITIQUE}
    return Territory(meta, tables, cal, _readme(cal, tables, seed, scale, real))


def totals(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """The four calibrated totals of an instance's tables: dwellings, turnover (releases per
    flux-eligible dwelling), QPV share of dwellings, new lettings."""
    p = tables["patrimoine"]
    eligible = p["logements"] - p["logements_hors_flux"]
    released = p["liberations"].fillna(p["taux_rotation"] * eligible)
    return {"logements": float(p["logements"].sum()),
            "taux_mobilite": float(released.sum() / eligible.sum()),
            "part_qpv": float(p.loc[p["qpv"], "logements"].sum() / p["logements"].sum()),
            "mises_en_service": float(p["mises_en_service"].sum())}


def _readme(cal: Calibration, tables: dict[str, pd.DataFrame], seed: int, scale: float, real: bool) -> str:
    got = totals(tables)
    lines = [f"# {cal.nom} ({cal.departement})", ""]
    if real:
        lines += ["Synthetic instance calibrated on public aggregates; generated by `fluxopt.generate.write_bundled` "
                  f"(seed {seed}). Do not edit by hand: regenerate.", "",
                  "## Real", "",
                  "- The communes and their EPCI (INSEE codes, SIREN), from `fluxopt/data/communes.csv` "
                  "(checked against the DGCL / COG files). Only these communes are present: they carry the "
                  "whole département's stock.",
                  "- The four totals below (source: `fluxopt/data/nouvelle-aquitaine.csv`):", ""]
    else:
        lines += [f"Entirely synthetic département generated by `fluxopt.generate` (seed {seed}, scale {scale:g}). "
                  "Commune codes `<département>Z<base 36>` and EPCI codes `99…` (failing the SIREN Luhn check) "
                  "are invented and match no real commune or EPCI.", "", "## Totals", ""]
    lines += ["| total | target | instance | source |", "|---|---|---|---|"]
    fmt = {"logements": "{:,.0f}", "taux_mobilite": "{:.2%}", "part_qpv": "{:.2%}", "mises_en_service": "{:,.0f}"}
    for key, f in fmt.items():
        lines.append(f"| {key} | {f.format(getattr(cal, key))} | {f.format(got[key])} | {cal.sources.get(key, 'given by the caller')} |")
    lines += ["", "## Invented" if real else "## Shapes", "",
              "The bailleurs (one OPH, ESHs, a SEM, maybe a coopérative), their stock per commune and QPV, "
              "which communes have QPV segments, turnover per segment, défense dwellings kept out of the flux, "
              "new lettings per segment, internal transfers, rehousing, the réservataires' former rights "
              "(préfet about 25 % of the stock with its agents about 5 %, Action Logement 30-45 %, "
              "the département and the large communes 5-20 %), their expiry dates, and the CIL list (the EPCIs "
              "with QPV segments). See `docs/generator.md`.", ""]
    return "\n".join(lines)


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Format for CSV: booleans as oui/non, floats without trailing zeros, NaN as empty."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = np.where(out[col], "oui", "non")
        elif out[col].dtype.kind == "f":
            out[col] = [("" if np.isnan(v) else np.format_float_positional(v, precision=4, trim="-"))
                        for v in out[col]]
    return out


def write_instance(territory: Territory, folder: str | Path) -> Path:
    """Write an instance folder (instance.toml, the CSV tables, README.md); return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    meta = territory.meta
    (folder / "instance.toml").write_text(  # JSON strings are valid TOML basic strings
        "".join(f"{key} = {json.dumps(meta[key], ensure_ascii=False)}\n"
                for key in ("nom", "territoire", "annee", "politique")), encoding="utf-8")
    for name, frame in territory.tables.items():
        buffer = io.StringIO()
        _cells(frame).to_csv(buffer, index=False, lineterminator="\n")
        (folder / f"{name}.csv").write_text(buffer.getvalue(), encoding="utf-8")
    (folder / "README.md").write_text(territory.readme, encoding="utf-8")
    return folder


#: Realised year (realise.csv): Q1 share of the lettings by holder type (the middle of the
#: policy's ``comportement`` ranges), share of proposals accepted, dwelling types, financings,
#: construction periods.
_Q1 = {"prefet": 0.6, "prefet_agents": 0.1, "action_logement": 0.12, "commune": 0.25, "epci": 0.25,
       "departement": 0.3, "region": 0.15, "autre": 0.15, "bailleur": 0.3}
_ACCEPTED = 0.92
_TYPOLOGIES = (("T1", 0.08), ("T2", 0.22), ("T3", 0.35), ("T4", 0.25), ("T5", 0.08), ("T6", 0.02))
_FINANCEMENTS = (("PLAI", 0.25), ("PLUS", 0.60), ("PLS", 0.10), ("PLI", 0.03), ("autre", 0.02))
_PERIODES = ("avant 1975", "1975-1999", "2000-2014", "depuis 2015")


def _split(counts: np.ndarray, shares: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Multinomial draws, one per row: ``counts[i]`` items over the columns of ``shares[i]`` (rows
    summing to 1), drawn column by column as conditional binomials (vectorised over the rows)."""
    out = np.zeros(shares.shape, dtype=np.int64)
    left = counts.astype(np.int64).copy()
    rest = np.ones(len(counts))
    for j in range(shares.shape[1]):
        p = np.clip(np.divide(shares[:, j], rest, out=np.ones(len(counts)), where=rest > 1e-12), 0.0, 1.0)
        out[:, j] = rng.binomial(left, p)
        left -= out[:, j]
        rest = rest - shares[:, j]
    return out


def realise_table(tables: dict[str, pd.DataFrame], rng: np.random.Generator, annee: int = ANNEE,
                  shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """A plausible year of lettings for an instance's tables (SPEC §6, ``realise.csv``).

    Per segment the realised flux is a Poisson draw around the forecast flux base; it is shared
    between the réservataires, each pair (bailleur, réservataire) with its own bias (log-normal,
    σ = 0.15: some are short, some over), and the bailleur keeps the rest. The réservataires'
    shares of a segment are ``shares`` (bailleur, commune, qpv, reservataire, part: the solved
    conventions) or else their reserved dwellings over the segment's flux-eligible dwellings
    (live rights only). Each holder's count is split by dwelling type and financing; 92 % of the
    proposals are let; Q1 and priority households are binomial draws around each type's usual
    rates (the préfet: nearly all priority). Internal transfers and rehousing are rows of
    ``mutation`` and ``relogement``.
    """
    p, stock = tables["patrimoine"], tables["stock"]
    types = dict(zip(tables["reservataires"]["reservataire"], tables["reservataires"]["type"]))
    eligible = (p["logements"] - p["logements_hors_flux"]).to_numpy(dtype=float)
    released = p["liberations"].fillna(p["taux_rotation"] * eligible).to_numpy(dtype=float)
    flux = np.maximum(released + p["mises_en_service"] - p["mutations_internes"] - p["relogements"], 0.0)
    key = ["bailleur", "commune", "qpv"]
    seg = p[key].reset_index(drop=True).assign(s=np.arange(len(p)))
    if shares is None:
        live = stock[stock["fin_droits"].isna() | (stock["fin_droits"] >= annee)] if "fin_droits" in stock else stock
        held = live.merge(seg, on=key)[["s", "reservataire", "logements_reserves", "bailleur"]]
        share = held["logements_reserves"].to_numpy() / np.maximum(eligible[held["s"].to_numpy()], 1.0)
    else:
        held = shares[shares["part"] > 0].merge(seg, on=key)[["s", "reservataire", "part", "bailleur"]]
        share = held["part"].to_numpy(dtype=float)
    pairs = held[["bailleur", "reservataire"]].drop_duplicates().reset_index(drop=True)
    bias = dict(zip(zip(pairs["bailleur"], pairs["reservataire"]), rng.lognormal(0.0, 0.15, len(pairs))))
    prio = dict(zip(zip(pairs["bailleur"], pairs["reservataire"]), rng.uniform(0.18, 0.40, len(pairs))))
    share = share * np.array([bias[k] for k in zip(held["bailleur"], held["reservataire"])])
    # Holders of each segment in columns: the réservataires (at most a total of 1), then the bailleur.
    held = held.assign(share=share, k=held.groupby("s").cumcount())
    width = int(held["k"].max()) + 2 if len(held) else 1
    shares = np.zeros((len(p), width))
    shares[held["s"].to_numpy(), held["k"].to_numpy()] = held["share"].to_numpy()
    total = shares.sum(axis=1, keepdims=True)
    shares *= np.minimum(1.0, 0.97 / np.maximum(total, 1e-12))
    shares[:, -1] = 1.0 - shares[:, :-1].sum(axis=1)
    counts = _split(rng.poisson(flux * rng.uniform(0.9, 1.06, len(p))), shares, rng)
    holder = np.full((len(p), width), "bailleur", dtype=object)
    holder[held["s"].to_numpy(), held["k"].to_numpy()] = held["reservataire"].to_numpy()
    s_idx, k_idx = np.nonzero(counts)
    rows = pd.DataFrame({"s": s_idx, "titulaire": holder[s_idx, k_idx], "n": counts[s_idx, k_idx]})
    by_type = _split(rows["n"].to_numpy(), np.tile([w for _, w in _TYPOLOGIES], (len(rows), 1)), rng)
    r_idx, t_idx = np.nonzero(by_type)
    out = pd.DataFrame({"s": rows["s"].to_numpy()[r_idx], "titulaire": rows["titulaire"].to_numpy()[r_idx],
                        "typologie": np.array([t for t, _ in _TYPOLOGIES])[t_idx], "proposes": by_type[r_idx, t_idx]})
    out["financement"] = rng.choice([f for f, _ in _FINANCEMENTS], len(out), p=[w for _, w in _FINANCEMENTS])
    out["attribues"] = rng.binomial(out["proposes"].to_numpy(), _ACCEPTED)
    kind = out["titulaire"].map(lambda h: types.get(h, "bailleur"))
    out["q1"] = rng.binomial(out["attribues"].to_numpy(), kind.map(_Q1).to_numpy(dtype=float))
    b_of = seg["bailleur"].to_numpy()[out["s"].to_numpy()]
    rate = np.array([0.97 if k == "prefet" else prio.get((b, h), 0.3) for b, h, k in zip(b_of, out["titulaire"], kind)])
    out["prioritaires"] = rng.binomial(out["attribues"].to_numpy(), rate)
    outside = []
    for holder_name, column in (("mutation", "mutations_internes"), ("relogement", "relogements")):
        n = rng.poisson(p[column].to_numpy(dtype=float))
        at = np.flatnonzero(n)
        outside.append(pd.DataFrame({"s": at, "titulaire": holder_name, "typologie": "T3", "proposes": n[at],
                                     "financement": "PLUS", "attribues": n[at],
                                     "q1": rng.binomial(n[at], 0.3), "prioritaires": 0}))
    out = pd.concat([out, *outside], ignore_index=True)
    periode = np.array(_PERIODES)[rng.integers(0, len(_PERIODES), len(p))]
    out["periode"] = periode[out["s"].to_numpy()]
    out = out.sort_values(["s", "titulaire", "typologie", "financement"], kind="stable")
    full = seg.iloc[out["s"].to_numpy()][key].reset_index(drop=True)
    cols = ["titulaire", "proposes", "attribues", "q1", "prioritaires", "typologie", "financement", "periode"]
    out = pd.concat([full, out[cols].reset_index(drop=True)], axis=1)
    return out.groupby([*key, "titulaire", "typologie", "financement", "periode"], sort=False, as_index=False).sum()


def write_realise(territory: Territory, path: str | Path, seed: int, shares: pd.DataFrame | None = None) -> Path:
    """Write :func:`realise_table` of a territory as a CSV file (same seed, same bytes)."""
    code = str(territory.meta["territoire"])
    frame = realise_table(territory.tables, np.random.default_rng([seed, _number(code), 15]), shares=shares)
    path = Path(path)
    _cells(frame).to_csv(path, index=False, lineterminator="\n")
    return path


def generate(n_departements: int, *, seed: int, out: str | Path, scale: float = 1.0,
             realise: bool = False) -> list[Path]:
    """``fluxopt generate --departements N --seed S --out DIR [--scale F]``.

    Writes ``DIR/synthetique-<code>/`` for the first N of the 101 départements (INSEE order:
    01, 02, …, 2A, 2B, …, 95, 971, …, 976), each a valid instance folder with a README.

    - ``--departements N`` (1 to 101): how many départements; 101 gives the national set,
      about 5.3 million dwellings in total at scale 1.
    - ``--seed S``: the random seed; the same seed gives byte-identical files, and
      département k is the same whatever N.
    - ``--out DIR``: the output folder (created; existing instance folders are overwritten).
    - ``--scale F`` (default 1.0): multiplies every département's dwellings and new lettings
      (rates are unchanged), e.g. 0.1 for small test sets, 2 for a stress test.
    - ``--realise``: also writes ``realise.csv`` in each folder, a plausible year of lettings
      (:func:`realise_table`) for ``fluxopt bilan``; the instance files do not change.
    """
    if not 1 <= n_departements <= len(DEPARTEMENTS):
        raise ValueError(f"--departements must be between 1 and {len(DEPARTEMENTS)}, not {n_departements}")
    out = Path(out)
    folders = []
    for code in DEPARTEMENTS[:n_departements]:
        territory = generate_departement(code, seed=seed, scale=scale)
        folder = write_instance(territory, out / f"synthetique-{code}")
        if realise:
            write_realise(territory, folder / "realise.csv", seed)
        folders.append(folder)
    return folders


def slug(name: str) -> str:
    """'Pyrénées-Atlantiques' → 'pyrenees-atlantiques'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")


def bundled() -> list[tuple[str, Territory]]:
    """The calibrated Nouvelle-Aquitaine départements, as (folder name, territory)."""
    out = []
    for code in BUNDLED:
        territory = generate_departement(code, seed=BUNDLED_SEED, calibration=nouvelle_aquitaine(code))
        out.append((f"{slug(territory.calibration.nom)}-{code}", territory))
    return out


def solved_shares(segments: pd.DataFrame) -> pd.DataFrame:
    """The réservataires' shares of each segment in a solve's ``segments`` table: logements / flux base."""
    total = segments.groupby(["bailleur", "commune", "qpv"])["logements"].transform("sum")
    held = segments[segments["titulaire"] != "bailleur"]
    part = held["logements"] / total[held.index].where(total[held.index] > 0)
    return pd.DataFrame({"bailleur": held["bailleur"], "commune": held["commune"], "qpv": held["qpv"],
                         "reservataire": held["titulaire"], "part": part.fillna(0.0)}).reset_index(drop=True)


def write_bundled_realise(root: str | Path, code: str = "33") -> Path:
    """Regenerate ``instances/<name>-<code>/realise-<annee>.csv``: a year of lettings around the
    conventions the bundled instance solves to (the seed of the bundled instances)."""
    from fluxopt.api import solve

    name, territory = next((n, t) for n, t in bundled() if n.endswith(f"-{code}"))
    folder = Path(root) / name
    result = solve(folder)
    return write_realise(territory, folder / f"realise-{ANNEE}.csv", BUNDLED_SEED, solved_shares(result.segments))


#: Bundled instances that come with a realised year (``realise-<annee>.csv``, for ``fluxopt bilan``).
BUNDLED_REALISE = ("33",)


def write_bundled(root: str | Path) -> list[Path]:
    """Regenerate the bundled instances under ``root`` (the repository's ``instances/``), and the
    realised year of those of ``BUNDLED_REALISE``."""
    folders = [write_instance(territory, Path(root) / name) for name, territory in bundled()]
    for code in BUNDLED_REALISE:
        write_bundled_realise(root, code)
    return folders
