"""
Aligned text tables as Go's ``text/tabwriter`` prints them.

Each column but the last is as wide as its longest cell plus the padding;
the last column is not padded, so lines carry no trailing blanks.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["render_table"]


def render_table(rows: Sequence[Sequence[str]], padding: int) -> str:
    """The rows (header first) as aligned lines, each ending in newline."""
    if not rows:
        return ""
    columns = max(len(row) for row in rows)
    widths = [
        max((len(row[i]) for row in rows if i < len(row)), default=0)
        for i in range(columns)
    ]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(widths[i] + padding) if i < len(row) - 1 else cell
            for i, cell in enumerate(row)
        ]
        lines.append("".join(cells) + "\n")

    return "".join(lines)
