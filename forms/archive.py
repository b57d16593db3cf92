"""Drafts and releases of the forms.

- A draft is rebuilt at will: `<home>/forms/drafts/<form>/<report date>/<territory>.xlsx`.
- A release freezes a form: the file goes to
  `<home>/forms/archive/<form>/<report date>/<territory>.xlsx`, read-only, and the folder's
  `manifest.json` (and `SHA256SUMS`) record its sha256, the data cut-off, the definition's
  edition, the level and the time of release. Only a form whose control ratios all hold is
  released, always with every figure (the official submission: no suppression).
- A released file is never overwritten. Releasing again after late data gives a new version
  beside it (`<territory>.v2.xlsx`, ...) when the cells differ; with the same cells nothing
  new is written. `download` returns the archived bytes after checking their sha256.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from forms.build import Form
from forms.controls import ControlViolation
from forms.render import csv_text, write_xlsx

MANIFEST = "manifest.json"


class ReleaseError(Exception):
    """A release that cannot be found or whose file no longer matches its checksum."""


def forms_home(home: Path | None = None) -> Path:
    """`<home>/forms`; without `home`, KONTINGENT_FORMS_HOME or `<KONTINGENT_HOME>/forms`."""
    if home is None:
        override = os.environ.get("KONTINGENT_FORMS_HOME", "").strip()
        if override:
            return Path(override)
        from kontingent.settings import get_settings

        home = get_settings().home
    return Path(home) / "forms"


def territory_slug(level: str, code: str | None, branches_separately: bool = False) -> str:
    if level == "region":
        return "region"
    if level == "organization" and branches_separately:
        return f"unit-{code}"
    return f"{level}-{code}"


def draft_path(form: Form, home: Path | None = None, suffix: str = ".xlsx") -> Path:
    return (
        forms_home(home)
        / "drafts"
        / form.definition.form
        / form.report_date.isoformat()
        / f"{form.territory_slug}{suffix}"
    )


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def content_hash(form: Form) -> str:
    """The cells, edition and level of a form: two builds with equal cells hash alike."""
    head = f"{form.definition.form}|{form.definition.edition}|{form.territory_slug}\n"
    return hashlib.sha256((head + csv_text(form)).encode()).hexdigest()


@dataclass(frozen=True)
class Release:
    form: str
    report_date: str
    territory: str
    version: int
    file: str
    sha256: str
    content_sha256: str
    edition: int
    data_cutoff: str | None
    level: str
    code: str
    released_at: str
    path: Path

    @classmethod
    def from_entry(cls, folder: Path, entry: dict[str, Any]) -> Release:
        return cls(path=folder / entry["file"], **entry)

    def entry(self) -> dict[str, Any]:
        data = self.__dict__.copy()
        data.pop("path")
        return data


def _folder(form: str, report_date: date | str, home: Path | None) -> Path:
    return forms_home(home) / "archive" / form / str(report_date)


def _read_manifest(folder: Path) -> list[dict[str, Any]]:
    path = folder / MANIFEST
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))["releases"]


def _write_manifest(folder: Path, entries: list[dict[str, Any]]) -> None:
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(
        json.dumps({"releases": entries}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    tmp.replace(folder / MANIFEST)
    sums = "".join(f"{e['sha256']}  {e['file']}\n" for e in entries)
    (folder / "SHA256SUMS").write_text(sums, encoding="utf-8")


def releases(
    form: str, report_date: date | str, territory: str | None = None, home: Path | None = None
) -> list[Release]:
    folder = _folder(form, report_date, home)
    found = [Release.from_entry(folder, e) for e in _read_manifest(folder)]
    return [r for r in found if territory is None or r.territory == territory]


def release(form: Form, home: Path | None = None) -> tuple[Release, bool]:
    """Freeze `form` in the archive. Returns the release and whether it is new.

    Refuses a form with a violated control ratio or with withheld cells.
    """
    if form.violations:
        raise ControlViolation(form.definition.form, form.violations)
    if form.suppressed:
        raise ValueError("a release holds every figure: build it without suppression")
    folder = _folder(form.definition.form, form.report_date, home)
    folder.mkdir(parents=True, exist_ok=True)
    entries = _read_manifest(folder)
    own = [e for e in entries if e["territory"] == form.territory_slug]
    digest = content_hash(form)
    if own and own[-1]["content_sha256"] == digest:
        return Release.from_entry(folder, own[-1]), False
    version = len(own) + 1
    stem = form.territory_slug if version == 1 else f"{form.territory_slug}.v{version}"
    name = f"{stem}.xlsx"
    target = folder / name
    if target.exists():
        raise ReleaseError(f"{target} exists but is not in the manifest: refusing to overwrite")
    tmp = folder / f".{name}.tmp"
    write_xlsx(form, tmp)
    # exclusive creation: a released file is never replaced
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(tmp.read_bytes())
    tmp.unlink()
    target.chmod(0o444)
    entry = Release(
        form=form.definition.form,
        report_date=form.report_date.isoformat(),
        territory=form.territory_slug,
        version=version,
        file=name,
        sha256=sha256(target),
        content_sha256=digest,
        edition=form.definition.edition,
        data_cutoff=form.cutoff.isoformat() if form.cutoff else None,
        level=form.level,
        code=form.territory,
        released_at=datetime.now(UTC).isoformat(timespec="seconds"),
        path=target,
    )
    _write_manifest(folder, [*entries, entry.entry()])
    return entry, True


def download(
    form: str,
    report_date: date | str,
    territory: str,
    version: int | None = None,
    home: Path | None = None,
) -> Release:
    """The archived release (the newest version unless one is named), checksum verified."""
    found = releases(form, report_date, territory, home)
    if version is not None:
        found = [r for r in found if r.version == version]
    if not found:
        raise ReleaseError(f"no release of {form} {report_date} {territory}")
    chosen = found[-1]
    if sha256(chosen.path) != chosen.sha256:
        raise ReleaseError(f"{chosen.path}: sha256 differs from the manifest")
    return chosen
