"""One annex per convention (bailleur × réservataire): ``DIR/<bailleur>/<reservataire>.docx``,
optionally its PDF next to it and a zip of them all, with an index ``annexes.csv``.

Written atomically: everything goes to a temporary folder, renamed at the end; an earlier annexes
folder (recognised by its ``annexes.csv``) is replaced, any other non-empty folder refused.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

from fluxopt.documents.content import AnnexBuilder
from fluxopt.documents.dossier import Dossier, load_dossier
from fluxopt.documents.markup import FIXED_ZIP_DATE, DocxWriter, parse
from fluxopt.documents.report import markup_environment, typst_pdf
from fluxopt.i18n import _
from fluxopt.problems import UsageError
from fluxopt.result import Result

INDEX_FILE = "annexes.csv"
ZIP_FILE = "annexes.zip"


def safe_name(ident: str) -> str:
    """An id usable as a file name on every system (other characters become '_')."""
    name = re.sub(r"[^A-Za-z0-9._-]", "_", ident).strip(".")
    return name or "_"


def annex_title(year: int) -> str:
    return f"Annexe à la convention de réservation en flux — année {year}"


def render_annex(builder: AnnexBuilder, pair: dict) -> str:
    """The markup text of one annex."""
    return markup_environment().get_template("annexe.txt.j2").render(**builder.context(pair))


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / INDEX_FILE).is_file())):
        raise UsageError(_("{dossier} exists and is not an earlier annexes folder (no {index}): choose another --out")
                         .format(dossier=out, index=INDEX_FILE))


def write_annexes(source: Result | Dossier | str | Path, out: str | Path, *, pdf: bool = False,
                  archive: bool = False, instance: str | Path | None = None) -> list[Path]:
    """Write the annex of every convention of a result into ``out``; ``pdf`` adds a PDF of each,
    ``archive`` a zip of them all (``annexes.zip``). Returns the written documents' paths."""
    out = Path(out).resolve()
    _check_out(out)
    dossier = source if isinstance(source, Dossier) else load_dossier(source, instance=instance)
    builder = AnnexBuilder(dossier)
    title = annex_title(dossier.annee)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    written: list[Path] = []
    try:
        index = []
        used: set[str] = set()
        docx_writer = DocxWriter(title=title, year=dossier.annee)
        for pair in dossier.parts.to_dict("records"):
            blocks = parse(render_annex(builder, pair))
            rel = Path(safe_name(pair["bailleur"])) / f"{safe_name(pair['reservataire'])}.docx"
            n = 1
            while rel.as_posix().casefold() in used:  # two ids that differ only by unsafe characters or case
                n += 1
                rel = rel.with_name(f"{safe_name(pair['reservataire'])}-{n}.docx")
            used.add(rel.as_posix().casefold())
            (tmp / rel.parent).mkdir(exist_ok=True)
            (tmp / rel).write_bytes(docx_writer.render(blocks))
            files = [rel]
            if pdf:
                pdf_bytes = typst_pdf("annexe.typ.j2", {"blocks": blocks, "title": title}, {})
                (tmp / rel.with_suffix(".pdf")).write_bytes(pdf_bytes)
                files.append(rel.with_suffix(".pdf"))
            written += files
            index.append([pair["bailleur"], pair["reservataire"], f"{pair['flux_pct']:.6f}",
                          str(pair["logements_arrondis"]), rel.as_posix()])
        with open(tmp / INDEX_FILE, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["bailleur", "reservataire", "flux_pct", "logements_arrondis", "fichier"])
            writer.writerows(index)
        if archive:
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as bundle:
                for rel in [Path(INDEX_FILE), *written]:
                    entry = zipfile.ZipInfo(rel.as_posix(), FIXED_ZIP_DATE)
                    entry.compress_type, entry.external_attr = zipfile.ZIP_DEFLATED, 0o644 << 16
                    bundle.writestr(entry, (tmp / rel).read_bytes())
            (tmp / ZIP_FILE).write_bytes(buf.getvalue())
            written.append(Path(ZIP_FILE))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        old = out.with_name(f".{out.name}.old-{os.getpid()}")
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)
    return [out / rel for rel in written]
