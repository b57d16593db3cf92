"""Render every official form of the region to PNG for a person to look at (`make forms-preview`).

For each form: the region's XLSX is built, then its title sheet and its first section sheet are
each printed to PDF by LibreOffice (headless; alone in a copy of the workbook) and the first
page turned into a PNG by pdftoppm: `.local/forms-preview/<form>-1-title.png` and
`<form>-2-section.png`, with the XLSX beside them.

    python scripts/forms_preview.py                     # the local warehouse
    python scripts/forms_preview.py --landing DIR       # a landing folder: loaded and built into
                                                        # a scratch database of its own first
    python scripts/forms_preview.py --date oo1=2025-09-20 --date results=2026-06-01

A form's report date defaults to the data cut-off of the warehouse (ОО-1: the latest 20 September
on or before it; 1-ДОП: its calendar year; results: its academic year, period «Год»).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import forms  # noqa: E402
from forms.render import to_workbook  # noqa: E402
from kontingent import db  # noqa: E402
from kontingent.settings import ROLE_OWNER, ROLE_PII, ROLE_READER, get_settings  # noqa: E402

FORMS = ("oo1", "1dop", "results", "esia")
SCRATCH_DB = "kt_forms_preview"


def _scratch_warehouse(landing: Path) -> str:
    """Load `landing` into a fresh database of its own and build it; return its reader URL."""
    settings = get_settings()
    db.scratch_database(settings, SCRATCH_DB, (ROLE_READER, ROLE_PII), warehouse=True)
    work = Path(tempfile.mkdtemp(prefix="forms-preview-"))
    env = {
        **os.environ,
        "WAREHOUSE_URL": settings.local_url(ROLE_OWNER, SCRATCH_DB),
        "WAREHOUSE_READER_URL": settings.local_url(ROLE_READER, SCRATCH_DB),
        "WAREHOUSE_PII_URL": settings.local_url(ROLE_PII, SCRATCH_DB),
        "DBT_TARGET_PATH": str(work / "dbt-target"),
    }
    copy = work / "landing"
    shutil.copytree(landing, copy)  # a load may move refused files: never touch the original
    cli = [sys.executable, "-m", "kontingent.cli"]
    print(f"== loading {landing} into {SCRATCH_DB}")
    subprocess.run([*cli, "load", str(copy)], env=env, check=True)
    print("== building it (dbt)")
    subprocess.run([*cli, "dbt", "build", "--quiet"], env=env, check=True)
    shutil.rmtree(work, ignore_errors=True)
    return env["WAREHOUSE_READER_URL"]


def _cutoff(url: str) -> date:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select cutoff_date from forms.forms_data_cutoff where feed = 'all'"
        ).fetchone()
    if not row or row[0] is None:
        raise SystemExit("the warehouse holds no data: load and build it first")
    return row[0]


def _render(xlsx: Path, sheet_index: int, png: Path, work: Path) -> None:
    """Print one sheet of `xlsx` (the others removed) to PDF and its first page to `png`."""
    from openpyxl import load_workbook

    wb = load_workbook(xlsx)
    for i, ws in reversed(list(enumerate(wb.worksheets))):
        if i != sheet_index:
            wb.remove(ws)
    wb.active = 0
    single = work / f"{png.stem}.xlsx"
    wb.save(single)
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{work / 'lo-profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(single),
        ],
        check=True,
        capture_output=True,
    )
    pdf = work / f"{png.stem}.pdf"
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "80",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(png.with_suffix("")),
        ],
        check=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--landing", type=Path, help="build the region of this landing folder")
    parser.add_argument("--out", type=Path, default=ROOT / ".local" / "forms-preview")
    parser.add_argument(
        "--date", action="append", default=[], metavar="FORM=YYYY-MM-DD", help="a report date"
    )
    args = parser.parse_args(argv)
    for tool in ("soffice", "pdftoppm"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} is missing: run scripts/forms_preview.sh (installs it as root)"
            )
    dates = {}
    for item in args.date:
        name, _, value = item.partition("=")
        if name not in FORMS:
            raise SystemExit(f"unknown form {name!r} (one of {', '.join(FORMS)})")
        dates[name] = date.fromisoformat(value)

    url = _scratch_warehouse(args.landing) if args.landing else get_settings().reader_url
    try:
        _preview(url, dates, args.out)
    finally:
        if args.landing:
            settings = get_settings()
            db.drop_database(settings.local_url(ROLE_OWNER, "postgres"), SCRATCH_DB)
    print(f"PNG files in {args.out}")
    return 0


def _preview(url: str, dates: dict[str, date], out: Path) -> None:
    cutoff = _cutoff(url)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="forms-preview-") as tmp:
        work = Path(tmp)
        for name in FORMS:
            on = dates.get(name, cutoff)
            form = forms.build_form(name, on, "region", url=url)
            xlsx = out / f"{name}.xlsx"
            to_workbook(form).save(xlsx)
            pngs = [out / f"{name}-1-title.png", out / f"{name}-2-section.png"]
            for index, png in enumerate(pngs):
                _render(xlsx, index, png, work)
            status = "controls hold" if not form.violations else f"{len(form.violations)} violated"
            names = ", ".join(p.name for p in pngs)
            print(f"{name:8} {form.report_date:%d.%m.%Y}  {status:14} {names}")


if __name__ == "__main__":
    raise SystemExit(main())
