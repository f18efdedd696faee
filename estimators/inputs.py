"""What the estimate stage reads from the warehouse (tables of the ingest and link stages).

Register and permit records reach persons through core.person_map; crossings keep their
delivery order (load, row) so that same-day crossings without a time stay in file order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from regmig.errors import RegmigError
from regmig.warehouse.sql_engines import SqlEngine

#: Tables read, for the run's input hash.
INPUT_TABLES = (
    "core.crossings",
    "core.person_map",
    "core.persons",
    "raw.border_crossings",
    "raw.population_register",
    "raw.permits",
)

CROSSINGS_SQL = """
SELECT c.person_id, c.record_id, c.crossing_date, c.crossed_at, c.direction,
       coalesce(c.citizenship, b.citizenship) AS citizenship,
       c.country_of_residence, c.origin_destination,
       b.load_id * 10000000000 + b.row_number AS delivery_order
FROM core.crossings AS c
LEFT JOIN raw.border_crossings AS b USING (record_id)
"""

REGISTER_SQL = """
SELECT m.person_id, r.record_id, r.registered_from, r.deregistered_on,
       r.deregistration_reason, r.citizenship, r.country_of_birth, r.sex,
       r.birth_year, r.birth_month
FROM raw.population_register AS r
JOIN core.person_map AS m ON m.source = 'population_register' AND m.record_id = r.record_id
"""

PERMITS_SQL = """
SELECT m.person_id, p.record_id, p.permit_type, p.decision, p.application_date,
       p.decision_date, p.valid_from, p.valid_to
FROM raw.permits AS p
JOIN core.person_map AS m ON m.source = 'permits' AND m.record_id = p.record_id
"""

PERSONS_SQL = """
SELECT person_id, sex, birth_year, birth_month, citizenship, first_citizenship,
       country_of_birth
FROM core.persons
"""


@dataclass(frozen=True)
class EstimateInputs:
    crossings: pl.DataFrame
    register: pl.DataFrame
    permits: pl.DataFrame
    persons: pl.DataFrame
    observation_start: date
    data_end: date


def read_inputs(sql: SqlEngine) -> EstimateInputs:
    """The stage's inputs, read by the run's SQL engine (DuckDB or Spark)."""
    crossings = sql.query(CROSSINGS_SQL)
    if crossings.height == 0:
        raise RegmigError(
            "estimate: core.crossings is empty; run `regmig ingest` and `regmig link` first"
        )
    register = sql.query(REGISTER_SQL)
    permits = sql.query(PERMITS_SQL)
    persons = sql.query(PERSONS_SQL)
    return EstimateInputs(
        crossings=crossings,
        register=register,
        permits=permits,
        persons=persons,
        observation_start=crossings["crossing_date"].min(),
        data_end=crossings["crossing_date"].max(),
    )


def truncate(inputs: EstimateInputs, cut: date) -> EstimateInputs:
    """The inputs as they would have looked on `cut` (for backtests): records dated
    after it removed, deregistrations after it not yet known."""
    return EstimateInputs(
        crossings=inputs.crossings.filter(pl.col("crossing_date") <= cut),
        register=inputs.register.filter(pl.col("registered_from") <= cut).with_columns(
            deregistered_on=pl.when(pl.col("deregistered_on") <= cut).then(
                "deregistered_on"
            )
        ),
        permits=inputs.permits.filter(
            pl.col("application_date").is_null() | (pl.col("application_date") <= cut)
        ),
        persons=inputs.persons,
        observation_start=inputs.observation_start,
        data_end=cut,
    )
