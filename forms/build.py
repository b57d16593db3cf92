"""Build a form for one organization, one municipality or the region from the `forms` models.

The builder reads only the published schemas (`forms`, `marts`) — the dashboards' read-only
role is enough. Each cell is the sum of the matching rows of its model at the requested level;
the models compute every figure afresh at each level, so rates (ratios of sums at that level)
and unduplicated counts are never added up or averaged from below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from forms.controls import CellKey, ControlResult, ControlViolation, X, evaluate
from forms.definition import Definition, DefinitionError, Line, Section, find_definition

SUPPRESSED = "…"  # Rosstat's sign for figures withheld to protect the persons behind them
SUPPRESSION_LIMIT = 5  # health-data cells from 1 to 4 are withheld
LEVEL_NAMES = {
    "organization": "образовательная организация",
    "municipality": "муниципальное образование",
    "region": "субъект Российской Федерации",
}
DEFAULT_REGION_NAME = (
    "Орган исполнительной власти субъекта Российской Федерации в сфере образования"
)


class FormError(Exception):
    """A form that cannot be built as asked (unknown territory, level not in the form...)."""


@dataclass
class BuiltSection:
    section: Section
    rows: list[Line]  # fixed rows and, for a list section, one row per item


@dataclass
class Form:
    definition: Definition
    level: str
    territory: str  # organization ID, municipality (5 digits) or "region"
    params: dict[str, Any]
    cutoff: date | None
    respondent: dict[str, str]
    sections: list[BuiltSection]
    values: dict[CellKey, Any]  # the true figures ("x" for cells not filled, None = empty)
    controls: list[ControlResult]
    suppress_health: bool = False
    branches_separately: bool = False
    suppressed: set[CellKey] = field(default_factory=set)

    @property
    def report_date(self) -> date:
        return self.params["report_date"]

    @property
    def violations(self) -> list[ControlResult]:
        return [c for c in self.controls if c.ok is False]

    @property
    def territory_slug(self) -> str:
        if self.level == "region":
            return "region"
        prefix = "unit" if self.branches_separately and self.level == "organization" else ""
        return f"{prefix or self.level}-{self.territory}"

    def shown(self, key: CellKey) -> Any:
        """The value as printed: suppressed health cells become `…`."""
        if key in self.suppressed:
            return SUPPRESSED
        return self.values[key]

    def is_health(self, key: CellKey) -> bool:
        section = self.definition.section(key[0])
        built = next(b for b in self.sections if b.section.code == key[0])
        row = next(r for r in built.rows if r.code == key[1])
        return row.health or section.column(key[2]).health

    def is_additive(self, key: CellKey, over: str = "organizations") -> bool:
        """True when the cell of a territory equals the sum of the cells of its parts
        (`over` organizations for a municipality, municipalities for the region)."""
        section = self.definition.section(key[0])
        built = next(b for b in self.sections if b.section.code == key[0])
        row = next(r for r in built.rows if r.code == key[1])
        column = section.column(key[2])
        measure = column.measure or row.measure
        if not section.additive or measure is None or measure.ratio is not None:
            return False
        flags = {row.additive, column.additive}
        if False in flags:
            return False
        return not ("municipalities" in flags and over == "organizations")

    def cells(self) -> list[tuple[CellKey, str, str, Any]]:
        """(cell, row label, column label, printed value) in the form's order."""
        out = []
        for built in self.sections:
            for row in built.rows:
                for col in built.section.columns:
                    key = (built.section.code, row.code, col.code)
                    out.append((key, row.label, col.label, self.shown(key)))
        return out


def suppression_required(
    viewer_scope: str,
    viewer_territory: str | None,
    form_level: str,
    form_territory: str,
    municipality_of: str | None = None,
) -> bool:
    """Whether health cells under 5 must be withheld for this viewer (152-FZ art. 10).

    Shown in full to the region's analysts (scope `region`) and to the territory's own
    education department (scope `municipality`, its municipality's forms and those of its
    organizations); withheld for everyone else.
    """
    if viewer_scope == "region":
        return False
    if viewer_scope == "municipality" and viewer_territory:
        if form_level == "municipality" and form_territory == viewer_territory:
            return False
        if form_level == "organization" and municipality_of == viewer_territory:
            return False
    return True


# -- matching -----------------------------------------------------------------------------------
def _norm(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return None
    return str(value)


def _num(value: Any) -> float | str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)


def _substitute(value: Any, params: dict[str, Any]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        name = value[1:-1]
        if name not in params:
            raise DefinitionError(f"unknown parameter {value!r}")
        return params[name]
    if isinstance(value, list):
        return [_substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, params) for k, v in value.items()}
    return value


def _matches(record: dict[str, Any], where: dict[str, Any]) -> bool:
    for column, condition in where.items():
        if column not in record:
            raise DefinitionError(f"filter on unknown column {column!r}")
        actual = record[column]
        if isinstance(condition, dict):
            for op, expected in condition.items():
                if op == "is_null":
                    if (actual is None) != bool(expected):
                        return False
                    continue
                if op == "in":
                    if _norm(actual) not in {_norm(e) for e in expected}:
                        return False
                    continue
                if op == "not_in":
                    if _norm(actual) in {_norm(e) for e in expected}:
                        return False
                    continue
                a, e = _num(actual), _num(expected)
                if a is None or e is None or type(a) is not type(e):
                    return False
                if not {"lt": a < e, "le": a <= e, "gt": a > e, "ge": a >= e}[op]:
                    return False
        elif _norm(actual) != _norm(condition):
            return False
    return True


def _total(records: list[dict[str, Any]], name: str, where: dict[str, Any], one: bool) -> float:
    hits = [r for r in records if _matches(r, where)]
    if one and len(hits) > 1:
        raise DefinitionError(
            f"a non-additive cell ({name}, {where}) matches {len(hits)} model rows, not one"
        )
    total = sum((r[name] or 0) for r in hits)
    if isinstance(total, Decimal):
        return int(total) if total == total.to_integral_value() else float(total)
    return total


def _cell(
    records: list[dict[str, Any]],
    row: Line,
    col: Line,
    section: Section,
    params: dict[str, Any],
) -> int | float | None:
    measure = col.measure or row.measure
    assert measure is not None
    # filters may name the build's parameters ("{report_date}") like the section's key
    where = _substitute({**row.where, **col.where}, params)
    one = not section.additive
    if measure.ratio is None:
        assert measure.name is not None
        return _total(records, measure.name, where, one)
    num_name, den_name = measure.ratio
    num_where = {**where, **_substitute({**row.numerator_where, **col.numerator_where}, params)}
    numerator = _total(records, num_name, num_where, one)
    denominator = _total(records, den_name, where, one)
    if not denominator:
        return None
    value = measure.scale * float(numerator) / float(denominator)
    return round(value, measure.digits)


# -- reading ------------------------------------------------------------------------------------
def _model_rows(
    conn: psycopg.Connection, model: str, level: str, territory: str, key: dict[str, Any]
) -> list[dict[str, Any]]:
    query = sql.SQL("select * from {} where level = %s and territory_id = %s").format(
        sql.Identifier("forms", model)
    )
    args: list[Any] = [level, territory]
    for column, value in key.items():
        query += sql.SQL(" and {}::text = %s").format(sql.Identifier(column))
        args.append(_norm(value))
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            return list(cur.execute(query, args))
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        raise FormError(
            f"forms.{model} does not exist: build the warehouse first (kontingent dbt build)"
        ) from None


def _respondent(
    conn: psycopg.Connection, level: str, territory: str, region_name: str
) -> dict[str, str]:
    if level == "region":
        return {"name": region_name, "inn": "", "oktmo": "", "level": LEVEL_NAMES[level]}
    if level == "municipality":
        row = conn.execute(
            "select municipality_name from marts.dim_municipality where municipality_id = %s",
            (territory,),
        ).fetchone()
        if row is None:
            raise FormError(f"no municipality {territory!r} in the warehouse")
        return {
            "name": f"Орган местного самоуправления, осуществляющий управление в сфере "
            f"образования: {row[0]}",
            "inn": "",
            "oktmo": territory.ljust(8, "0"),
            "level": LEVEL_NAMES[level],
        }
    row = conn.execute(
        """
        select full_name, inn, oktmo, municipality_id, reporting_organization_id, is_branch
        from marts.dim_organization
        where organization_id = %s
        order by is_current desc, valid_from desc
        limit 1
        """,
        (territory,),
    ).fetchone()
    if row is None:
        raise FormError(f"no organization {territory!r} in the warehouse")
    return {
        "name": row[0] or "",
        "inn": row[1] or "",
        "oktmo": row[2] or "",
        "level": LEVEL_NAMES[level],
        "municipality": row[3] or "",
        "head": row[4] or "",
        "is_branch": "да" if row[5] else "",
    }


def _cutoff(conn: psycopg.Connection) -> date | None:
    try:
        row = conn.execute("select cutoff_date from forms.forms_data_cutoff where feed = 'all'")
        found = row.fetchone()
    except psycopg.errors.UndefinedTable:
        conn.rollback()
        return None
    return found[0] if found else None


# -- suppression ------------------------------------------------------------------------------
def _suppress(form: Form) -> None:
    """Withhold health cells from 1 to 4, then, wherever a control sum would give a withheld
    cell back by subtraction, also withhold the smallest other non-zero health cell of it."""
    health = [k for k, v in form.values.items() if v not in (None, X) and form.is_health(k)]
    form.suppressed = {k for k in health if 0 < float(form.values[k]) < SUPPRESSION_LIMIT}
    sums = [c for c in form.controls if "=" in c.expression and "<" not in c.expression]
    changed = True
    while changed:
        changed = False
        for control in sums:
            cells = [c for c in dict.fromkeys(control.cells) if form.values.get(c) not in (X,)]
            hidden = [c for c in cells if c in form.suppressed]
            if len(hidden) != 1:
                continue
            candidates = [
                c
                for c in cells
                if c not in form.suppressed
                and form.is_health(c)
                and form.values.get(c) not in (None, X, 0)
            ]
            if candidates:
                smallest = min(candidates, key=lambda c: float(form.values[c]))
                form.suppressed.add(smallest)
                changed = True


# -- the build --------------------------------------------------------------------------------
def build_form(
    form: str,
    on: date,
    level: str,
    code: str | None = None,
    *,
    url: str | None = None,
    period: str | None = None,
    edition: int | None = None,
    definition: Definition | None = None,
    branches_separately: bool = False,
    suppress_health: bool = True,
    region_name: str = DEFAULT_REGION_NAME,
    strict: bool = False,
) -> Form:
    """Build `form` for the report date resolved from `on`, at `level` for `code`.

    `url` defaults to the warehouse's read-only role. `strict` raises ControlViolation when a
    control ratio does not hold (releases are always strict).
    """
    definition = definition or find_definition(form, on, edition)
    if level not in definition.levels:
        raise FormError(f"form {definition.form} is not built at level {level!r}")
    if level == "region":
        territory = "region"
    elif not code:
        raise FormError(f"level {level} needs --code")
    else:
        territory = code
    if level == "municipality" and territory.isdigit() and len(territory) > 5:
        territory = territory[:5]  # an OKTMO code: its municipality
    params = definition.resolve_dates(on, period)
    model_level = "unit" if (level == "organization" and branches_separately) else level
    if url is None:
        from kontingent.settings import get_settings

        url = get_settings().reader_url

    with psycopg.connect(url) as conn:
        respondent = _respondent(conn, level, territory, region_name)
        if level == "organization" and not branches_separately and respondent.get("is_branch"):
            raise FormError(
                f"organization {territory} is a branch: it reports with its head organization "
                f"{respondent['head']} (build that, or build with branches separately)"
            )
        cutoff = _cutoff(conn)
        built: list[BuiltSection] = []
        values: dict[CellKey, Any] = {}
        for section in definition.sections:
            if section.levels is not None and level not in section.levels:
                continue
            key = _substitute(section.key, params)
            models = {section.model} | {
                line.model for line in (*section.rows, *section.columns) if line.model
            }
            records = {m: _model_rows(conn, m, model_level, territory, key) for m in models}
            rows = list(section.rows)
            if section.dynamic_label:
                rows += _dynamic_rows(section, records[section.model], len(rows))
            for row in rows:
                for col in section.columns:
                    cell = (section.code, row.code, col.code)
                    if section.is_x(row.code, col.code):
                        values[cell] = X
                        continue
                    model = col.model or row.model or section.model
                    values[cell] = _cell(records[model], row, col, section, params)
            built.append(BuiltSection(section=section, rows=rows))

    row_codes = {b.section.code: [r.code for r in b.rows] for b in built}
    result = Form(
        definition=definition,
        level=level,
        territory=territory,
        params=params,
        cutoff=cutoff,
        respondent=respondent,
        sections=built,
        values=values,
        controls=evaluate([b.section for b in built], row_codes, values),
        suppress_health=suppress_health,
        branches_separately=branches_separately,
    )
    if suppress_health:
        _suppress(result)
    if strict and result.violations:
        raise ControlViolation(definition.form, result.violations)
    return result


def recheck(form: Form) -> list[ControlResult]:
    """Evaluate the control ratios again on the form's current values (after a correction)."""
    row_codes = {b.section.code: [r.code for r in b.rows] for b in form.sections}
    form.controls = evaluate([b.section for b in form.sections], row_codes, form.values)
    return form.violations


def _dynamic_rows(section: Section, records: list[dict[str, Any]], start: int) -> list[Line]:
    label_col = section.dynamic_label
    assert label_col is not None
    seen: dict[str, dict[str, Any]] = {}
    for record in records:
        label = record[label_col]
        if label is None:
            continue
        seen.setdefault(str(label), record)

    def order(item: tuple[str, dict[str, Any]]) -> tuple:
        label, record = item
        keys = []
        for column in section.dynamic_order:
            value = record.get(column)
            keys.append((0, value) if isinstance(value, int | float) else (1, str(value)))
        return (*keys, label)

    rows = []
    width = max(2, len(str(start + len(seen))))
    for i, (label, _record) in enumerate(sorted(seen.items(), key=order), start=start + 1):
        rows.append(Line(code=str(i).zfill(width), label=label, where={label_col: label}))
    return rows


def is_close(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, abs_tol=1e-9)
    return a == b
