"""The result as a workbook for the negotiating table (``resultats.xlsx``, written with xlsxwriter).

Sheets, in the language of the result (French by default): « Synthèse » (one landscape page:
the territory, the status, the four objectives in one sentence each, totals per bailleur and per
réservataire), « Propositions » (one row per convention with its reason in words),
« Graphiques » (native charts), « Paramètres » (every policy value used, its source, whether it
was overridden), « Explications », « Sensibilité » (when the reasons were checked by
counterfactual solves: per departing convention, each constraint that binds it and the share
once it is relaxed), « Communes » (segments), « CIL ». Headers say their unit;
names stand beside codes; every sheet is set up for printing (landscape, fit to width, header
rows repeated, frozen panes). The CSV files stay the data for programs; the numbers here are
theirs. The document's dates are fixed, so that the same result gives the same bytes.
benchmarks/RESULTS.md records why xlsxwriter (against openpyxl).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from fluxopt.sheets import DOCUMENT_DATE
from fluxopt.explanations import Explanation, explain
from fluxopt.i18n import N_, _, number, using
from fluxopt.policy import TYPES, load_policy, source_of
from fluxopt.result import Result
from fluxopt.tables import bailleur_synthesis, reservataire_synthesis

#: Largest number of bailleurs given a chart each (the others are in « Propositions »).
MAX_BAILLEUR_CHARTS = 24

SHEETS = {
    "synthese": N_("Synthèse"), "propositions": N_("Proposals"), "graphiques": N_("Charts"),
    "parametres": N_("Parameters"), "explications": N_("Explanations"), "sensibilite": N_("Sensitivity"),
    "communes": N_("Communes"), "cil": N_("CIL"),
}
DIRECTION_WORDS = {"retient": N_("holds it below its target"), "pousse": N_("pushes it above its target")}
STATUS = {
    "optimal": N_("solved: the proposal below is optimal"),
    "infeasible": N_("no proposal: the strict CIL targets cannot be met (see « Explanations »)"),
    "time_limit": N_("time limit reached: the proposal holds the stages solved so far"),
    "error": N_("no proposal: the solver failed"),
}
OBJECTIVES = {
    "ecart_cil": (N_("CIL shortfall"), N_("attributions missing from the CIL targets (0: every target is met)")),
    "ecart_max": (N_("Largest departure"), N_("no convention departs from its stock-equivalent target by more "
                                              "than this share of it")),
    "ecart_total": (N_("Sum of departures"), N_("the departures from the targets, as shares of each target, "
                                                "added over all conventions")),
    "regularite": (N_("Irregularity"), N_("dwellings away from an even spread of each share over the "
                                          "bailleur's communes and of the Q1 effort over the designators")),
}
TYPE_NAMES = {
    "prefet": N_("Préfet"), "prefet_agents": N_("State employees"), "action_logement": N_("Action Logement"),
    "commune": N_("Communes"), "epci": N_("EPCI"), "departement": N_("Département"), "region": N_("Région"),
    "autre": N_("Others"), "bailleur": N_("Bailleur (own share)"),
}
CIL_TARGETS = {"q1_hors_qpv": N_("Q1 households outside QPV"), "autres_qpv": N_("other quartiles in QPV")}

PERCENT, NUMBER, INTEGER = "0.0%", "#,##0.00", "#,##0"
#: Points per line of 9-point text (row heights).
LINE_HEIGHT = 12


def _words(code: str, table: dict[str, str]) -> str:
    return _(table[code]) if code in table else code


class _Sheet:
    """A worksheet with the book's formats, column widths and print setup."""

    def __init__(self, book: xlsxwriter.Workbook, key: str, formats: dict[str, Format]):
        self.ws: Worksheet = book.add_worksheet(_(SHEETS[key]))
        self.name = self.ws.get_name()
        self.formats = formats
        ws = self.ws
        ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
        ws.set_header(f"&L&8{self.name}&R&8fluxopt")
        ws.set_footer("&C&8&P / &N")
        ws.fit_to_pages(1, 0)

    def cell(self, row: int, col: int, value: Any, fmt: str | None = None) -> None:
        """Write a cell; None and NaN stay empty."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        if hasattr(value, "item"):
            value = value.item()
        style = self.formats[fmt] if fmt else None
        if isinstance(value, bool):
            self.ws.write_string(row, col, _("yes") if value else _("no"), style)
        elif isinstance(value, (int, float)):
            self.ws.write_number(row, col, value, style)
        else:
            self.ws.write_string(row, col, str(value), style)

    def table(self, first_row: int, columns: Sequence[tuple[str, str | None, float]], rows: Sequence[Sequence[Any]],
              *, repeat: bool = True) -> int:
        """A header (translated titles with units) and rows; ``columns``: (title, format, width).
        Return the next free row."""
        for j, (title, _fmt, width) in enumerate(columns):
            self.cell(first_row, j, _(title), "header")
            self.ws.set_column(j, j, width)
        header_lines = max(math.ceil(len(_(t)) / max(w - 2, 1)) for t, _f, w in columns)
        self.ws.set_row(first_row, LINE_HEIGHT * max(header_lines, 1) + 2)
        wrapped = [(j, max(w * 1.15, 1)) for j, (_t, fmt, w) in enumerate(columns) if fmt == "wrap"]
        styles = [self.formats[fmt] if fmt else None for _t, fmt, _w in columns]
        write_number, write_string = self.ws.write_number, self.ws.write_string
        yes_no = {True: _("yes"), False: _("no")}
        for i, row in enumerate(rows, start=first_row + 1):
            for j, value in enumerate(row):
                # Plain values straight to the sheet, as cell() writes them (None and NaN stay empty).
                kind = type(value)
                if value is None:
                    continue
                if kind is float:
                    if value == value:
                        write_number(i, j, value, styles[j])
                elif kind is str:
                    write_string(i, j, value, styles[j])
                elif kind is int:
                    write_number(i, j, value, styles[j])
                elif kind is bool:
                    write_string(i, j, yes_no[value], styles[j])
                else:
                    self.cell(i, j, value, columns[j][1])
            # Spreadsheets do not grow a row for wrapped text on opening: give it its height.
            lines = max((math.ceil(len(str(row[j])) / width) for j, width in wrapped), default=1)
            if lines > 1:
                self.ws.set_row(i, LINE_HEIGHT * lines)
        if repeat:
            self.ws.repeat_rows(first_row)
            self.ws.freeze_panes(first_row + 1, 0)
            self.ws.autofilter(first_row, 0, first_row + max(len(rows), 1), len(columns) - 1)
        return first_row + len(rows) + 1


def _formats(book: xlsxwriter.Workbook) -> dict[str, Format]:
    base = {"font_size": 9, "valign": "top"}
    return {
        "title": book.add_format({"bold": True, "font_size": 14}),
        "subtitle": book.add_format({"bold": True, "font_size": 11}),
        "bold": book.add_format({**base, "bold": True}),
        "text": book.add_format(base),
        "wrap": book.add_format({**base, "text_wrap": True}),
        "header": book.add_format({**base, "bold": True, "text_wrap": True, "bg_color": "#DCE6F1", "border": 1,
                                   "valign": "vcenter"}),
        "percent": book.add_format({**base, "num_format": PERCENT}),
        "number": book.add_format({**base, "num_format": NUMBER}),
        "integer": book.add_format({**base, "num_format": INTEGER}),
        "objective": book.add_format({**base, "num_format": "0.000000"}),
    }


def _names(result: Result) -> tuple[dict[str, str], dict[str, str]]:
    """Display names of the bailleurs and réservataires (empty when the instance gives none)."""
    bailleurs = result.instance.bailleurs
    b = dict(zip(bailleurs["bailleur"].astype(str), bailleurs["nom"].fillna("").astype(str))) \
        if "nom" in bailleurs.columns else {}
    res = result.instance.reservataires
    r = dict(zip(res["reservataire"].astype(str), res["nom"].fillna("").astype(str))) if "nom" in res.columns else {}
    return b, r


def _synthese(book: xlsxwriter.Workbook, result: Result, formats: dict[str, Format]) -> _Sheet:
    sheet = _Sheet(book, "synthese", formats)
    ws, s, inst = sheet.ws, result.summary, result.instance
    ws.fit_to_pages(1, 1)
    sheet.cell(0, 0, _("Flux management proposal: {nom}").format(nom=inst.nom), "title")
    sheet.cell(1, 0, _("Département {territoire}, year {annee}; policy {politique}; {bailleurs} bailleurs, "
                       "{reservataires} réservataires").format(
        territoire=inst.territoire, annee=inst.annee, politique=s.politique.nom,
        bailleurs=inst.patrimoine["bailleur"].nunique(), reservataires=len(inst.reservataires)), "text")
    sheet.cell(2, 0, _("Status: {status}").format(status=_words(result.status.value, STATUS)), "bold")
    sheet.cell(4, 0, _("The four objectives, in the order they are solved"), "subtitle")
    row = 5
    for name in result.policy.ordre:
        label, sentence = OBJECTIVES.get(name, (name, ""))
        value = result.objectives.get(name)
        ws.merge_range(row, 0, row, 1, _(label), formats["bold"])
        if value is not None:
            sheet.cell(row, 2, value, "percent" if name == "ecart_max" else "number")
        sheet.cell(row, 3, _(sentence) if sentence else "", "text")
        row += 1
    b_names, r_names = _names(result)
    row += 1
    sheet.cell(row, 0, _("Per bailleur: shares of its annual flux"), "subtitle")
    synth = bailleur_synthesis(result.shares, result.bailleurs)
    types = [t for t in TYPES if f"{t}_pct" in synth.columns]
    columns: list[tuple[str, str | None, float]] = [(N_("Bailleur"), "text", 15), (N_("Name"), "text", 30),
                                                    (N_("Flux base (dwellings/year)"), "number", 12)]
    columns += [(_("{type} (%)").format(type=_(TYPE_NAMES[t])), "percent", 11) for t in types]
    columns += [(N_("Own share (%)"), "percent", 11), (N_("Flux base (whole dwellings)"), "integer", 12),
                (N_("Own share (whole dwellings)"), "integer", 12)]
    rows = [[r["bailleur"], b_names.get(str(r["bailleur"]), ""), r["flux_base"],
             *(r[f"{t}_pct"] / 100 for t in types), r["propre_pct"] / 100, r["flux_base_arrondi"],
             r["propre_arrondi"]] for r in synth.to_dict("records")]
    row = sheet.table(row + 1, columns, rows, repeat=False) + 1
    sheet.cell(row, 0, _("Per réservataire, over all bailleurs"), "subtitle")
    rsynth = reservataire_synthesis(result.shares)
    columns = [(N_("Réservataire"), "text", 15), (N_("Name"), "text", 30), (N_("Type"), "text", 13),
               (N_("Bailleurs"), "integer", 9), (N_("Target (dwellings/year)"), "number", 12),
               (N_("Proposed (dwellings/year)"), "number", 12), (N_("Departure (dwellings/year)"), "number", 12),
               (N_("Departure (%)"), "percent", 11), (N_("Whole dwellings per year"), "integer", 12)]
    rows = [[r["reservataire"], r_names.get(str(r["reservataire"]), ""), _words(r["type"], TYPE_NAMES),
             r["bailleurs"], r["cible"], r["logements"], r["ecart"], r["ecart_relatif"], r["logements_arrondis"]]
            for r in rsynth.to_dict("records")]
    sheet.rsynth_first = row + 2  # type: ignore[attr-defined]
    sheet.rsynth_count = len(rows)  # type: ignore[attr-defined]
    sheet.table(row + 1, columns, rows, repeat=False)
    return sheet


def _reason_of(explanation: Explanation) -> dict[tuple[str, str], str]:
    unchecked = explanation.unchecked_note
    return {(p.bailleur, p.reservataire): "; ".join(r.text for r in p.reasons) or unchecked
            for p in explanation.pairs}


def _propositions(book: xlsxwriter.Workbook, result: Result, formats: dict[str, Format],
                  explanation: Explanation) -> _Sheet:
    sheet = _Sheet(book, "propositions", formats)
    b_names, r_names = _names(result)
    reasons = _reason_of(explanation)
    parts = result.shares
    columns: list[tuple[str, str | None, float]] = [
        (N_("Bailleur"), "text", 8), (N_("Bailleur name"), "text", 22), (N_("Réservataire"), "text", 12),
        (N_("Réservataire name"), "text", 30), (N_("Type"), "text", 13),
        (N_("Flux base of the convention (dwellings/year)"), "number", 11),
        (N_("Stock-equivalent share (%)"), "percent", 10), (N_("Proposed share (%)"), "percent", 10),
        (N_("Target (dwellings/year)"), "number", 10), (N_("Dwellings per year (exact)"), "number", 10),
        (N_("Whole dwellings per year"), "integer", 9), (N_("Departure (dwellings/year)"), "number", 10),
        (N_("Departure (%)"), "percent", 9), (N_("Reason"), "wrap", 45),
    ]
    rows = []
    for p in parts.to_dict("records"):
        key = (str(p["bailleur"]), str(p["reservataire"]))
        if key in reasons:
            reason = reasons[key]
        elif p["origine_cible"] != "equivalence":
            reason = _("at its target, moved from equivalence by: {rules}").format(rules=p["origine_cible"])
        else:
            reason = _("at its stock-equivalent target")
        rows.append([p["bailleur"], b_names.get(key[0], ""), p["reservataire"], r_names.get(key[1], ""),
                     _words(p["type"], TYPE_NAMES), p["flux_base"], p["equivalence_pct"] / 100, p["flux_pct"] / 100,
                     p["cible"], p["logements"], p["logements_arrondis"], p["ecart"], p["ecart_relatif"], reason])
    sheet.table(0, columns, rows)
    return sheet


def _graphiques(book: xlsxwriter.Workbook, result: Result, formats: dict[str, Format], props: _Sheet,
                synth: _Sheet, cil_rows: tuple[int, int] | None) -> None:
    sheet = _Sheet(book, "graphiques", formats)
    ws = sheet.ws
    ws.fit_to_pages(1, 0)
    sheet.cell(0, 0, _("Charts"), "title")
    place = [2]

    def add(chart: Any, height: int = 15) -> None:
        chart.set_size({"width": 900, "height": height * 20})
        chart.set_legend({"position": "bottom"})
        ws.insert_chart(place[0], 0, chart)
        place[0] += height + 1

    def bars(title: str, sheet_name: str, first: int, last: int, cat: int, series: list[tuple[str, int]],
             percent: bool) -> Any:
        chart = book.add_chart({"type": "column"})
        for name, col in series:
            chart.add_series({"name": name, "categories": [sheet_name, first, cat, last, cat],
                              "values": [sheet_name, first, col, last, col], "gap": 60})
        chart.set_title({"name": title, "name_font": {"size": 11}})
        chart.set_y_axis({"num_format": "0%" if percent else "#,##0", "major_gridlines": {"visible": True}})
        chart.set_x_axis({"num_font": {"rotation": -45, "size": 8}})
        return chart

    # Per bailleur: the share of each réservataire, stock-equivalent beside proposed (« Propositions » rows).
    parts = result.shares
    b_names, _r = _names(result)
    start = 1
    for k, (b, group) in enumerate(parts.groupby("bailleur", sort=False)):
        if k >= MAX_BAILLEUR_CHARTS:
            break
        first, last = start, start + len(group) - 1
        title = _("{bailleur}: share of each réservataire (stock-equivalent, proposed)").format(
            bailleur=f"{b_names.get(str(b)) or b} ({b})" if b_names.get(str(b)) else b)
        add(bars(title, props.name, first, last, 2,
                 [(_("Stock-equivalent share (%)"), 6), (_("Proposed share (%)"), 7)], True), 11)
        start = last + 1
    # Per réservataire: target against proposed (« Synthèse »).
    first = synth.rsynth_first  # type: ignore[attr-defined]
    count = synth.rsynth_count  # type: ignore[attr-defined]
    if count:
        add(bars(_("Per réservataire: target and proposed (dwellings/year)"), synth.name, first, first + count - 1, 0,
                 [(_("Target (dwellings/year)"), 4), (_("Proposed (dwellings/year)"), 5)], False))
    # Per CIL EPCI: the Q1 target against what is reached (« CIL » rows).
    if cil_rows is not None:  # the « CIL » sheet is written after this one
        add(bars(_("Per CIL EPCI: Q1 households outside QPV, required and reached"), _(SHEETS["cil"]), cil_rows[0],
                 cil_rows[1], 0, [(_("Required (attributions/year)"), 5), (_("Reached (attributions/year)"), 6)],
                 False))


def _parametres(book: xlsxwriter.Workbook, result: Result, formats: dict[str, Format]) -> None:
    sheet = _Sheet(book, "parametres", formats)
    used = result.policy.to_dict()
    try:
        base = load_policy(result.policy.source).to_dict()
    except Exception:  # a policy not read from a file: every value counts as given
        base = {}
    columns: list[tuple[str, str | None, float]] = [
        (N_("Parameter"), "text", 28), (N_("Value used"), "text", 24), (N_("Source"), "wrap", 60),
        (N_("Overridden"), "text", 12)]
    rows = []
    for key, value in used.items():
        source = source_of(key)
        shown = value if isinstance(value, str) else _format_value(value)
        rows.append([key, shown, _(source) if source else "", key not in base or base[key] != value])
    sheet.table(0, columns, rows)
    sheet.cell(len(rows) + 2, 0, _("Policy file: {path}").format(path=Path(result.policy.source).name), "text")


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float):
        return number(value, 6).rstrip("0").rstrip(",.") or "0"
    if isinstance(value, list):
        return "[" + "; ".join(_format_value(v) for v in value) + "]"
    return str(value)


def _explications(book: xlsxwriter.Workbook, explanation: Explanation, formats: dict[str, Format]) -> None:
    sheet = _Sheet(book, "explications", formats)
    columns: list[tuple[str, str | None, float]] = [
        (N_("Topic"), "text", 22), (N_("Bailleur"), "text", 10), (N_("Réservataire or EPCI"), "text", 16),
        (N_("Code"), "text", 20), (N_("Explanation"), "wrap", 90)]
    rows: list[list[Any]] = []
    for m in explanation.moved:
        rows.append([_("target moved"), m.params.get("bailleur", ""), m.params.get("reservataire", ""), m.code, m.text])
    for p in explanation.pairs:
        for r in p.reasons:
            rows.append([_("departure"), p.bailleur, p.reservataire, r.code, r.text])
    for s in explanation.shortfalls:
        for r in s.reasons:
            rows.append([_("CIL shortfall"), "", s.epci, r.code, f"{s.objectif.text}: {r.text}"])
    for r in explanation.infeasible or []:
        rows.append([_("infeasible"), "", "", r.code, r.text])
    if not rows:
        rows.append(["", "", "", "", _("Every share equals its equivalent target and every CIL target is met: "
                                       "nothing departs.")])
    sheet.table(0, columns, rows)


def _sensibilite(book: xlsxwriter.Workbook, result: Result, explanation: Explanation,
                 formats: dict[str, Format]) -> None:
    """Per departing convention, each constraint that binds it and the share once it is relaxed
    (the rows of sensibilite.csv)."""
    sheet = _Sheet(book, "sensibilite", formats)
    _b, r_names = _names(result)
    columns: list[tuple[str, str | None, float]] = [
        (N_("Bailleur"), "text", 8), (N_("Réservataire"), "text", 12), (N_("Réservataire name"), "text", 24),
        (N_("Target (dwellings/year)"), "number", 10), (N_("Dwellings per year (exact)"), "number", 10),
        (N_("Constraint"), "wrap", 50), (N_("Effect"), "wrap", 18), (N_("Relaxed to"), "wrap", 22),
        (N_("Dwellings per year once relaxed"), "number", 11), (N_("Change (dwellings/year)"), "number", 10),
        (N_("Code"), "text", 16)]
    rows: list[list[Any]] = []
    for p in explanation.pairs:
        for r in p.reasons:
            after = r.params.get("contrefactuel")
            rows.append([p.bailleur, p.reservataire, r_names.get(p.reservataire, ""), p.cible, p.logements, r.label,
                         _(DIRECTION_WORDS[p.sens]), r.relaxation, after,
                         None if after is None else after - p.logements, r.code])
    end = sheet.table(0, columns, rows)
    sheet.cell(end + 1, 0, _("Each constraint was relaxed alone and every stage solved again (models/FORMULATION.md): "
                             "it is listed only when the convention's share then moves towards its target."), "text")


def _communes(book: xlsxwriter.Workbook, result: Result, formats: dict[str, Format]) -> None:
    """One row per segment (bailleur, commune, QPV or not): its flux base and each holder's dwellings per year."""
    sheet = _Sheet(book, "communes", formats)
    seg = {c: result.segments[c].tolist() for c in ("bailleur", "commune", "epci", "qpv", "titulaire", "logements")}
    holders = sorted(set(seg["titulaire"]) - {"bailleur"})
    # Each segment's dwellings per holder, summed as a pivot table would (missing values count as 0).
    by_segment: dict[tuple[str, str, str, bool], dict[str, float]] = {}
    for b, c, e, q, holder, value in zip(*seg.values()):
        cells = by_segment.setdefault((b, c, e, q), {})
        cells[holder] = cells.get(holder, 0.0) + (value if value == value else 0.0)
    columns: list[tuple[str, str | None, float]] = [
        (N_("Bailleur"), "text", 9), (N_("Commune (INSEE)"), "text", 9), (N_("EPCI (SIREN)"), "text", 11),
        (N_("QPV"), "text", 5), (N_("Flux base (dwellings/year)"), "number", 10)]
    columns += [(h, "number", 8.5) for h in holders] + [(N_("Own share (dwellings/year)"), "number", 10)]
    rows = []
    for (b, c, e, q), cells in sorted(by_segment.items()):
        values = [cells.get(h) for h in [*holders, "bailleur"]]
        rows.append([b, c, e, bool(q), float(sum(v for v in values if v is not None)), *values])
    sheet.table(0, columns, rows)
    sheet.cell(len(rows) + 2, 0, _("Dwellings per year of each holder (réservataire codes as in « Synthèse »; "
                                   "empty: outside its perimeter). Q1 designations are in segments.csv."), "text")


def _cil_rows(result: Result) -> pd.DataFrame:
    """The CIL table, the Q1 targets first (the chart reads them as one range)."""
    order = result.cil["objectif"].map({"q1_hors_qpv": 0, "autres_qpv": 1})
    return result.cil.assign(_order=order).sort_values(["_order", "epci"], kind="stable").drop(columns="_order")


def _cil(book: xlsxwriter.Workbook, cil: pd.DataFrame, formats: dict[str, Format]) -> None:
    sheet = _Sheet(book, "cil", formats)
    columns: list[tuple[str, str | None, float]] = [
        (N_("EPCI (SIREN)"), "text", 12), (N_("Target"), "text", 26), (N_("Rate (%)"), "percent", 9),
        (N_("Flux base (dwellings/year)"), "number", 12), (N_("Rehousings (per year)"), "number", 11),
        (N_("Required (attributions/year)"), "number", 12), (N_("Reached (attributions/year)"), "number", 12),
        (N_("Shortfall (attributions/year)"), "number", 12)]
    rows = [[c["epci"], _words(c["objectif"], CIL_TARGETS), c["taux"], c["flux_base"], c["relogements"], c["requis"],
             c["atteint"], c["deficit"]] for c in cil.to_dict("records")]
    sheet.table(0, columns, rows)


def write_workbook(result: Result, path: Path, explanation: Explanation | None = None) -> None:
    """Write ``resultats.xlsx`` in the result's language (see the module docstring)."""
    with using(result.langue):
        _write_workbook(result, Path(path), explanation)


def _write_workbook(result: Result, path: Path, explanation: Explanation | None) -> None:
    explanation = explanation if explanation is not None else explain(result, counterfactuals=False)
    book = xlsxwriter.Workbook(str(path), {"nan_inf_to_errors": True, "in_memory": True})
    book.set_properties({"created": DOCUMENT_DATE, "title": result.instance.nom})
    formats = _formats(book)
    cil = _cil_rows(result)
    q1 = int((cil["objectif"] == "q1_hors_qpv").sum())
    synth = _synthese(book, result, formats)
    props = _propositions(book, result, formats, explanation)
    _graphiques(book, result, formats, props, synth, (1, q1) if q1 else None)
    _parametres(book, result, formats)
    _explications(book, explanation, formats)
    if explanation.checked and explanation.pairs:
        _sensibilite(book, result, explanation, formats)
    _communes(book, result, formats)
    if len(cil):
        _cil(book, cil, formats)
    synth.ws.activate()
    book.close()
