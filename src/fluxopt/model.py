"""The linear program of SPEC §4, built with Pyomo. Pure: a Baseline and a Policy in, a model out.

Components carry the SPEC's names so that values and duals map back onto the data:
variables ``x[r, b, c, q]``, ``rho[b, r]``, ``u_plus/u_minus[b, r]``, ``q[r, b, c, q]``,
``o[b, c, q]``, ``d1/d2[e]``; constraints ``capacite``, ``plafond[k, b]``,
``prefet_uniforme``, ``equilibre_qpv_min/max``, ``ecart``, ``q1_min/q1_max``,
``q1_min_bailleur/q1_max_bailleur``, ``cil_hors_qpv``, ``cil_qpv``; one objective
expression per stage in ``stage_expr[stage]``. A segment key is (bailleur, commune,
"qpv" | "hors_qpv").
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo
from pyomo.core.expr import LinearExpression

from fluxopt.flux import Baseline
from fluxopt.policy import PREFET_TYPES, STAGES, Policy


def _lin(coefs: list[float], variables: list, constant: float = 0.0):
    """A linear expression built in one go (much faster than repeated additions)."""
    return LinearExpression(constant=constant, linear_coefs=coefs, linear_vars=variables)


def cap_types(key: str) -> tuple[str, ...]:
    """The réservataire types a cap key covers ('prefet' covers the préfet and its agents)."""
    return PREFET_TYPES if key == "prefet" else (key,)


def build_model(base: Baseline, policy: Policy) -> pyo.ConcreteModel:
    """Build the LP: every constraint of SPEC §4 and the four stage objectives (all inactive)."""
    seg = base.segments
    F = seg["F"].to_dict()
    pairs = base.pairs[base.pairs["active"]]
    pair_keys = list(zip(pairs["bailleur"], pairs["reservataire"]))
    info = pairs.set_index(["bailleur", "reservataire"])
    T = info["cible"].to_dict()
    kind, flux_br, flux_br_qpv = info["type"].to_dict(), info["flux_base"].to_dict(), info["flux_base_qpv"].to_dict()
    uniform = set(info.index[info["uniforme"]])

    m = pyo.ConcreteModel(name="fluxopt")
    m.S = pyo.Set(initialize=list(seg.index), dimen=3, ordered=True)
    m.P = pyo.Set(initialize=pair_keys, dimen=2, ordered=True)
    xs = [(r, *s) for (b, r) in pair_keys for s in base.members[(b, r)]]
    m.XS = pyo.Set(initialize=xs, dimen=4, ordered=True)
    m.x = pyo.Var(m.XS, within=pyo.NonNegativeReals)
    m.PU = pyo.Set(initialize=[p for p in pair_keys if p in uniform], dimen=2, ordered=True)
    m.rho = pyo.Var(m.PU, within=pyo.NonNegativeReals)
    m.u_plus = pyo.Var(m.P, within=pyo.NonNegativeReals)
    m.u_minus = pyo.Var(m.P, within=pyo.NonNegativeReals)

    holders: dict[tuple, list] = defaultdict(list)
    for k in xs:
        holders[k[1:]].append(m.x[k])
    members = {p: [m.x[(p[1], *s)] for s in base.members[p]] for p in pair_keys}
    m.X = pyo.Expression(m.P, rule=lambda m, b, r: _lin([1.0] * len(members[b, r]), members[b, r]))
    m.own = pyo.Expression(
        m.S, rule=lambda m, *s: _lin([-1.0] * len(holders[s]), holders[s], F[s])
    )

    # 1. Capacity: the réservataires' shares fit in the segment's flux base.
    m.capacite = pyo.Constraint(
        [s for s in m.S if holders[s]], rule=lambda m, *s: _lin([1.0] * len(holders[s]), holders[s]) <= F[s]
    )

    # Uniform préfet rate: x[r, s] = rho[b, r] * F_s.
    m.prefet_uniforme = pyo.Constraint(
        [k for k in xs if (k[1], k[0]) in uniform],
        rule=lambda m, r, b, c, q: m.x[r, b, c, q] == F[b, c, q] * m.rho[b, r],
    )

    # 2. Caps per bailleur: sum of X over the cap's types <= cap * F_b.
    F_b = seg.groupby("bailleur")["F"].sum().to_dict()
    by_type: dict[tuple[str, str], list] = defaultdict(list)
    for b, r in pair_keys:
        by_type[(b, kind[b, r])].append((b, r))
    caps = {}
    for key, cap in sorted(policy.plafonds.items()):
        for b in sorted(F_b):
            covered = [p for t in cap_types(key) for p in by_type.get((b, t), [])]
            if covered:
                caps[(key, b)] = (covered, cap * F_b[b])
    m.plafond = pyo.Constraint(
        list(caps), rule=lambda m, k, b: sum(m.X[p] for p in caps[k, b][0]) <= caps[k, b][1]
    )

    # 3. QPV balance of non-uniform shares that have flux both in and outside QPV.
    lam = policy.tolerance_qpv
    theta = {}
    for p in pair_keys:
        fb, fq = flux_br[p], flux_br_qpv[p]
        if p not in uniform and 0 < fq < fb:
            theta[p] = fq / fb
    qpv_x = {p: [m.x[(p[1], *s)] for s in base.members[p] if s[2] == "qpv"] for p in theta}

    def balance(m, b, r, sign):
        inside = _lin([1.0] * len(qpv_x[b, r]), qpv_x[b, r])
        return (inside - (theta[b, r] + sign * lam) * m.X[b, r]) * sign <= 0

    m.equilibre_qpv_max = pyo.Constraint(list(theta), rule=lambda m, b, r: balance(m, b, r, 1))
    m.equilibre_qpv_min = pyo.Constraint(list(theta), rule=lambda m, b, r: balance(m, b, r, -1))

    # 4. Deviation from the equivalent target.
    m.ecart = pyo.Constraint(m.P, rule=lambda m, b, r: m.X[b, r] - m.u_plus[b, r] + m.u_minus[b, r] == T[b, r])

    # 5. CIL targets with Q1 shares of every holder.
    cil = base.cil.set_index("epci")
    alpha_e, beta_e = cil["alpha"].to_dict(), cil["beta"].to_dict()
    m.E = pyo.Set(initialize=list(cil.index), ordered=True)
    epci_of = seg["epci"].to_dict()
    cil_seg = [s for s in m.S if epci_of[s] in alpha_e]
    m.QS = pyo.Set(initialize=[k for k in xs if epci_of[k[1:]] in alpha_e], dimen=4, ordered=True)
    m.OS = pyo.Set(initialize=cil_seg, dimen=3, ordered=True)
    m.q = pyo.Var(m.QS, within=pyo.NonNegativeReals)
    m.o = pyo.Var(m.OS, within=pyo.NonNegativeReals)
    bound = (0, 0) if policy.strict else (0, None)
    m.d1 = pyo.Var(m.E, bounds=bound)
    m.d2 = pyo.Var(m.E, bounds=bound)
    q1, q1_b = base.q1, base.q1_bailleur
    m.q1_min = pyo.Constraint(m.QS, rule=lambda m, r, *s: q1[r][0] * m.x[r, *s] - m.q[r, *s] <= 0)
    m.q1_max = pyo.Constraint(m.QS, rule=lambda m, r, *s: m.q[r, *s] - q1[r][1] * m.x[r, *s] <= 0)
    m.q1_min_bailleur = pyo.Constraint(m.OS, rule=lambda m, *s: q1_b[s[0]][0] * m.own[s] - m.o[s] <= 0)
    m.q1_max_bailleur = pyo.Constraint(m.OS, rule=lambda m, *s: m.o[s] - q1_b[s[0]][1] * m.own[s] <= 0)
    q_of: dict[tuple, list] = defaultdict(list)
    for k in m.QS:
        q_of[k[1:]].append(m.q[k])
    in_e: dict[tuple[str, str], list] = defaultdict(list)
    for s in cil_seg:
        in_e[(epci_of[s], s[2])].append(s)

    def q1_total(m, e, where):
        terms = [v for s in in_e[(e, where)] for v in (*q_of[s], m.o[s])]
        return _lin([1.0] * len(terms), terms)

    def flux_of(e, where):
        return sum(F[s] for s in in_e[(e, where)])

    m.cil_hors_qpv = pyo.Constraint(
        [e for e in m.E if flux_of(e, "hors_qpv") > 0],
        rule=lambda m, e: q1_total(m, e, "hors_qpv") + m.d1[e] >= alpha_e[e] * flux_of(e, "hors_qpv"),
    )
    m.cil_qpv = pyo.Constraint(
        [e for e in m.E if flux_of(e, "qpv") > 0],
        rule=lambda m, e: q1_total(m, e, "qpv") - m.d2[e] <= (1 - beta_e[e]) * flux_of(e, "qpv"),
    )

    # Stage objectives.
    m.z = pyo.Var(within=pyo.NonNegativeReals)
    m.ecart_max_def = pyo.Constraint(
        m.P, rule=lambda m, b, r: m.u_plus[b, r] + m.u_minus[b, r] - T[b, r] * m.z <= 0
    )
    regular = [k for k in xs if (k[1], k[0]) not in uniform]
    m.RX = pyo.Set(initialize=regular, dimen=4, ordered=True)
    m.reg_x_plus = pyo.Var(m.RX, within=pyo.NonNegativeReals)
    m.reg_x_minus = pyo.Var(m.RX, within=pyo.NonNegativeReals)
    share = {k: F[k[1:]] / flux_br[k[1], k[0]] for k in regular}
    m.regularite_x = pyo.Constraint(
        m.RX,
        rule=lambda m, r, *s: m.x[r, *s] - share[r, *s] * m.X[s[0], r]
        - m.reg_x_plus[r, *s] + m.reg_x_minus[r, *s] == 0,
    )
    alpha = {s: alpha_e[epci_of[s]] for s in cil_seg}
    m.RQ = pyo.Set(initialize=[k for k in m.QS if k[3] == "hors_qpv"], dimen=4, ordered=True)
    m.RO = pyo.Set(initialize=[s for s in cil_seg if s[2] == "hors_qpv"], dimen=3, ordered=True)
    m.reg_q_plus = pyo.Var(m.RQ, within=pyo.NonNegativeReals)
    m.reg_q_minus = pyo.Var(m.RQ, within=pyo.NonNegativeReals)
    m.reg_o_plus = pyo.Var(m.RO, within=pyo.NonNegativeReals)
    m.reg_o_minus = pyo.Var(m.RO, within=pyo.NonNegativeReals)
    m.regularite_q = pyo.Constraint(
        m.RQ,
        rule=lambda m, r, *s: m.q[r, *s] - alpha[s] * m.x[r, *s] - m.reg_q_plus[r, *s] + m.reg_q_minus[r, *s] == 0,
    )
    m.regularite_o = pyo.Constraint(
        m.RO, rule=lambda m, *s: m.o[s] - alpha[s] * m.own[s] - m.reg_o_plus[s] + m.reg_o_minus[s] == 0
    )

    def total(*vars_and_coefs):
        coefs, variables = [], []
        for coef, var in vars_and_coefs:
            coefs.append(coef)
            variables.append(var)
        return _lin(coefs, variables)

    m.STAGES = pyo.Set(initialize=STAGES, ordered=True)
    exprs = {
        "ecart_cil": total(*((1.0, v) for e in m.E for v in (m.d1[e], m.d2[e]))),
        "ecart_max": total((1.0, m.z)),
        "ecart_total": total(*((1.0 / T[p], v) for p in m.P for v in (m.u_plus[p], m.u_minus[p]))),
        "regularite": total(
            *((1.0, v) for k in m.RX for v in (m.reg_x_plus[k], m.reg_x_minus[k])),
            *((1.0, v) for k in m.RQ for v in (m.reg_q_plus[k], m.reg_q_minus[k])),
            *((1.0, v) for s in m.RO for v in (m.reg_o_plus[s], m.reg_o_minus[s])),
        ),
    }
    m.stage_expr = pyo.Expression(m.STAGES, rule=lambda m, k: exprs[k])
    m.objectif = pyo.Objective(m.STAGES, rule=lambda m, k: m.stage_expr[k], sense=pyo.minimize)
    m.objectif.deactivate()
    m.fixe = pyo.Constraint(pyo.Any)
    return m
