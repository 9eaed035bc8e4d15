"""Write an instance in any of its three forms (SPEC §2): a CSV folder, an .xlsx workbook, a JSON document.

The tables are written with the SPEC's columns only (the derived columns of an
:class:`~fluxopt.instance.Instance`, such as ``flux_base`` or ``row``, are left out), so that
reading the output gives the same instance: ``Instance.same_data`` holds for every round trip.
The workbook is the input template's layout (:mod:`fluxopt.template`) without its help sheet.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Mapping

import pandas as pd
import xlsxwriter

from fluxopt.sheets import DOCUMENT_DATE
from fluxopt.cells import SPECS

if TYPE_CHECKING:
    from fluxopt.instance import Instance

#: The tables, in the order they are written (report last: the version-2 carry-over).
TABLE_ORDER = ("patrimoine", "reservataires", "stock", "cil", "bailleurs", "report")
MODELS = Path(__file__).resolve().parent / "models"


def _value(value: Any) -> Any:
    """A cell as plain JSON: None for missing, int for whole floats of integer columns kept as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value


def records(inst: Instance, name: str) -> list[dict[str, Any]]:
    """The rows of table ``name`` with the SPEC's columns, as plain values (None where empty)."""
    frame: pd.DataFrame = getattr(inst, name)
    columns = [c for c in SPECS[name] if c in frame.columns]
    out = []
    for row in frame[columns].to_dict("records"):
        rec = {c: _value(row[c]) for c in columns}
        if name == "patrimoine" and rec.get("taux_rotation") is not None:
            rec["liberations"] = None  # derived from taux_rotation: the SPEC takes one of the two
        if name == "stock" and rec.get("fin_droits") is not None:
            rec["fin_droits"] = int(rec["fin_droits"])
        out.append(rec)
    return out


def _policy_reference(inst: Instance) -> str:
    """The policy by name when it is a bundled model, else by its absolute path."""
    source = Path(inst.policy.source)
    for folder in (MODELS, Path(__file__).resolve().parents[2] / "models"):
        if (folder / f"{inst.policy.name}.toml").resolve() == source.resolve():
            return inst.policy.name
    return str(source.resolve())


def meta(inst: Instance) -> dict[str, Any]:
    """The ``instance`` part: nom, territoire, annee, politique and the overrides (nested, as in TOML)."""
    out: dict[str, Any] = {"nom": inst.nom, "territoire": inst.territoire, "annee": inst.annee,
                           "politique": _policy_reference(inst)}
    if inst.surcharges:
        tree: dict[str, Any] = {}
        for key, value in inst.surcharges.items():
            node = tree
            *parents, last = key.split(".")
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = value
        out["surcharges"] = tree
    return out


def to_mapping(inst: Instance) -> dict[str, Any]:
    """The instance as the JSON document of SPEC §2."""
    return {"instance": meta(inst), **{name: records(inst, name) for name in TABLE_ORDER if len(getattr(inst, name))}}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _toml(tree: Mapping[str, Any], prefix: str = "") -> Iterator[str]:
    tables = {k: v for k, v in tree.items() if isinstance(v, Mapping)}
    for key, value in tree.items():
        if not isinstance(value, Mapping):
            yield f"{key} = {_toml_value(value)}"
    for key, value in tables.items():
        yield ""
        yield f"[{prefix}{key}]"
        yield from _toml(value, f"{prefix}{key}.")


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    return str(value)


def _atomic(path: Path, write: Any) -> Path:
    """Write ``path`` (a file or a folder) through a temporary sibling, then one rename."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        target = tmp / path.name
        write(target)
        if path.is_dir():
            shutil.rmtree(path)
        os.replace(target, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return path


def write_csv(inst: Instance, folder: Path) -> Path:
    """The instance as a folder of CSV files and ``instance.toml`` (UTF-8, ',' separated)."""
    def write(target: Path) -> None:
        target.mkdir()
        (target / "instance.toml").write_text("\n".join(_toml(meta(inst))) + "\n", encoding="utf-8")
        for name in TABLE_ORDER:
            rows = records(inst, name)
            if not rows and name not in ("patrimoine", "reservataires", "stock"):
                continue
            columns = [c for c in SPECS[name] if c in getattr(inst, name).columns]
            frame = pd.DataFrame([[_cell_text(r[c]) for c in columns] for r in rows], columns=columns)
            frame.to_csv(target / f"{name}.csv", index=False, lineterminator="\n")
    return _atomic(folder, write)


def write_json(inst: Instance, path: Path) -> Path:
    """The instance as one JSON document (SPEC §2)."""
    text = json.dumps(to_mapping(inst), ensure_ascii=False, indent=1)
    return _atomic(path, lambda target: target.write_text(text + "\n", encoding="utf-8"))


def write_xlsx(inst: Instance, path: Path) -> Path:
    """The instance as an .xlsx workbook: sheet ``instance`` (key, value), then one sheet per table."""
    def write(target: Path) -> None:
        book = xlsxwriter.Workbook(str(target), {"in_memory": True})
        book.set_properties({"created": DOCUMENT_DATE})
        bold = book.add_format({"bold": True})
        ws = book.add_worksheet("instance")
        ws.write_row(0, 0, ["cle", "valeur"], bold)
        m = meta(inst)
        rows = [(k, m[k]) for k in ("nom", "territoire", "annee", "politique")]
        rows += [(f"surcharges.{k}", v) for k, v in inst.surcharges.items()]
        for i, (key, value) in enumerate(rows, start=1):
            ws.write_string(i, 0, key)
            if isinstance(value, (list, bool)):
                ws.write_string(i, 1, _toml_value(value))
            elif isinstance(value, (int, float)):
                ws.write_number(i, 1, value)
            else:
                ws.write_string(i, 1, str(value))
        ws.set_column(0, 1, 28)
        for name in TABLE_ORDER:
            recs = records(inst, name)
            if not recs and name not in ("patrimoine", "reservataires", "stock"):
                continue
            columns = [c for c in SPECS[name] if c in getattr(inst, name).columns]
            sheet = book.add_worksheet(name)
            sheet.write_row(0, 0, columns, bold)
            sheet.freeze_panes(1, 0)
            sheet.set_column(0, len(columns) - 1, 14)
            for i, rec in enumerate(recs, start=1):
                for j, col in enumerate(columns):
                    value = rec[col]
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        sheet.write_string(i, j, "oui" if value else "non")
                    elif isinstance(value, (int, float)):
                        sheet.write_number(i, j, value)
                    else:
                        sheet.write_string(i, j, str(value))
        book.close()
    return _atomic(path, write)
