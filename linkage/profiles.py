"""Cases to profiles: the units Splink compares.

A traveller crosses the border dozens of times on one document; comparing crossings would
cost the square of that. So crossings are first collapsed to *identity profiles*: one
pseudonymised travel document (its key already covers number and issuing country) = one
profile, carrying the modal name, date of birth, sex, citizenship and country of birth
of its crossings and their number. Permits collapse the same way to holder profiles
(by document, else by permit id); register records collapse by the register personal id
pseudonym, which the register guarantees is one person.

A profile is *named* after its first record id, never after the pseudonym it is grouped
by: Splink samples pairs (u, EM) and the clustering breaks ties by profile id, so ids
made of pseudonyms would make the partition depend on the pseudonymisation key.

Tables written in the working database:
- `link_records`: every loaded record with its load, profile group (the key its
  profile is grouped by), profile_id and identifying attributes;
- `profiles`: one row per profile, the Splink input.
"""

from __future__ import annotations

import duckdb

#: Prefix of each source's profile ids (profile ids are unique across sources).
PROFILE_PREFIX = {"border_crossings": "B", "population_register": "R", "permits": "P"}

#: Attributes whose modal value a profile carries. The name is one attribute (given
#: name and surname together): taking their modes apart would pair the surname of a
#: record with swapped names with the surname of a correct one.
MODAL_ATTRIBUTES = ("full_name", "date_of_birth", "sex", "citizenship", "country_of_birth")

#: Separates given name and surname inside full_name (never part of a cleaned name).
NAME_SEPARATOR = "|"

# A consonant skeleton survives most transliterations of one name (Khachatryan,
# Xachatrian, Chachatrjan): digraphs fold to one letter, vowels and y/j vanish, doubled
# letters collapse. DuckDB has no double metaphone; this is its stand-in.
NAME_KEY_MACROS = r"""
CREATE OR REPLACE MACRO dedouble(s) AS array_to_string(list_transform(
    range(1, length(s) + 1),
    lambda i: CASE WHEN i = 1 OR s[i] <> s[i - 1] THEN s[i] ELSE '' END), '');
CREATE OR REPLACE MACRO fold_digraphs(s) AS
    regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(
    regexp_replace(regexp_replace(regexp_replace(s,
        'dzh|dj|zh', 'z', 'g'), 'kh|x', 'h', 'g'), 'sch|sh', 's', 'g'), 'tch|ch', 'c', 'g'),
        'ts|tz', 'c', 'g'), 'ph', 'f', 'g'), 'th', 't', 'g'), 'ck|q', 'k', 'g');
CREATE OR REPLACE MACRO name_key(s) AS nullif(dedouble(regexp_replace(translate(
    fold_digraphs(regexp_replace(lower(s), '[^a-z]', '', 'g')), 'wgh', 'vkh'),
    '[aeiouyj]', '', 'g')), '');
"""


def build_link_records(work: duckdb.DuckDBPyConnection) -> None:
    """Build `link_records` alone: each record with its profile id (names only where
    `in_ident` holds them)."""
    work.execute(_LINK_RECORDS_SQL)


def build_profiles(work: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Build `link_records` and `profiles` in `work`; return counts per source."""
    work.execute(NAME_KEY_MACROS)
    build_link_records(work)
    work.execute(_PROFILE_VALUES_SQL)
    work.execute(_PROFILES_SQL)
    rows = work.sql(
        "SELECT source, count(*) AS records, count(DISTINCT profile_id) AS profiles "
        "FROM link_records GROUP BY source"
    ).fetchall()
    counts = {}
    for source, records, profiles in rows:
        counts[f"records_{source}"] = records
        counts[f"profiles_{source}"] = profiles
    return counts


_LINK_RECORDS_SQL = f"""
CREATE OR REPLACE TABLE link_records AS
WITH crossings AS (
    SELECT 'border_crossings' AS source, record_id, load_id,
           coalesce('|' || document_key, '#' || record_id) AS profile_group,
           document_key, NULL::VARCHAR AS person_key, sex, citizenship,
           NULL::VARCHAR AS second_citizenship, country_of_birth, crossing_date AS record_date
    FROM in_border_crossings
), register AS (
    SELECT 'population_register', record_id, load_id,
           '|' || person_key,
           document_key, person_key, sex, citizenship, second_citizenship, country_of_birth,
           registered_from
    FROM in_population_register
), permits AS (
    SELECT 'permits', record_id, load_id,
           coalesce('|' || document_key, '#' || permit_id),
           document_key, NULL::VARCHAR, sex, citizenship, NULL::VARCHAR, country_of_birth,
           record_date
    FROM in_permits
), all_records AS (
    SELECT * FROM crossings UNION ALL SELECT * FROM register UNION ALL SELECT * FROM permits
), prefixes AS (
    SELECT * FROM (VALUES {", ".join(f"('{k}', '{v}')" for k, v in PROFILE_PREFIX.items())})
        AS t(source, prefix)
), named AS (   -- a profile's id: its source's prefix and its smallest record id
    SELECT a.*, x.prefix || ':' || min(a.record_id) OVER (PARTITION BY a.source, a.profile_group)
               AS profile_id
    FROM all_records AS a JOIN prefixes AS x USING (source)
)
SELECT r.source, r.record_id, r.load_id, r.profile_group, r.profile_id, r.document_key,
       r.person_key,
       nullif(i.given_name_clean, '') AS given_name, nullif(i.surname_clean, '') AS surname,
       i.date_of_birth, nullif(r.sex, '') AS sex, nullif(r.citizenship, '') AS citizenship,
       nullif(r.second_citizenship, '') AS second_citizenship,
       nullif(r.country_of_birth, '') AS country_of_birth, r.record_date
FROM named AS r
LEFT JOIN in_ident AS i
  ON i.source = r.source AND i.record_id = r.record_id AND i.load_id = r.load_id
"""

_MODAL_LIST = ", ".join(MODAL_ATTRIBUTES)

# Per attribute the most frequent non-empty value (ties: the smallest), so a profile is
# the same however DuckDB schedules its threads.
_PROFILE_VALUES_SQL = f"""
CREATE OR REPLACE TABLE profile_values AS
WITH variants AS (   -- identical records of a profile once, counted: most crossings repeat
    SELECT profile_id,
           CASE WHEN given_name IS NOT NULL OR surname IS NOT NULL THEN
               coalesce(given_name, '') || '{NAME_SEPARATOR}' || coalesce(surname, '')
           END AS full_name,
           CAST(date_of_birth AS VARCHAR) AS date_of_birth,
           sex, citizenship, country_of_birth, count(*) AS n
    FROM link_records GROUP BY ALL
), long AS (
    UNPIVOT variants ON {_MODAL_LIST} INTO NAME attribute VALUE value
), value_counts AS (
    SELECT profile_id, attribute, value, sum(n) AS n FROM long GROUP BY ALL
), modal AS (
    SELECT profile_id, attribute, first(value ORDER BY n DESC, value) AS value
    FROM value_counts GROUP BY ALL
)
SELECT profile_id,
       {", ".join(f"first(value) FILTER (WHERE attribute = '{a}') AS {a}"
                  for a in MODAL_ATTRIBUTES)}
FROM modal GROUP BY profile_id
"""

def profile_columns_sql(base: str) -> str:
    """The Splink input from a relation `base` holding, per profile: unique_id, source,
    n_records, given_name, surname, dob (ISO text), sex, citizenship, citizenships,
    country_of_birth, document_key, document_neighbours (the pseudonyms of the
    document's number one character apart, or null), person_key, first_date, last_date.
    Adds the sound keys and the date parts the blocking passes and comparisons read (the
    benchmarks build FEBRL profiles with it too)."""
    return f"""
WITH named AS (SELECT * FROM {base}),
sound_keys AS (   -- the key is costly per call: once per distinct name, not per profile
    SELECT name, name_key(name) AS name_key
    FROM (SELECT given_name AS name FROM named UNION SELECT surname FROM named)
    WHERE name IS NOT NULL
)
SELECT n.unique_id, n.source, n.n_records, n.given_name, n.surname,
       g.name_key AS given_key, s.name_key AS surname_key,
       -- the surname's sound without its first letter: survives a first-letter typo
       nullif(substr(s.name_key, 2), '') AS surname_tail,
       left(n.given_name, 1) AS given_initial, left(n.surname, 1) AS surname_initial,
       CAST(n.dob AS DATE) AS date_of_birth, n.dob, year(CAST(n.dob AS DATE)) AS birth_year,
       month(CAST(n.dob AS DATE)) AS birth_month, substr(n.dob, 6, 5) AS birth_month_day,
       n.sex, n.citizenship, n.citizenships, n.country_of_birth, n.document_key,
       n.document_neighbours, n.person_key, n.first_date, n.last_date
FROM named AS n
LEFT JOIN sound_keys AS g ON g.name = n.given_name
LEFT JOIN sound_keys AS s ON s.name = n.surname
"""


# A profile carries its document's whole neighbourhood (ingest/document_neighbours.py):
# a function of the document alone, so that a monthly run's touched profiles get what a
# full link gives them (linkage/incremental.py).
_PROFILES_SQL = f"""
CREATE OR REPLACE TABLE profiles AS
WITH neighbours AS (
    SELECT document_key, neighbour_keys AS document_neighbours FROM in_document_neighbours
), per_profile AS (
    SELECT profile_id, any_value(source) AS source, count(*) AS n_records,
           min(document_key) AS document_key, min(person_key) AS person_key,
           min(record_date) AS first_date, max(record_date) AS last_date,
           -- every citizenship the profile shows, a register's second one included: a
           -- dual citizen travels on either passport
           list_sort(list_distinct(list(citizenship) || list(second_citizenship)))
               AS citizenships
    FROM link_records GROUP BY profile_id
), base AS (
    SELECT p.profile_id AS unique_id, p.source, p.n_records,
           nullif(split_part(v.full_name, '{NAME_SEPARATOR}', 1), '') AS given_name,
           nullif(split_part(v.full_name, '{NAME_SEPARATOR}', 2), '') AS surname,
           v.date_of_birth AS dob, v.sex, v.citizenship, p.citizenships, v.country_of_birth,
           p.document_key, d.document_neighbours, p.person_key, p.first_date, p.last_date
    FROM per_profile AS p LEFT JOIN profile_values AS v USING (profile_id)
    LEFT JOIN neighbours AS d USING (document_key)
)
SELECT * FROM ({profile_columns_sql("base")})
"""
