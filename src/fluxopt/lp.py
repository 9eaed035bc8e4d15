"""The linear program of SPEC §4 as sparse arrays: the one definition of the model.

Built vectorised from a Baseline and a Policy. Columns and rows come in named blocks that
carry the SPEC's names and Pyomo-style indices, in this order:

- columns: ``x[r, b, c, q]``, ``rho[b, r]``, ``X[b, r]``, ``own[b, c, q]``, ``u_plus/u_minus[b, r]``,
  ``q[r, b, c, q]``, ``o[b, c, q]``, ``d1/d2[e]``, ``z``, ``reg_x_plus/minus[r, b, c, q]``,
  ``reg_q_plus/minus[r, b, c, q]``, ``reg_o_plus/minus[b, c, q]``;
- rows: ``capacite[b, c, q]``, ``prefet_uniforme[r, b, c, q]``, ``def_X[b, r]``, ``plafond[k, b]``,
  ``equilibre_qpv_max/min[b, r]``, ``ecart[b, r]``, ``q1_min/q1_max[r, b, c, q]``,
  ``q1_min_bailleur/q1_max_bailleur[b, c, q]``, ``cil_hors_qpv[e]``, ``cil_qpv[e]``,
  ``ecart_max_def[b, r]``, ``regularite_x[r, b, c, q]``, ``regularite_q[r, b, c, q]``,
  ``regularite_o[b, c, q]``;

with one cost vector per stage. X[b, r] (= the sum of x[r, s] over S_{b,r}, row ``def_X``) and
own_s (= F_s - the sum of x[r, s], row ``capacite``: capacity is the bound own >= 0; fixed at F_s
on a segment nobody holds) are columns, so that the rows using them hold one entry each instead of
repeating every x of the pair or segment (a sparser LP, same optima). A segment key is
(bailleur, commune, "qpv" | "hors_qpv"). The object is pure data: the lexicographic solve
(:mod:`fluxopt.stages`) adds one row ``fixe[stage]`` per solved stage (its costs <= bound) in the
solver, and returns the fixing rows and the values in a :class:`~fluxopt.solution.Solution`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from fluxopt.flux import Baseline, SegmentKey
from fluxopt.policy import PREFET_TYPES, STAGES, Policy

INF = float("inf")
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|-?inf|nan")
_SPECIAL = re.compile(r"[()\[\],.'\":\\]")


def _name(part: Hashable) -> str:
    """One index member as Pyomo names it: strings quoted when they look like numbers or hold
    punctuation (``'33063'``), bare otherwise (``B1``)."""
    if isinstance(part, str):
        quoted = _SPECIAL.search(part) or _NUMBER.fullmatch(part)
        return repr(part) if quoted else part
    return repr(part)


def index_name(index: Hashable) -> str:
    """``[B1,'33063',qpv]``: an index as Pyomo writes it in component names."""
    members = index if isinstance(index, tuple) and len(index) > 1 else (index,)
    return "[" + ",".join(_name(m) for m in members) + "]"


def cap_types(key: str) -> tuple[str, ...]:
    """The réservataire types a cap key covers ('prefet' covers the préfet and its agents)."""
    return PREFET_TYPES if key == "prefet" else (key,)


@dataclass(frozen=True)
class Block:
    """A named run of columns or rows from ``start``, one per index (a tuple, a key, or None for a scalar)."""

    name: str
    start: int
    index: Sequence[Hashable]

    @property
    def stop(self) -> int:
        return self.start + len(self.index)

    @property
    def span(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(eq=False)
class LinearProgram:
    """min costs[stage] · v subject to row_lower <= A v <= row_upper, col_lower <= v <= col_upper.

    ``A`` is row-wise (``start``, ``index``, ``value``). ``x_pair``/``x_seg``: for each x
    column, its active pair and its segment (positions in the Baseline's active pairs and
    segments); ``q_of_x``/``o_of_seg``: the q column of each x column and the o column of each
    segment (-1 where there is none); ``F``: the flux base per segment.
    """

    columns: dict[str, Block]
    rows: dict[str, Block]
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    start: np.ndarray
    index: np.ndarray
    value: np.ndarray
    costs: dict[str, np.ndarray]
    x_pair: np.ndarray
    x_seg: np.ndarray
    q_of_x: np.ndarray
    o_of_seg: np.ndarray
    segments: list[SegmentKey]
    F: np.ndarray

    @property
    def num_col(self) -> int:
        return len(self.col_lower)

    @property
    def num_row(self) -> int:
        """Rows of the model, without the stage-fixing rows."""
        return len(self.row_lower)

    def row_of(self, row: int, fixed: Sequence[str] = ()) -> tuple[str, Hashable]:
        """The block name and index of a row; rows after the model's are the fixing rows of the
        stages ``fixed``, in order (``fixe``, stage)."""
        if row >= self.num_row:
            return "fixe", list(fixed)[row - self.num_row]
        block = next(b for b in self.rows.values() if b.start <= row < b.stop)
        return block.name, block.index[row - block.start]

    def column_of(self, col: int) -> tuple[str, Hashable]:
        block = next(b for b in self.columns.values() if b.start <= col < b.stop)
        return block.name, block.index[col - block.start]

    def fixing_row(self, stage: str) -> tuple[np.ndarray, np.ndarray]:
        """Columns and coefficients of ``stage``'s objective, the body of its fixing row."""
        cols = np.flatnonzero(self.costs[stage]).astype(np.int32)
        return cols, self.costs[stage][cols]

    def objective(self, stage: str, values: np.ndarray) -> float:
        """``costs[stage] · values``, summed over the objective's columns only: no BLAS call, whose
        result may depend on its thread count (and which wakes its threads: milliseconds)."""
        cols, coefficients = self.fixing_row(stage)
        return float(np.sum(coefficients * values[cols]))

    def activity(self, values: np.ndarray) -> np.ndarray:
        """A v: the value of each row's body (fixing rows excluded)."""
        rows = np.repeat(np.arange(self.num_row), np.diff(self.start))
        return np.bincount(rows, weights=self.value * values[self.index], minlength=self.num_row)

    def X(self, values: np.ndarray) -> np.ndarray:
        """X[b, r] = sum of x[r, s] over S_{b,r}, per active pair (the column ``X``)."""
        return values[self.columns["X"].span]

    def own(self, values: np.ndarray) -> np.ndarray:
        """own_s = F_s - sum of x[r, s], per segment (the column ``own``)."""
        return values[self.columns["own"].span]


class _Rows:
    """Row blocks collected as coordinates, turned into a row-wise matrix at the end."""

    def __init__(self) -> None:
        self.blocks: dict[str, Block] = {}
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.count = 0

    def add(self, name: str, index: Sequence[Hashable], row: np.ndarray, col: np.ndarray, value: np.ndarray,
            lower: Any, upper: Any) -> None:
        """Rows ``index`` with entries (row within the block, column, coefficient) and their bounds."""
        n = len(index)
        self.blocks[name] = Block(name, self.count, index)
        self.parts.append((np.asarray(row, dtype=np.int64) + self.count, np.asarray(col, dtype=np.int64),
                           np.asarray(value, dtype=float)))
        self.lower.append(np.broadcast_to(np.asarray(lower, dtype=float), (n,)))
        self.upper.append(np.broadcast_to(np.asarray(upper, dtype=float), (n,)))
        self.count += n

    def matrix(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row starts, column indices and values, rows in order, zero coefficients dropped."""
        row, col, value = (np.concatenate(a) for a in zip(*self.parts))
        keep = value != 0
        row, col, value = row[keep], col[keep], value[keep]
        order = np.argsort(row, kind="stable")
        start = np.zeros(self.count + 1, dtype=np.int64)
        np.cumsum(np.bincount(row, minlength=self.count), out=start[1:])
        return start, col[order].astype(np.int32), value[order]


def _runs(groups: np.ndarray, n: int) -> np.ndarray:
    """Start of each group's run in an array sorted by group (groups 0..n-1), and the end."""
    return np.searchsorted(groups, np.arange(n + 1))


def _expand(first: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For runs [first, first + size): the run number and the position of each member."""
    run = np.repeat(np.arange(len(size)), size)
    offset = np.arange(int(size.sum())) - np.repeat(np.cumsum(size) - size, size)
    return run, np.repeat(first, size) + offset


def build_lp(base: Baseline, policy: Policy, check: Callable[[str], None] | None = None) -> LinearProgram:
    """Build the LP: every constraint of SPEC §4 and the four stage objectives.

    ``check(phase)`` is called between the phases of the build (it may raise to stop it: a time limit).
    """
    tick: Callable[[str], None] = check if check is not None else (lambda phase: None)
    seg = base.segments
    keys = list(seg.index)
    F = seg["F"].to_numpy(dtype=float)
    qpv = seg["qpv"].to_numpy(dtype=bool)
    n_seg = len(seg)
    active = base.pairs["active"].to_numpy(dtype=bool)
    pairs = base.pairs[active].reset_index(drop=True)
    pair_keys = list(zip(pairs["bailleur"].tolist(), pairs["reservataire"].tolist()))
    n_pairs = len(pairs)
    T = pairs["cible"].to_numpy(dtype=float)
    uniform = pairs["uniforme"].to_numpy(dtype=bool)
    agreed = pairs["accord"].to_numpy(dtype=bool)  # X fixed, out of ecart_max and ecart_total
    flux_br, flux_qpv = pairs["flux_base"].to_numpy(dtype=float), pairs["flux_base_qpv"].to_numpy(dtype=float)

    # x: one column per active pair and segment of S_{b,r}, grouped by pair.
    links = base.links[active[base.links["pair"].to_numpy()]]
    x_pair = (np.cumsum(active) - 1)[links["pair"].to_numpy()]
    x_seg = links["seg"].to_numpy()
    x_index = [(pair_keys[p][1], *keys[s]) for p, s in zip(x_pair.tolist(), x_seg.tolist())]
    n_x = len(x_index)
    pair_run = _runs(x_pair, n_pairs)
    by_seg = np.argsort(x_seg, kind="stable")  # x columns grouped by segment

    cil = base.cil
    alpha_of = dict(zip(cil["epci"].tolist(), cil["alpha"].tolist()))
    epci = seg["epci"].to_numpy(dtype=object)
    in_cil = seg["epci"].isin(cil["epci"]).to_numpy(dtype=bool)
    alpha = np.array([alpha_of.get(e, 0.0) for e in epci.tolist()], dtype=float)
    q_x = np.flatnonzero(in_cil[x_seg])  # x columns with a q column
    o_seg = np.flatnonzero(in_cil)  # segments with an o column
    pu = np.flatnonzero(uniform)
    rx = np.flatnonzero(~uniform[x_pair])
    rq = np.flatnonzero(~qpv[x_seg[q_x]])
    ro = np.flatnonzero(~qpv[o_seg])
    E = cil["epci"].tolist()

    # Columns, in declaration order.
    columns: dict[str, Block] = {}

    def column(name: str, index: Sequence[Hashable]) -> Block:
        start = sum(len(b.index) for b in columns.values())
        columns[name] = Block(name, start, index)
        return columns[name]

    X = column("x", x_index)
    RHO = column("rho", [pair_keys[p] for p in pu.tolist()])
    XB = column("X", pair_keys)
    OWN = column("own", keys)
    UP, UM = column("u_plus", pair_keys), column("u_minus", pair_keys)
    Q = column("q", [x_index[k] for k in q_x.tolist()])
    O = column("o", [keys[s] for s in o_seg.tolist()])
    D1, D2 = column("d1", E), column("d2", E)
    Z = column("z", [None])
    RXP, RXM = (column(n, [x_index[k] for k in rx.tolist()]) for n in ("reg_x_plus", "reg_x_minus"))
    RQP, RQM = (column(n, [Q.index[j] for j in rq.tolist()]) for n in ("reg_q_plus", "reg_q_minus"))
    ROP, ROM = (column(n, [O.index[j] for j in ro.tolist()]) for n in ("reg_o_plus", "reg_o_minus"))
    n_col = Z.stop + 2 * (len(rx) + len(rq) + len(ro))
    col_lower, col_upper = np.zeros(n_col), np.full(n_col, INF)
    if policy.strict:
        col_upper[D1.start:D2.stop] = 0.0
    held = np.unique(x_seg)
    free = np.ones(n_seg, dtype=bool)
    free[held] = False
    col_lower[OWN.start + np.flatnonzero(free)] = F[free]  # nobody holds the segment: own_s = F_s
    col_upper[OWN.start + np.flatnonzero(free)] = F[free]
    fixed_x = XB.start + np.flatnonzero(agreed)
    col_lower[fixed_x] = col_upper[fixed_x] = pairs["logements_accord"].to_numpy(dtype=float)[agreed]
    q_of_x = np.full(n_x, -1, dtype=np.int64)
    q_of_x[q_x] = Q.start + np.arange(len(q_x))
    o_of_seg = np.full(n_seg, -1, dtype=np.int64)
    o_of_seg[o_seg] = O.start + np.arange(len(o_seg))
    xs = X.start + np.arange(n_x)  # column of each x
    ones = np.ones

    rows = _Rows()
    own = OWN.start + np.arange(n_seg)  # column of each segment's own share
    XP = XB.start + np.arange(n_pairs)  # column of each pair's X
    # 1. Capacity: the réservataires' shares and the bailleur's own share (>= 0) make the flux base.
    rank = np.full(n_seg, -1, dtype=np.int64)
    rank[held] = np.arange(len(held))
    n = len(held)
    rows.add("capacite", [keys[s] for s in held.tolist()], np.concatenate([rank[x_seg[by_seg]], np.arange(n)]),
             np.concatenate([xs[by_seg], own[held]]), ones(n_x + n), F[held], F[held])

    # Uniform préfet rate: x[r, s] - F_s rho[b, r] = 0.
    xu = np.flatnonzero(uniform[x_pair])
    rho_of = np.full(n_pairs, -1, dtype=np.int64)
    rho_of[pu] = RHO.start + np.arange(len(pu))
    n = len(xu)
    rows.add("prefet_uniforme", [x_index[k] for k in xu.tolist()], np.tile(np.arange(n), 2),
             np.concatenate([xs[xu], rho_of[x_pair[xu]]]), np.concatenate([ones(n), -F[x_seg[xu]]]), 0.0, 0.0)

    # X[b, r] - sum of x[r, s] over S_{b,r} = 0.
    rows.add("def_X", pair_keys, np.concatenate([np.arange(n_pairs), x_pair]), np.concatenate([XP, xs]),
             np.concatenate([ones(n_pairs), -ones(n_x)]), 0.0, 0.0)

    tick("constraints 2")
    # 2. Caps per bailleur: sum of X over the cap's types <= cap * F_b.
    F_b = seg.groupby("bailleur")["F"].sum().to_dict()
    bailleur, kind = pairs["bailleur"].to_numpy(dtype=object), pairs["type"].to_numpy(dtype=object)
    cap_index, cap_cols, cap_upper = [], [], []
    for key, cap in sorted(policy.plafonds.items()):
        of_types = np.isin(kind, cap_types(key))
        for b in sorted(F_b):
            covered = np.flatnonzero(of_types & (bailleur == b))
            if len(covered):
                cap_index.append((key, b))
                cap_cols.append(XP[covered])
                cap_upper.append(cap * F_b[b])
    sizes = np.array([len(c) for c in cap_cols], dtype=np.int64)
    rows.add("plafond", cap_index, np.repeat(np.arange(len(cap_index)), sizes),
             np.concatenate(cap_cols) if cap_cols else np.zeros(0, dtype=np.int64), ones(int(sizes.sum())),
             -INF, np.array(cap_upper, dtype=float))

    tick("constraints 3")
    # 3. QPV balance of non-uniform shares that have flux both in and outside QPV:
    # (sum of QPV x - (theta + sign * lambda) X) * sign <= 0.
    balanced = np.flatnonzero(~uniform & (flux_qpv > 0) & (flux_qpv < flux_br))
    run, member = _expand(pair_run[balanced], np.diff(pair_run)[balanced])
    theta = flux_qpv[balanced] / flux_br[balanced]
    inside = qpv[x_seg[member]]
    run, member = run[inside], member[inside]  # the pair's QPV x
    nb = len(balanced)
    for name, sign in (("equilibre_qpv_max", 1.0), ("equilibre_qpv_min", -1.0)):
        c = theta + sign * policy.tolerance_qpv
        rows.add(name, [pair_keys[p] for p in balanced.tolist()], np.concatenate([run, np.arange(nb)]),
                 np.concatenate([xs[member], XP[balanced]]), np.concatenate([ones(len(run)), -c]) * sign, -INF, 0.0)

    tick("constraints 4")
    # 4. Deviation from the equivalent target: X - u_plus + u_minus = T.
    p = np.arange(n_pairs)
    rows.add("ecart", pair_keys, np.concatenate([p, p, p]), np.concatenate([XP, UP.start + p, UM.start + p]),
             np.concatenate([ones(n_pairs), -ones(n_pairs), ones(n_pairs)]), T, T)

    tick("constraints 5")
    # 5. CIL targets with Q1 shares of every holder.
    holder = pairs["reservataire"].to_numpy(dtype=object)[x_pair[q_x]]
    q1 = np.array([base.q1[r] for r in holder.tolist()], dtype=float).reshape(-1, 2)
    n = len(q_x)
    j = np.arange(n)
    q_cols = Q.start + j
    rows.add("q1_min", Q.index, np.tile(j, 2), np.concatenate([xs[q_x], q_cols]),
             np.concatenate([q1[:, 0], -ones(n)]), -INF, 0.0)
    rows.add("q1_max", Q.index, np.tile(j, 2), np.concatenate([q_cols, xs[q_x]]),
             np.concatenate([ones(n), -q1[:, 1]]), -INF, 0.0)
    q1_b = np.array([base.q1_bailleur[keys[s][0]] for s in o_seg.tolist()], dtype=float).reshape(-1, 2)
    at = by_seg[in_cil[x_seg[by_seg]]]  # x columns on CIL segments, grouped by segment
    n = len(o_seg)
    j = np.arange(n)
    o_cols = O.start + j
    # kappa_min own - o <= 0; o - kappa_max own <= 0.
    rows.add("q1_min_bailleur", O.index, np.tile(j, 2), np.concatenate([own[o_seg], o_cols]),
             np.concatenate([q1_b[:, 0], -ones(n)]), -INF, 0.0)
    rows.add("q1_max_bailleur", O.index, np.tile(j, 2), np.concatenate([o_cols, own[o_seg]]),
             np.concatenate([ones(n), -q1_b[:, 1]]), -INF, 0.0)
    # Sum of Q1 designations (q and o) on the EPCI's side, + d1 >= alpha flux; - d2 <= (1 - beta) flux.
    # With cil.relogements_q1 the rehousings RL outside QPV count on both sides: + RL >= alpha (flux + RL).
    RL = seg["RL"].to_numpy(dtype=float) if policy.relogements_q1 else np.zeros(n_seg)
    for name, inside, shortfall in (("cil_hors_qpv", False, D1), ("cil_qpv", True, D2)):
        index, cols, values, bound = [], [], [], []
        for i, (e, rate, other) in enumerate(zip(E, cil["alpha"].tolist(), cil["beta"].tolist())):
            where = np.flatnonzero((epci == e) & (qpv == inside))
            flux = sum(F[where].tolist())
            if flux <= 0:
                continue
            q1 = np.concatenate([q_of_x[at[np.isin(x_seg[at], where)]], o_of_seg[where]])
            index.append(e)
            cols.append(np.append(q1, shortfall.start + i))
            values.append(np.append(ones(len(q1)), -1.0 if inside else 1.0))
            rehoused = sum(RL[where].tolist())
            bound.append((1 - other) * flux if inside else rate * (flux + rehoused) - rehoused)
        sizes = np.array([len(c) for c in cols], dtype=np.int64)
        bounds = np.array(bound, dtype=float)
        rows.add(name, index, np.repeat(np.arange(len(index)), sizes),
                 np.concatenate(cols) if cols else np.zeros(0), np.concatenate(values) if values else np.zeros(0),
                 -INF if inside else bounds, bounds if inside else INF)

    tick("objectives")
    # Stage objectives: z bounds every relative departure, without dividing by T.
    # Agreed pairs leave it: their departure is agreed.
    free_pairs = np.flatnonzero(~agreed)
    n = len(free_pairs)
    j = np.arange(n)
    rows.add("ecart_max_def", [pair_keys[k] for k in free_pairs.tolist()], np.concatenate([j, j, j]),
             np.concatenate([UP.start + free_pairs, UM.start + free_pairs, np.full(n, Z.start)]),
             np.concatenate([ones(n), ones(n), -T[free_pairs]]), -INF, 0.0)
    # x[r, s] - (F_s / F_br) X[b, r] = reg_x_plus - reg_x_minus.
    share = np.divide(F[x_seg[rx]], flux_br[x_pair[rx]], out=np.zeros(len(rx)), where=flux_br[x_pair[rx]] > 0)
    n = len(rx)
    j = np.arange(n)
    rows.add("regularite_x", RXP.index, np.tile(j, 4),
             np.concatenate([xs[rx], XP[x_pair[rx]], RXP.start + j, RXM.start + j]),
             np.concatenate([ones(n), -share, -ones(n), ones(n)]), 0.0, 0.0)
    # q[r, s] - alpha x[r, s] = reg_q_plus - reg_q_minus (outside QPV).
    n = len(rq)
    j = np.arange(n)
    k = q_x[rq]
    rows.add("regularite_q", RQP.index, np.tile(j, 4),
             np.concatenate([q_of_x[k], xs[k], RQP.start + j, RQM.start + j]),
             np.concatenate([ones(n), -alpha[x_seg[k]], -ones(n), ones(n)]), 0.0, 0.0)
    # o_s - alpha own_s = reg_o_plus - reg_o_minus.
    n = len(ro)
    j = np.arange(n)
    s = o_seg[ro]
    rows.add("regularite_o", ROP.index, np.tile(j, 4),
             np.concatenate([o_of_seg[s], own[s], ROP.start + j, ROM.start + j]),
             np.concatenate([ones(n), -alpha[s], -ones(n), ones(n)]), 0.0, 0.0)

    costs = {stage: np.zeros(n_col) for stage in STAGES}
    costs["ecart_cil"][D1.start:D2.stop] = 1.0
    costs["ecart_max"][Z.start] = 1.0
    weight = np.divide(1.0, T, out=np.zeros(n_pairs), where=~agreed & (T > 0))
    costs["ecart_total"][UP.span] = weight
    costs["ecart_total"][UM.span] = weight
    costs["regularite"][RXP.start:] = 1.0

    tick("regularity")
    start, col_index, value = rows.matrix()
    tick("matrix")
    return LinearProgram(
        columns=columns, rows=rows.blocks, col_lower=col_lower, col_upper=col_upper,
        row_lower=np.concatenate(rows.lower), row_upper=np.concatenate(rows.upper),
        start=start, index=col_index, value=value, costs=costs, x_pair=x_pair, x_seg=x_seg,
        q_of_x=q_of_x, o_of_seg=o_of_seg, segments=keys, F=F,
    )


@dataclass(frozen=True)
class SizeEstimate:
    """An upper bound of an instance's LP size, computed before building it (no pair is dropped
    as inactive, every x column is taken to have a q column): ``x`` columns (the sum over the
    pairs in stock of |S_{b,r}|), ``columns``, ``rows``, ``nonzeros`` (a bounded number per x
    column, segment and pair, since X[b,r] and own_s are columns) and the ``bytes`` the build and
    HiGHS need at their peak (:data:`BYTES_PER_NONZERO`, measured)."""

    x: int
    columns: int
    rows: int
    nonzeros: int
    bytes: int


#: Peak memory of a solve (build, HiGHS's copy, result tables) per non-zero, measured on the
#: pathological instances of benchmarks/pathological.py (see benchmarks/RESULTS.md).
BYTES_PER_NONZERO = 160
#: Memory that does not grow with the model (interpreter, pandas, numpy, HiGHS).
BASE_BYTES = 250 * 2**20
#: Seconds per non-zero of the steps that cannot be interrupted, measured on
#: benchmarks/pathological.py on a loaded 2-core machine (benchmarks/RESULTS.md): the end of the
#: build (regularity rows, sparse matrix), HiGHS reading the model, and HiGHS's start (its first
#: simplex iteration, before it first looks at the clock).
SECONDS_PER_NONZERO = {"build": 0.35e-6, "load": 0.35e-6, "start": 0.4e-6}


def estimate_size(inst: Any) -> SizeEstimate:
    """The size of ``inst``'s LP (an :class:`~fluxopt.instance.Instance`) without building it, in
    time linear in the stock, the segments and the perimeters."""
    live = inst.stock[~(inst.stock["fin_droits"] < inst.annee)]
    pairs = set(zip(live["bailleur"].tolist(), live["reservataire"].tolist()))
    seg = inst.patrimoine
    per_bailleur: dict[str, int] = {}
    per_commune: dict[tuple[str, str], int] = {}
    for b, c in zip(seg["bailleur"].tolist(), seg["commune"].tolist()):
        per_bailleur[b] = per_bailleur.get(b, 0) + 1
        per_commune[(b, c)] = per_commune.get((b, c), 0) + 1
    res = inst.reservataires
    perimeter = {r: c for r, c in zip(res["reservataire"].tolist(), res["communes"].tolist()) if c is not None and c == c}
    x = sum(per_bailleur.get(b, 0) if r not in perimeter else sum(per_commune.get((b, c), 0) for c in perimeter[r])
            for b, r in pairs)
    n_seg, n_pairs, n_epci = len(seg), len(pairs), int(seg["epci"].nunique())
    columns = 6 * x + 4 * n_seg + 6 * n_pairs + 2 * n_epci + 1
    rows = 5 * x + 5 * n_seg + 8 * n_pairs + 2 * n_epci
    nonzeros = 24 * x + 10 * n_seg + 12 * n_pairs
    return SizeEstimate(x, columns, rows, nonzeros, BASE_BYTES + BYTES_PER_NONZERO * nonzeros)
