"""Markdown tables that paste into a paper draft or an issue."""

from __future__ import annotations

import math
from collections.abc import Sequence


def fmt(value: object, digits: int = 2) -> str:
    """Numbers to fixed digits; None and NaN as an em dash (missing, never 0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table; the first column is left-aligned, the rest right."""
    cells = [[str(h) for h in header]] + [[fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        padded = [c.ljust(widths[i]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)]
        lines.append("| " + " | ".join(padded) + " |")
        if n == 0:
            rule = [
                "-" * widths[i] if i == 0 else "-" * (widths[i] - 1) + ":"
                for i in range(len(header))
            ]
            lines.append("| " + " | ".join(rule) + " |")
    return "\n".join(lines)
