"""Control ratios (контрольные соотношения) of a form, in the notation of the definitions.

- `each_row: "c3 = sum(c4:c14)"`: checked in every row (or the rows listed), `cN` = column N;
- `each_column: "r01 = r02 + r03"`: checked in every column (or the columns listed);
- `check: "r01c3 <= s1.r04c3"`: one check; `s1.` names another section.

Operators: `=`, `<=`, `>=`, `<`, `>`, `+`, `-`, `*`, `/`; `sum(a:b)` and `max(a:b)` over a range
of rows or columns in the form's order (`sum(r02:)` runs to the last row); `round(x, n)`.
A cell marked "x" counts as 0; a check touching an empty cell (a rate without a denominator)
is not applicable; nothing is ever adjusted to make a check pass.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass
from typing import Any

from forms.definition import Control, Section

CellKey = tuple[str, str, str]  # section, row, column
X = "x"

_REF = re.compile(r"(?:s([0-9]+)\.)?(r[0-9]+)?(c[0-9]+)?")
_RANGE = re.compile(r"\b(sum|max)\(\s*([rc])([0-9]+)\s*:\s*(?:[rc]([0-9]+))?\s*\)")
_TOKEN = re.compile(r"(?<![A-Za-z0-9_])(?:s[0-9]+\.)?(?:r[0-9]+c[0-9]+|r[0-9]+|c[0-9]+)(?![0-9])")


@dataclass(frozen=True)
class ControlResult:
    control_id: str
    text: str
    section: str
    instance: str  # "стр. 05", "гр. 4" or ""
    expression: str  # the rule with the cells' values
    cells: tuple[CellKey, ...]
    ok: bool | None  # None: not applicable (an empty cell)

    @property
    def cell_names(self) -> str:
        return ", ".join(cell_name(c) for c in self.cells)


class ControlViolation(Exception):
    """One or more control ratios do not hold: the form must not be released."""

    def __init__(self, form: str, violations: list[ControlResult]):
        self.violations = violations
        lines = [
            f"{v.control_id} ({v.text}) {v.instance}: {v.expression} [{v.cell_names}]"
            for v in violations
        ]
        super().__init__(f"{form}: control ratios violated:\n  " + "\n  ".join(lines))


def cell_name(key: CellKey) -> str:
    section, row, column = key
    return f"разд. {section} стр. {row} гр. {column}"


def _expand_ranges(expr: str, order: dict[str, list[str]]) -> str:
    def repl(m: re.Match[str]) -> str:
        func, kind, start, end = m.groups()
        codes = order["r" if kind == "r" else "c"]
        if end is None and start not in codes:
            return "0" if func == "sum" else "max(0)"  # an open range over no rows
        try:
            i = codes.index(start)
            j = codes.index(end) if end else len(codes) - 1
        except ValueError as exc:
            raise ValueError(f"range {m.group(0)!r}: {exc}") from None
        items = [f"{kind}{code}" for code in codes[i : j + 1]]
        if not items:
            return "0"
        joined = " + ".join(items) if func == "sum" else ", ".join(items)
        return f"({joined})" if func == "sum" else f"max({joined})"

    return _RANGE.sub(repl, expr)


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
}
_CMP = {
    ast.Eq: lambda a, b: abs(a - b) <= 1e-6,
    ast.LtE: lambda a, b: a <= b + 1e-6,
    ast.GtE: lambda a, b: a + 1e-6 >= b,
    ast.Lt: lambda a, b: a < b,
    ast.Gt: lambda a, b: a > b,
}


class _NotApplicable(Exception):
    pass


def _eval(node: ast.AST, values: list[Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _eval(node.body, values)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
        index = node.slice
        assert isinstance(index, ast.Constant)
        value = values[index.value]
        if value is None:
            raise _NotApplicable
        return 0 if value == X else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _eval(node.left, values), _eval(node.right, values)
        try:
            return _OPS[type(node.op)](left, right)
        except ZeroDivisionError:
            raise _NotApplicable from None
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.operand, values))
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _CMP:
        return _CMP[type(node.ops[0])](_eval(node.left, values), _eval(node.comparators[0], values))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        args = [_eval(a, values) for a in node.args]
        if node.func.id == "round":
            return round(args[0], int(args[1]) if len(args) > 1 else 0)
        if node.func.id == "max":
            return max(args) if len(args) > 1 else args[0]
    raise ValueError(f"unsupported expression: {ast.dump(node)}")


def _compile(
    expr: str, section: str, row: str | None, column: str | None
) -> tuple[ast.Expression, list[CellKey], list[CellKey], str]:
    """Replace each reference by `v[i]`; return the tree, all cells, the left side's cells and
    the python text (for messages)."""
    cells: list[CellKey] = []
    left_cells: list[CellKey] = []
    split = re.search(r"<=|>=|=|<|>", expr)
    boundary = split.start() if split else len(expr)

    def repl(m: re.Match[str]) -> str:
        ref = _REF.fullmatch(m.group(0))
        assert ref is not None
        sec, r, c = ref.groups()
        key = (sec or section, (r or "")[1:] or row, (c or "")[1:] or column)
        if key[1] is None or key[2] is None:
            raise ValueError(f"{m.group(0)!r} does not name a cell in {expr!r}")
        cells.append(key)  # type: ignore[arg-type]
        if m.start() < boundary:
            left_cells.append(key)  # type: ignore[arg-type]
        return f"v[{len(cells) - 1}]"

    text = _TOKEN.sub(repl, expr)
    text = re.sub(r"(?<![<>=!])=(?!=)", "==", text)
    return ast.parse(text, mode="eval"), cells, left_cells, text


def _instances(section: Section, control: Control, row_codes: list[str]) -> list[tuple]:
    col_codes = [c.code for c in section.columns]
    if control.kind == "each_row":
        rows = [r for r in row_codes if control.rows is None or r in control.rows]
        return [(r, None, f"стр. {r}") for r in rows]
    if control.kind == "each_column":
        cols = [c for c in col_codes if control.columns is None or c in control.columns]
        return [(None, c, f"гр. {c}") for c in cols]
    return [(None, None, "")]


def evaluate(
    sections: list[Section], row_codes: dict[str, list[str]], values: dict[CellKey, Any]
) -> list[ControlResult]:
    """Every instance of every control ratio of the built sections, with its result."""
    results: list[ControlResult] = []
    for section in sections:
        order = {"r": row_codes[section.code], "c": [c.code for c in section.columns]}
        for control in section.controls:
            expr = _expand_ranges(control.expression, order)
            for row, column, label in _instances(section, control, row_codes[section.code]):
                tree, cells, left, _ = _compile(expr, section.code, row, column)
                missing = [c for c in cells if c not in values]
                if missing:
                    # a cell of a section not built at this level (e.g. classes at municipality)
                    continue
                vals = [values[c] for c in cells]
                shown = expr
                for key, val in zip(cells, vals, strict=True):
                    del key
                    shown = _TOKEN.sub(lambda _m, v=val: _fmt(v), shown, count=1)
                if left and all(values[c] == X for c in left):
                    continue
                try:
                    ok: bool | None = bool(_eval(tree, vals))
                except _NotApplicable:
                    ok = None
                results.append(
                    ControlResult(
                        control_id=control.id,
                        text=control.text,
                        section=section.code,
                        instance=label,
                        expression=shown,
                        cells=tuple(cells),
                        ok=ok,
                    )
                )
    return results


def _fmt(value: Any) -> str:
    if value is None:
        return "∅"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
