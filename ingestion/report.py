"""Progress bar and summary table of a load, for people (the CLI); `--json` skips both."""

from __future__ import annotations

import json

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from ingestion.loader import FileResult
from ingestion.loader import Progress as LoadProgress


class RichProgress(LoadProgress):
    """One bar per file (bytes read) with the rows and rows/s so far."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self.bar = Progress(
            TextColumn("{task.description:<32}"),
            BarColumn(),
            TextColumn("{task.fields[rows]:>11,} rows"),
            TextColumn("{task.fields[rate]:>9,.0f} rows/s"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self):
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def start(self, file: str, total_bytes: int) -> None:
        self.tasks[file] = self.bar.add_task(file, total=max(total_bytes, 1), rows=0, rate=0.0)

    def update(self, file: str, rows: int, bytes_done: int) -> None:
        task = self.tasks.get(file)
        if task is None:
            return
        elapsed = self.bar.tasks[task].elapsed or 0.0
        rate = rows / elapsed if elapsed else 0.0
        self.bar.update(task, completed=bytes_done, rows=rows, rate=rate)

    def finish(self, result: FileResult) -> None:
        task = self.tasks.get(result.file)
        if task is not None:
            total = self.bar.tasks[task].total or 1
            self.bar.update(
                task, completed=total, rows=result.rows_read, rate=result.rows_per_second
            )
        if result.status == "failed":
            self.console.print(f"[red]refused[/red] {result.message}")
        elif result.status == "skipped":
            self.console.print(f"[yellow]skipped[/yellow] {result.file}: {result.message}")
        for w in result.warnings:
            self.console.print(f"[yellow]warning[/yellow] {result.file}: {w}")


def summary_table(results: list[FileResult]) -> Table:
    table = Table(title="Load summary")
    for name, justify in (
        ("file", "left"),
        ("status", "left"),
        ("read", "right"),
        ("loaded", "right"),
        ("rejected", "right"),
        ("flagged", "right"),
        ("orphan", "right"),
        ("seconds", "right"),
        ("rows/s", "right"),
    ):
        table.add_column(name, justify=justify)
    for r in results:
        colour = {"loaded": "green", "skipped": "yellow", "failed": "red"}[r.status]
        table.add_row(
            r.file,
            f"[{colour}]{r.status}[/{colour}]",
            f"{r.rows_read:,}",
            f"{r.rows_loaded:,}",
            f"{r.rows_rejected:,}",
            f"{r.rows_flagged:,}",
            f"{r.rows_orphan:,}",
            f"{r.seconds:.2f}",
            f"{r.rows_per_second:,.0f}",
        )
    return table


def results_json(results: list[FileResult]) -> str:
    return json.dumps([r.as_dict() for r in results], ensure_ascii=False, indent=2)
