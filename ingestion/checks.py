"""Value checks and conversions, one per column type.

`converter(column)` returns a function from a delivered value (a string, already escaped for
COPY's text format) to either a tuple of output values (one per warehouse column the contract
column feeds, see `Feed.outputs`), a `Reject` (the row goes to quarantine) or a `Flag` (the row
loads with the outputs given and a flag). Outputs are COPY text; an empty string is null.

The loader calls a converter once per distinct value and caches the result, so the checks
can be plain Python without costing time per row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from ingestion.contracts import Column, normalize_code

NULL = ""  # COPY runs with (null ''): an empty field is null
# the time zone of the sources' local times (a load's session reads them in it)
SOURCE_TIMEZONE = "Europe/Moscow"

# Reason codes of a rejected row (quarantine) and of a flagged value.
MISSING_VALUE = "missing_value"
INVALID_DATE = "invalid_date"
INVALID_CODE = "invalid_code"
INVALID_NUMBER = "invalid_number"
INVALID_FORMAT = "invalid_format"
INVALID_CHECKSUM = "invalid_checksum"
DUPLICATE_KEY = "duplicate_key"
FIELD_COUNT = "field_count"
TRUNCATED = "truncated"
INVALID_JSON = "invalid_json"
INVALID_QUOTING = "invalid_quoting"

REASONS = {
    MISSING_VALUE: "a required field is empty",
    INVALID_DATE: "not a real date or timestamp (e.g. 31.02.2025), or not in a known format",
    INVALID_CODE: "a value outside its code list or range (a mark of 6, an unknown event type)",
    INVALID_NUMBER: "not a whole number",
    INVALID_FORMAT: "wrong shape (OKTMO, KPP, school year, SNILS/INN/OGRN digits)",
    INVALID_CHECKSUM: "SNILS, INN or OGRN check digit wrong (flag only: the value is kept)",
    DUPLICATE_KEY: "the same key earlier in the same file (the first line wins)",
    FIELD_COUNT: "the line has more or fewer fields than the header",
    TRUNCATED: "the file ends in the middle of this line",
    INVALID_JSON: "the line is not a JSON object",
    INVALID_QUOTING: "a quoted field never closes",
}


@dataclass(frozen=True, slots=True)
class Reject:
    code: str


@dataclass(frozen=True, slots=True)
class Flag:
    out: tuple[str, ...]
    code: str


Result = tuple[str, ...] | Reject | Flag

_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_YMD = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_TS = re.compile(
    r"(?P<date>\d{1,2}\.\d{1,2}\.\d{4}|\d{4}-\d{1,2}-\d{1,2})[ T]"
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d{1,6})?)?"
)
_DIGITS = re.compile(r"\d+")
_KPP = re.compile(r"\d{4}[0-9A-Z]{2}\d{3}")
_SNILS = re.compile(r"(\d{3})-?(\d{3})-?(\d{3})[ -]?(\d{2})")
_SCHOOL_YEAR = re.compile(r"(\d{4})\s*/\s*(\d{4})")
MIN_YEAR, MAX_YEAR = 1900, 2100


def parse_date(text: str) -> dt.date | None:
    """`ДД.ММ.ГГГГ` or `ГГГГ-ММ-ДД`; None for anything else or an impossible date."""
    m = _DMY.fullmatch(text)
    if m:
        day, month, year = int(m[1]), int(m[2]), int(m[3])
    else:
        m = _YMD.fullmatch(text)
        if not m:
            return None
        year, month, day = int(m[1]), int(m[2]), int(m[3])
    if not MIN_YEAR <= year <= MAX_YEAR:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def parse_timestamp(text: str) -> str | None:
    m = _TS.fullmatch(text)
    if not m:
        return None
    day = parse_date(m["date"])
    hour, minute, second = int(m["h"]), int(m["m"]), int(m["s"] or 0)
    if day is None or hour > 23 or minute > 59 or second > 59:
        return None
    return f"{day.isoformat()} {hour:02d}:{minute:02d}:{second:02d}"


def inn_valid(digits: str) -> bool:
    d = [int(c) for c in digits]

    def check(weights: tuple[int, ...]) -> int:
        return sum(w * x for w, x in zip(weights, d, strict=False)) % 11 % 10

    if len(d) == 10:
        return check((2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[9]
    if len(d) == 12:
        return (
            check((7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[10]
            and check((3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)) == d[11]
        )
    return False


def ogrn_valid(digits: str) -> bool:
    if len(digits) == 13:
        return int(digits[:12]) % 11 % 10 == int(digits[12])
    if len(digits) == 15:
        return int(digits[:14]) % 13 % 10 == int(digits[14])
    return False


def snils_check_digits(nine: str) -> int:
    total = sum(int(c) * (9 - i) for i, c in enumerate(nine))
    while total > 101:
        total %= 101
    return 0 if total in (100, 101) else total


def snils_valid(digits: str) -> bool:
    if len(digits) != 11:
        return False
    if int(digits[:9]) <= 1001998:  # numbers up to 001-001-998 carry no check digits
        return True
    return snils_check_digits(digits[:9]) == int(digits[9:])


def format_snils(digits: str) -> str:
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:9]} {digits[9:]}"


def _unescape(text: str) -> str:
    """Undo COPY text escaping (only values containing a backslash need it)."""
    if "\\" not in text:
        return text
    out, i = [], 0
    table = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in table:
            out.append(table[text[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def _derive(kind: str, value: str | None, valid: bool | None) -> str:
    if kind == "year":
        if not value:
            return NULL
        return value[-4:] if "." in value else value[:4]
    if kind == "present":
        return "t" if value else "f"
    if kind == "valid":
        return NULL if valid is None else ("t" if valid else "f")
    if kind == "citizenship_group":
        if value is None:
            return "stateless"
        return "russia" if value == "643" else "foreign"
    raise ValueError(kind)


def converter(col: Column, pseudonymize: Callable[[str], str] | None, in_pii: bool) -> Callable:
    """The conversion function of one contract column (see the module docstring)."""
    derived = [kind for _name, kind in col.derived]

    def pack(value: str | None, valid: bool | None = None) -> tuple[str, ...]:
        out = [NULL if value is None else value]
        if col.has_checksum:
            out.append(NULL if valid is None else ("t" if valid else "f"))
        out.extend(_derive(kind, value, valid) for kind in derived)
        return tuple(out)

    empty_null = pack(None)
    if col.pseudonym:
        if pseudonymize is None:
            raise ValueError("a pseudonymizing column needs the key")

        def convert_id(raw: str) -> Result:
            value = raw.strip()
            if not value:
                if col.required:
                    return Reject(MISSING_VALUE)
                return (NULL, NULL, NULL) if in_pii else (NULL,)
            key = pseudonymize(_unescape(value))
            return (key, key, value) if in_pii else (key,)

        return convert_id

    check = _CHECKS[col.type]

    def convert(raw: str) -> Result:
        value = raw.strip()
        if not value:
            if col.required:
                return Reject(MISSING_VALUE)
            return empty_null
        ok, code, out_value, valid = check(col, value)
        if ok:
            return pack(out_value, valid)
        if out_value is not None:  # kept, flagged (a checksum or shape problem)
            return Flag(pack(out_value, valid), code)
        if col.required:
            return Reject(code)
        return Flag(empty_null, code)

    return convert


# Each check: (column, stripped non-empty value) -> (ok, reason, output value, checksum valid).
# When not ok, a non-None output value means "keep it and flag"; None means "reject or null".
CheckResult = tuple[bool, str | None, str | None, bool | None]


def _text(col: Column, v: str) -> CheckResult:
    return True, None, v, None


def _date(col: Column, v: str) -> CheckResult:
    d = parse_date(v)
    if d is None:
        return False, INVALID_DATE, None, None
    # sent on as delivered when PostgreSQL reads it the same (DateStyle ISO, DMY): no rewrite
    return True, None, v if len(v) == 10 else d.isoformat(), None


def _timestamp(col: Column, v: str) -> CheckResult:
    ts = parse_timestamp(v)
    return (True, None, ts, None) if ts else (False, INVALID_DATE, None, None)


def _iso_timestamp(col: Column, v: str) -> CheckResult:
    try:
        ts = dt.datetime.fromisoformat(v)
    except ValueError:
        return False, INVALID_DATE, None, None
    if not MIN_YEAR <= ts.year <= MAX_YEAR:
        return False, INVALID_DATE, None, None
    return True, None, ts.isoformat(sep=" "), None


def _int(col: Column, v: str) -> CheckResult:
    if not _DIGITS.fullmatch(v.lstrip("-")) or len(v) > 9:
        return False, INVALID_NUMBER, None, None
    n = int(v)
    if col.bounds and not col.bounds[0] <= n <= col.bounds[1]:
        return False, INVALID_CODE, None, None
    return True, None, str(n), None


_BOOLS = {"да": "t", "нет": "f", "true": "t", "false": "f", "1": "t", "0": "f"}


def _bool(col: Column, v: str) -> CheckResult:
    b = _BOOLS.get(v.lower())
    return (True, None, b, None) if b else (False, INVALID_CODE, None, None)


_CODE_MAPS: dict[tuple[str, ...], dict[str, str]] = {}


def _code(col: Column, v: str) -> CheckResult:
    table = _CODE_MAPS.get(col.codes)
    if table is None:
        table = _CODE_MAPS.setdefault(col.codes, {normalize_code(c): c for c in col.codes})
    canonical = table.get(normalize_code(v))
    return (True, None, canonical, None) if canonical else (False, INVALID_CODE, None, None)


def _digits_only(v: str) -> str:
    return v.replace(" ", "").replace("-", "")


def _inn(col: Column, v: str) -> CheckResult:
    d = _digits_only(v)
    if not d.isdigit() or len(d) not in (10, 12):
        return False, INVALID_FORMAT, v, False
    ok = inn_valid(d)
    return (True, None, d, True) if ok else (False, INVALID_CHECKSUM, d, False)


def _ogrn(col: Column, v: str) -> CheckResult:
    d = _digits_only(v)
    if not d.isdigit() or len(d) not in (13, 15):
        return False, INVALID_FORMAT, v, False
    ok = ogrn_valid(d)
    return (True, None, d, True) if ok else (False, INVALID_CHECKSUM, d, False)


def _snils(col: Column, v: str) -> CheckResult:
    m = _SNILS.fullmatch(v)
    if not m:
        return False, INVALID_FORMAT, v, False
    d = "".join(m.groups())
    ok = snils_valid(d)
    return (
        (True, None, format_snils(d), True)
        if ok
        else (
            False,
            INVALID_CHECKSUM,
            format_snils(d),
            False,
        )
    )


def _kpp(col: Column, v: str) -> CheckResult:
    return (True, None, v, None) if _KPP.fullmatch(v) else (False, INVALID_FORMAT, None, None)


def _oktmo(col: Column, v: str) -> CheckResult:
    ok = v.isdigit() and len(v) in (8, 11)
    return (True, None, v, None) if ok else (False, INVALID_FORMAT, None, None)


def _oksm(col: Column, v: str) -> CheckResult:
    ok = v.isdigit() and len(v) <= 3
    return (True, None, v.zfill(3), None) if ok else (False, INVALID_CODE, None, None)


def _school_year(col: Column, v: str) -> CheckResult:
    m = _SCHOOL_YEAR.fullmatch(v)
    if m and int(m[2]) == int(m[1]) + 1 and MIN_YEAR <= int(m[1]) <= MAX_YEAR:
        return True, None, f"{m[1]}/{m[2]}", None
    return False, INVALID_FORMAT, None, None


_CHECKS: dict[str, Callable[[Column, str], CheckResult]] = {
    "text": _text,
    "id": _text,
    "code": _code,
    "date": _date,
    "timestamp": _timestamp,
    "iso_timestamp": _iso_timestamp,
    "int": _int,
    "bool": _bool,
    "inn": _inn,
    "ogrn": _ogrn,
    "kpp": _kpp,
    "snils": _snils,
    "oktmo": _oktmo,
    "oksm": _oksm,
    "school_year": _school_year,
}
