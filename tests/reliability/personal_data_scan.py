"""A scanner for personal data outside the restricted schema `pii`.

The needles are the surnames, first names, patronymics, SNILS (with or without separators) and
birth dates of the people in `pii`, read there by the restricted role. Three kinds of places are
searched:

- the warehouse (`scan_database`): in every schema but `pii` and the system ones, a text value
  equal to a name, a SNILS or a birth date, anything written like a SNILS, and date columns made
  mostly of birth dates; in the published schemas (what the dashboards' role reads) also the
  column names of identifying attributes and person-level keys (`raw` and `core` legitimately
  hold pseudonymous keys);
- text files such as logs, run results and Data Docs (`scan_files`): names as whole words in any
  case, a SNILS formatted or as eleven bare digits, a birth date written YYYY-MM-DD or
  DD.MM.YYYY (not as part of a timestamp with a time of day), anything written like a SNILS;
  JSON and HTML escapes are decoded first;
- workbooks such as the statistical forms (`scan_files` on `.xlsx`): the same in every cell of
  every sheet, in the sheet names and in the document properties.

A finding names the place and the kind of value, never the value itself."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import psycopg
from psycopg import sql

PUBLISHED = ("marts", "forms", "dq")
RESTRICTED = "pii"

# attributes that identify a person (Russian or English names of columns; a boolean such as
# `has_snils` says only whether one was given)
IDENTIFYING_COLUMN = re.compile(
    r"surname|first_name|patronymic|middle_name|snils|birth_date|date_of_birth|birthday|"
    r"esia_oid|фамил|имя|отчеств|снилс|рожден",
    re.IGNORECASE,
)
# keys of one person: pseudonymous, still personal data, so never in the published layer
PERSON_KEY_COLUMN = re.compile(
    r"^(student|teacher|account|person|pupil)_(id|key)$|^(student|account|person)_keys?$"
)
# the written form of a SNILS; eleven bare digits are matched against the people's own SNILS
# only (an 11-digit OKTMO has the same shape)
SNILS_SHAPE = r"[0-9]{3}-[0-9]{3}-[0-9]{3}[ -][0-9]{2}"
TEXT_TYPES = ("text", "character varying", "character")
DATE_TYPES = ("date", "timestamp without time zone", "timestamp with time zone")
RELATION_KINDS = ("r", "p", "v", "m", "f")  # tables, partitioned, views, materialized, foreign

# in text: a hyphenated word; a SNILS with or without separators; a date, maybe with a time
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_SNILS_TEXT = re.compile(r"(?<!\d)\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?\d{2}(?!\d)")
_SNILS_SHAPE_TEXT = re.compile(SNILS_SHAPE)
_DATE_TEXT = re.compile(
    r"(?<![\d.])(\d{4}-\d{2}-\d{2}|\d{2}\.\d{2}\.\d{4})(?![\d.])(?:[T ](\d{2}):(\d{2}))?"
)
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")


@dataclass(frozen=True)
class Needles:
    """The identifying values of the people loaded, read from `pii`."""

    names: list[str]
    snils: list[str]  # formatted and digits only
    birth_dates: list[str]  # ISO
    birth_dates_ru: list[str]  # ДД.ММ.ГГГГ

    @cached_property
    def folded_names(self) -> frozenset[str]:
        return frozenset(n.casefold() for n in self.names)

    @cached_property
    def spaced_names(self) -> tuple[str, ...]:
        """Names of more than one word: searched as substrings, not as words."""
        return tuple(n.casefold() for n in self.names if not _WORD.fullmatch(n))

    @cached_property
    def snils_digits(self) -> frozenset[str]:
        return frozenset(re.sub(r"\D", "", s) for s in self.snils)

    @cached_property
    def all_birth_dates(self) -> frozenset[str]:
        return frozenset(self.birth_dates) | frozenset(self.birth_dates_ru)

    def merged(self, other: Needles) -> Needles:
        return Needles(
            names=sorted(set(self.names) | set(other.names)),
            snils=sorted(set(self.snils) | set(other.snils)),
            birth_dates=sorted(set(self.birth_dates) | set(other.birth_dates)),
            birth_dates_ru=sorted(set(self.birth_dates_ru) | set(other.birth_dates_ru)),
        )


def needles_of(people: Iterable[tuple[Iterable[str], str | None, dt.date | None]]) -> Needles:
    """Needles from (names, SNILS, birth date) of people given directly."""
    names: set[str] = set()
    snils: set[str] = set()
    births: set[dt.date] = set()
    for person_names, person_snils, birth in people:
        names.update(n for n in person_names if n and len(n) > 2)
        if person_snils:
            snils.update({person_snils, re.sub(r"\D", "", person_snils)})
        if birth:
            births.add(birth)
    return Needles(
        names=sorted(names),
        snils=sorted(snils),
        birth_dates=sorted(d.isoformat() for d in births),
        birth_dates_ru=sorted(d.strftime("%d.%m.%Y") for d in births),
    )


def read_needles(pii_url: str) -> Needles:
    with psycopg.connect(pii_url) as conn:
        names = conn.execute(
            "select distinct v from pii.students, "
            "lateral unnest(array[surname, first_name, patronymic]) as v "
            "where v is not null and length(v) > 2"
        ).fetchall()
        snils = conn.execute(
            "select distinct snils from pii.students where snils is not null"
        ).fetchall()
        births = conn.execute(
            "select distinct birth_date from pii.students where birth_date is not null"
        ).fetchall()
    snils_forms = sorted({s for (s,) in snils} | {re.sub(r"\D", "", s) for (s,) in snils})
    return Needles(
        names=sorted(n for (n,) in names),
        snils=snils_forms,
        birth_dates=sorted(d.isoformat() for (d,) in births),
        birth_dates_ru=sorted(d.strftime("%d.%m.%Y") for (d,) in births),
    )


# -- the warehouse ------------------------------------------------------------------------------
@dataclass
class DatabaseScan:
    findings: list[str] = field(default_factory=list)
    schemas: list[str] = field(default_factory=list)
    tables: int = 0  # tables and materialized views whose values were read
    views: int = 0  # views whose sources were checked
    columns: int = 0  # columns whose values were read (text, text arrays, dates)


def scanned_schemas(conn: psycopg.Connection) -> list[str]:
    """Every schema of the database but `pii` and the system ones."""
    rows = conn.execute(
        "select nspname from pg_namespace where nspname <> %s and nspname <> 'information_schema' "
        "and nspname not like 'pg\\_%%' order by 1",
        (RESTRICTED,),
    ).fetchall()
    return [s for (s,) in rows]


def published_columns(
    conn: psycopg.Connection, schemas=PUBLISHED
) -> list[tuple[str, str, str, str, str]]:
    """(schema, relation, relation kind, column, type) of every table, view and materialized
    view of `schemas`."""
    return conn.execute(
        "select n.nspname, c.relname, c.relkind::text, a.attname, format_type(a.atttypid, null) "
        "from pg_attribute as a join pg_class as c on c.oid = a.attrelid "
        "join pg_namespace as n on n.oid = c.relnamespace "
        "where n.nspname = any(%s) and c.relkind = any(%s) and a.attnum > 0 "
        "and not a.attisdropped order by 1, 2, a.attnum",
        (list(schemas), list(RELATION_KINDS)),
    ).fetchall()


def _restricted_sources(conn: psycopg.Connection, schema: str, view: str) -> list[str]:
    """Relations and functions of `pii` a view reads, directly or through other views."""
    return [
        name
        for (name,) in conn.execute(
            """
            with recursive source (oid) as (
                select %s::regclass::oid
                union
                select d.refobjid from source
                join pg_rewrite as r on r.ev_class = source.oid
                join pg_depend as d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
                where d.refclassid = 'pg_class'::regclass and d.refobjid <> source.oid
            )
            select n.nspname || '.' || c.relname from source
            join pg_class as c on c.oid = source.oid
            join pg_namespace as n on n.oid = c.relnamespace where n.nspname = %s
            union
            select n.nspname || '.' || p.proname || '()' from source
            join pg_rewrite as r on r.ev_class = source.oid
            join pg_depend as d on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
            join pg_proc as p on d.refclassid = 'pg_proc'::regclass and p.oid = d.refobjid
            join pg_namespace as n on n.oid = p.pronamespace where n.nspname = %s
            order by 1
            """,
            (sql.Identifier(schema, view).as_string(conn), RESTRICTED, RESTRICTED),
        ).fetchall()
    ]


def _value_hits(
    conn: psycopg.Connection,
    rel: sql.Composable,
    columns: list[tuple[str, bool]],
    n: Needles,
    kinds: bool,
) -> list[tuple[str, str]]:
    """(column, what) for text columns (name, is an array) holding a personal value. One pass
    tests every column against all needles at once (`kinds` False, what = 'personal'); a second
    pass on the columns hit says which kinds."""
    tests = {
        "name": sql.SQL("{v} = any(%(names)s::text[])"),
        "SNILS": sql.SQL(
            "{v} = any(%(snils)s::text[]) or (strpos({v}, '-') > 0 and {v} ~ %(shape)s)"
        ),
        "birth date": sql.SQL("{v} = any(%(births)s::text[])"),
    }
    if not kinds:
        tests = {
            "personal": sql.SQL(
                "{v} = any(%(all)s::text[]) or (strpos({v}, '-') > 0 and {v} ~ %(shape)s)"
            )
        }
    exprs, labels = [], []
    for column, is_array in columns:
        col = sql.Identifier(column)
        for what, test in tests.items():
            if is_array:
                value = sql.SQL("u.u::text")
                expr = sql.SQL("bool_or(exists (select from unnest(t.{c}) as u (u) where {e}))")
                expr = expr.format(c=col, e=test.format(v=value))
            else:
                expr = sql.SQL("bool_or({e})").format(e=test.format(v=sql.SQL("t.{}").format(col)))
            exprs.append(expr)
            labels.append((column, what))
    row = conn.execute(
        sql.SQL("select {} from {} as t").format(sql.SQL(", ").join(exprs), rel),
        {
            "names": n.names,
            "snils": n.snils,
            "births": n.birth_dates + n.birth_dates_ru,
            "all": n.names + n.snils + n.birth_dates + n.birth_dates_ru,
            "shape": SNILS_SHAPE,
        },
    ).fetchone()
    return [label for label, hit in zip(labels, row, strict=True) if hit]


def _birth_date_shares(
    conn: psycopg.Connection, rel: sql.Composable, columns: list[str], n: Needles
) -> list[tuple[str, int, int]]:
    """(column, distinct values that are birth dates, distinct values) of date columns."""
    exprs = []
    for column in columns:
        d = sql.SQL("{}::date").format(sql.Identifier(column))
        exprs.append(
            sql.SQL("count(distinct {d}) filter (where {d} = any(%(births)s::date[]))").format(d=d)
        )
        exprs.append(sql.SQL("count(distinct {d})").format(d=d))
    row = conn.execute(
        sql.SQL("select {} from {}").format(sql.SQL(", ").join(exprs), rel),
        {"births": n.birth_dates},
    ).fetchone()
    return [(c, row[2 * i], row[2 * i + 1]) for i, c in enumerate(columns)]


def scan_database(url: str, needles: Needles, schemas: Iterable[str] | None = None) -> DatabaseScan:
    """Scan the relations of `schemas` (default: every schema but `pii` and the system ones).

    Findings read `schema.relation.column: what`. Tables and materialized views are read value
    by value; a view shows only what its sources hold, so it is checked for reading `pii` instead
    (its other sources are scanned as tables). Column-name rules apply to the published schemas
    only."""
    out = DatabaseScan()
    with psycopg.connect(url) as conn:
        conn.execute("set jit = off")  # hundreds of short scans: compiling each costs more
        out.schemas = list(schemas) if schemas is not None else scanned_schemas(conn)
        relations: dict[tuple[str, str, str], list[tuple[str, str]]] = {}
        for schema, table, kind, column, data_type in published_columns(conn, out.schemas):
            relations.setdefault((schema, table, kind), []).append((column, data_type))
        for (schema, table, kind), columns in relations.items():
            where = f"{schema}.{table}"
            if schema in PUBLISHED:
                for column, data_type in columns:
                    if IDENTIFYING_COLUMN.search(column) and data_type != "boolean":
                        out.findings.append(f"{where}.{column}: identifying column name")
                    if PERSON_KEY_COLUMN.search(column):
                        out.findings.append(f"{where}.{column}: person-level key")
            if kind == "v":
                out.views += 1
                for source in _restricted_sources(conn, schema, table):
                    out.findings.append(f"{where}: view reads {source}")
                continue
            out.tables += 1
            rel = sql.Identifier(schema, table)
            texts = [
                (c, t.endswith("[]"))
                for c, t in columns
                if t in TEXT_TYPES or (t.endswith("[]") and t[:-2] in TEXT_TYPES)
            ]
            dates = [c for c, t in columns if t in DATE_TYPES]
            out.columns += len(texts) + len(dates)
            if texts:
                hit = {c for c, _what in _value_hits(conn, rel, texts, needles, kinds=False)}
                if hit:
                    hit_columns = [(c, a) for c, a in texts if c in hit]
                    for column, what in _value_hits(conn, rel, hit_columns, needles, kinds=True):
                        out.findings.append(f"{where}.{column}: {what} value")
            if dates:
                # a column of birth dates: most of its distinct values are people's birth dates
                for column, born, total in _birth_date_shares(conn, rel, dates, needles):
                    if total >= 5 and born * 2 >= total:
                        out.findings.append(
                            f"{where}.{column}: birth dates ({born} of {total} values)"
                        )
    return out


def scan(url: str, needles: Needles, schemas=PUBLISHED) -> list[str]:
    """Every finding in `schemas` as `schema.table.column: what`."""
    return scan_database(url, needles, schemas).findings


# -- files --------------------------------------------------------------------------------------
@dataclass
class FileScan:
    findings: list[str] = field(default_factory=list)
    files: int = 0
    workbooks: int = 0
    cells: int = 0  # non-empty workbook cells read
    bytes: int = 0

    def add(self, other: FileScan) -> None:
        self.findings += other.findings
        self.files += other.files
        self.workbooks += other.workbooks
        self.cells += other.cells
        self.bytes += other.bytes


def _decoded(text: str) -> str:
    """The text with JSON (\\uXXXX) and HTML escapes decoded."""
    if "\\u" in text:
        text = _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    if "&" in text:
        text = html.unescape(text)
    return text


def text_hits(text: str, needles: Needles) -> dict[str, int]:
    """Kind of personal value -> offset of its first occurrence in `text`, whose escapes the
    caller decoded (`_decoded`)."""
    hits: dict[str, int] = {}
    for word in set(_WORD.findall(text)):
        folded = word.casefold()
        if folded in needles.folded_names or (
            "-" in folded and any(p in needles.folded_names for p in folded.split("-"))
        ):
            pos = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text).start()
            hits["name"] = min(pos, hits.get("name", pos))
    if needles.spaced_names:
        folded = text.casefold()
        for name in needles.spaced_names:
            if (pos := folded.find(name)) >= 0:
                hits["name"] = min(pos, hits.get("name", pos))
    for m in _SNILS_TEXT.finditer(text):
        if re.sub(r"\D", "", m.group()) in needles.snils_digits:
            hits.setdefault("SNILS", m.start())
        elif _SNILS_SHAPE_TEXT.fullmatch(m.group()):
            hits.setdefault("SNILS-shaped value", m.start())
    for m in _DATE_TEXT.finditer(text):
        if m.group(2) is not None and (m.group(2), m.group(3)) != ("00", "00"):
            continue  # a timestamp with a time of day is no birth date
        if m.group(1) in needles.all_birth_dates:
            hits.setdefault("birth date", m.start())
    return hits


def _cell_text(value) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _padded_snils(value) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10**11:
        return f"{value:011d}"
    return None


def scan_workbook(path: Path, needles: Needles) -> FileScan:
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    out = FileScan(files=1, workbooks=1, bytes=path.stat().st_size)
    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        props = wb.properties
        meta = [props.title, props.subject, props.creator, props.keywords, props.description]
        for kind in text_hits(_decoded("\n".join(str(v) for v in meta if v)), needles):
            out.findings.append(f"{path} [properties]: {kind}")
        for ws in wb.worksheets:
            for kind in text_hits(_decoded(ws.title), needles):
                out.findings.append(f"{path} [{ws.title}]: {kind} in the sheet name")
            for r, row in enumerate(ws.iter_rows(values_only=True), start=1):
                for c, value in enumerate(row, start=1):
                    if value is None or value == "":
                        continue
                    out.cells += 1
                    kinds = set(text_hits(_decoded(_cell_text(value)), needles))
                    if _padded_snils(value) in needles.snils_digits:
                        kinds.add("SNILS")  # a SNILS stored as a number lost its leading zeros
                    for kind in sorted(kinds):
                        out.findings.append(
                            f"{path} [{ws.title}!{get_column_letter(c)}{r}]: {kind}"
                        )
    finally:
        wb.close()
    return out


def scan_text(label: str, text: str, needles: Needles) -> list[str]:
    """Findings in one text as `label:line: what`."""
    text = _decoded(text)
    return [
        f"{label}:{text.count(chr(10), 0, pos) + 1}: {kind}"
        for kind, pos in sorted(text_hits(text, needles).items())
    ]


def _files(paths: Iterable[Path]) -> list[Path]:
    out: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            out.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        elif path.is_file():
            out.append(path)
    return out


def scan_files(paths: Iterable[Path], needles: Needles) -> FileScan:
    """Scan files and folders (recursively): workbooks cell by cell, every other file as text
    (UTF-8, undecodable bytes replaced). Findings read `path:line: what` or
    `path [sheet!cell]: what`."""
    out = FileScan()
    for path in _files(paths):
        if path.suffix.lower() in WORKBOOK_SUFFIXES:
            out.add(scan_workbook(path, needles))
            continue
        data = path.read_bytes()
        out.files += 1
        out.bytes += len(data)
        out.findings += scan_text(str(path), data.decode("utf-8", errors="replace"), needles)
    return out


# -- Superset datasets --------------------------------------------------------------------------
INTERNAL_SCHEMAS = ("pii", "raw", "staging", "core", "public", "information_schema", "pg_catalog")
_INTERNAL_REFERENCE = re.compile(
    r'(?<![\w."])"?(' + "|".join(INTERNAL_SCHEMAS) + r')"?\s*\.\s*"?\w', re.IGNORECASE
)
_FROM_REFERENCE = re.compile(r'\b(?:from|join)\s+"?(\w+)"?\s*\.\s*"?\w', re.IGNORECASE)
_ALIAS = re.compile(r'\bas\s+"?(\w+)', re.IGNORECASE)
_SQL_STRING = re.compile(r"'(?:[^']|'')*'")


def scan_dataset_definition(path: Path) -> list[str]:
    """Findings in one Superset dataset file: a schema outside the published layer (the
    dataset's own, or named in its SQL, column or metric expressions: any reference to an
    internal schema, any `from`/`join` of a relation outside the published schemas), and columns
    named like an identifying attribute or a person-level key."""
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = []
    if data.get("schema") not in PUBLISHED:
        found.append(f"{path}: dataset schema {data.get('schema')!r} is not published")
    expressions = [data.get("sql") or ""]
    expressions += [c.get("expression") or "" for c in data.get("columns") or []]
    expressions += [m.get("expression") or "" for m in data.get("metrics") or []]
    for text in expressions:
        text = _SQL_STRING.sub("''", text)
        aliases = {a.lower() for a in _ALIAS.findall(text)}  # `extract(month from a.day)`
        for m in _INTERNAL_REFERENCE.finditer(text):
            found.append(f"{path}: reads schema {m.group(1).lower()!r}")
        for m in _FROM_REFERENCE.finditer(text):
            if m.group(1).lower() not in PUBLISHED and m.group(1).lower() not in aliases:
                found.append(f"{path}: reads schema {m.group(1).lower()!r}")
    for column in data.get("columns") or []:
        name = column.get("column_name") or ""
        if IDENTIFYING_COLUMN.search(name) and (column.get("type") or "").upper() != "BOOLEAN":
            found.append(f"{path}: column {name!r} is named like an identifying attribute")
        if PERSON_KEY_COLUMN.search(name):
            found.append(f"{path}: column {name!r} is a person-level key")
    return sorted(set(found))
