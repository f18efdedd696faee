"""The populations the tables count, as temporary tables (one row per unit) of the run's
SQL engine (DuckDB, or Spark: warehouse/sql_engines.py; the SQL is written once).

Each population carries its breakdowns already coded the way the release codes them:
countries as Eurostat codes (NAT for the reporting country, UNK when unknown), ages as
Eurostat age codes, sex as M | F | UNK. Tables then only roll codes up (cube.py).

Persons are counted with `person_id`; cases (crossings, applications, permits) with
`record_id`; migrations with `event_id` (one row per long-term migration). Migrations are
the events the estimate stage marks `counted` (every final one and a systematic selection
of provisional ones), so every cell, margin and total is a count of the same events and
the yearly totals equal the published figures of stats.migration_totals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from regmig.config import Config
from regmig.publish.classifications import (
    NATIONAL,
    OPEN_SINGLE_YEAR,
    UNKNOWN,
    age_code_sql,
    country_map_rows,
    sex_code_sql,
)
from regmig.warehouse.sql_engines import SqlEngine


@dataclass(frozen=True)
class Reference:
    """What one release covers: flows of `year`, stocks on `stock_date`."""

    year: int
    stock_date: date

    @property
    def period_start(self) -> date:
        return date(self.year, 1, 1)

    @property
    def period_end(self) -> date:
        return date(self.year, 12, 31)


#: population -> (what it counts, unit, warehouse tables it reads)
POPULATIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "immigrants": ("long-term immigrations (residence rule) dated in the year", "persons",
                   ("derived.migration_events",)),
    "emigrants": ("long-term emigrations (residence rule) dated in the year", "persons",
                  ("derived.migration_events",)),
    "stock": ("residents on the reference date (residence rule)", "persons",
              ("derived.resident_stock", "core.persons")),
    "deaths": ("persons deregistered for death in the year", "persons",
               ("raw.population_register", "core.person_map", "core.persons")),
    "acquisitions": ("persons first seen as citizens in the year after being seen as "
                     "foreign citizens", "persons",
                     ("core.persons", "core.person_map", "raw.population_register",
                      "core.crossings")),
    "citizens_abroad": ("citizens non-resident on the reference date after a resident "
                        "spell", "persons", ("derived.residence_spells", "core.persons")),
    "valid_permits": ("permits of foreign citizens valid on the reference date", "cases",
                      ("raw.permits", "core.person_map", "core.persons")),
    "work_applications": ("first and extension work-permit applications in the year",
                          "cases", ("raw.permits", "core.person_map", "core.persons")),
    "work_decisions": ("decisions on work-permit applications in the year", "cases",
                       ("raw.permits", "core.person_map", "core.persons")),
    "arrivals": ("border arrivals of foreign citizens in the year", "cases",
                 ("core.crossings", "core.persons")),
    "departures": ("border departures of foreign citizens in the year", "cases",
                   ("core.crossings", "core.persons")),
    "asylum_applications": ("asylum applications in the year", "cases",
                            ("raw.permits", "core.person_map", "core.persons")),
    "asylum_decisions": ("decisions on asylum applications (refugee status) in the year",
                         "cases", ("raw.permits", "core.person_map", "core.persons")),
}


def build_populations(sql: SqlEngine, config: Config, ref: Reference) -> dict[str, int]:
    """Create one temporary table per population; returns rows per population."""
    sql.register("_country_map", pl.DataFrame(
        country_map_rows(), schema={"alpha3": pl.Utf8, "code": pl.Utf8}, orient="row"))
    nat = config.country.upper()
    ages = config.disclosure.age_classification
    # max(): one code per alpha3 anyway, and Spark takes a correlated scalar subquery
    # only when it aggregates.
    sql.create_macro("geo", ["c"], (
        f"CASE WHEN c IS NULL THEN '{UNKNOWN}' WHEN upper(c) = '{nat}' THEN '{NATIONAL}' "
        f"ELSE coalesce((SELECT max(code) FROM _country_map m WHERE m.alpha3 = upper(c)), "
        f"'{UNKNOWN}') END"))
    sql.create_macro("age_code", ["a"], age_code_sql("a", ages))
    sql.create_macro("age_year", ["a"], age_code_sql("a", "single_year"))
    sql.create_macro("sex_code", ["s"], sex_code_sql("s"))
    params = {
        "y0": ref.period_start, "y1": ref.period_end, "d": ref.stock_date, "nat": nat,
    }
    return {name: sql.create_temp_table(name, query, params)
            for name, query in _population_sql().items()}


def provisional_share(sql: SqlEngine, population: str) -> float:
    """Share of a flow population's rows that are provisional (0 for other populations)."""
    if "status" not in sql.columns(population):
        return 0.0
    share = sql.query(
        f"SELECT coalesce(avg(CAST(status = 'provisional' AS INT)), 0) AS share "
        f"FROM {population}")
    return float(share["share"][0])


def distinct_codes(sql: SqlEngine, populations: list[str], column: str) -> list[str]:
    """Codes of `column` observed in any of `populations` (sorted)."""
    union = " UNION ".join(f"SELECT DISTINCT {column} AS c FROM {p}" for p in populations)
    return sorted(sql.query(union)["c"].drop_nulls().to_list())


def _population_sql() -> dict[str, str]:
    # Attributes of a case are its person's (core.persons), so a persons table and its
    # cases table break down the same people the same way.
    person_attrs = """
        geo(p.citizenship) AS citizenship,
        geo(p.country_of_birth) AS country_of_birth,
        sex_code(p.sex) AS sex"""
    foreign = "p.citizenship IS NOT NULL AND upper(p.citizenship) <> $nat"
    permit_cases = f"""
        SELECT r.record_id, m.person_id, {person_attrs}, r.application_kind, r.decision
        FROM raw.permits AS r
        JOIN core.person_map AS m ON m.source = 'permits' AND m.record_id = r.record_id
        JOIN core.persons AS p ON p.person_id = m.person_id
        WHERE {foreign}"""
    # Age reached during the year (Eurostat's AGEDEF REACH) is the year minus the year of
    # birth: the completed age at the event, or one more when the birthday came after it.
    # The clamp to [age, age + 1] only states that definition (the estimate computes the
    # completed age from the same year of birth), and ages in the open group (Y_GE100)
    # stay put, so the relation the release declares between the two ages (eurostat.py)
    # holds for every event by construction, and an age never reaches a code (UNK) of
    # its own. age_up: the single year of those whose age reached is one more.
    migrations = f"""
        WITH events AS (
            SELECT e.*, CASE WHEN e.age IS NULL OR e.age < 0 THEN NULL
                             WHEN e.age >= {OPEN_SINGLE_YEAR} THEN e.age
                             ELSE least(greatest(year($y0) - p.birth_year, e.age), e.age + 1)
                        END AS reached
            FROM derived.migration_events AS e
            LEFT JOIN core.persons AS p ON p.person_id = e.person_id
            WHERE e.kind = '{{kind}}' AND e.event_date BETWEEN $y0 AND $y1
              AND e.counted
        )
        SELECT row_number() OVER (ORDER BY e.person_id, e.event_date, e.record_id)
                   AS event_id,
               e.person_id, geo(e.citizenship) AS citizenship,
               geo(e.country_of_birth) AS country_of_birth,
               geo(e.previous_next_country) AS {{residence}},
               age_code(e.age) AS age, age_year(e.age) AS age_year,
               age_code(e.reached) AS age_reached, age_year(e.reached) AS age_reached_year,
               CASE WHEN e.reached = e.age + 1 THEN age_year(e.age) END AS age_up,
               sex_code(e.sex) AS sex, e.status
        FROM events AS e"""
    crossings = f"""
        SELECT c.record_id, c.person_id, {person_attrs}
        FROM core.crossings AS c JOIN core.persons AS p ON p.person_id = c.person_id
        WHERE c.direction = '{{direction}}' AND c.crossing_date BETWEEN $y0 AND $y1
          AND {foreign}"""
    return {
        "immigrants": migrations.format(kind="immigration", residence="previous_residence"),
        "emigrants": migrations.format(kind="emigration", residence="next_residence"),
        "stock": """
            SELECT s.person_id, geo(s.citizenship) AS citizenship,
                   geo(s.country_of_birth) AS country_of_birth,
                   age_code(s.age) AS age, sex_code(s.sex) AS sex,
                   CASE WHEN upper(p.citizenship) = $nat AND p.first_citizenship IS NOT NULL
                             AND upper(p.first_citizenship) <> $nat
                        THEN 'Y' ELSE 'N' END AS naturalised,
                   CASE WHEN s.status_source = 'provisional' THEN 'provisional'
                        ELSE 'final' END AS status
            FROM derived.resident_stock AS s
            LEFT JOIN core.persons AS p ON p.person_id = s.person_id
            WHERE s.ref_date = $d""",
        "deaths": f"""
            WITH died AS (
                SELECT m.person_id, max(r.deregistered_on) AS died_on
                FROM raw.population_register AS r
                JOIN core.person_map AS m
                  ON m.source = 'population_register' AND m.record_id = r.record_id
                WHERE r.deregistration_reason = 'death'
                  AND r.deregistered_on BETWEEN $y0 AND $y1
                GROUP BY m.person_id
            )
            SELECT d.person_id, {person_attrs},
                   age_code(year(d.died_on) - p.birth_year
                            - CASE WHEN month(d.died_on) < coalesce(p.birth_month, 1)
                                   THEN 1 ELSE 0 END) AS age
            FROM died AS d JOIN core.persons AS p ON p.person_id = d.person_id""",
        "acquisitions": """
            WITH naturalised AS (
                SELECT person_id FROM core.persons
                WHERE upper(citizenship) = $nat AND first_citizenship IS NOT NULL
                  AND upper(first_citizenship) <> $nat
            ),
            seen AS (   -- every dated sighting of the person's citizenship
                SELECT m.person_id, r.registered_from AS seen_on, r.citizenship
                FROM raw.population_register AS r
                JOIN core.person_map AS m
                  ON m.source = 'population_register' AND m.record_id = r.record_id
                UNION ALL
                SELECT c.person_id, c.crossing_date, c.citizenship FROM core.crossings AS c
            ),
            last_foreign AS (
                SELECT s.person_id, max(s.seen_on) AS last_seen_foreign
                FROM seen AS s JOIN naturalised USING (person_id)
                WHERE upper(s.citizenship) <> $nat
                GROUP BY s.person_id
            ),
            acquired AS (   -- first sighting as a citizen after the last as a foreigner
                SELECT s.person_id, min(s.seen_on) AS acquired_on
                FROM seen AS s JOIN last_foreign AS f USING (person_id)
                WHERE upper(s.citizenship) = $nat AND s.seen_on > f.last_seen_foreign
                GROUP BY s.person_id
            )
            SELECT a.person_id, geo(p.first_citizenship) AS citizenship,
                   geo(p.country_of_birth) AS country_of_birth, sex_code(p.sex) AS sex,
                   age_code(year(a.acquired_on) - p.birth_year
                            - CASE WHEN month(a.acquired_on) < coalesce(p.birth_month, 1)
                                   THEN 1 ELSE 0 END) AS age
            FROM acquired AS a JOIN core.persons AS p ON p.person_id = a.person_id
            WHERE a.acquired_on BETWEEN $y0 AND $y1""",
        "citizens_abroad": f"""
            WITH abroad AS (
                SELECT DISTINCT s.person_id FROM derived.residence_spells AS s
                WHERE s.res_status = 0 AND s.spell_start <= $d
                  AND (s.spell_end IS NULL OR s.spell_end >= $d)
                  AND EXISTS (SELECT 1 FROM derived.residence_spells AS e
                              WHERE e.person_id = s.person_id AND e.res_status = 1
                                AND e.spell_start < s.spell_start)
            )
            SELECT a.person_id, {person_attrs}
            FROM abroad AS a JOIN core.persons AS p ON p.person_id = a.person_id
            WHERE upper(p.citizenship) = $nat""",
        "valid_permits": permit_cases + """
              AND r.permit_type <> 'asylum' AND coalesce(r.decision, 'granted') = 'granted'
              AND r.valid_from <= $d AND (r.valid_to IS NULL OR r.valid_to >= $d)""",
        "work_applications": permit_cases + """
              AND r.permit_type = 'work' AND r.application_kind IN ('first', 'extension')
              AND r.application_date BETWEEN $y0 AND $y1""",
        "work_decisions": permit_cases + """
              AND r.permit_type = 'work' AND r.decision IN ('granted', 'refused')
              AND r.decision_date BETWEEN $y0 AND $y1""",
        "arrivals": crossings.format(direction="arrival"),
        "departures": crossings.format(direction="departure"),
        "asylum_applications": permit_cases + """
              AND r.permit_type = 'asylum' AND r.application_date BETWEEN $y0 AND $y1""",
        "asylum_decisions": permit_cases + """
              AND r.permit_type = 'asylum' AND r.decision IN ('granted', 'refused')
              AND r.decision_date BETWEEN $y0 AND $y1""",
    }
