"""What the rule said on an earlier day: a crossing as the data up to day `at` showed it.

The rule (`residence_rule`) classifies every crossing with all the data at hand and says
when each result became known (outcome_known_on, status_before_known_on, ltm_known_on).
From those, any crossing can be seen as data ending on an earlier day `at` would have
classified it, without classifying again:

- its own outcome: known by `at` when its days through `at` (on the crossings known then)
  reach V on its own side or pass W - V on the other; while undecided, the rule takes the
  person to stay where they are on `at`, so it provisionally qualifies exactly when the
  person is on the crossing's own side on `at`;
- its status before: settled by `at` when status_before_known_on <= `at`; otherwise it
  follows from the latest earlier crossing that qualifies as of `at` (a recent undecided
  one provisionally, by the side the person is on), or from the status after the last
  crossing old enough to be settled (dated at least W before `at`);
- migrating as of `at` (the status before is the opposite of its direction), resolved
  (ltm_known_on <= `at`, and any crossing imputed just after it known by then) and open
  (unresolved, migrating and undecided: the crossings the provisional model gives a
  probability).

A crossing imputed to repair a history is known only from the day of the record that
revealed it (`seen_from`): on earlier days the crossings known then give the state.
tests/test_rule_as_of.py checks this against the rule run on data cut at `at`.
"""

from __future__ import annotations

import polars as pl

from regmig.config import ResidenceRule
from regmig.estimators.step1_histories.ends import AFTER_USUAL_STAY
from regmig.estimators.step2_rule.residence_rule import cumulative_days

#: Stride between crossings of one day in the as-of search key (seq < stride).
_SEQ_STRIDE = 1 << 20
#: seen_from of a crossing never taken as known (see `without_guessed_departures`).
NEVER_SEEN = 1 << 40
_KNOWN = ("seq", "t", "arrival", "in_start", "out_start")


def _day(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.Int32).cast(pl.Int64)


def with_known_days(classified: pl.DataFrame) -> pl.DataFrame:
    """Add t (days since 1970), arrival, in_start/out_start (days in/out before the
    crossing), seen_from (the day the crossing became known) and revealed_from (the day
    from which its results stand as all the data give them: after any crossing imputed
    just after it is known) to a classified history, sorted by person and order; and the
    search key and the previous crossing's columns (prev_*) the as-of searches use."""
    frame = classified.sort("person_id", "seq").with_columns(
        t=_day("crossing_date"), arrival=pl.col("direction") == "arrival")
    frame = cumulative_days(frame).drop("in_end", "out_end", "gap")
    # A crossing imputed to repair a history is known only once the record that showed
    # it missing is: the next crossing (two in a row in one direction), or its own date
    # when it is the last (dated by a deregistration or a usual stay).
    imputed = pl.col("imputed").fill_null(False) if "imputed" in frame.columns else False
    next_t = pl.col("t").shift(-1).over("person_id")
    frame = frame.with_columns(
        seen_from=pl.when(imputed & next_t.is_not_null()).then(next_t).otherwise("t"),
        _imputed=imputed)
    # The rule's results for a crossing use the crossings after it; one imputed from a
    # record made later changes them only from that record on (an unrecorded return
    # shortens an absence that looked long until then).
    later = [pl.when(pl.col("_imputed").shift(-k).over("person_id"))
             .then(pl.col("seen_from").shift(-k).over("person_id")) for k in (1, 2)]
    return frame.with_columns(
        revealed_from=pl.max_horizontal("t", *later),
        # For the as-of searches: the search key, and the crossing before each one.
        key=pl.col("t") * _SEQ_STRIDE + pl.col("seq"),
        **{f"prev_{name}": pl.col(name).shift(1).over("person_id") for name in _KNOWN},
    ).drop("_imputed")


def without_guessed_departures(history: pl.DataFrame) -> pl.DataFrame:
    """Mark as never seen a visitor's last departure imputed after their usual stay
    (`step1_histories.ends.AFTER_USUAL_STAY`).

    That guess is made only at the data end, and for crossings made long before it only
    when no later crossing came: a visitor who stayed on and left on record never carries
    it in the training rows, while the same visitor open at the data end would. Both are
    therefore seen from their recorded crossings alone; the model learns from the past
    how such stays turned out (the guessed departures of the past in its labels).
    """
    if AFTER_USUAL_STAY not in history.columns:
        return history
    return history.with_columns(
        seen_from=pl.when(pl.col(AFTER_USUAL_STAY).fill_null(False))
        .then(pl.lit(NEVER_SEEN, pl.Int64))
        .otherwise("seen_from"))


def last_crossing(queries: pl.DataFrame, history: pl.DataFrame,
                  strategy: str = "backward") -> pl.DataFrame:
    """For each query (person_id, at), the person's last crossing dated on or before `at`
    (strategy="backward") or first dated after it ("forward"), as k_* columns, with the
    crossing before that one as p_* columns and the day it became known, k_seen_from.
    `history` from `with_known_days` (sorted by person and order)."""
    right = history.select(
        "person_id", "key",
        *[pl.col(name).alias(f"k_{name}") for name in _KNOWN],
        *[pl.col(f"prev_{name}").alias(f"p_{name}") for name in _KNOWN],
        k_seen_from="seen_from")
    offset = _SEQ_STRIDE - 1 if strategy == "backward" else _SEQ_STRIDE
    left = queries.with_columns(key=pl.col("at") * _SEQ_STRIDE + offset).sort(
        "person_id", "key")
    return left.join_asof(
        right, on="key", by="person_id", strategy=strategy, check_sortedness=False
    ).drop("key")


def position_at(history: pl.DataFrame, queries: pl.DataFrame) -> pl.DataFrame:
    """Where each query's person (person_id, at) stands on day `at`, by the crossings
    known then: k_seq, k_t and k_arrival of the last one, and in_through / out_through,
    the days in and out up to and including `at`.

    A crossing imputed from records made after `at` was not known on `at`: such a
    crossing is the last one dated by `at` (its revealing record comes later), so the
    one before it stands instead."""
    found = last_crossing(queries, history)
    unseen = (pl.col("k_seen_from") > pl.col("at")).fill_null(False)
    found = found.with_columns(
        pl.when(unseen).then(f"p_{name}").otherwise(f"k_{name}").alias(f"k_{name}")
        for name in _KNOWN
    ).drop("k_seen_from", *[f"p_{name}" for name in _KNOWN])
    through = pl.col("at") + 1 - pl.col("k_t")
    return found.with_columns(
        in_through=pl.col("k_in_start") + pl.col("k_arrival").cast(pl.Int64) * through,
        out_through=pl.col("k_out_start") + (~pl.col("k_arrival")).cast(pl.Int64) * through,
    ).drop("k_in_start", "k_out_start")


def _days_of(t: str, arrival: str, in_start: str, out_start: str) -> dict[str, pl.Expr]:
    """lag, own_days and on_own_side of a crossing (columns named) given a position."""
    own = (pl.when(arrival).then(pl.col("in_through") - pl.col(in_start))
           .otherwise(pl.col("out_through") - pl.col(out_start)))
    return {"lag": pl.col("at") - pl.col(t), "own_days": own,
            "on_own_side": pl.col("k_arrival") == pl.col(arrival)}


def days_as_of(history: pl.DataFrame, queries: pl.DataFrame) -> pl.DataFrame:
    """Crossings (person_id, seq) as seen on day `at` (inclusive): lag, own_days and
    other_days (days t .. at on the crossing's own side and on the other), on_own_side
    (the person is on the crossing's side on `at`), spell (days since the last crossing)
    and trips_since (crossings made after it). `history` from `with_known_days`.

    The crossing itself must be known on `at`: the last one known then is it or later.
    """
    base = queries.join(
        history.select("person_id", "seq", "t", "arrival", "in_start", "out_start"),
        on=["person_id", "seq"], how="left")
    return position_at(history, base).with_columns(
        **_days_of("t", "arrival", "in_start", "out_start"),
        spell=pl.col("at") - pl.col("k_t"),
        trips_since=pl.col("k_seq") - pl.col("seq"),
    ).with_columns(other_days=pl.col("lag") + 1 - pl.col("own_days")).drop(
        "k_seq", "k_t", "k_arrival", "in_through", "out_through", "in_start", "out_start")


def _outcome_as_of(rule: ResidenceRule) -> tuple[pl.Expr, pl.Expr]:
    """(decided, qualifies) as of `at`, from days_as_of columns and the crossing's
    `qualifies`. Within W days of the crossing its days through `at` decide it once the
    own days reach V or the other days pass W - V (both cannot happen within W); while
    undecided, it qualifies provisionally when the person is on its side. Later, its
    window is over: decided, as the rule found."""
    slack = rule.window_days - rule.threshold_days
    reached = pl.col("own_days") >= rule.threshold_days
    over = pl.col("lag") >= rule.window_days
    decided = over | reached | (pl.col("other_days") > slack)
    qualifies = (pl.when(over).then("qualifies").when(decided).then(reached)
                 .otherwise("on_own_side"))
    return decided, qualifies


def rule_as_of(history: pl.DataFrame, queries: pl.DataFrame,
               rule: ResidenceRule) -> pl.DataFrame:
    """The rule's view of crossings (person_id, seq) on day `at`: days_as_of columns plus
    decided_at, qualifies_at, status_before_at, migrating_at, resolved_at and open_at.

    `history`: a classified history (`residence_rule.classify`) with `with_known_days`.
    """
    states = days_as_of(history, queries)
    decided, qualifies = _outcome_as_of(rule)
    own = history.select(
        "person_id", "seq", "res_status_before", "status_before_known_on", "ltm_known_on",
        "qualifies", "revealed_from", target=pl.col("arrival").cast(pl.Int8))
    states = states.join(own, on=["person_id", "seq"], how="left").with_columns(
        decided_at=decided, qualifies_at=qualifies,
        settled_before=_day("status_before_known_on") <= pl.col("at"),
        resolved_at=((_day("ltm_known_on") <= pl.col("at"))
                     & (pl.col("revealed_from") <= pl.col("at"))).fill_null(False))
    unsettled = states.filter(~pl.col("settled_before").fill_null(False))
    rebuilt = _status_before_as_of(history, unsettled.select("person_id", "seq", "at"),
                                   rule)
    states = states.join(rebuilt, on=["person_id", "seq", "at"], how="left")
    status = pl.when(pl.col("settled_before").fill_null(False)).then(
        "res_status_before").otherwise("rebuilt_before")
    return states.with_columns(status_before_at=status.cast(pl.Int8)).with_columns(
        migrating_at=(pl.col("status_before_at") != pl.col("target")).fill_null(False),
    ).with_columns(
        open_at=~pl.col("resolved_at") & pl.col("migrating_at") & ~pl.col("decided_at"),
    ).drop("settled_before", "rebuilt_before", "target", "res_status_before",
           "status_before_known_on", "ltm_known_on", "qualifies", "revealed_from")


#: Earlier crossings looked at per round of the backward search (doubling each round).
_FIRST_LOOK_BACK = 4


def _status_before_as_of(history: pl.DataFrame, queries: pl.DataFrame,
                         rule: ResidenceRule) -> pl.DataFrame:
    """Status before crossings (person_id, seq) as of `at` whose status before is not yet
    settled then: walking back from the crossing before, the first one that qualifies as
    of `at` gives it (its direction), or the first one made W or more days before `at`
    (settled: its status after), or the initial status at the start.

    The walk runs in rounds over a few earlier crossings at a time; almost every query
    stops within the first two."""
    positions = position_at(history, queries)
    earlier = history.select(
        "person_id", k="seq", e_t="t", e_arrival="arrival", e_in="in_start",
        e_out="out_start", e_qualifies="qualifies", e_after="res_status_after")
    initial = history.filter(pl.col("seq") == 1).select("person_id",
                                                        initial="res_status_before")
    _, qualifies = _outcome_as_of(rule)
    found, pending, back = [], positions, 0
    step = _FIRST_LOOK_BACK
    while pending.height:
        candidates = pending.with_columns(
            k=pl.int_ranges(pl.col("seq") - back - step, pl.col("seq") - back)
        ).explode("k").filter(pl.col("k") >= 1).join(
            earlier, on=["person_id", "k"], how="inner")
        judged = candidates.with_columns(
            **_days_of("e_t", "e_arrival", "e_in", "e_out")
        ).with_columns(other_days=pl.col("lag") + 1 - pl.col("own_days"),
                       qualifies=pl.col("e_qualifies")).with_columns(
            q=qualifies, old=pl.col("lag") >= rule.window_days)
        hits = judged.filter(pl.col("q") | pl.col("old")).group_by(
            "person_id", "seq", "at").agg(
            rebuilt_before=pl.when(pl.col("q")).then(pl.col("e_arrival").cast(pl.Int8))
            .otherwise(pl.col("e_after")).sort_by("k").last())
        found.append(hits)
        pending = pending.join(hits, on=["person_id", "seq", "at"], how="anti")
        exhausted = pending.filter(pl.col("seq") - back - step <= 1)
        found.append(exhausted.join(initial, on="person_id", how="left").select(
            "person_id", "seq", "at", rebuilt_before="initial"))
        pending = pending.filter(pl.col("seq") - back - step > 1)
        back += step
        step *= 2
    rebuilt = pl.concat(found, how="vertical_relaxed") if found else None
    if rebuilt is None:
        return queries.with_columns(rebuilt_before=pl.lit(None, pl.Int8))
    return queries.join(rebuilt, on=["person_id", "seq", "at"], how="left")
