"""Grading one answer's rows against the answer pandas computed.

Kinds of expected answers:
- scalar: one number; the answer has one row holding it.
- share: a fraction; the answer's one row holds it as a fraction or a percentage.
- table: a pandas Series keyed by one value or a tuple of values; the answer has one row per
  key (plus rows whose key is missing: SQL keeps NULL groups, pandas drops them),
  each row holding its key(s) and its value. Order is not checked.
- ranked: a Series in the order asked; row i holds value i, and key i unless its value ties.
- rows: a list of numbers in order (row-level top N); row i holds number i.
- row: (key, value): the answer's first row holds both (the row a superlative names).
"""

import math
import re

MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def number(value):
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(str(value).replace(",", ""))
    except ValueError:
        return None


def close(a, b):
    if a is None or b is None or math.isnan(b):
        return False
    return abs(a - b) <= max(1e-3 * abs(b), 0.011)


def key_matches(cell, key):
    """Whether an answer cell names the expected key (a value, a year, a month, a day)."""
    if cell is None:
        return False
    text = str(cell).strip().lower()
    if isinstance(key, str) and re.fullmatch(r"\d{4}(-\d\d(-\d\d)?|-q\d)?", key.lower()):
        k = key.lower()
        return text == k or text.startswith(k + "-") or text.startswith(k + " ") or text.startswith(k + "t")
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        n = number(cell)
        return n is not None and abs(n - float(key)) < 1e-9
    k = str(key).strip().lower()
    return text == k


def month_or_day(cell):
    """Month and weekday names as the numbers pandas uses (January 1, Monday 0)."""
    text = str(cell).strip().lower()
    for i, name in enumerate(MONTHS):
        if text in (name, name[:3]):
            return i + 1
    for i, name in enumerate(DAYS):
        if text in (name, name[:3]):
            return i
    return None


def row_has_key(row, keys):
    cells = list(row.values())
    for key in keys:
        if any(key_matches(c, key) for c in cells):
            continue
        if isinstance(key, int) and any(month_or_day(c) == key for c in cells):
            continue
        return False
    return True


def row_has_value(row, value, keys=()):
    for cell in row.values():
        n = number(cell)
        if n is None:
            continue
        if any(isinstance(k, (int, float)) and close(n, float(k)) for k in keys) and not close(n, value):
            continue
        if close(n, value):
            return True
    return False


def as_keys(index_value):
    return list(index_value) if isinstance(index_value, tuple) else [index_value]


def grade(kind, expected, rows):
    """(ok, why) for an answer's rows."""
    rows = rows or []
    if kind in ("scalar", "share"):
        if len(rows) != 1:
            return False, f"expected one row holding {expected}, got {len(rows)} rows"
        values = [expected] if kind == "scalar" else [expected, expected * 100]
        if any(row_has_value(rows[0], v) for v in values):
            return True, ""
        return False, f"expected {expected}, got {rows[0]}"
    if kind == "row":
        key, value = expected
        if not rows:
            return False, "no rows"
        if row_has_key(rows[0], [key]) and row_has_value(rows[0], value):
            return True, ""
        return False, f"expected a first row with {key} and {value}, got {rows[0]}"
    if kind == "rows":
        if len(rows) != len(expected):
            return False, f"expected {len(expected)} rows, got {len(rows)}"
        for i, value in enumerate(expected):
            if not row_has_value(rows[i], value):
                return False, f"row {i + 1}: expected {value}, got {rows[i]}"
        return True, ""
    items = [(as_keys(k), float(v)) for k, v in expected.items()]
    if kind == "ranked":
        if len(rows) != len(items):
            return False, f"expected {len(items)} rows, got {len(rows)}"
        values = [v for _, v in items]
        for i, (keys, value) in enumerate(items):
            tie = values.count(value) > 1
            if not row_has_value(rows[i], value):
                return False, f"row {i + 1}: expected {keys} = {value}, got {rows[i]}"
            if not tie and not row_has_key(rows[i], keys):
                return False, f"row {i + 1}: expected {keys} = {value}, got {rows[i]}"
        return True, ""
    if kind == "table":
        unmatched = list(rows)
        for keys, value in items:
            found = next((r for r in unmatched if row_has_key(r, keys)), None)
            if found is None:
                return False, f"no row for {keys} (expected {len(items)} rows, got {len(rows)})"
            if not row_has_value(found, value, keys):
                return False, f"{keys}: expected {value}, got {found}"
            unmatched.remove(found)
        # SQL keeps groups whose key is missing; pandas drops them. Those rows are not wrong.
        extra = [r for r in unmatched if not any(v is None or v == "" for v in r.values())]
        if extra:
            return False, f"{len(unmatched)} rows more than the {len(items)} expected, e.g. {unmatched[0]}"
        return True, ""
    raise ValueError(kind)
