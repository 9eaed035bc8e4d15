"""Flux base and stock equivalence (SPEC §4, data part): an Instance to the numbers the LP needs."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fluxopt.checks import records
from fluxopt.i18n import _, number
from fluxopt.instance import Instance
from fluxopt.policy import EQUIVALENCE, PREFET_TYPES, Policy
from fluxopt.problems import InstanceError, Problem

#: Segment key: (bailleur, commune, "qpv" | "hors_qpv"); readable in constraint names.
SegmentKey = tuple[str, str, str]
#: Columns of ``Baseline.ajustements``, one row per target adjustment (SPEC §4, targets version 2).
ADJUSTMENT_COLUMNS = ["bailleur", "reservataire", "regle", "avant", "apres", "vers", "logements", "message"]
#: Stable codes of the adjustments, in the order they apply; ``equivalence`` names an unmoved target.
RULES = ("prefet_cible", "defaut_vers_prefet", "report")
#: Target changes (dwellings/year) below this are not adjustments.
_MOVE_TOL = 1e-9


def _no_adjustments() -> pd.DataFrame:
    return pd.DataFrame({c: np.empty(0, dtype="float64" if c in ("avant", "apres", "logements") else "object")
                         for c in ADJUSTMENT_COLUMNS})


@dataclass(frozen=True, eq=False)
class Baseline:
    """What the LP is built from.

    ``segments``: one row per segment, indexed by ``key``, with F (flux base), L, N, RL
    (relogements), epci, qpv. ``pairs``: one row per (bailleur, réservataire) with rights, with
    a target given by an adjustment, or agreed, with flux_base (F_br), flux_base_qpv, p0,
    cible_equivalence (p0 F_br), cible (T after the adjustments), origine_cible (``equivalence``
    or the '+'-joined codes of the rules that moved it), methode ('' without rights), active,
    uniforme, accord (agreed in ``accords``) and logements_accord (the agreed X, NaN
    otherwise). ``ajustements``: one row per target adjustment (``ADJUSTMENT_COLUMNS``):
    ``logements`` is the change of the target for ``prefet_cible``, the dwellings moved to
    ``vers`` for ``defaut_vers_prefet``, the carry-over as given for ``report``; ``message`` the
    sentence of its warning.
    ``links``: one row per pair and segment of S_{b,r}, ``pair`` and ``seg`` being row
    positions in ``pairs`` and ``segments``, ordered by pair then segment. ``cil``: per CIL
    EPCI, alpha and beta. ``q1``: [min, max] Q1 share per réservataire; ``q1_bailleur`` per
    bailleur.
    """

    segments: pd.DataFrame
    pairs: pd.DataFrame
    links: pd.DataFrame
    cil: pd.DataFrame
    reservataires: pd.DataFrame
    q1: dict[str, tuple[float, float]]
    q1_bailleur: dict[str, tuple[float, float]]
    warnings: list[Problem] = field(default_factory=list)
    ajustements: pd.DataFrame = field(default_factory=_no_adjustments)

    @functools.cached_property
    def members(self) -> dict[tuple[str, str], list[SegmentKey]]:
        """S_{b,r}: the segment keys of each pair, in segment order."""
        keys = self.segments.index[self.links["seg"].to_numpy()]
        pair = self.links["pair"].to_numpy()
        out: dict[tuple[str, str], list[SegmentKey]] = {p: [] for p in zip(self.pairs["bailleur"], self.pairs["reservataire"])}
        names = list(out)
        for i, key in zip(pair, keys):
            out[names[i]].append(key)
        return out


def _segments(inst: Instance) -> pd.DataFrame:
    p = inst.patrimoine
    seg = pd.DataFrame(
        {
            "bailleur": p["bailleur"],
            "commune": p["commune"],
            "epci": p["epci"],
            "qpv": p["qpv"],
            "N": p["logements_flux"].astype(float),
            "L": p["liberations"],
            "F": p["flux_base"].clip(lower=0.0),
            "RL": p["relogements"],
            "attributions": p["attributions"],
            "row": p["row"],
        }
    )
    labels = np.where(seg["qpv"].to_numpy(), "qpv", "hors_qpv").tolist()
    seg["key"] = list(zip(seg["bailleur"].tolist(), seg["commune"].tolist(), labels))
    return seg.sort_values(["bailleur", "commune", "qpv"]).set_index("key", drop=False)


def _q1_bounds(inst: Instance, policy: Policy) -> tuple[dict, dict, list[Problem]]:
    problems: list[Problem] = []

    def bounds(frame: pd.DataFrame, ident: str, kinds: list[str], source: str) -> dict[str, tuple[float, float]]:
        out = {}
        columns = (frame[ident].tolist(), kinds, frame["part_q1_min"].tolist(), frame["part_q1_max"].tolist(),
                   frame["row"].tolist())
        for name, t, given_lo, given_hi, row in zip(*columns):
            lo, hi = policy.comportement(t)
            lo = lo if np.isnan(given_lo) else float(given_lo)
            hi = hi if np.isnan(given_hi) else float(given_hi)
            if lo > hi:
                col = "part_q1_max" if not np.isnan(given_hi) else "part_q1_min"
                params = {"minimum": lo, "maximum": hi, "nom": name, "type": t}
                problems.append(Problem(source, int(row), col,
                                        _("Q1 share [{minimum}, {maximum}] of {nom} is empty once the policy's "
                                          "default for type '{type}' fills the other bound").format(**params),
                                        code="part_q1_vide", params=params))
            out[name] = (lo, hi)
        return out

    res = inst.reservataires
    q1 = bounds(res, "reservataire", res["type"].tolist(), inst.sources["reservataires"])
    known = bounds(inst.bailleurs, "bailleur", ["bailleur"] * len(inst.bailleurs), inst.sources["bailleurs"])
    q1_b = {b: known.get(b, policy.comportement("bailleur")) for b in inst.patrimoine["bailleur"].unique()}
    return q1, q1_b, problems


def _links(seg: pd.DataFrame, pairs: pd.DataFrame, reservataires: pd.DataFrame) -> pd.DataFrame:
    """(pair, segment) rows of S_{b,r}: the bailleur's segments in the réservataire's perimeter."""
    segments_of: dict[str, list[int]] = {}  # a bailleur's segment positions, in order
    for i, b in enumerate(seg["bailleur"].tolist()):
        segments_of.setdefault(b, []).append(i)
    communes = seg["commune"].tolist()
    perimeter = dict(zip(reservataires["reservataire"].tolist(), reservataires["communes"].tolist()))
    inside = {r: set(c) for r, c in perimeter.items() if c is not None}
    pair: list[int] = []
    at: list[int] = []
    for i, (b, r) in enumerate(zip(pairs["bailleur"].tolist(), pairs["reservataire"].tolist())):
        held = segments_of.get(b, [])
        if r in inside:
            held = [s for s in held if communes[s] in inside[r]]
        pair += [i] * len(held)
        at += held
    return pd.DataFrame({"pair": np.array(pair, dtype="int64"), "seg": np.array(at, dtype="int64")})


def transfer_problems(inst: Instance, policy: Policy) -> list[Problem]:
    """Errors of the target adjustments that move targets to the préfet (SPEC §4, steps 1 and 2).

    When ``prefet.cible`` is a rate, or when ``defaut.vers_prefet`` applies to a réservataire
    without a signed convention, the instance needs exactly one réservataire of type ``prefet``;
    and a réservataire of type ``prefet`` cannot default to itself.
    """
    res = inst.reservataires
    src = inst.sources.get("reservataires", "reservataires")
    defaulting = res[res["convention"] == "non_signee"] if policy.vers_prefet else res.iloc[:0]
    if policy.prefet_cible is None and defaulting.empty:
        return []
    problems = [Problem.coded(src, int(r["row"]), "convention", "prefet_non_signataire",
                              _("réservataire {reservataire} is the préfet: its targets cannot move to itself "
                                "(write convention = signee)"), {"reservataire": r["reservataire"]})
                for r in records(defaulting[defaulting["type"] == "prefet"])]
    prefets = res.loc[res["type"] == "prefet", "reservataire"].tolist()
    if len(prefets) != 1:
        why = (_("prefet.cible = {cible}").format(cible=policy.values["prefet.cible"])
               if policy.prefet_cible is not None
               else _("réservataire {reservataire} has no signed convention (defaut.vers_prefet)").format(
                   reservataire=defaulting["reservataire"].iloc[0]))
        found = (_("it has {nombre} ({prefets})").format(nombre=len(prefets), prefets=", ".join(prefets))
                 if prefets else _("it has none"))
        problems.append(Problem(src, None, "type",
                                _("{raison}: the instance needs exactly one réservataire of type 'prefet' to "
                                  "receive the targets; {trouves}").format(raison=why, trouves=found),
                                code="prefet_unique", params={"prefets": list(prefets)}))
    return problems


def _method_problems(inst: Instance, policy: Policy, seg: pd.DataFrame, live: pd.DataFrame) -> list[Problem]:
    """The data the chosen equivalence method needs and the instance lacks."""
    if policy.methode != "attributions":
        return []
    problems = [Problem.coded(inst.sources["patrimoine"], int(row), "attributions", "attributions_manquantes",
                              _("the 'attributions' equivalence method needs past attributions for every segment"))
                for row in seg.loc[seg["attributions"].isna(), "row"].tolist()]
    problems += [Problem.coded(inst.sources["stock"], int(row), "attributions", "attributions_manquantes",
                               _("the 'attributions' equivalence method needs past attributions for every right"))
                 for row in live.loc[live["attributions"].isna(), "row"].tolist()]
    return problems


def policy_problems(inst: Instance, policy: Policy) -> list[Problem]:
    """Errors that appear only once a policy is applied: empty Q1 intervals, data the method needs."""
    live = inst.stock[~(inst.stock["fin_droits"] < inst.annee)]
    return (_q1_bounds(inst, policy)[2] + _method_problems(inst, policy, _segments(inst), live)
            + transfer_problems(inst, policy))


def compute_baseline(inst: Instance, policy: Policy) -> Baseline:
    """Flux base per segment, equivalence p0 and target T per (bailleur, réservataire) pair."""
    warnings: list[Problem] = []
    seg = _segments(inst)
    live = inst.stock[~(inst.stock["fin_droits"] < inst.annee)]  # the expired rights were reported at load
    q1, q1_b, problems = _q1_bounds(inst, policy)
    problems += _method_problems(inst, policy, seg, live) + transfer_problems(inst, policy)
    method = policy.methode
    if problems:
        raise InstanceError(problems)

    # Rights grouped by pair (sorted by bailleur then réservataire, rows in file order within a pair).
    live = live.merge(seg[["bailleur", "commune", "qpv", "L", "N"]], on=["bailleur", "commune", "qpv"], how="left")
    live = live.sort_values(["bailleur", "reservataire"], kind="stable")
    ratio = np.divide(live["L"], live["N"], out=np.zeros(len(live)), where=live["N"].to_numpy() > 0)
    live["E"] = live["liberations"].fillna(live["logements_reserves"] * ratio)
    keys = list(zip(live["bailleur"].tolist(), live["reservataire"].tolist()))
    first = [i for i in range(len(keys)) if i == 0 or keys[i] != keys[i - 1]]
    pairs = pd.DataFrame({"bailleur": [keys[i][0] for i in first], "reservataire": [keys[i][1] for i in first]},
                         columns=["bailleur", "reservataire"])
    links = _links(seg, pairs, inst.reservataires)
    by_pair = np.searchsorted(links["pair"].to_numpy(), np.arange(len(pairs) + 1))
    by_right = [*first, len(live)]
    member = links["seg"].to_numpy()
    L, N, F = (seg[c].to_numpy()[member] for c in ("L", "N", "F"))
    A, qpv = seg["attributions"].to_numpy()[member], seg["qpv"].to_numpy()[member]
    E, R = live["E"].to_numpy(), live["logements_reserves"].to_numpy()
    A_r, rows = live["attributions"].to_numpy(), live["row"].to_numpy()
    # Sums per group are numpy's (as a pandas Series' sum), in row order.
    columns: dict[str, list] = {"flux_base": [], "flux_base_qpv": [], "p0": [], "cible": [], "methode": []}
    for i, (b, r) in enumerate(zip(pairs["bailleur"].tolist(), pairs["reservataire"].tolist())):
        s_br, rights = slice(by_pair[i], by_pair[i + 1]), slice(by_right[i], by_right[i + 1])
        used = method
        p0 = 0.0
        if method == "rotation":
            if L[s_br].sum() > 0:
                p0 = E[rights].sum() / L[s_br].sum()
            else:
                used = "stock"
        elif method == "attributions":
            if A[s_br].sum() > 0:
                p0 = A_r[rights].sum() / A[s_br].sum()
            else:
                used = "stock"
        if used == "stock" and N[s_br].sum() > 0:
            p0 = R[rights].sum() / N[s_br].sum()
        if used != method:
            message = (_("pair {bailleur} / {reservataire}: no releases on its segments, the 'stock' method is "
                         "used instead") if method == "rotation" else
                       _("pair {bailleur} / {reservataire}: no past attributions on its segments, the 'stock' "
                         "method is used instead"))
            warnings.append(Problem.coded(inst.sources["stock"], int(rows[rights].min()), None, "methode_stock",
                                          message, {"bailleur": b, "reservataire": r, "methode": method}, "warning"))
        flux = float(F[s_br].sum())
        if p0 * flux <= 0 and R[rights].sum() > 0:
            why = _("its segments have no flux this year") if flux <= 0 else _("its rights are worth no release")
            params = {"bailleur": b, "reservataire": r, "logements": int(R[rights].sum())}
            warnings.append(Problem(inst.sources["stock"], int(rows[rights].min()), None,
                                    _("pair {bailleur} / {reservataire}: {logements} reserved dwellings give no flux "
                                      "share ({raison}); the pair gets none").format(**params, raison=why),
                                    "warning", code="droits_sans_flux", params=params))
        columns["flux_base"].append(flux)
        columns["flux_base_qpv"].append(float(F[s_br][qpv[s_br]].sum()))
        columns["p0"].append(float(p0))
        columns["cible"].append(float(p0) * flux)
        columns["methode"].append(used)
    pairs = pairs.assign(**columns).rename(columns={"cible": "cible_equivalence"})
    over = pairs[pairs["p0"] > 1]
    for b, r, p0 in zip(over["bailleur"].tolist(), over["reservataire"].tolist(), over["p0"].tolist()):
        warnings.append(Problem(inst.sources["stock"], None, None,
                                _("pair {bailleur} / {reservataire}: the former rights are worth {pourcentage} of "
                                  "the flux, more than all of it").format(bailleur=b, reservataire=r,
                                                                          pourcentage=number(100 * p0, 1) + " %"),
                                "warning", code="equivalence_excessive",
                                params={"bailleur": b, "reservataire": r, "p0": float(p0)}))
    pairs, links, ajustements = _adjust(inst, policy, seg, pairs, warnings)
    pairs = _agree(inst, pairs)
    cil = inst.cil.copy()
    cil["alpha"] = cil["part_q1_hors_qpv"].fillna(policy.part_q1_hors_qpv)
    cil["beta"] = cil["part_autres_qpv"].fillna(policy.part_autres_qpv)
    return Baseline(seg, pairs, links, cil[["epci", "alpha", "beta"]].sort_values("epci").reset_index(drop=True),
                    inst.reservataires, q1, q1_b, warnings, ajustements)


def _agree(inst: Instance, pairs: pd.DataFrame) -> pd.DataFrame:
    """``logements_accord``: the dwellings per year agreed for a pair (SPEC §4 "Agreements"):
    ``logements`` as given, or ``flux_pct`` percent of F_{b,r}; NaN for a pair not agreed."""
    acc = inst.accords
    agreed = pd.Series(acc["logements"].to_numpy(dtype=float),
                       index=pd.MultiIndex.from_arrays([acc["bailleur"], acc["reservataire"]]))
    pct = pd.Series(acc["flux_pct"].to_numpy(dtype=float), index=agreed.index)
    index = pd.MultiIndex.from_arrays([pairs["bailleur"], pairs["reservataire"]])
    given, rate = agreed.reindex(index).to_numpy(), pct.reindex(index).to_numpy()
    flux = pairs["flux_base"].to_numpy(dtype=float)
    return pairs.assign(logements_accord=np.where(np.isnan(given), rate / 100 * flux, given))


def _adjust(inst: Instance, policy: Policy, seg: pd.DataFrame, pairs: pd.DataFrame,
            warnings: list[Problem]) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The targets of SPEC §4 "Targets, version 2", in order: ``prefet.cible``, ``defaut.vers_prefet``,
    ``report``; then the final pairs (those with rights, and those an adjustment gave a target,
    linked to the segments of their perimeter), their links and the table of adjustments.

    Each adjustment is also appended to ``warnings``.
    """
    res = inst.reservataires
    kind = dict(zip(res["reservataire"].tolist(), res["type"].tolist()))
    row_of = dict(zip(res["reservataire"].tolist(), res["row"].tolist()))
    prefets = [r for r, t in kind.items() if t == "prefet"]
    target = dict(zip(zip(pairs["bailleur"].tolist(), pairs["reservataire"].tolist()),
                      pairs["cible_equivalence"].tolist()))
    origin: dict[tuple[str, str], list[str]] = {}
    rows: list[tuple] = []
    src = inst.sources.get("reservataires", "reservataires")

    def move(b: str, r: str, rule: str, after: float, vers: str, amount: float, where: Problem) -> None:
        before = target.get((b, r), 0.0)
        target[(b, r)] = after
        if rule not in origin.setdefault((b, r), []):
            origin[(b, r)].append(rule)
        rows.append((b, r, rule, before, after, vers, amount, where.message))
        warnings.append(where)

    rate = policy.prefet_cible
    if rate is not None and len(prefets) == 1:
        pref = prefets[0]
        F_b = seg.groupby("bailleur", sort=True)["F"].sum().to_dict()
        for b, flux in F_b.items():
            agents = sum(t for (bb, r), t in target.items() if bb == b and kind.get(r) == "prefet_agents")
            before, after = target.get((b, pref), 0.0), max(0.0, rate * flux - agents)
            if abs(after - before) > _MOVE_TOL:
                params = {"bailleur": b, "reservataire": pref, "cible": float(after), "taux": float(rate),
                          "flux": float(flux), "agents": float(agents), "avant": float(before)}
                move(b, pref, "prefet_cible", after, "", after - before, Problem(
                    "politique", None, "prefet.cible",
                    _("pair {bailleur} / {reservataire}: the préfet's target becomes {cible} dwellings/year "
                      "({taux} of the bailleur's flux {flux}, less its agents' {agents}) "
                      "instead of {avant} by equivalence").format(
                        bailleur=b, reservataire=pref, cible=number(after), taux=f"{100 * rate:g} %",
                        flux=number(flux), agents=number(agents), avant=number(before)),
                    "warning", code="cible_prefet", params=params))
    unsigned = set(res.loc[res["convention"] == "non_signee", "reservataire"].tolist())
    if policy.vers_prefet and unsigned and len(prefets) == 1:
        pref = prefets[0]
        for (b, r), t in list(target.items()):
            if r in unsigned and r != pref and t > 0:
                move(b, r, "defaut_vers_prefet", 0.0, pref, t, Problem(
                    src, int(row_of[r]), "convention",
                    _("pair {bailleur} / {reservataire}: {reservataire} has not signed a flux convention "
                      "(convention = non_signee): its target of {cible} dwellings/year moves to the préfet {prefet} "
                      "(defaut.vers_prefet)").format(bailleur=b, reservataire=r, cible=number(t), prefet=pref),
                    "warning", code="defaut_vers_prefet",
                    params={"bailleur": b, "reservataire": r, "cible": float(t), "prefet": pref}))
                target[(b, pref)] = target.get((b, pref), 0.0) + t
                if "defaut_vers_prefet" not in origin.setdefault((b, pref), []):
                    origin[(b, pref)].append("defaut_vers_prefet")
    report = inst.report
    for b, r, amount, row in zip(report["bailleur"].tolist(), report["reservataire"].tolist(),
                                 report["logements"].tolist(), report["row"].tolist()):
        if amount == 0:
            continue
        holder, via = r, ""
        if policy.vers_prefet and r in unsigned and len(prefets) == 1 and r != prefets[0]:
            # A réservataire without a signed convention has lost its flux to the préfet: so has its carry-over.
            holder, via = prefets[0], _(" (carried over for {reservataire}, which has not signed a flux "
                                        "convention)").format(reservataire=r)
        before = target.get((b, holder), 0.0)
        after = max(0.0, before + amount)
        clipped = _(" (a target cannot be negative)") if before + amount < 0 else ""
        shown_amount = ("+" if amount >= 0 else "-") + number(abs(amount))
        move(b, holder, "report", after, "", float(amount), Problem(
            inst.sources.get("report", "report"), int(row), "logements",
            _("pair {bailleur} / {reservataire}: the carry-over of {report} dwellings{via} changes the target "
              "from {avant} to {apres} dwellings/year{plancher}").format(
                bailleur=b, reservataire=holder, report=shown_amount, via=via, avant=number(before),
                apres=number(after), plancher=clipped),
            "warning", code="report_applique",
            params={"bailleur": b, "reservataire": holder, "report": float(amount), "pour": r,
                    "avant": float(before), "apres": float(after)}))

    # The final pairs: every pair with rights, a target or an agreement, sorted by bailleur then réservataire.
    agreed = set(zip(inst.accords["bailleur"].tolist(), inst.accords["reservataire"].tolist()))
    for key in agreed:
        target.setdefault(key, 0.0)
    keys = sorted(set(target))
    final = pd.DataFrame(keys, columns=["bailleur", "reservataire"])
    final.insert(2, "type", [kind[r] for r in final["reservataire"].tolist()])
    position = {k: i for i, k in enumerate(zip(pairs["bailleur"].tolist(), pairs["reservataire"].tolist()))}
    known = [position.get(k) for k in keys]
    for column, missing in (("p0", 0.0), ("cible_equivalence", 0.0)):
        values = pairs[column].tolist()
        final[column] = np.array([missing if i is None else values[i] for i in known], dtype=float)
    final["cible"] = [float(target[k]) for k in keys]
    final["origine_cible"] = ["+".join(origin[k]) if origin.get(k) else EQUIVALENCE for k in keys]
    methods = pairs["methode"].tolist()
    final["methode"] = np.array(["" if i is None else methods[i] for i in known], dtype=object)
    links = _links(seg, final, res)
    F, qpv = seg["F"].to_numpy(), seg["qpv"].to_numpy(dtype=bool)
    at, pair = links["seg"].to_numpy(), links["pair"].to_numpy()
    final["flux_base"] = np.bincount(pair, weights=F[at], minlength=len(final))
    final["flux_base_qpv"] = np.bincount(pair, weights=np.where(qpv[at], F[at], 0.0), minlength=len(final))
    final["accord"] = [k in agreed for k in keys]
    lost = (final["cible"] > 0) & (final["flux_base"] <= 0) & ~final["accord"]
    for b, r, t in final.loc[lost, ["bailleur", "reservataire", "cible"]].itertuples(index=False):
        warnings.append(Problem(src, int(row_of[r]), "perimetre",
                                _("pair {bailleur} / {reservataire}: its target of {cible} dwellings/year has no flux "
                                  "on its perimeter at this bailleur; the pair gets none").format(
                                    bailleur=b, reservataire=r, cible=number(t)),
                                "warning", code="cible_sans_flux",
                                params={"bailleur": b, "reservataire": r, "cible": float(t)}))
    final["active"] = ((final["cible"] > 0) & (final["flux_base"] > 0)) | final["accord"]
    final["uniforme"] = final["type"].isin(PREFET_TYPES) & policy.uniforme
    columns = ["bailleur", "reservataire", "type", "flux_base", "flux_base_qpv", "p0", "cible_equivalence", "cible",
               "origine_cible", "methode", "active", "uniforme", "accord"]
    ajustements = pd.DataFrame(rows, columns=ADJUSTMENT_COLUMNS) if rows else _no_adjustments()
    return final[columns], links, ajustements
