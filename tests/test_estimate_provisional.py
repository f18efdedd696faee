"""Provisional estimates: the model, the totals with their interval, and the backtest
(revision table) on a synthetic population linked by its truth.

The accuracy targets (first estimate within 3% of final, 95% intervals covering the final
figure in at least 90% of backtests) are measured at scale by
bench/bench_residence_rule.py --provisional; here a small population checks that the
machinery does what it says.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from fixtures.estimate import truth_linked_inputs

from regmig.config import SENSITIVITY_RULES, Config, SynthConfig
from regmig.estimators.chain import CARRIED_ONLY, run_rule
from regmig.estimators.inputs import truncate
from regmig.estimators.step2_rule import as_of
from regmig.estimators.step2_rule.classify import classify_repaired
from regmig.estimators.step3_provisional import features, logistic, training
from regmig.estimators.step4_events.totals import run_totals, tabulate
from regmig.estimators.step6_checks import backtest
from regmig.synth.generate import generate


@pytest.fixture(scope="module")
def long_inputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth_long")
    generate(SynthConfig(persons=4000, seed=21, start_year=2018, end_year=2024), out)
    return truth_linked_inputs(out)


@pytest.fixture(scope="module")
def full_run(long_inputs):
    config = Config()
    return run_rule(long_inputs, config.estimate, config.estimate.rule, config.country)


def test_open_crossings_get_probabilities_resolved_ones_certainties(full_run) -> None:
    history = full_run.history
    resolved = history.filter("resolved")
    assert (resolved["probability_ltm"] == resolved["is_long_term_migration"].cast(
        pl.Float64)).all()
    open_migrating = history.filter(~pl.col("resolved") & pl.col("migrating")
                                    & (pl.col("decision_date") > full_run.data_end))
    p = open_migrating["probability_ltm"]
    assert p.is_between(0, 1).all() and p.n_unique() > 10
    assert full_run.model is not None and full_run.model.model_error >= 0


def test_probabilities_discriminate(long_inputs, full_run) -> None:
    """Cut a year before the end: the crossings left open then, scored by the model,
    against how they turned out. Those that did qualify got higher probabilities."""
    cut = long_inputs.data_end - timedelta(days=500)
    config = Config()
    early = run_rule(truncate(long_inputs, cut), config.estimate, config.estimate.rule,
                     config.country)
    open_rows = early.history.filter(~pl.col("resolved") & pl.col("migrating")
                                     & (pl.col("decision_date") > cut))
    outcome = open_rows.join(full_run.history.select("record_id", q="qualifies"),
                             on="record_id").drop_nulls("record_id")
    yes = outcome.filter("q")["probability_ltm"].mean()
    no = outcome.filter(~pl.col("q"))["probability_ltm"].mean()
    assert yes > 0.5 > no
    # Calibrated on the whole: expected qualifying within 15% of the actual number.
    assert abs(outcome["probability_ltm"].sum() - outcome["q"].sum()) <= 0.15 * outcome[
        "q"].sum()
    # One model per lag band, each trained on crossings followed to its end.
    assert len(early.model.band_starts) == len(training.lag_bands(
        config.estimate.rule, config.estimate))
    assert early.model.n_training_rows > early.model.n_training_crossings


def test_imputed_crossing_unseen_until_its_revealing_record() -> None:
    """A departure imputed between two arrivals is known only once the second arrival is
    recorded: before that the first arrival's person is seen still in the country."""
    history = as_of.with_known_days(pl.DataFrame({
        "person_id": [1, 1, 1],
        "seq": [1, 2, 3],
        "crossing_date": [date(2020, 1, 1), date(2020, 2, 20), date(2020, 4, 10)],
        "direction": ["arrival", "departure", "arrival"],
        "imputed": [False, True, False],
    }))
    assert history["seen_from"].to_list()[1] == features.days(date(2020, 4, 10))
    queries = pl.DataFrame({"person_id": [1, 1], "seq": [1, 1],
                            "at": [features.days(date(2020, 3, 1)),
                                   features.days(date(2020, 4, 20))]})
    before, after = as_of.days_as_of(history, queries).sort("at").iter_rows(named=True)
    assert before["on_own_side"] and before["own_days"] == 61 and before["trips_since"] == 0
    assert after["on_own_side"] and after["own_days"] == 50 + 11 and after["trips_since"] == 2


def test_fractional_labels_fit_their_mean() -> None:
    """Later bands' probabilities serve as labels: the fit reproduces their total."""
    rng = np.random.default_rng(3)
    x = np.c_[np.ones(4000), rng.normal(size=4000)]
    y = 1 / (1 + np.exp(-(-1.0 + 0.8 * x[:, 1])))
    beta = logistic.fit_logistic(x, y, ridge=0.0)
    assert np.allclose(beta, [-1.0, 0.8], atol=1e-3)


def test_interval_adds_chance_and_model_error() -> None:
    """10 final events and 100 open ones at p = 0.5: chance variance 25, and a model
    error of 10% of the 50 expected, s.d. 5, variance 25."""
    day = date(2024, 3, 1)
    events = pl.DataFrame({
        "kind": ["immigration"] * 110, "event_date": [day] * 110,
        "status": ["final"] * 10 + ["provisional"] * 100,
        "probability": [1.0] * 10 + [0.5] * 100,
    })
    year = pl.DataFrame({"period": ["year"], "period_start": [date(2024, 1, 1)],
                         "period_end": [date(2024, 12, 31)]})
    totals = tabulate(events, year, {"immigration": 0.1}, 0.95, with_breakdowns=False)
    row = totals.filter(pl.col("kind") == "immigration").row(0, named=True)
    assert row["estimate"] == 60 and row["chance_sd"] == 5 and row["model_sd"] == 5
    assert abs((row["upper"] - row["lower"]) / 2 - 1.959964 * (25 + 25) ** 0.5) < 1e-3
    empty = totals.filter(pl.col("kind") == "emigration").row(0, named=True)
    assert empty["estimate"] == empty["lower"] == empty["upper"] == 0


def test_revision_table(long_inputs, full_run) -> None:
    config = Config()
    estimate_config = dataclasses.replace(config.estimate, backtest_cuts=3)
    cuts = backtest.cut_dates(long_inputs, estimate_config)
    assert len(cuts) == 3 and cuts[-1] == long_inputs.data_end - timedelta(days=487)
    table = backtest.revisions(long_inputs, full_run, estimate_config, config.country)
    assert table.height == len(cuts) * len(backtest.PERIOD_MONTHS) * 2
    assert table.columns == list(backtest.REVISION_COLUMNS)
    # The final figure is the full data's count of final events in the period.
    row = table.row(0, named=True)
    window = pl.DataFrame({"period": ["backtest"], "period_start": [row["period_start"]],
                           "period_end": [row["period_end"]]})
    final = run_totals(full_run, window, 0.95).filter(pl.col("kind") == row["kind"]).row(
        0, named=True)
    assert final["final"] == row["final"]
    assert final["provisional_expected"] == 0  # every window has closed
    assert (table["revision"] == table["final"] - table["first_estimate"]).all()
    years = table.filter(pl.col("period") == "year")
    assert years["relative_revision"].abs().mean() < 0.1, years
    assert years["covered"].mean() >= 0.5, years
    # The backtest sees each cut through the rule's known-on dates; running the whole
    # chain again on the inputs cut then gives nearly the same first estimates.
    rerun = backtest.revision_details(long_inputs, full_run, estimate_config,
                                      config.country, rerun=True)
    both = years.join(rerun, on=["cut_date", "period", "kind"], suffix="_rerun")
    assert both.height == years.height
    gap = ((both["first_estimate"] - both["first_estimate_rerun"]).abs() / both["final"])
    assert gap.max() < 0.05, both.select("cut_date", "kind", "first_estimate",
                                         "first_estimate_rerun", "final")


def test_no_backtest_without_room(long_inputs) -> None:
    short = truncate(long_inputs, date(2019, 6, 1))
    assert backtest.cut_dates(short, Config().estimate) == []


def test_two_months_of_data_give_the_documented_default(long_inputs) -> None:
    """A monthly chain's first run may hold two months: no window has closed, so there
    is no model and every open crossing gets 0.5 (an empty training pool once raised)."""
    config = Config()
    short = truncate(long_inputs, date(2018, 3, 1))
    run = run_rule(short, config.estimate, config.estimate.rule, config.country)
    assert run.model is None and run.pool.rows.is_empty()
    open_now = run.history.filter(pl.col("probability_ltm").is_between(0, 1, closed="none"))
    assert open_now.height > 0 and (open_now["probability_ltm"] == 0.5).all()


@pytest.mark.parametrize("rule", SENSITIVITY_RULES, ids=lambda r: r.label)
def test_shared_known_days_equal_the_rules_own(long_inputs, full_run, rule) -> None:
    """The sensitivity rules reuse the main run's rule-independent days (chain.known_days)
    beside their own results: the same frame as the known days of their own classified
    crossings; and the pool built band by band matches the rule's view of all its rows
    at once."""
    config = Config()
    run = run_rule(long_inputs, config.estimate, rule, config.country, full_run.repaired,
                   full_run.repaired_days)
    classified = classify_repaired(full_run.repaired, rule, long_inputs.data_end)
    own = features.with_travel_history(as_of.without_guessed_departures(
        as_of.with_known_days(classified.crossings.drop(CARRIED_ONLY, strict=False))))
    assert run.known.height == own.height > 0
    assert run.known.select(own.columns).equals(own)
    rows = run.pool.rows
    assert rows.select("band", "person_id", "seq").is_unique().all()
    assert rows.equals(rows.sort("band", "person_id", "seq"))
    states = as_of.rule_as_of(run.known, rows.select("person_id", "seq", "at"), rule)
    assert states["open_at"].all()
    design = features.design_matrix(features.model_frame(
        run.known, rows.select("person_id", "seq", "at").join(
            states, on=["person_id", "seq", "at"], how="left", maintain_order="left"),
        long_inputs, config.country), rule)
    assert np.array_equal(design, run.pool.design)


def test_fits_run_blas_on_the_configured_threads(long_inputs, full_run) -> None:
    """estimate.blas_threads reaches numpy's BLAS while the model is fitted, and the
    model on one thread is the model on BLAS's default threads (to rounding)."""
    from threadpoolctl import threadpool_info

    with logistic.blas_threads(1):
        assert {lib["num_threads"] for lib in threadpool_info()
                if lib["user_api"] == "blas"} == {1}
    config = Config()
    estimate = config.estimate
    view = training.view_at(full_run.known, long_inputs, estimate, config.country,
                            features.days(long_inputs.data_end))
    one = training.fit_at(full_run.pool, view, dataclasses.replace(estimate, blas_threads=1))
    default = training.fit_at(full_run.pool, view,
                              dataclasses.replace(estimate, blas_threads=0))
    assert np.allclose(one[1], default[1], rtol=1e-9, atol=1e-12)
    assert one[0].model_error == pytest.approx(default[0].model_error, rel=1e-9)
