"""Text cells that a spreadsheet would run as formulas, made inert (CSV injection, OWASP's advice).

A file name such as `+SUM(1+1).png` or an error sentence quoting one would otherwise start a
cell with `=`, `+`, `-` or `@` (or a tab or carriage return, which some spreadsheets skip
before looking for a formula). The standard defence is a leading single quote: the cell
then reads as text, and the quote is visible, so nothing is silently changed.
"""
from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """`value` with a leading `'` when it is a string a spreadsheet would read as a formula; other values unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: list[Any]) -> list[Any]:
    """`safe_cell` over one CSV row."""
    return [safe_cell(value) for value in values]
