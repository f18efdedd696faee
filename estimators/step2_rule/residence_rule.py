"""The V/W residence rule (12/16 months by default), vectorised over all persons at once.

Definitions follow Stats NZ, "Defining migrants using travel histories and the 12/16-month
rule", and its worked examples (reproduced in tests/test_residence_rule_published.py):

* Days are whole days between crossing dates: the stay from an arrival on day a to a
  departure on day d counts d - a days in; a same-day in-and-out counts 0.
* A non-resident's arrival on day c qualifies when at least V of the W days c .. c+W-1
  are spent in the country; a resident's departure when at least V of them are spent out.
  Both are decided as soon as the days observed settle them: the qualifying date is the
  day on which the V-th day has been completed (c + V for someone who never leaves); the
  failing date the day on which the days on the other side have reached W - V and keep
  growing (so at least V can no longer be reached).
* Data ending on day D (its days observed) settle a qualification whose V-th day is D,
  published date D + 1, and a failure dated D or earlier.
* Whether a crossing WOULD qualify depends only on the days after it, never on the status
  before it. So every crossing's outcome is computed at once from cumulative days in and
  out (a sorted search per crossing), and the status after a crossing is carried forward
  from the last qualifying crossing: a qualifying arrival leaves the person resident, a
  qualifying departure non-resident, whatever they were before.
* Finalisation dates follow the published convention: the status before a crossing is
  known when the status after the previous one is; a crossing that could change the
  status is settled on its own decision date (not before its status before is known); a
  return crossing made within 2(W - V) days of an undecided migrating crossing cannot be
  a long-term migration, so its flag is settled on its own date.

No Python loop runs over persons or crossings; `tests/reference_rule.py` is the plain loop the
tests and the benchmark compare this with.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from regmig.config import ResidenceRule

#: Stride between persons in the global search key (days); far beyond any history.
_PERSON_STRIDE = 1 << 24
#: Cumulative level standing for "stays on this side for ever" after the last crossing.
_FOREVER = _PERSON_STRIDE - 1


def classify(
    crossings: pl.DataFrame,
    initial: pl.DataFrame,
    rule: ResidenceRule,
    data_end: date,
) -> pl.DataFrame:
    """Apply the rule to every person's crossings.

    `crossings`: person_id, crossing_date (Date), direction (arrival|departure), seq
    (1, 2, ... per person, in time order, arrivals and departures alternating: repair
    sequences first with `step1_histories.sequences.repair`). Other columns are carried through.
    `initial`: person_id, res_status_initial (0/1).
    `data_end`: the last day observed (its days count). A crossing is resolved when the
    days observed settle its long-term flag; the dates finalised of what is not settled
    are left empty.

    Returns the crossings with res_status_before, res_status_after, migrating (the status
    before is the opposite of the crossing's direction), qualifies (the days after it
    reach V on its own side within W), decision_date (when its own days settle that),
    is_long_term_migration, resolved and the dates finalised (empty until settled); and
    the days on which data ending then would first have settled each result (empty when
    the data do not reach it): outcome_known_on (its own outcome, `qualifies`),
    status_before_known_on and ltm_known_on (resolved on and after it).
    """
    v = rule.threshold_days
    slack = rule.window_days - rule.threshold_days
    end = (data_end - date(1970, 1, 1)).days
    df = (
        crossings.sort("person_id", "seq")
        .join(initial.select("person_id", "res_status_initial"), on="person_id", how="left")
        .with_columns(
            t=pl.col("crossing_date").cast(pl.Int32).cast(pl.Int64),
            arrival=pl.col("direction") == "arrival",
            prank=_first_of_person().cast(pl.Int64).cum_sum(),
        )
    )
    df = cumulative_days(df)
    df = _decisions(df, v, slack)
    df = _statuses(df)
    # Published finalisation dates; and the same chain with the day each decision is
    # KNOWN (a qualification is complete at the end of its V-th day, the day before its
    # published date), which says what data ending on `data_end` has settled.
    df = _finalisation(df, slack, pl.col("decision"), "final")
    df = _finalisation(df, slack, pl.col("decision") - pl.col("qualifies").cast(pl.Int64),
                       "known")
    settled = pl.col("ltm_known") <= end
    own_known = pl.col("decision") - pl.col("qualifies").cast(pl.Int64)
    return df.with_columns(
        resolved=settled,
        is_long_term_migration=pl.when(settled).then(pl.col("ltm")),
        date_finalised_ltm=_as_date(pl.when(settled).then("ltm_final")),
        date_finalised_res_after=_as_date(
            pl.when(pl.col("ra_known") <= end).then("ra_final")
        ),
        date_finalised_res_before=_as_date(
            pl.when(pl.col("rb_known") <= end).then("rb_final")
        ),
        decision_date=_as_date(pl.col("decision")),
        # The days on which data ending then would first have shown each result: what
        # lets a later step see any crossing as it looked on an earlier day.
        outcome_known_on=_as_date(pl.when(own_known <= end).then(own_known)),
        status_before_known_on=_as_date(pl.when(pl.col("rb_known") <= end).then("rb_known")),
        ltm_known_on=_as_date(pl.when(settled).then("ltm_known")),
    ).drop(
        "t", "arrival", "prank", "gap", "in_start", "out_start", "in_end", "out_end", "ltm",
        "decision", "res_status_initial",
        *[f"{name}_{kind}" for name in ("ltm", "ra", "rb") for kind in ("final", "known")],
    )


def _as_date(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.Int32).cast(pl.Date)


def _first_of_person() -> pl.Expr:
    return (pl.col("person_id") != pl.col("person_id").shift(1)).fill_null(True)


def _last_of_person() -> pl.Expr:
    return (pl.col("person_id") != pl.col("person_id").shift(-1)).fill_null(True)


def _cumsum_before(x: pl.Expr) -> pl.Expr:
    """Sum of `x` over the person's earlier rows. Rows are sorted by person, so a global
    running sum less its value at the person's first row does it without grouping."""
    before = x.cum_sum() - x
    return before - pl.when(_first_of_person()).then(before).forward_fill()


def cumulative_days(df: pl.DataFrame) -> pl.DataFrame:
    """Days in and out accumulated before each crossing, and at the end of its segment.

    Needs person_id, seq, t (days since 1970) and arrival, sorted by person and seq.

    The segment after a person's last crossing lasts for ever (the person is taken to stay
    on the same side), which makes every crossing decidable; whether the decision falls
    within the data is judged against data_end afterwards.
    """
    last = _last_of_person()
    df = df.with_columns(
        gap=pl.when(last).then(0).otherwise(pl.col("t").shift(-1) - pl.col("t"))
    )
    days_in = pl.col("gap") * pl.col("arrival")
    days_out = pl.col("gap") * ~pl.col("arrival")
    df = df.with_columns(in_start=_cumsum_before(days_in), out_start=_cumsum_before(days_out))
    return df.with_columns(
        in_end=pl.when(last & pl.col("arrival"))
        .then(_FOREVER)
        .otherwise(pl.col("in_start") + days_in),
        out_end=pl.when(last & ~pl.col("arrival"))
        .then(_FOREVER)
        .otherwise(pl.col("out_start") + days_out),
    )


def _search_key(df: pl.DataFrame, value: pl.Expr) -> pl.Series:
    """A key that increases along the rows: persons in order, then `value` within each."""
    return df.select(pl.col("prank") * _PERSON_STRIDE + value).to_series()


def _first_reaching(
    df: pl.DataFrame, end_col: str, rows: pl.Series, level: pl.Series, side: str
) -> pl.Series:
    """For each row index in `rows`, the index of the first row of the same person whose
    cumulative `end_col` reaches `level` (side="left": >= level; side="right": > level);
    null when the person never gets there.

    Rows are sorted by person then order and the cumulative is nondecreasing within a
    person, so one sorted search over a key offset by person finds it for all rows.
    """
    prank = df["prank"]
    keys = prank * _PERSON_STRIDE + df[end_col]
    own_prank = prank.gather(rows)
    found = keys.search_sorted(own_prank * _PERSON_STRIDE + level, side=side)
    n = df.height
    inside = found.clip(0, n - 1)
    same_person = (found < n) & (prank.gather(inside) == own_prank)
    return inside.zip_with(same_person, pl.Series([None], dtype=inside.dtype))


def _decided_nearby(v: int, slack: int) -> tuple[pl.Expr, pl.Expr]:
    """(qualifies, decision date) for crossings decided within their own stay, the stay
    on the other side after it, or the next own stay: most crossings. Null otherwise.

    A: the own stay reaches V (or never ends) -> qualifies on t + V;
    B: else the next stay on the other side passes W - V (or never ends) -> fails;
    C: else the next own stay completes V -> qualifies.
    """
    person, gap, t = pl.col("person_id"), pl.col("gap"), pl.col("t")
    next1 = (person.shift(-1) == person).fill_null(False)
    next2 = (person.shift(-2) == person).fill_null(False)
    next3 = (person.shift(-3) == person).fill_null(False)
    a = ~next1 | (gap >= v)
    b = ~a & next1 & (~next2 | (gap.shift(-1) > slack))
    c = ~a & ~b & next2 & (~next3 | (gap + gap.shift(-2) >= v))
    qualifies = pl.when(a).then(True).when(b).then(False).when(c).then(True)
    decision = (
        pl.when(a).then(t + v)
        .when(b).then(t.shift(-1) + slack)
        .when(c).then(t.shift(-2) + v - gap)
    )
    return qualifies, decision


def _decisions(df: pl.DataFrame, v: int, slack: int) -> pl.DataFrame:
    """Would each crossing qualify, and on which date is that settled?

    Qualifying: the date the days on the crossing's own side reach V. Failing: the date
    the days on the other side reach W - V inside a segment that goes on beyond it.
    Most crossings are settled by the next stay or two (`_decided_nearby`); the others
    search the cumulative days, arrivals counting days in for qualifying and days out
    for failing, departures the reverse.
    """
    near_qualifies, near_decision = _decided_nearby(v, slack)
    df = df.with_columns(near_qualifies=near_qualifies, near_decision=near_decision)
    t = df["t"]
    still_open = df["near_decision"].is_null()
    arrivals = (still_open & df["arrival"]).arg_true()
    departures = (still_open & ~df["arrival"]).arg_true()

    def reached(rows: pl.Series, side_of: str, level: int, side: str) -> pl.Series:
        """Date the days on `side_of` ("in"/"out") counted from each of `rows` reach
        `level` (side="right": pass it)."""
        start = df[f"{side_of}_start"]
        own_start = start.gather(rows)
        row = _first_reaching(df, f"{side_of}_end", rows, own_start + level, side)
        inside = row.fill_null(0)
        date_at = t.gather(inside) + (own_start + level - start.gather(inside))
        return date_at.zip_with(row.is_not_null(), pl.Series([None], dtype=date_at.dtype))

    def by_direction(on_arrivals: pl.Series, on_departures: pl.Series) -> pl.Series:
        out = pl.repeat(None, df.height, dtype=pl.Int64, eager=True)
        return out.scatter(arrivals, on_arrivals).scatter(departures, on_departures)

    qualify_date = by_direction(reached(arrivals, "in", v, "left"),
                                reached(departures, "out", v, "left"))
    fail_date = by_direction(reached(arrivals, "out", slack, "right"),
                             reached(departures, "in", slack, "right"))
    df = df.with_columns(qualify_date=qualify_date, fail_date=fail_date)
    # Ties go to qualification: V reached on the day the other side reaches W - V.
    searched = pl.col("qualify_date").is_not_null() & (
        pl.col("fail_date").is_null() | (pl.col("qualify_date") <= pl.col("fail_date"))
    )
    return df.with_columns(
        qualifies=pl.coalesce("near_qualifies", searched)
    ).with_columns(
        decision=pl.coalesce(
            "near_decision",
            pl.when("qualifies").then("qualify_date").otherwise("fail_date"),
        )
    ).drop("qualify_date", "fail_date", "near_qualifies", "near_decision")


def _statuses(df: pl.DataFrame) -> pl.DataFrame:
    """Carry the status forward from the last qualifying crossing.

    The person rank rides along in the carried value, so one global forward fill serves
    every person (a value carried over from an earlier person is recognised and dropped).
    """
    target = pl.col("arrival").cast(pl.Int64)
    initial = pl.col("res_status_initial").cast(pl.Int8)
    carried = pl.when("qualifies").then(pl.col("prank") * 2 + target).forward_fill()
    df = df.with_columns(
        res_status_after=pl.when(carried // 2 == pl.col("prank"))
        .then((carried % 2).cast(pl.Int8))
        .otherwise(initial)
    )
    df = df.with_columns(
        res_status_before=pl.when(_first_of_person())
        .then(initial)
        .otherwise(pl.col("res_status_after").shift(1))
    )
    return df.with_columns(
        migrating=pl.col("res_status_before") != target,
    ).with_columns(ltm=pl.col("migrating") & pl.col("qualifies"))


def _finalisation(df: pl.DataFrame, slack: int, decision: pl.Expr, suffix: str) -> pl.DataFrame:
    """Dates on which the status before, the status after and the long-term flag are
    settled (published convention), given each crossing's own `decision` date; written
    to rb_<suffix>, ra_<suffix>, ltm_<suffix>."""
    rb, ra, ltm = f"rb_{suffix}", f"ra_{suffix}", f"ltm_{suffix}"
    own = pl.when("migrating").then(decision).otherwise("t")
    # A running maximum per person, as one global running maximum of person-offset keys.
    offset = pl.col("prank") * _PERSON_STRIDE
    df = df.with_columns(((offset + own).cum_max() - offset).alias(ra))
    df = df.with_columns(
        pl.max_horizontal(
            "t", pl.when(_first_of_person()).then(None).otherwise(pl.col(ra).shift(1))
        ).alias(rb)
    )
    df = df.with_columns(pl.when("migrating").then(ra).otherwise(rb).alias(ltm))
    return _early_returns(df, slack, decision, rb, ltm)


def _early_returns(
    df: pl.DataFrame, slack: int, decision: pl.Expr, rb: str, ltm: str
) -> pl.DataFrame:
    """A crossing made while an earlier migrating crossing in the opposite direction is
    still undecided, and within 2(W - V) days of that one's status before being settled,
    cannot be a long-term migration: its flag is settled on its own date (or on that
    earlier crossing's status-before date, if later).

    Each migrating crossing covers the rows up to its reach (a sorted search on dates).
    The earliest covering crossing is found for every row at once with a second sorted
    search on the running maximum of the reaches, which increases along the rows.
    """
    # Only crossings that are not long-term migrations and not yet settled on their own
    # date can gain; only migrating crossings can cover them.
    could_gain = (~df["ltm"] & (df[ltm] > df["t"])).arg_true()
    if could_gain.is_empty():
        return df
    # A failing decision on the crossing's date still lets the loop see that crossing.
    reach_date = df.select(
        pl.min_horizontal(decision + (~pl.col("qualifies")).cast(pl.Int64),
                          pl.col(rb) + 2 * slack)
    ).to_series()
    date_keys = _search_key(df, pl.col("t"))
    prank, t, arrival = df["prank"], df["t"], df["arrival"]
    early = pl.repeat(None, df.height, dtype=pl.Int64, eager=True)
    for direction in (True, False):  # candidates arriving cover departures, and back
        candidates = (df["migrating"] & (arrival == direction)).arg_true()
        targets = could_gain.filter(arrival.gather(could_gain) != direction)
        if candidates.is_empty() or targets.is_empty():
            continue
        reach_row = date_keys.search_sorted(
            prank.gather(candidates) * _PERSON_STRIDE + reach_date.gather(candidates),
            side="left",
        ).cast(pl.Int64) - 1
        first = reach_row.cum_max().search_sorted(targets.cast(pl.Int64), side="left")
        ok = first < candidates.len()
        cand = candidates.gather(first.clip(0, candidates.len() - 1))
        covered = ok & (cand < targets)
        cand_rb = df[rb].gather(cand)
        t_target = t.gather(targets)
        value = t_target.zip_with(t_target >= cand_rb, cand_rb)
        early = early.scatter(targets.filter(covered), value.filter(covered))
    return df.with_columns(
        pl.when(early.is_not_null())
        .then(pl.min_horizontal(ltm, early))
        .otherwise(ltm)
        .alias(ltm)
    )
