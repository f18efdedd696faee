"""The disclosure audit, as an outsider would run it.

It reads only what is published, `release/csv/*.csv` and `release/metadata.json`, and
nothing of the protector (no import from publish.disclosure or publish.tables, a test
checks): from the metadata it rebuilds every table's cube, every sum and bound the
metadata states, and which cells are the same count in two tables; from the CSV files
which cells are shown and which are confidential. Then, by linear programming over the
integers' hull (exact mixed-integer bounds for small groups), it deduces the interval of
every unknown cell (`deduce.py`). The verdict (`verdict.py`) compares those intervals
with the true counts: a primary cell narrower than the protection width, a primary cell
shown, or a pattern that gives its cells away fails, and the caller writes nothing.
"""
