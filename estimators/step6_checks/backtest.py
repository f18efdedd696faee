"""Backtest of the provisional estimates: the revision table.

The data are cut at earlier dates; at each cut the stage's estimate of the 12, 3 and 1
months ending on it (final events plus provisional probabilities) is the first estimate,
and the same months counted on the full data, once every window has closed, are the
final figure. Cuts lie where both are possible: after the start of the data by W plus some
training time (the model learns from crossings whose window has closed by the cut), and
at least W before the end of the data (so the final figure is final).
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import polars as pl

from regmig.config import EstimateConfig, ResidenceRule
from regmig.estimators.chain import KINDS, RuleRun, run_rule
from regmig.estimators.inputs import EstimateInputs, truncate
from regmig.estimators.step3_provisional import training
from regmig.estimators.step3_provisional.features import days
from regmig.estimators.step4_events.totals import candidate_events, tabulate

REVISION_COLUMNS = (
    "cut_date", "period", "period_start", "period_end", "kind", "first_estimate", "lower",
    "upper", "final", "revision", "relative_revision", "covered", "chance_sd", "model_sd",
)


def cut_dates(inputs: EstimateInputs, config: EstimateConfig) -> list[date]:
    w = config.rule.window_days
    earliest = inputs.observation_start + timedelta(
        days=max(w + config.backtest_min_training_days, config.backtest_period_days)
    )
    latest = inputs.data_end - timedelta(days=w)
    if earliest > latest or config.backtest_cuts < 1:
        return []
    if config.backtest_cuts == 1:
        return [latest]
    span = (latest - earliest).days
    steps = config.backtest_cuts - 1
    return sorted({earliest + timedelta(days=round(span * k / steps)) for k in range(steps + 1)})


#: The periods each cut estimates: the 12, 3 and 1 months ending on it.
PERIOD_MONTHS = {"year": 12, "quarter": 3, "month": 1}


def revisions(
    inputs: EstimateInputs, final_run: RuleRun, config: EstimateConfig, country: str
) -> pl.DataFrame:
    """One row per cut, period and kind: first estimate with interval against the final
    figure."""
    return revision_details(inputs, final_run, config, country).select(REVISION_COLUMNS)


def revision_details(
    inputs: EstimateInputs, final_run: RuleRun, config: EstimateConfig, country: str,
    rerun: bool = False,
) -> pl.DataFrame:
    """The revision table plus, per row, chance_sd and model_sd (the two parts of the
    interval).

    Each cut's first estimate is what the stage would have said with the data ending on
    the cut: the crossings as the rule saw them then (`step2_rule.as_of`) and a model
    fitted on the rows the cut could train on, labelled as the cut knew them. With
    `rerun`, the whole chain runs again on the inputs cut at that date instead (slower;
    the linkage and the repairs at the data end then follow the cut too)."""
    rule_config = dataclasses.replace(config, rule=final_run.rule)
    final_events = candidate_events(final_run).filter(pl.col("status") == "final")
    rows = []
    for cut in cut_dates(inputs, config):
        if rerun:
            first_events, model = _rerun_events(inputs, config, final_run.rule, country, cut)
        else:
            first_events, model = _events_at(final_run, inputs, rule_config, country, cut)
        errors = dict.fromkeys(KINDS.values(), model.model_error if model else 0.0)
        windows = pl.DataFrame([
            {"period": name, "period_start": _months_before(cut, months),
             "period_end": cut} for name, months in PERIOD_MONTHS.items()])
        totals = tabulate(first_events, windows, errors, config.interval_level,
                          with_breakdowns=False)
        for first in totals.iter_rows(named=True):
            final = final_events.filter(
                (pl.col("kind") == first["kind"])
                & pl.col("crossing_date").is_between(first["period_start"], cut)).height
            rows.append({
                "cut_date": cut, "period": first["period"],
                "period_start": first["period_start"], "period_end": cut,
                "kind": first["kind"], "first_estimate": first["estimate"],
                "lower": first["lower"], "upper": first["upper"], "final": final,
                "revision": final - first["estimate"],
                "relative_revision": (final - first["estimate"]) / final if final else None,
                "covered": first["lower"] <= final <= first["upper"],
                "chance_sd": first["chance_sd"], "model_sd": first["model_sd"],
            })
    schema = {
        "cut_date": pl.Date, "period": pl.String, "period_start": pl.Date,
        "period_end": pl.Date, "kind": pl.String, "first_estimate": pl.Float64,
        "lower": pl.Float64, "upper": pl.Float64, "final": pl.Int64, "revision": pl.Float64,
        "relative_revision": pl.Float64, "covered": pl.Boolean, "chance_sd": pl.Float64,
        "model_sd": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _events_at(run: RuleRun, inputs: EstimateInputs, config: EstimateConfig, country: str,
               cut: date) -> tuple[pl.DataFrame, training.ProvisionalModel | None]:
    """Candidate events (kind, event_date, status, probability) as the data ending on
    `cut` show them, from the run on all the data."""
    day = days(cut)
    view = training.view_at(run.known, inputs, config, country, day)
    model, p_open = training.fit_at(run.pool, view, config)
    scored = view.open_rows.select("person_id", "seq").with_columns(p=pl.Series(p_open))
    provisional = view.states.join(scored, on=["person_id", "seq"], how="left").select(
        "person_id", "seq", probability=pl.coalesce("p", "flag"))
    made = run.known.filter((pl.col("t") <= day) & (pl.col("seen_from") <= day))
    settled = made.join(provisional, on=["person_id", "seq"], how="anti").filter(
        pl.col("is_long_term_migration").fill_null(False)).select(
        "person_id", "seq", probability=pl.lit(1.0), status=pl.lit("final"))
    events = pl.concat([settled, provisional.filter(pl.col("probability") > 0).with_columns(
        status=pl.lit("provisional"))], how="diagonal_relaxed")
    return events.join(run.known.select("person_id", "seq", "arrival", "crossing_date"),
                       on=["person_id", "seq"]).select(
        kind=pl.when("arrival").then(pl.lit(KINDS["arrival"])).otherwise(
            pl.lit(KINDS["departure"])),
        event_date="crossing_date", status="status", probability="probability"), model


def _rerun_events(inputs: EstimateInputs, config: EstimateConfig, rule: ResidenceRule,
                  country: str, cut: date
                  ) -> tuple[pl.DataFrame, training.ProvisionalModel | None]:
    early = run_rule(truncate(inputs, cut), config, rule, country)
    return candidate_events(early).rename({"crossing_date": "event_date"}), early.model


def _months_before(cut: date, months: int) -> date:
    """The first day of the `months` months ending on `cut`: the same day `months`
    months earlier (the month's last day if shorter), plus one."""
    index = cut.year * 12 + cut.month - 1 - months
    year, month = divmod(index, 12)
    following = date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    last_day = (following - timedelta(days=1)).day
    return date(year, month + 1, min(cut.day, last_day)) + timedelta(days=1)
