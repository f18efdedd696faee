"""A report page: a Jinja2 template with its Vega-Lite charts, in one offline HTML file.

The page inlines the Vega, Vega-Lite and vega-embed libraries that Splink ships (the
same the linkage report inlines), so it needs no network; each chart is a `div` that
vega-embed fills with an SVG drawing once the page has loaded. A chart that fails to
draw says so in its place and in the element's `data-error`.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import jinja2
from splink.internals.html_utils import load_chart_libraries

TEMPLATES = Path(__file__).parent / "templates"


class _HasCharts(Protocol):
    template: str
    context: dict[str, Any]
    charts: dict[str, dict]


def _number(value: object, digits: int = 0) -> str:
    """Thousands separated, `digits` decimals; '-' for nothing."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and value != value:  # NaN
        return "-"
    return f"{value:,.{digits}f}"


def _percent(value: object, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * float(value):.{digits}f}%"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html"]),
                             undefined=jinja2.StrictUndefined, trim_blocks=True,
                             lstrip_blocks=True)
    env.filters["number"] = _number
    env.filters["percent"] = _percent
    return env


def render_page(template: str, sections: Iterable[_HasCharts],
                context: dict[str, Any]) -> str:
    """Render `template` with `context`, the charts of every section embedded."""
    charts: dict[str, dict] = {}
    for section in sections:
        charts |= section.charts
    return _environment().get_template(template).render(
        **context, charts=charts, chart_libraries=list(load_chart_libraries().values()))
