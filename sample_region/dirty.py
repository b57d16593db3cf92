"""Real-world defects injected with `--dirty RATE`, each recorded for the manifest.

Every problem of the feed contract's "What real files do" is injected at least once whenever the
rate is above zero; row-level defects also hit about RATE of the rows of each file. Rows that
the loader must reject are extra rows (copies with fresh IDs, or cut-off copies), so the
ground truth of the model stays what the warehouse should show once the bad rows are set aside.
Line numbers are physical lines of the file with the header as line 1.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date
from typing import TYPE_CHECKING

from sample_region.identifiers import break_check, make_guid
from sample_region.writers import HEADERS, Style, file_name

if TYPE_CHECKING:
    from sample_region.writers import Landing

#: kind -> (treatment, reason code, what it is)
KINDS: dict[str, tuple[str, str | None, str]] = {
    "encoding_cp1251": ("accept", None, "a file in Windows-1251"),
    "encoding_utf8_bom": ("accept", None, "a file in UTF-8 with BOM"),
    "header_capitals": ("accept", None, "the header row in capitals"),
    "trailing_empty_column": ("accept", None, "every line ends with an extra empty column"),
    "impossible_date_required": ("reject", "invalid_date", "`31.02.YYYY` in a required date"),
    "impossible_date_optional": ("flag", "invalid_date", "`31.02.YYYY` in `Дата приказа`"),
    "invalid_checksum_snils": ("flag", "invalid_checksum", "a SNILS with a wrong checksum"),
    "invalid_checksum_inn": ("flag", "invalid_checksum", "an INN with a wrong checksum"),
    "invalid_checksum_ogrn": ("flag", "invalid_checksum", "an OGRN with a wrong checksum"),
    "duplicate_key": ("reject", "duplicate_key", "the same key again later in one file"),
    "mark_out_of_scale": ("reject", "invalid_code", "a mark of `6`"),
    "unknown_event_type": ("reject", "invalid_code", "an unknown `Тип события`"),
    "orphan_student": ("orphan", None, "a movement before the student's registry record"),
    "transfer_not_arrived": ("accept", None, "a transfer the receiving school never enrols"),
    "truncated": ("reject", "truncated", "the file cut off in the middle of its last line"),
    "duplicate_file": ("skip_duplicate_file", None, "the same file sent twice, another name"),
    "empty_file": ("refuse_file", None, "an empty file"),
    "missing_required_column": ("refuse_file", None, "a required column missing"),
    "unknown_feed": ("refuse_file", None, "a file of a feed nobody knows"),
}
ROW_KINDS = {
    "organizations": ("invalid_checksum_inn", "invalid_checksum_ogrn", "duplicate_key"),
    "students": ("invalid_checksum_snils", "duplicate_key"),
    "movements": (
        "impossible_date_required",
        "impossible_date_optional",
        "unknown_event_type",
        "duplicate_key",
    ),
    "marks": ("mark_out_of_scale", "impossible_date_required", "duplicate_key"),
    "final_marks": ("mark_out_of_scale", "duplicate_key"),
    "accounts": ("duplicate_key",),
}
FILE_KINDS = ("header_capitals", "trailing_empty_column")
EXTRA_FILE_KINDS = ("duplicate_file", "empty_file", "missing_required_column", "unknown_feed")


def _split(line: str) -> list[str]:
    return next(csv.reader([line], delimiter=";"))


class Injector:
    """Mutates files on their way to disk and keeps the list of defects."""

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.rng = random.Random(f"{seed}:dirty")
        self.defects: list[dict[str, object]] = []
        self.must = {k for k in KINDS if k not in ("orphan_student", "transfer_not_arrived")}
        self.truncated_last = False
        self._decoy = 9_000_000_000

    def _defect(self, name: str, line: int | None, kind: str, feed: str) -> None:
        treatment, reason, _ = KINDS[kind]
        self.defects.append(
            {
                "file": name,
                "line": line,
                "feed": feed,
                "kind": kind,
                "treatment": treatment,
                "reason": reason,
            }
        )
        self.must.discard(kind)

    def adjust_style(self, style: Style) -> Style:
        """Make sure both non-UTF-8 encodings occur (they do in clean output too)."""
        for kind, enc in (("encoding_cp1251", "cp1251"), ("encoding_utf8_bom", "utf-8-sig")):
            if kind in self.must and style.encoding != enc and self.rng.random() < 0.5:
                return Style(enc, style.newline, style.iso_dates, style.seconds, style.quote_all)
        return style

    def _count(self, n: int) -> int:
        exact = n * self.rate
        k = int(exact)
        return k + (1 if self.rng.random() < exact - k else 0)

    # -- CSV --------------------------------------------------------------------------------
    def csv(
        self,
        feed: str,
        name: str,
        d: date,
        header: list[str],
        lines: list[str],
        style: Style,
        tags: dict[int, str],
    ) -> tuple[str, list[str]]:
        rng = self.rng
        self.truncated_last = False
        n = len(lines)
        replaced: dict[int, tuple[str, str]] = {}  # index -> (new line, kind)
        inserts: list[tuple[int, str, str]] = []  # (insert before index, line, kind)
        kinds = ROW_KINDS.get(feed, ())
        todo = [rng.choice(kinds) for _ in range(self._count(n))] if n and kinds else []
        todo += sorted(k for k in self.must if k in kinds and n)
        for kind in todo:
            i = rng.randrange(n)
            self._row_defect(feed, kind, i, lines, style, d, replaced, inserts)
        # file-level defects
        if feed == "organizations" or feed == "students":
            file_kinds = [k for k in FILE_KINDS if k in self.must]
        else:
            file_kinds = [k for k in FILE_KINDS if k in self.must or rng.random() < self.rate]
        head_fields = list(header)
        head = style.join(head_fields)
        if "header_capitals" in file_kinds:
            head = style.join([h.upper() for h in head_fields])
            self._defect(name, 1, "header_capitals", feed)
        body: list[str] = []
        kinds_at: dict[int, str] = {}
        inserts.sort(key=lambda t: t[0])
        j = 0
        for i in range(n + 1):
            while j < len(inserts) and inserts[j][0] <= i:
                kinds_at[len(body)] = inserts[j][2]
                body.append(inserts[j][1])
                j += 1
            if i == n:
                break
            if i in replaced:
                kinds_at[len(body)] = replaced[i][1]
                body.append(replaced[i][0])
            else:
                if i in tags:
                    kinds_at[len(body)] = tags[i]
                body.append(lines[i])
        trailing = "trailing_empty_column" in file_kinds
        if trailing:
            head += ";"
            body = [line + ";" for line in body]
            self._defect(name, 1, "trailing_empty_column", feed)
        if (
            body
            and feed in ("movements", "marks")
            and ("truncated" in self.must or rng.random() < self.rate)
        ):
            source = body[rng.randrange(len(body))]
            fields = _split(source.rstrip(";") if trailing else source)
            fields[0] = self._fresh_id(feed)
            full = style.join(fields)
            cut = full[: max(1, full.index(";", full.index(";") + 1) + 3)]
            kinds_at[len(body)] = "truncated"
            body.append(cut)
            self.truncated_last = True
        for pos in sorted(kinds_at):
            self._defect(name, pos + 2, kinds_at[pos], feed)
        if style.encoding == "cp1251" and "encoding_cp1251" in self.must:
            self._defect(name, None, "encoding_cp1251", feed)
        if style.encoding == "utf-8-sig" and "encoding_utf8_bom" in self.must:
            self._defect(name, None, "encoding_utf8_bom", feed)
        return head, body

    def _fresh_id(self, feed: str) -> str:
        self._decoy += 1
        if feed == "movements":
            return make_guid(self.rng)
        return str(self._decoy)

    def _bad_date(self, d: date, style: Style) -> str:
        return f"{d.year}-02-31" if style.iso_dates else f"31.02.{d.year}"

    def _row_defect(
        self,
        feed: str,
        kind: str,
        i: int,
        lines: list[str],
        style: Style,
        d: date,
        replaced: dict[int, tuple[str, str]],
        inserts: list[tuple[int, str, str]],
    ) -> None:
        if i in replaced:
            return
        fields = _split(lines[i])
        if kind == "duplicate_key":
            at = self.rng.randint(i + 1, len(lines))
            inserts.append((at, lines[i], kind))
            return
        if kind.startswith("invalid_checksum"):
            col = {"snils": 1, "inn": 1, "ogrn": 3}[kind.rsplit("_", 1)[1]]
            if not fields[col]:
                return
            fields[col] = break_check(fields[col])
            replaced[i] = (style.join(fields), kind)
            return
        if kind == "impossible_date_optional":
            fields[14] = self._bad_date(d, style)
            replaced[i] = (style.join(fields), kind)
            return
        # the remaining kinds are extra rows (fresh IDs), rejected by the loader
        if feed == "final_marks":
            fields[4] = "Астрономия"
            fields[5] = "6"
        else:
            fields[0] = self._fresh_id(feed)
            if kind == "mark_out_of_scale":
                fields[6] = "6"
            elif kind == "impossible_date_required":
                fields[4 if feed == "movements" else 5] = self._bad_date(d, style)
            elif kind == "unknown_event_type":
                fields[3] = "Перемещение"
        inserts.append((i + 1, style.join(fields), kind))

    # -- other formats ----------------------------------------------------------------------
    def jsonl(self, feed: str, name: str, lines: list[str]) -> list[str]:
        self.truncated_last = False
        if not lines:
            return lines
        body = list(lines)
        count = self._count(len(lines)) + (1 if "duplicate_key" in self.must else 0)
        for _ in range(count):
            i = self.rng.randrange(len(lines))
            at = self.rng.randint(i + 1, len(body))
            body.insert(at, lines[i])
        # find the duplicates' positions: the second occurrence of a key
        seen: set[str] = set()
        for pos, line in enumerate(body):
            key = json.loads(line)["account_id"]
            if key in seen:
                self._defect(name, pos + 1, "duplicate_key", feed)
            seen.add(key)
        return body

    def xlsx_rows(self, feed: str, name: str, rows: list[list[str]]) -> list[list[str]]:
        out = [list(r) for r in rows]
        for kind in ("invalid_checksum_inn", "invalid_checksum_ogrn"):
            if kind in self.must or self.rng.random() < self.rate:
                i = self.rng.randrange(len(out))
                col = 1 if kind.endswith("inn") else 3
                out[i][col] = break_check(out[i][col])
                self._defect(name, i + 2, kind, feed)
        return out

    def after_write(self, landing: Landing, feed: str, name: str, d: date) -> None:
        """Whole-file defects, once, beside the first movements file after the first day."""
        if feed != "movements" or not any(k in self.must for k in EXTRA_FILE_KINDS):
            return
        if self.truncated_last:
            return
        data = (landing.out / name).read_bytes()
        if not data:
            return
        if "duplicate_file" in self.must:
            copy = file_name(feed, d, 98, "csv")
            landing.raw(copy, feed, d, data)
            self._defect(copy, None, "duplicate_file", feed)
        if "empty_file" in self.must:
            empty = file_name("final_marks", d, 97, "csv")
            landing.raw(empty, "final_marks", d, b"")
            self._defect(empty, None, "empty_file", "final_marks")
        if "missing_required_column" in self.must:
            header = list(HEADERS["movements"])[1:]
            row = [make_guid(self.rng), "", "Зачисление", f"{d:%d.%m.%Y}"] + [""] * 11
            text = ";".join(header) + "\r\n" + ";".join(row[: len(header)]) + "\r\n"
            bad = file_name("movements", d, 96, "csv")
            landing.raw(bad, "movements", d, text.encode("utf-8"))
            self._defect(bad, None, "missing_required_column", "movements")
        if "unknown_feed" in self.must:
            text = "ID обучающегося;Дата;Отметка посещения\n" + f"{make_guid(self.rng)};{d};н\n"
            unknown = file_name("attendance", d, 1, "csv")
            landing.raw(unknown, "attendance", d, text.encode("utf-8"))
            self._defect(unknown, None, "unknown_feed", "attendance")
