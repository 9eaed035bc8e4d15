"""The input template ``fluxopt modele``: an empty instance workbook a negotiator fills in.

One sheet per table of SPEC §2 (the version-2 ``report`` included) with its columns, one example
row per sheet (together they form a valid instance), drop-down lists for the codes (types,
oui/non, convention), number validations, and a « Lisez-moi » sheet that explains every column,
in the current language (French by default).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xlsxwriter

from fluxopt.sheets import DOCUMENT_DATE
from fluxopt.cells import BAILLEUR_TYPES, SPECS
from fluxopt.export import TABLE_ORDER
from fluxopt.i18n import N_, _
from fluxopt.policy import TYPES

#: Rows of each sheet that carry the validations (the example row, then room to fill in).
ROWS = 5000

#: One example row per table; together a valid instance (1 bailleur, 1 commune, the préfet).
EXAMPLE: dict[str, dict[str, Any]] = {
    "patrimoine": {"bailleur": "B1", "commune": "33063", "epci": "243300316", "qpv": "non", "logements": 400,
                   "logements_hors_flux": 10, "taux_rotation": 0.08, "mises_en_service": 4, "mutations_internes": 2,
                   "relogements": 1},
    "reservataires": {"reservataire": "PREF", "nom": "Préfet de la Gironde", "type": "prefet", "perimetre": "",
                      "convention": "signee"},
    "stock": {"bailleur": "B1", "reservataire": "PREF", "commune": "33063", "qpv": "non", "logements_reserves": 100},
    "cil": {"epci": "243300316", "part_q1_hors_qpv": 0.25, "part_autres_qpv": 0.5},
    "bailleurs": {"bailleur": "B1", "nom": "Office public de l'habitat", "type": "oph"},
    "report": {"bailleur": "B1", "reservataire": "PREF", "logements": 1.5},
}
META_EXAMPLE: list[tuple[str, Any]] = [("nom", N_("Example")), ("territoire", "33"), ("annee", 2025),
                                       ("politique", "elan-2020")]

TABLE_HELP = {
    "instance": N_("The instance: its name, département, year and policy (key in column A, value in column B). "
                   "Rows 'surcharges.<key>' override a policy value, e.g. surcharges.plafonds.prefet = 0.25."),
    "patrimoine": N_("One row per segment: a bailleur's dwellings in one commune, inside or outside QPV."),
    "reservataires": N_("One row per réservataire."),
    "stock": N_("The former rights in stock: one row per bailleur, réservataire, commune and QPV or not."),
    "cil": N_("Optional: the EPCIs bound by the targets of a Conférence intercommunale du logement."),
    "bailleurs": N_("Optional: the bailleurs' names and types."),
    "report": N_("Optional (version 2): the carry-over of last year's bilan, as written by fluxopt bilan."),
}
COLUMN_HELP = {
    ("instance", "nom"): N_("display name"),
    ("instance", "territoire"): N_("département code, e.g. 33, 2A or 971"),
    ("instance", "annee"): N_("the year the flux is computed for"),
    ("instance", "politique"): N_("a policy of models/ by name (elan-2020) or the path of a policy file"),
    ("patrimoine", "bailleur"): N_("bailleur code"),
    ("patrimoine", "commune"): N_("INSEE code of the commune (5 characters)"),
    ("patrimoine", "epci"): N_("SIREN code of the commune's EPCI (9 digits)"),
    ("patrimoine", "qpv"): N_("oui if the segment lies in a QPV, else non"),
    ("patrimoine", "logements"): N_("social dwellings of the segment (whole number)"),
    ("patrimoine", "logements_hors_flux"): N_("dwellings kept in stock (défense, sécurité intérieure, public "
                                              "hospitals); at most logements; default 0"),
    ("patrimoine", "liberations"): N_("forecast releases per year (give this or taux_rotation)"),
    ("patrimoine", "taux_rotation"): N_("turnover rate between 0 and 1 (give this or liberations)"),
    ("patrimoine", "mises_en_service"): N_("new dwellings let for the first time this year; default 0"),
    ("patrimoine", "mutations_internes"): N_("releases needed for internal transfers; default 0"),
    ("patrimoine", "relogements"): N_("releases needed for NPNRU, ORCOD, unfit-housing or sale rehousing; default 0"),
    ("patrimoine", "attributions"): N_("past attributions per year (for the attributions method)"),
    ("reservataires", "reservataire"): N_("réservataire code, unique"),
    ("reservataires", "nom"): N_("display name"),
    ("reservataires", "type"): N_("prefet, prefet_agents, action_logement, commune, epci, departement, region or autre"),
    ("reservataires", "perimetre"): N_("for a commune or an EPCI: its commune or EPCI codes, separated by spaces; "
                                       "empty: the whole département"),
    ("reservataires", "part_q1_min"): N_("smallest share of Q1 households among its designations (0 to 1); "
                                         "default from the policy"),
    ("reservataires", "part_q1_max"): N_("largest share of Q1 households among its designations (0 to 1); "
                                         "default from the policy"),
    ("reservataires", "convention"): N_("signee (default) or non_signee: without a signed convention its flux "
                                        "falls to the préfet (version 2)"),
    ("stock", "bailleur"): N_("bailleur code, as in patrimoine"),
    ("stock", "reservataire"): N_("réservataire code, as in reservataires"),
    ("stock", "commune"): N_("INSEE code, as in patrimoine; within the réservataire's perimeter"),
    ("stock", "qpv"): N_("oui or non, as in patrimoine"),
    ("stock", "logements_reserves"): N_("reserved dwellings (whole number)"),
    ("stock", "liberations"): N_("observed releases per year of these reserved dwellings"),
    ("stock", "attributions"): N_("past attributions per year on these rights"),
    ("stock", "fin_droits"): N_("last year of the rights; rights ended before annee are dropped"),
    ("cil", "epci"): N_("SIREN code of an EPCI of patrimoine"),
    ("cil", "part_q1_hors_qpv"): N_("share of attributions outside QPV to Q1 households (0 to 1); default 0.25"),
    ("cil", "part_autres_qpv"): N_("share of attributions in QPV to the other quartiles (0 to 1); default 0.50"),
    ("bailleurs", "bailleur"): N_("bailleur code, as in patrimoine"),
    ("bailleurs", "nom"): N_("display name"),
    ("bailleurs", "type"): N_("oph, esh, sem, coop or autre"),
    ("bailleurs", "part_q1_min"): N_("smallest share of Q1 households on its own share (0 to 1)"),
    ("bailleurs", "part_q1_max"): N_("largest share of Q1 households on its own share (0 to 1)"),
    ("report", "bailleur"): N_("bailleur code"),
    ("report", "reservataire"): N_("réservataire code"),
    ("report", "logements"): N_("dwellings owed this year (positive) or received in excess last year (negative)"),
}
#: Drop-down lists and number validations, by (table, column).
LISTS = {("reservataires", "type"): list(TYPES), ("bailleurs", "type"): list(BAILLEUR_TYPES),
         ("patrimoine", "qpv"): ["oui", "non"], ("stock", "qpv"): ["oui", "non"],
         ("reservataires", "convention"): ["signee", "non_signee"]}
WHOLE = {"logements", "logements_hors_flux", "logements_reserves", "fin_droits"}
FRACTIONS = {"taux_rotation", "part_q1_min", "part_q1_max", "part_q1_hors_qpv", "part_autres_qpv"}
COUNTS = {"liberations", "mises_en_service", "mutations_internes", "relogements", "attributions"}


def _validation(table: str, column: str) -> dict[str, Any] | None:
    if (table, column) in LISTS:
        return {"validate": "list", "source": LISTS[(table, column)],
                "error_message": _("Choose a value of the list.")}
    if column == "fin_droits":
        return {"validate": "integer", "criteria": "between", "minimum": 1900, "maximum": 2200,
                "error_message": _("A year, e.g. 2030.")}
    if column in WHOLE and not (table == "report"):
        return {"validate": "integer", "criteria": ">=", "value": 0,
                "error_message": _("A whole number of dwellings, 0 or more.")}
    if column in FRACTIONS:
        return {"validate": "decimal", "criteria": "between", "minimum": 0, "maximum": 1,
                "error_message": _("A share between 0 and 1 (0.25 for 25 %).")}
    if column in COUNTS:
        return {"validate": "decimal", "criteria": ">=", "value": 0,
                "error_message": _("A number of dwellings per year, 0 or more.")}
    if table == "report" and column == "logements":
        return {"validate": "decimal", "criteria": "between", "minimum": -1e6, "maximum": 1e6,
                "error_message": _("A number of dwellings (negative: received in excess).")}
    return None


def write_template(path: Path) -> Path:
    """Write the input template at ``path`` (.xlsx); return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"in_memory": True})
    book.set_properties({"created": DOCUMENT_DATE, "title": _("fluxopt input template")})
    bold = book.add_format({"bold": True, "bg_color": "#DCE6F1", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    title = book.add_format({"bold": True, "font_size": 14})
    example = book.add_format({"italic": True, "font_color": "#555555"})
    required = book.add_format({"bold": True, "bg_color": "#FCE4D6", "border": 1})

    readme = book.add_worksheet(_("Read me"))  # « Lisez-moi » in French
    readme.set_column(0, 0, 16)
    readme.set_column(1, 1, 22)
    readme.set_column(2, 2, 12)
    readme.set_column(3, 3, 90)
    readme.write(0, 0, _("fluxopt: the input template"), title)
    intro = [
        _("Fill in one sheet per table, keeping the sheet and column names; row 2 of each sheet is an example "
          "to replace. Orange headers are required columns."),
        _("Then: fluxopt validate modele.xlsx (lists every problem at once), and fluxopt solve modele.xlsx."),
        _("Codes (types, oui/non, convention) come from the drop-down lists; shares are between 0 and 1."),
    ]
    for i, line in enumerate(intro, start=1):
        readme.write(i, 0, line)
    row = len(intro) + 2
    readme.write_row(row, 0, [_("Sheet"), _("Column"), _("Required"), _("Meaning")], bold)
    row += 1
    for table in ("instance", *TABLE_ORDER):
        readme.write(row, 0, table, book.add_format({"bold": True}))
        readme.write(row, 3, _(TABLE_HELP[table]), wrap)
        row += 1
        columns = [k for k, _v in META_EXAMPLE] if table == "instance" else list(SPECS[table])
        for column in columns:
            spec = SPECS.get(table, {}).get(column)
            needed = table == "instance" or (spec is not None and spec.required)
            readme.write_row(row, 1, [column, _("yes") if needed else _("no")])
            readme.write(row, 3, _(COLUMN_HELP.get((table, column), "")), wrap)
            row += 1
    readme.freeze_panes(len(intro) + 3, 0)
    readme.set_landscape()
    readme.fit_to_pages(1, 0)

    meta = book.add_worksheet("instance")
    meta.write_row(0, 0, ["cle", "valeur"], bold)
    for i, (key, value) in enumerate(META_EXAMPLE, start=1):
        meta.write(i, 0, key)
        meta.write(i, 1, _(str(value)) if key == "nom" else value)
    meta.set_column(0, 1, 24)
    for table in TABLE_ORDER:
        ws = book.add_worksheet(table)
        for j, (column, spec) in enumerate(SPECS[table].items()):
            ws.write(0, j, column, required if spec.required else bold)
            ws.set_column(j, j, max(12, len(column) + 2))
            help_text = _(COLUMN_HELP.get((table, column), ""))
            if help_text:
                ws.write_comment(0, j, help_text, {"x_scale": 2})
            value = EXAMPLE[table].get(column)
            if value not in (None, ""):
                ws.write(1, j, value, example)
            rule = _validation(table, column)
            if rule is not None:
                ws.data_validation(1, j, ROWS, j, {**rule, "error_title": column})
        ws.freeze_panes(1, 0)
    book.close()
    return path
