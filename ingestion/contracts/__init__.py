"""The feed contracts: one declarative description per source feed.

A contract says, for every column of a feed: its warehouse name, the Russian header (and any
aliases real files use), its type, whether it is required, its code list, and where its value
goes (`raw`, or only the restricted `pii` zone, or replaced by a pseudonymous key). The loader,
the DDL and the documentation are all derived from these objects, so a new column or a new
header alias is a one-line change in the feed's module.

Treatment of a value that fails its check (see docs/ingestion.md):
- a required field that is empty or invalid rejects the row (`missing_value`, `invalid_date`,
  `invalid_code`, `invalid_number`, `invalid_format`);
- an optional field that is invalid is loaded as null and the row is flagged;
- a checksum (INN, OGRN, SNILS) that fails keeps the value and sets `is_<column>_valid = false`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FeedMode = Literal["snapshot", "delta"]
Zone = Literal["raw", "pii"]

# Column types understood by the checks (ingestion/checks.py) and their SQL types.
SQL_TYPES = {
    "text": "text",
    "id": "text",
    "code": "text",
    "date": "date",
    "timestamp": "timestamptz",  # ДД.ММ.ГГГГ ЧЧ:ММ[:СС], Europe/Moscow
    "iso_timestamp": "timestamptz",  # ISO 8601 (JSON feeds)
    "int": "integer",
    "bool": "boolean",
    "inn": "text",
    "ogrn": "text",
    "kpp": "text",
    "snils": "text",
    "oktmo": "text",
    "oksm": "text",
    "school_year": "text",
}

# Derived values: computed from a column's checked value, written to `raw` (never identifying).
DERIVED_SQL_TYPES = {
    "year": "smallint",  # birth year from a birth date
    "present": "boolean",  # the value was given (e.g. has a SNILS)
    "valid": "boolean",  # the checksum holds (null when the value is absent)
    "citizenship_group": "text",  # russia · foreign · stateless
}


@dataclass(frozen=True)
class Column:
    """One column of a feed.

    name       warehouse column name (English, snake_case)
    header     the Russian header of the contract (for JSON feeds: the key)
    type       one of SQL_TYPES
    required   an empty or invalid value rejects the row
    aliases    other headers real files use for the same column
    codes      the closed list of allowed values (type "code"); matched ignoring case, spaces
               and ё/е, loaded in the contract's spelling
    bounds     inclusive (min, max) for type "int"
    pii        the value is identifying: it is written to the feed's `pii` table only
    pseudonym  the value is a person's source ID: `raw` gets this column instead, holding the
               keyed HMAC of the ID; the clear ID goes to the `pii` table (when the feed has one)
    derived    (column, kind) pairs written to `raw`, computed from the value (DERIVED_SQL_TYPES)
    in_header  the column must be present in the file's header even if empty values are allowed
    """

    name: str
    header: str
    type: str = "text"
    required: bool = False
    aliases: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    bounds: tuple[int, int] | None = None
    pii: bool = False
    pseudonym: str | None = None
    derived: tuple[tuple[str, str], ...] = ()
    in_header: bool = False

    def __post_init__(self) -> None:
        if self.type not in SQL_TYPES:
            raise ValueError(f"{self.name}: unknown type {self.type!r}")
        if self.type == "code" and not self.codes:
            raise ValueError(f"{self.name}: a code column needs its code list")
        for _name, kind in self.derived:
            if kind not in DERIVED_SQL_TYPES:
                raise ValueError(f"{self.name}: unknown derived kind {kind!r}")

    @property
    def has_checksum(self) -> bool:
        return self.type in ("inn", "ogrn", "snils")

    @property
    def header_required(self) -> bool:
        return self.required or self.in_header

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)


@dataclass(frozen=True)
class Ref:
    """A reference to a record of another feed; an unknown one makes the row an orphan."""

    column: str  # warehouse column of this feed (after pseudonymization)
    entity: str  # "student" or "organization"


@dataclass(frozen=True)
class Feed:
    """One source feed."""

    name: str  # the file-name prefix, e.g. "marks"
    title: str  # the Russian title of the extract
    order: int  # dependency order within one extract date
    mode: FeedMode
    formats: tuple[str, ...]  # file extensions accepted
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # warehouse columns identifying a record (after pseudonymization)
    refs: tuple[Ref, ...] = ()
    registers: tuple[Ref, ...] = ()  # keys this feed makes known (for the orphan checks)
    has_pii_table: bool = False  # identifying columns go to pii.<name>
    quarantine_zone: Zone = "raw"  # where rejected lines are kept whole
    tombstone: str | None = None  # boolean column marking a deletion
    notes: str = ""

    @property
    def raw_table(self) -> str:
        return f"raw.{self.name}"

    @property
    def pii_table(self) -> str | None:
        return f"pii.{self.name}" if self.has_pii_table else None

    @property
    def quarantine_table(self) -> str:
        return f"{self.quarantine_zone}.quarantine"

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    def outputs(self) -> list[Output]:
        """Every warehouse column this feed writes, in order, with the column it comes from."""
        outs: list[Output] = []
        for col in self.columns:
            if col.pseudonym:
                outs.append(Output("raw", col.pseudonym, "text", col.name, "pseudonym"))
                if self.has_pii_table:
                    outs.append(Output("pii", col.pseudonym, "text", col.name, "pseudonym"))
                    outs.append(Output("pii", col.name, "text", col.name, "value"))
            else:
                zone: Zone = "pii" if col.pii else "raw"
                if col.pii and not self.has_pii_table:
                    raise ValueError(f"{self.name}.{col.name}: pii column but no pii table")
                outs.append(Output(zone, col.name, SQL_TYPES[col.type], col.name, "value"))
                if col.has_checksum:
                    outs.append(Output(zone, f"is_{col.name}_valid", "boolean", col.name, "valid"))
            for name, kind in col.derived:
                outs.append(Output("raw", name, DERIVED_SQL_TYPES[kind], col.name, kind))
        return outs

    def key_columns_in_pii(self) -> list[str]:
        return [o.name for o in self.outputs() if o.zone == "pii" and o.kind == "pseudonym"]


@dataclass(frozen=True)
class Output:
    zone: Zone
    name: str
    sql_type: str
    source: str  # the contract column it is computed from
    kind: str  # "value", "pseudonym", "valid" or a derived kind


_SPACES = re.compile(r"\s+")


def normalize_header(text: str) -> str:
    """Header cells match ignoring case, surrounding and repeated spaces, ё/е and a BOM."""
    text = text.replace("\ufeff", "").strip().strip('"').lower().replace("ё", "е")
    return _SPACES.sub(" ", text)


def normalize_code(text: str) -> str:
    return normalize_header(text)


FILE_NAME = re.compile(
    r"^(?P<feed>[a-z_]+?)_(?P<date>\d{8})(?:_(?P<seq>\d{1,4}))?\.(?P<ext>[A-Za-z0-9]+)$"
)


def _load_feeds() -> dict[str, Feed]:
    from ingestion.contracts import (
        accounts,
        final_marks,
        marks,
        movements,
        organizations,
        students,
    )

    feeds = [
        organizations.FEED,
        students.FEED,
        movements.FEED,
        marks.FEED,
        final_marks.FEED,
        accounts.FEED,
    ]
    return {f.name: f for f in sorted(feeds, key=lambda f: f.order)}


FEEDS: dict[str, Feed] = {}


def feeds() -> dict[str, Feed]:
    if not FEEDS:
        FEEDS.update(_load_feeds())
    return FEEDS


def get_feed(name: str) -> Feed | None:
    return feeds().get(name)


__all__ = [
    "FILE_NAME",
    "Column",
    "Feed",
    "Output",
    "Ref",
    "feeds",
    "get_feed",
    "normalize_code",
    "normalize_header",
]
