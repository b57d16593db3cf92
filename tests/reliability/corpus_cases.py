"""The bad-input corpus: one broken file per case under `corpus/`, with its expected outcome in
`<case>.expect.yaml` beside it.

Sidecar keys:

    about        what is wrong with the file
    as           its name in the landing folder (the name carries the feed and the date)
    generated    true: the bytes come from `corpus/generated.py` (workbooks, huge lines)
    outcome      loaded (good rows load, bad ones are quarantined) or refused (nothing loads)
    -- loaded --
    rows_read, rows_loaded, blank_lines, orphans
    quarantined  {line: [reason codes]}; line 1 is a CSV header, or a JSON Lines file's first object
    flags        {line: [column:reason]} of loaded rows
    values       {line: {column: value as text, or null}} of loaded rows
    value_lengths {line: {column: characters}}
    warnings     fragments of the load's warnings
    encoding     the encoding detected
    multiline_records  true: a quoted field spans lines (line numbers are those of record starts)
    also_as      the same bytes again under this name: expected to be skipped
    -- refused --
    reason       the refusal's reason code
    message      a fragment of the message
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import yaml

CORPUS = Path(__file__).resolve().parent / "corpus"
SUFFIX = ".expect.yaml"


def _builders() -> dict:
    spec = importlib.util.spec_from_file_location("corpus_generated", CORPUS / "generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.BUILDERS


@dataclass(frozen=True)
class Case:
    name: str
    expect: dict

    @property
    def outcome(self) -> str:
        return self.expect["outcome"]

    @property
    def feed(self) -> str:
        return self.expect["as"].rsplit("_", 1)[0]

    @property
    def row_level(self) -> bool:
        """The file loads and at least one of its rows is quarantined or flagged."""
        return self.outcome == "loaded" and bool(
            self.expect.get("quarantined") or self.expect.get("flags")
        )

    def data(self) -> bytes:
        if self.expect.get("generated"):
            return _builders()[self.name]()
        files = [p for p in CORPUS.glob(f"{self.name}.*") if not p.name.endswith(SUFFIX)]
        assert len(files) == 1, f"{self.name}: expected one data file, found {files}"
        return files[0].read_bytes()


def cases() -> list[Case]:
    out = []
    for sidecar in sorted(CORPUS.glob(f"*{SUFFIX}")):
        expect = yaml.safe_load(sidecar.read_text(encoding="utf-8"))
        out.append(Case(sidecar.name.removesuffix(SUFFIX), expect))
    return out
