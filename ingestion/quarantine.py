"""Replaying quarantined rows after a contract or data fix.

`replay()` takes the open quarantine rows of every loaded file (or of one feed / one load),
checks them again with the current contract, and loads those that now pass into the raw table
under their original load (same load ID, extract date and line number, so "newest version wins"
still orders them by the file they came in). Each replay is logged in `raw.load_log` with
kind `replay`; a replayed row's quarantine entry gets `resolved_load_id`. Rows still failing
stay open with their reasons updated. Rows rejected as duplicate keys or cut-off lines are not
replayed: the first line of a key wins, and a cut-off line is only whole in a re-sent file.
"""

from __future__ import annotations

import os
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingestion import schema
from ingestion.checks import DUPLICATE_KEY, SOURCE_TIMEZONE, TRUNCATED
from ingestion.contracts import get_feed
from ingestion.loader import (
    Candidate,
    FileLoad,
    KnownKeys,
    _connect,
    _processor,
    open_reader,
)
from ingestion.pseudonym import Pseudonymizer, load_secret

NOT_REPLAYED = (DUPLICATE_KEY, TRUNCATED)


@dataclass
class ReplayResult:
    load_id: int  # the replay's own load-log row
    source_load_id: int
    file: str
    feed: str
    retried: int = 0
    loaded: int = 0
    still_rejected: int = 0
    reasons: dict[str, int] = field(default_factory=dict)


def replay(
    *, feed: str | None = None, load_id: int | None = None, url: str | None = None
) -> list[ReplayResult]:
    pseudonymize = Pseudonymizer(load_secret())
    results: list[ReplayResult] = []
    with _connect(url) as conn, KnownKeys(url) as known:
        schema.apply(conn)
        conn.commit()
        loads = conn.execute(
            "select load_id, feed, file_name, extract_date, file_seq, header from raw.load_log "
            "where kind = 'file' and status = 'loaded' and (%s::text is null or feed = %s) "
            "and (%s::bigint is null or load_id = %s) order by extract_date, load_id",
            (feed, feed, load_id, load_id),
        ).fetchall()
        for src_id, feed_name, file_name, extract_date, seq, header in loads:
            f = get_feed(feed_name)
            if f is None:
                continue
            rows = conn.execute(
                f"select quarantine_id, line_number, original_line from {f.quarantine_table} "  # noqa: S608
                "where load_id = %s and resolved_load_id is null and original_line is not null "
                "and not (reasons && %s::text[]) order by line_number",
                (src_id, list(NOT_REPLAYED)),
            ).fetchall()
            if not rows:
                continue
            results.append(
                _replay_file(
                    conn, f, src_id, file_name, extract_date, seq, header, rows, pseudonymize, known
                )
            )
            conn.commit()
    return results


def _replay_file(
    conn, feed, src_id, file_name, extract_date, seq, header, rows, pseudonymize, known
):
    t0 = time.perf_counter()
    ext = "jsonl" if "jsonl" in feed.formats else "csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{feed.name}_{extract_date:%Y%m%d}.{ext}"
        starts: list[int] = []  # physical line in the temp file -> original line number
        line = 1
        with open(path, "w", encoding="utf-8", newline="") as out:
            if ext == "csv":
                out.write(";".join(header or [c.header for c in feed.columns]) + "\n")
                line = 2
            for _qid, _ln, text in rows:
                starts.append(line)
                out.write(text + "\n")
                line += text.count("\n") + 1
        original = {start: rows[i][1] for i, start in enumerate(starts)}
        by_line = {ln: qid for qid, ln, _t in rows}
        with conn.transaction():
            conn.execute(f"set local timezone = '{SOURCE_TIMEZONE}'")
            conn.execute("set local datestyle = 'ISO, DMY'")
            replay_id = conn.execute(
                "insert into raw.load_log (kind, feed, file_name, extract_date, file_seq, status, "
                "replay_of, loader) values ('replay', %s, %s, %s, %s, 'loading', %s, %s) "
                "returning load_id",
                (
                    feed.name,
                    f"replay of {file_name}",
                    extract_date,
                    seq,
                    [src_id],
                    f"{socket.gethostname()}:{os.getpid()}",
                ),
            ).fetchone()[0]
            cand = Candidate(path, feed, extract_date, seq, ext)
            reader = open_reader(cand)
            try:
                job = _ReplayLoad(
                    conn, feed, src_id, extract_date, file_name, pseudonymize, all_suspect=True
                )
                prefix = f"{src_id}\t{extract_date.isoformat()}"
                proc = _processor(feed, reader, pseudonymize, known, prefix)
                job.run(_Renumbered(reader, original), proc)
            finally:
                reader.close()
            orphans_open = job.finish_keys_and_orphans(replay_id)
            del orphans_open
            still = {
                by_line[ln]: (reasons, problems) for ln, reasons, problems in job.rejected_lines
            }
            resolved = [qid for qid, _ln, _t in rows if qid not in still]
            table = feed.quarantine_table
            if resolved:
                conn.execute(
                    f"update {table} set resolved_load_id = %s, resolved_at = now() "  # noqa: S608
                    "where quarantine_id = any(%s)",
                    (replay_id, resolved),
                )
            reason_counts: dict[str, int] = {}
            for qid, (reasons, problems) in still.items():
                for r in reasons:
                    reason_counts[r] = reason_counts.get(r, 0) + 1
                conn.execute(
                    f"update {table} set reasons = %s, problems = %s "  # noqa: S608
                    "where quarantine_id = %s",
                    (list(reasons), list(problems), qid),
                )
            conn.execute(
                "update raw.load_log set rows_replayed = rows_replayed + %s where load_id = %s",
                (len(resolved), src_id),
            )
            conn.execute(
                "update raw.load_log set status = 'loaded', rows_read = %s, rows_loaded = %s, "
                "rows_rejected = %s, finished_at = now(), seconds = %s where load_id = %s",
                (
                    len(rows),
                    len(resolved),
                    len(still),
                    round(time.perf_counter() - t0, 3),
                    replay_id,
                ),
            )
    return ReplayResult(
        replay_id, src_id, file_name, feed.name, len(rows), len(resolved), len(still), reason_counts
    )


class _ReplayLoad(FileLoad):
    """A FileLoad whose rejects update the existing quarantine rows instead of adding rows."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rejected_lines: list[tuple[int, tuple[str, ...], tuple[str, ...]]] = []

    def _quarantine(self, line_no, text, reasons, problems) -> None:
        self.rejected_lines.append((line_no, tuple(reasons), tuple(problems)))


class _Renumbered:
    """A reader whose records carry their line numbers in the original file."""

    def __init__(self, reader, original: dict[int, int]) -> None:
        self._reader = reader
        self._original = original

    def position(self) -> int:
        return self._reader.position()

    def chunks(self):
        orig = self._original
        for chunk in self._reader.chunks():
            chunk.line_nos = [orig[n] for n in chunk.line_nos]
            chunk.rejects = [(orig[n], text, reasons) for n, text, reasons in chunk.rejects]
            yield chunk
