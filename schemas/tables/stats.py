"""stats: unprotected aggregates written by the estimate stage (restricted)."""

from regmig.schemas.table_spec import C, Table

MIGRATION_TOTALS = Table(
    "stats",
    "migration_totals",
    "Immigration and emigration per calendar year (unit: long-term migrations, i.e. "
    "persons' moves): final events plus the probabilities of provisional ones, with an "
    "interval.",
    (
        C("year", "INTEGER", "Calendar year of the crossing dates", "NOT NULL"),
        C("kind", "VARCHAR", "immigration | emigration", "NOT NULL"),
        C("final", "BIGINT", "Final long-term migrations (moves)"),
        C("provisional_expected", "DOUBLE",
          "Sum of the probabilities of provisional crossings (expected moves)"),
        C("estimate", "DOUBLE", "final + provisional_expected (moves)"),
        C("lower", "DOUBLE", "Lower bound of the interval of estimate (moves)"),
        C("upper", "DOUBLE", "Upper bound of the interval of estimate (moves)"),
        C("interval_level", "DOUBLE", "Coverage of the interval, e.g. 0.95"),
        C("rule", "VARCHAR", "Residence rule, e.g. 12/16"),
        C("threshold_days", "INTEGER", "V of the rule (days)"),
        C("window_days", "INTEGER", "W of the rule (days)"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

SENSITIVITY = Table(
    "stats",
    "sensitivity",
    "The same years under each rule of the sensitivity set (12/16, 12/12, 9/12), side "
    "by side in long form (unit: long-term migrations, i.e. persons' moves).",
    MIGRATION_TOTALS.columns,
)

PROVISIONAL_REVISIONS = Table(
    "stats",
    "provisional_revisions",
    "Backtest of provisional estimates (unit: long-term migrations): the data cut at an "
    "earlier date, the first estimate of the 12 months ending then, against the final "
    "figure once every window has closed.",
    (
        C("cut_date", "DATE", "Date the data were cut at (the first estimate's data end)"),
        C("period_start", "DATE", "First day of the period estimated"),
        C("period_end", "DATE", "Last day of the period estimated (= cut_date)"),
        C("kind", "VARCHAR", "immigration | emigration"),
        C("first_estimate", "DOUBLE", "Estimate made at the cut (moves)"),
        C("lower", "DOUBLE", "Lower bound of its interval (moves)"),
        C("upper", "DOUBLE", "Upper bound of its interval (moves)"),
        C("final", "BIGINT", "Final figure from the full data (moves)"),
        C("revision", "DOUBLE", "final - first_estimate (moves)"),
        C("relative_revision", "DOUBLE", "revision / final (ratio)"),
        C("covered", "BOOLEAN", "True when the interval contains the final figure"),
        C("rule", "VARCHAR", "Residence rule"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

TABLES = (MIGRATION_TOTALS, SENSITIVITY, PROVISIONAL_REVISIONS)
