"""The run report's charts as Vega-Lite specifications, built with Altair.

One function per chart: it takes the rows of figures it shows (already read from the
warehouse by `report_figures`, never computed here) and returns the Vega-Lite spec as a
dict. The report embeds the specs and renders them with the Vega libraries Splink ships
(`report_page`), the same ones the linkage report uses, so one charting system draws
both reports.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import altair as alt
import polars as pl

#: Colours of the two directions, used alike in every chart.
KIND_COLOURS = {"immigration": "#1f5f8b", "emigration": "#d1495b"}
#: Colours of a protected table's cells: published, primary and secondary suppressed.
CELL_COLOURS = {"published": "#66a182", "primary suppressed": "#d1495b",
                "secondary suppressed": "#edae49"}
#: Plot size of the charts on the report's first page (pixels).
WIDTH, HEIGHT = 420, 200

Spec = dict[str, Any]


def _values(frame: pl.DataFrame) -> alt.Data:
    """Inline data: dates as ISO strings, so that the spec is plain JSON."""
    return alt.Data(values=[
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
        for row in frame.to_dicts()
    ])


def _kind_colour(title: str | None = None) -> alt.Color:
    return alt.Color("kind:N", title=title,
                     scale=alt.Scale(domain=list(KIND_COLOURS),
                                     range=list(KIND_COLOURS.values())),
                     legend=alt.Legend(orient="top"))


def _spec(chart: alt.TopLevelMixin) -> Spec:
    return chart.configure_view(stroke=None).to_dict()


def annual_flows(totals: pl.DataFrame) -> Spec:
    """Immigration and emigration per year as published: the final moves and the counted
    provisional ones stacked (they add to the published figure), with the interval of
    the expected total (columns of stats.migration_totals)."""
    x = alt.X("year:O", title=None, axis=alt.Axis(labelAngle=0))
    parts = {"final": "final", "provisional": "provisional (counted)"}
    bars = alt.Chart().transform_calculate(provisional="datum.published - datum.final") \
        .transform_fold(list(parts), as_=["part", "moves"]).transform_calculate(
        part=" || ".join(f"(datum.part == '{k}' ? '{v}' : null)" for k, v in parts.items())
    ).mark_bar(opacity=0.85).encode(
        x=x, y=alt.Y("moves:Q", stack="zero", title="moves (persons)"),
        color=alt.Color("part:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(parts.values()),
                                        range=["#1f5f8b", "#9ecae1"])),
        order=alt.Order("part:N", sort="ascending"),
        tooltip=["year:O", "kind:N", "part:N", "moves:Q"],
    )
    interval = alt.Chart().mark_errorbar(ticks=True, color="#222").encode(
        x=x, y=alt.Y("lower:Q", title="moves (persons)"), y2="upper:Q")
    labels = alt.Chart().mark_text(dy=-8, fontSize=10).encode(
        x=x, y="upper:Q", text=alt.Text("published:Q", format=","))
    layered = alt.layer(bars, interval, labels, data=_values(totals)).properties(
        width=WIDTH / 2 - 30, height=HEIGHT)
    return _spec(layered.facet(column=alt.Column("kind:N", title=None,
                                                 sort=list(KIND_COLOURS))))


def monthly_flows(months: pl.DataFrame) -> Spec:
    """Expected moves per month (final plus expected provisional) with the band of their
    interval."""
    base = alt.Chart(_values(months)).encode(
        x=alt.X("period_start:T", title=None, axis=alt.Axis(format="%Y-%m")))
    band = base.mark_area(opacity=0.25).encode(
        y=alt.Y("lower:Q", title="moves (persons)"), y2="upper:Q", color=_kind_colour())
    line = base.mark_line(strokeWidth=1.5).encode(
        y="estimate:Q", color=_kind_colour(),
        tooltip=[alt.Tooltip("period_start:T", format="%Y-%m", title="month"), "kind:N",
                 "published:Q",
                 alt.Tooltip("estimate:Q", format=",.1f"),
                 alt.Tooltip("lower:Q", format=",.1f"), alt.Tooltip("upper:Q", format=",.1f")])
    return _spec(alt.layer(band, line).properties(width=WIDTH, height=HEIGHT))


def backtest(revisions: pl.DataFrame) -> Spec:
    """Backtests of the provisional estimate: at each cut of the data, the first estimate
    of the 12 months ending then with its interval, against the final figure."""
    base = alt.Chart(_values(revisions)).encode(
        x=alt.X("cut_date:O", title="data cut at", axis=alt.Axis(labelAngle=0)),
        color=_kind_colour())
    interval = base.mark_errorbar(ticks=True).encode(
        y=alt.Y("lower:Q", title="moves in the 12 months to the cut",
                scale=alt.Scale(zero=False)), y2="upper:Q")
    first = base.mark_point(filled=True, size=40).encode(
        y="first_estimate:Q",
        tooltip=["cut_date:O", "kind:N",
                 alt.Tooltip("first_estimate:Q", format=",.1f"), "final:Q",
                 alt.Tooltip("relative_revision:Q", format="+.1%"), "covered:N"])
    final = base.mark_tick(thickness=2, size=14, color="#222").encode(y="final:Q")
    return _spec(alt.layer(interval, first, final).properties(width=WIDTH, height=HEIGHT))


def weakest_links(bins: pl.DataFrame) -> Spec:
    """Records by the match probability of their weakest link, on a log scale so that
    the few uncertain records show beside the many certain ones."""
    order = bins["bin"].to_list()
    # A log axis has no zero: bars start at one record, and empty bins are left out.
    bars = alt.Chart(_values(bins.filter(pl.col("records") > 0).with_columns(base=1))).encode(
        x=alt.X("bin:O", sort=order, title="match probability of the weakest link",
                axis=alt.Axis(labelAngle=0)),
        y=alt.Y("records:Q", title="records (cases, log scale)",
                scale=alt.Scale(type="log"),
                axis=alt.Axis(values=[10**k for k in range(8)], format="~s")),
        y2="base:Q",
    )
    chart = alt.layer(
        bars.mark_bar(color="#1f5f8b"),
        bars.mark_text(dy=-6, fontSize=10).encode(text=alt.Text("records:Q", format=",")),
    ).properties(width=WIDTH, height=HEIGHT)
    return _spec(chart)


def cells_by_table(cells: pl.DataFrame) -> Spec:
    """Each protected table's cells: the shares published, primary and secondary
    suppressed."""
    shares = cells.select(
        "table",
        published=pl.col("cells") - pl.col("primary") - pl.col("secondary"),
        **{"primary suppressed": pl.col("primary"),
           "secondary suppressed": pl.col("secondary")},
    ).unpivot(index="table", variable_name="status", value_name="cells")
    chart = alt.Chart(_values(shares)).mark_bar().encode(
        y=alt.Y("table:N", title=None, sort=None),
        x=alt.X("cells:Q", stack="normalize", title="share of the table's cells",
                axis=alt.Axis(format="%")),
        color=alt.Color("status:N", title=None, legend=alt.Legend(orient="top"),
                        scale=alt.Scale(domain=list(CELL_COLOURS),
                                        range=list(CELL_COLOURS.values()))),
        order=alt.Order("status:N"),
        tooltip=["table:N", "status:N", "cells:Q"],
    ).properties(width=WIDTH, height=alt.Step(12))
    return _spec(chart)
