"""stats: unprotected aggregates written by the estimate stage (restricted: they live in
restricted/stats.duckdb, attached to the warehouse connection as the catalog `stats`)."""

from regmig.schemas.table_spec import C, Table

MIGRATION_TOTALS = Table(
    "stats",
    "migration_totals",
    "THE estimate of every migration figure (unit: long-term migrations, i.e. persons' "
    "moves), one row per period, kind and breakdown category: final events, the expected "
    "number of provisional ones, the interval with its chance and model parts, and the "
    "published integer (final + counted events) that the run report, the demo summary and "
    "the release all show. Years carry every breakdown; quarters and months the total.",
    (
        C("period", "VARCHAR", "year | quarter | month", "NOT NULL"),
        C("period_start", "DATE", "First day of the period", "NOT NULL"),
        C("period_end", "DATE", "Last day of the period", "NOT NULL"),
        C("year", "INTEGER", "Calendar year of the period", "NOT NULL"),
        C("kind", "VARCHAR", "immigration | emigration", "NOT NULL"),
        C("breakdown", "VARCHAR",
          "total | sex | age | citizenship | country_of_birth | previous_next_country | "
          "reason: the variable the row breaks the figure down by", "NOT NULL"),
        C("category", "VARCHAR",
          "The category of the breakdown: TOTAL for the total; M | F | UNK for sex; age in "
          "completed years (UNK unknown); ISO alpha-3 countries (UNK unknown); permit type, "
          "citizen or none for reason", "NOT NULL"),
        C("final", "BIGINT", "Final long-term migrations (moves)"),
        C("provisional_events", "BIGINT",
          "Provisional crossings that may be long-term migrations (cases with a "
          "probability above zero)"),
        C("provisional_expected", "DOUBLE",
          "Sum of the probabilities of the provisional crossings (expected moves)"),
        C("counted", "BIGINT",
          "Provisional crossings the published integer counts (derived.migration_events."
          "counted: a systematic selection by cumulative probability)"),
        C("published", "BIGINT",
          "The published figure: final + counted (moves). For a year, the estimate rounded"),
        C("estimate", "DOUBLE", "final + provisional_expected (expected moves)"),
        C("chance_sd", "DOUBLE",
          "Standard deviation of the estimate from chance: the provisional crossings' "
          "own outcomes, sqrt(sum p(1 - p)) (moves)"),
        C("model_sd", "DOUBLE",
          "Standard deviation of the estimate from the model's error on totals, as "
          "measured by validation on earlier crossings (moves)"),
        C("lower", "DOUBLE", "Lower bound of the interval of estimate (moves; never below "
          "final)"),
        C("upper", "DOUBLE", "Upper bound of the interval of estimate (moves)"),
        C("interval_level", "DOUBLE", "Coverage of the interval, e.g. 0.95"),
        C("status", "VARCHAR",
          "final (no provisional crossing in the cell) | provisional (published flag p)",
          "NOT NULL"),
        C("rule", "VARCHAR", "Residence rule, e.g. 12/16"),
        C("threshold_days", "INTEGER", "V of the rule (days)"),
        C("window_days", "INTEGER", "W of the rule (days)"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

SENSITIVITY = Table(
    "stats",
    "sensitivity",
    "The reference year's totals under each rule of the sensitivity set (12/16, 12/12, "
    "9/12), side by side in long form (unit: long-term migrations, i.e. persons' moves); "
    "the configured rule's rows equal its rows in stats.migration_totals.",
    (
        C("year", "INTEGER", "Calendar year of the crossing dates", "NOT NULL"),
        C("kind", "VARCHAR", "immigration | emigration", "NOT NULL"),
        C("final", "BIGINT", "Final long-term migrations (moves)"),
        C("provisional_expected", "DOUBLE",
          "Sum of the probabilities of provisional crossings (expected moves)"),
        C("published", "BIGINT", "final + counted provisional crossings (moves)"),
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

PROVISIONAL_REVISIONS = Table(
    "stats",
    "provisional_revisions",
    "Backtest of provisional estimates (unit: long-term migrations): the data cut at an "
    "earlier date, the first estimate of the 12, 3 and 1 months ending then, against the "
    "final figure once every window has closed.",
    (
        C("cut_date", "DATE", "Date the data were cut at (the first estimate's data end)"),
        C("period", "VARCHAR", "year | quarter | month: the 12, 3 or 1 months ending on the "
          "cut"),
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
        C("chance_sd", "DOUBLE", "Standard deviation of the first estimate from chance "
          "(the open crossings' own outcomes; moves)"),
        C("model_sd", "DOUBLE", "Standard deviation of the first estimate from the model's "
          "error on totals (moves)"),
        C("rule", "VARCHAR", "Residence rule"),
        C("run_id", "VARCHAR", "Estimate run that wrote the row"),
    ),
)

TABLES = (MIGRATION_TOTALS, SENSITIVITY, PROVISIONAL_REVISIONS)

REVISIONS = Table(
    "stats",
    "revisions",
    "Every published figure in every release vintage (unit: long-term migrations, i.e. "
    "persons' moves): each row of stats.migration_totals whose period the vintage's data "
    "cover, as that vintage published it, so a user sees how a month's, a quarter's or a "
    "year's immigration and emigration moved as its crossings matured "
    "(publish/revisions.py). Rows are only ever added.",
    (
        C("vintage", "VARCHAR", "Release vintage: the folder releases/<vintage>/ "
          "(data end, then publish run)", "NOT NULL"),
        C("data_end", "DATE", "Last day the vintage's data cover", "NOT NULL"),
        C("published_at", "TIMESTAMP", "When the vintage was published (UTC)", "NOT NULL"),
        *(c for c in MIGRATION_TOTALS.columns if c.name in (
            "period", "period_start", "period_end", "year", "kind", "breakdown",
            "category")),
        C("lag_months", "INTEGER", "Months from the period's last month to the month of "
          "the vintage's data end (0: the first vintage that covers the whole period)"),
        *(c for c in MIGRATION_TOTALS.columns if c.name in (
            "published", "estimate", "final", "provisional_expected", "lower", "upper",
            "status", "rule")),
        C("previous_published", "BIGINT", "The same figure's published integer in the "
          "previous vintage (moves); empty in the first vintage that publishes it"),
        C("revision", "BIGINT", "published - previous_published (moves)"),
        C("previous_estimate", "DOUBLE", "The same figure's estimate in the previous "
          "vintage (expected moves)"),
        C("estimate_revision", "DOUBLE", "estimate - previous_estimate (expected moves)"),
        C("run_id", "VARCHAR", "Publish run that made the vintage"),
    ),
)
#: stats.* tables publish adds to (estimate's TABLES it replaces on every run).
PUBLISHED_TABLES = (REVISIONS,)
