"""Form definitions: one YAML file per form and edition under `forms/definitions/`.

A definition says what each cell of the official form counts (the `forms` model, the filter of
its row and column, the measure), which cells are not filled ("x"), which are health data,
whether the cells add up across organizations, and the control ratios. `load_definition`
validates the file against `DEFINITION_SCHEMA` and returns plain, typed objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"

LEVELS = ("organization", "municipality", "region")

_CODE = {"type": "string", "pattern": r"^[0-9]{1,3}$"}
_WHERE = {"type": "object"}
_MEASURE = {
    "oneOf": [
        {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
        {
            "type": "object",
            "required": ["ratio"],
            "additionalProperties": False,
            "properties": {
                "ratio": {
                    "type": "array",
                    "items": {"type": "string"},
                    "minItems": 2,
                    "maxItems": 2,
                },
                "scale": {"type": "number"},
                "digits": {"type": "integer", "minimum": 0, "maximum": 6},
            },
        },
    ]
}
_CELL_LINE = {
    "code": _CODE,
    "label": {"type": "string", "minLength": 1},
    "measure": _MEASURE,
    "where": _WHERE,
    "numerator_where": _WHERE,
    "model": {"type": "string"},
    "health": {"type": "boolean"},
    "additive": {"enum": [True, False, "municipalities"]},
}
DEFINITION_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Definition of an official statistical form (one edition)",
    "type": "object",
    "required": ["form", "edition", "code", "title", "report_date", "levels", "sections"],
    "additionalProperties": False,
    "properties": {
        "form": {"type": "string", "pattern": r"^[a-z0-9]+$"},
        "edition": {"type": "integer", "minimum": 2000, "maximum": 2100},
        "code": {"type": "string"},
        "title": {"type": "string"},
        "periodicity": {"type": "string"},
        "report_date": {
            "type": "object",
            "required": ["rule"],
            "properties": {
                "rule": {"enum": ["annual_day", "calendar_year", "period", "as_of"]},
                "month": {"type": "integer", "minimum": 1, "maximum": 12},
                "day": {"type": "integer", "minimum": 1, "maximum": 31},
                "default_period": {"type": "string"},
                "text": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "age_date": {
            "type": "object",
            "required": ["rule"],
            "properties": {
                "rule": {"enum": ["next_january_first", "report_date"]},
                "text": {"type": "string"},
            },
            "additionalProperties": False,
        },
        "levels": {"type": "array", "items": {"enum": list(LEVELS)}, "minItems": 1},
        "sections": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["code", "title", "model", "columns", "rows"],
                "additionalProperties": False,
                "properties": {
                    "code": {"type": "string"},
                    "title": {"type": "string"},
                    "unit": {"type": "string"},
                    "note": {"type": "string"},
                    "model": {"type": "string", "pattern": r"^[a-z_][a-z0-9_]*$"},
                    "levels": {"type": "array", "items": {"enum": list(LEVELS)}},
                    "additive": {"type": "boolean"},
                    "key": {"type": "object"},
                    "columns": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "label"],
                            "additionalProperties": False,
                            "properties": {**_CELL_LINE, "group": {"type": "string"}},
                        },
                    },
                    "rows": {
                        "type": "array",
                        "minItems": 1,
                        "items": {
                            "type": "object",
                            "required": ["code", "label"],
                            "additionalProperties": False,
                            "properties": {**_CELL_LINE, "indent": {"type": "integer"}},
                        },
                    },
                    "dynamic_rows": {
                        "type": "object",
                        "required": ["label"],
                        "additionalProperties": False,
                        "properties": {
                            "label": {"type": "string"},
                            "order_by": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "x": {
                        "type": "array",
                        "items": {"type": "string", "pattern": r"^(r[0-9]+)?(c[0-9]+)?$"},
                    },
                    "controls": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["id", "text"],
                            "additionalProperties": False,
                            "properties": {
                                "id": {"type": "string"},
                                "text": {"type": "string"},
                                "each_row": {"type": "string"},
                                "each_column": {"type": "string"},
                                "check": {"type": "string"},
                                "rows": {"type": "array", "items": {"type": "string"}},
                                "columns": {"type": "array", "items": {"type": "string"}},
                            },
                            "oneOf": [
                                {"required": ["each_row"]},
                                {"required": ["each_column"]},
                                {"required": ["check"]},
                            ],
                        },
                    },
                },
            },
        },
    },
}


class DefinitionError(ValueError):
    """A definition file that does not describe a form we can build."""


@dataclass(frozen=True)
class Measure:
    name: str | None = None  # an additive count of the model
    ratio: tuple[str, str] | None = None  # numerator / denominator, recomputed at each level
    scale: float = 1.0
    digits: int = 2

    @classmethod
    def parse(cls, raw: Any) -> Measure | None:
        if raw is None:
            return None
        if isinstance(raw, str):
            return cls(name=raw)
        return cls(
            ratio=(raw["ratio"][0], raw["ratio"][1]),
            scale=float(raw.get("scale", 1)),
            digits=int(raw.get("digits", 2)),
        )


@dataclass(frozen=True)
class Line:
    """A row or a column of a section."""

    code: str
    label: str
    where: dict[str, Any] = field(default_factory=dict)
    measure: Measure | None = None
    numerator_where: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    health: bool = False
    group: str | None = None
    indent: int = 0
    additive: bool | str = True  # False, or "municipalities": adds up to the region only

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Line:
        return cls(
            code=str(raw["code"]),
            label=str(raw["label"]),
            where=dict(raw.get("where") or {}),
            measure=Measure.parse(raw.get("measure")),
            numerator_where=dict(raw.get("numerator_where") or {}),
            model=raw.get("model"),
            health=bool(raw.get("health", False)),
            group=raw.get("group"),
            indent=int(raw.get("indent", 0)),
            additive=raw.get("additive", True),
        )


@dataclass(frozen=True)
class Control:
    id: str
    text: str
    kind: str  # each_row | each_column | check
    expression: str
    rows: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Section:
    code: str
    title: str
    model: str
    columns: tuple[Line, ...]
    rows: tuple[Line, ...]
    unit: str = ""
    note: str = ""
    levels: tuple[str, ...] | None = None
    additive: bool = True
    key: dict[str, Any] = field(default_factory=dict)
    dynamic_label: str | None = None
    dynamic_order: tuple[str, ...] = ()
    x: tuple[str, ...] = ()
    controls: tuple[Control, ...] = ()

    def is_x(self, row: str, column: str) -> bool:
        return any(_x_matches(spec, row, column) for spec in self.x)

    def column(self, code: str) -> Line:
        for col in self.columns:
            if col.code == code:
                return col
        raise KeyError(code)


def _x_matches(spec: str, row: str, column: str) -> bool:
    m = re.fullmatch(r"(?:r([0-9]+))?(?:c([0-9]+))?", spec)
    if not m or not spec:
        return False
    r, c = m.groups()
    return (r is None or r == row) and (c is None or c == column)


@dataclass(frozen=True)
class Definition:
    form: str
    edition: int
    code: str
    title: str
    periodicity: str
    report_rule: dict[str, Any]
    age_rule: dict[str, Any] | None
    levels: tuple[str, ...]
    sections: tuple[Section, ...]
    path: Path | None = None

    def section(self, code: str) -> Section:
        for section in self.sections:
            if section.code == code:
                return section
        raise KeyError(code)

    # -- dates ------------------------------------------------------------------------------
    def resolve_dates(self, requested: date, period: str | None = None) -> dict[str, Any]:
        """The report date and the other parameters the cells use, from the date asked for.

        annual_day: the latest count date (e.g. 20 September) on or before the date;
        calendar_year: the calendar year of the date, reported as of 31 December;
        period: the academic year holding the date and a period (default from the file);
        as_of: the date itself.
        """
        rule = self.report_rule["rule"]
        params: dict[str, Any] = {}
        if rule == "annual_day":
            month, day = self.report_rule["month"], self.report_rule["day"]
            report = date(requested.year, month, day)
            if report > requested:
                report = date(requested.year - 1, month, day)
            params.update(report_date=report, report_year=report.year)
        elif rule == "calendar_year":
            report = date(requested.year, 12, 31)
            params.update(report_date=report, report_year=requested.year)
        elif rule == "period":
            start = requested.year if requested.month >= 9 else requested.year - 1
            params.update(
                report_date=requested,
                report_year=requested.year,
                academic_year=f"{start}/{start + 1}",
                period=period or self.report_rule.get("default_period", "Год"),
            )
        else:
            params.update(report_date=requested, report_year=requested.year)
        if self.age_rule:
            if self.age_rule["rule"] == "next_january_first":
                params["age_date"] = date(params["report_year"] + 1, 1, 1)
            else:
                params["age_date"] = params["report_date"]
        return params

    def report_period_text(self, params: dict[str, Any]) -> str:
        rule = self.report_rule["rule"]
        if rule == "calendar_year":
            return f"за {params['report_year']} год"
        if rule == "period":
            return f"{params['period']}, {params['academic_year']} учебный год"
        return f"по состоянию на {params['report_date']:%d.%m.%Y}"


def validate(raw: dict[str, Any], where: str = "definition") -> None:
    """Raise DefinitionError unless `raw` follows the schema and its references make sense."""
    import jsonschema

    try:
        jsonschema.validate(raw, DEFINITION_SCHEMA)
    except jsonschema.ValidationError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        raise DefinitionError(f"{where}: {path}: {exc.message}") from None
    for section in raw["sections"]:
        sid = f"{where}: section {section['code']}"
        for kind in ("rows", "columns"):
            codes = [str(line["code"]) for line in section[kind]]
            if len(codes) != len(set(codes)):
                raise DefinitionError(f"{sid}: duplicate {kind[:-1]} codes")
        for col in section["columns"]:
            if col["code"] in ("1", "2"):
                raise DefinitionError(f"{sid}: columns 1 and 2 are the label and the row code")
        for row in section["rows"]:
            for col in section["columns"]:
                if "measure" not in row and "measure" not in col:
                    raise DefinitionError(
                        f"{sid}: cell r{row['code']}c{col['code']} has no measure"
                    )


_LOADED: dict[tuple[str, int], Definition] = {}


def load_definition(path: Path) -> Definition:
    """Read and validate a definition file (cached while the file is unchanged)."""
    path = Path(path)
    key = (str(path.resolve()), path.stat().st_mtime_ns)
    if key not in _LOADED:
        _LOADED[key] = _load(path)
    return _LOADED[key]


def _load(path: Path) -> Definition:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    if not isinstance(raw, dict):
        raise DefinitionError(f"{path}: not a mapping")
    validate(raw, str(path))
    sections = []
    for s in raw["sections"]:
        dyn = s.get("dynamic_rows") or {}
        controls = []
        for c in s.get("controls") or []:
            kind = next(k for k in ("each_row", "each_column", "check") if k in c)
            controls.append(
                Control(
                    id=str(c["id"]),
                    text=c["text"],
                    kind=kind,
                    expression=c[kind],
                    rows=tuple(c["rows"]) if "rows" in c else None,
                    columns=tuple(c["columns"]) if "columns" in c else None,
                )
            )
        sections.append(
            Section(
                code=str(s["code"]),
                title=s["title"],
                model=s["model"],
                columns=tuple(Line.parse(c) for c in s["columns"]),
                rows=tuple(Line.parse(r) for r in s["rows"]),
                unit=s.get("unit", ""),
                note=s.get("note", ""),
                levels=tuple(s["levels"]) if "levels" in s else None,
                additive=bool(s.get("additive", True)),
                key=dict(s.get("key") or {}),
                dynamic_label=dyn.get("label"),
                dynamic_order=tuple(dyn.get("order_by") or ()),
                x=tuple(s.get("x") or ()),
                controls=tuple(controls),
            )
        )
    return Definition(
        form=raw["form"],
        edition=int(raw["edition"]),
        code=raw["code"],
        title=" ".join(str(raw["title"]).split()),
        periodicity=raw.get("periodicity", ""),
        report_rule=dict(raw["report_date"]),
        age_rule=dict(raw["age_date"]) if raw.get("age_date") else None,
        levels=tuple(raw["levels"]),
        sections=tuple(sections),
        path=Path(path),
    )


def definition_files() -> list[Path]:
    return sorted(DEFINITIONS_DIR.glob("*.yaml"))


def available() -> dict[str, list[int]]:
    """Form code -> its editions, from the file names `<form>_<edition>.yaml`."""
    out: dict[str, list[int]] = {}
    for path in definition_files():
        form, _, edition = path.stem.rpartition("_")
        out.setdefault(form, []).append(int(edition))
    return {k: sorted(v) for k, v in sorted(out.items())}


def find_definition(form: str, on: date | None = None, edition: int | None = None) -> Definition:
    """The definition of `form`: the given edition, or the newest edition not later than the
    year of `on` (the earliest one when all are later)."""
    editions = available().get(form)
    if not editions:
        known = ", ".join(available()) or "none"
        raise DefinitionError(f"no definition of form {form!r} (known: {known})")
    if edition is None:
        year = (on or date.today() + timedelta(days=0)).year
        fitting = [e for e in editions if e <= year]
        edition = fitting[-1] if fitting else editions[0]
    if edition not in editions:
        raise DefinitionError(f"form {form!r} has no edition {edition} (has {editions})")
    return load_definition(DEFINITIONS_DIR / f"{form}_{edition}.yaml")
