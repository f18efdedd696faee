"""The one seam between the model and an engine's SQL dialect.

Comparisons and blocking passes are written in SQL every engine reads (equality,
`substr`, `abs`, IS NULL). The few functions that differ by engine are named here, one
template per engine; a backend that is not listed cannot build the model.
"""

from __future__ import annotations

from regmig.errors import RegmigError

#: function -> engine -> SQL template with {left} and {right}
TEMPLATES: dict[str, dict[str, str]] = {
    "lists_overlap": {
        "duckdb": "list_has_any({left}, {right})",
        "spark": "arrays_overlap({left}, {right})",
    },
    "starts_with": {
        "duckdb": "starts_with({left}, {right})",
        "spark": "startswith({left}, {right})",
    },
    "concat": {
        "duckdb": "concat({left}, {right})",
        "spark": "concat({left}, {right})",
    },
}


def engine_sql(engine: str, function: str, **arguments: str) -> str:
    templates = TEMPLATES[function]
    if engine not in templates:
        raise RegmigError(f"linkage has no SQL for engine {engine!r} (known: "
                          f"{', '.join(sorted(templates))})")
    return templates[engine].format(**arguments)
