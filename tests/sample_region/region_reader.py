"""A small, independent reader of the feed contract for the generator's tests (it shares no
code with the project's ingestion)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sample_region.generate import CORRECTNESS_PROFILE

NAME = re.compile(
    r"^(?P<feed>[a-z_]+)_(?P<date>\d{8})(?:_(?P<seq>\d{2}))?\.(?P<ext>csv|xlsx|jsonl)$"
)
FEEDS = ("organizations", "students", "movements", "marks", "final_marks", "accounts")
RU_DATE = re.compile(r"^(\d{2})\.(\d{2})\.(\d{4})$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
TIMESTAMP = re.compile(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}(:\d{2})?$")


@dataclass(frozen=True)
class FeedFile:
    path: Path
    feed: str
    extract: date
    seq: int
    ext: str


def feed_files(folder: Path, feed: str | None = None) -> list[FeedFile]:
    """The landing folder's feed files in delivery order (extract date, then part)."""
    out = []
    for p in folder.iterdir():
        m = NAME.match(p.name)
        if not m or m["feed"] not in FEEDS:
            continue
        if feed and m["feed"] != feed:
            continue
        d = m["date"]
        out.append(
            FeedFile(
                p,
                m["feed"],
                date(int(d[:4]), int(d[4:6]), int(d[6:])),
                int(m["seq"] or 1),
                m["ext"],
            )
        )
    return sorted(out, key=lambda f: (f.extract, f.seq, f.feed))


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 with BOM, UTF-8, else Windows-1251."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("cp1251"), "cp1251"


def norm(header: str) -> str:
    return header.strip().lower().replace("ё", "е")


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """(normalized header, rows) of a CSV extract."""
    text, _ = decode(path.read_bytes())
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    header = [norm(h) for h in rows[0]]
    return header, rows[1:]


def records(path: Path) -> Iterator[dict[str, str]]:
    header, rows = read_csv(path)
    for row in rows:
        yield dict(zip(header, row, strict=False))


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def parse_date(value: str) -> date:
    m = RU_DATE.match(value)
    if m:
        return date(int(m[3]), int(m[2]), int(m[1]))
    m = ISO_DATE.match(value)
    if m:
        return date(int(m[1]), int(m[2]), int(m[3]))
    raise ValueError(f"not a date: {value!r}")


def snils_ok(value: str) -> bool:
    digits = value.replace("-", "").replace(" ", "")
    if not re.fullmatch(r"\d{3}-\d{3}-\d{3} \d{2}", value):
        return False
    total = sum(int(d) * (9 - i) for i, d in enumerate(digits[:9]))
    check = total if total < 100 else 0 if total in (100, 101) else total % 101 % 100
    return f"{check:02d}" == digits[9:]


def inn_ok(value: str) -> bool:
    weights = (2, 4, 10, 3, 5, 9, 4, 6, 8)
    if not re.fullmatch(r"\d{10}", value):
        return False
    return sum(int(d) * w for d, w in zip(value, weights, strict=False)) % 11 % 10 == int(value[9])


def ogrn_ok(value: str) -> bool:
    return bool(re.fullmatch(r"\d{13}", value)) and int(value[:12]) % 11 % 10 == int(value[12])


#: A small, fast region for determinism and defect tests.
SMALL = {"students": 400, "years": 1, "marks_per_year": 20, "until": date(2026, 11, 27)}

#: The correctness region's parameters with a part size that splits it into several parts.
PARTED = {**CORRECTNESS_PROFILE, "part_students": 400}
