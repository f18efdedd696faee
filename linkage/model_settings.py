"""The Splink model as data: comparisons and candidate blocking rules.

Written with Splink's dialect-neutral creators, so the same model builds for DuckDB (the
default) or Spark; a trained model saved as JSON holds one dialect's SQL and is reused
only on that backend (core.linkage_models records the dialect in its settings).
"""

from __future__ import annotations

from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator, block_on

#: Columns of `profiles` the model reads (see profiles.py).
UNIQUE_ID = "unique_id"


def _name_comparison(
    column: str, other: str, key: str, other_key: str
) -> cl.CustomComparison:
    """Exact (term-frequency adjusted), typo, similar, same sound, swapped with `other`."""
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=f"{column}: exact, swapped, edit distance, sound",
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
            cll.ColumnsReversedLevel(column, other, symmetrical=True),
            cll.CustomLevel(
                f"{key}_l = {other_key}_r AND {other_key}_l = {key}_r",
                label_for_charts="Swapped with the other name (sound keys)",
            ),
            cll.DamerauLevenshteinLevel(column, 1),
            cll.JaroWinklerLevel(column, 0.92),
            cll.ExactMatchLevel(key).configure(label_for_charts=f"Same sound key ({key})"),
            cll.JaroWinklerLevel(column, 0.80),
            cll.ElseLevel(),
        ],
    )


def _date_of_birth_comparison() -> cl.CustomComparison:
    """Exact, day and month swapped, year off by one, one-character typo."""
    dob_l, dob_r = "dob_l", "dob_r"
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_description="date of birth: exact, swapped, year off by one, typo",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                f"substr({dob_l}, 1, 4) = substr({dob_r}, 1, 4) "
                f"AND substr({dob_l}, 6, 2) = substr({dob_r}, 9, 2) "
                f"AND substr({dob_l}, 9, 2) = substr({dob_r}, 6, 2)",
                label_for_charts="Day and month swapped",
            ),
            cll.CustomLevel(
                f"substr({dob_l}, 6, 5) = substr({dob_r}, 6, 5) "
                f"AND abs(birth_year_l - birth_year_r) = 1",
                label_for_charts="Year off by one",
            ),
            cll.DamerauLevenshteinLevel("dob", 1),
            # No "same year" level: among strangers with one common name it is frequent,
            # among true matches (whose dates differ by one slip at most) almost absent.
            cll.ElseLevel(),
        ],
    )


def _exact(column: str, description: str) -> cl.CustomComparison:
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=description,
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column),
            cll.ElseLevel(),
        ],
    )


def _citizenship_comparison() -> cl.CustomComparison:
    """Same citizenship, or one citizenship in common (a dual citizen's other passport,
    a register's second citizenship). Not decisive: naturalisation changes it."""
    return cl.CustomComparison(
        output_column_name="citizenship",
        comparison_description="citizenship: same, one in common",
        comparison_levels=[
            cll.NullLevel("citizenship"),
            cll.ExactMatchLevel("citizenship"),
            cll.CustomLevel(
                "list_has_any(citizenships_l, citizenships_r)",
                label_for_charts="A citizenship in common (dual citizens)",
            ),
            cll.ElseLevel(),
        ],
    )


def comparisons() -> list[cl.CustomComparison]:
    return [
        _name_comparison("given_name", "surname", "given_key", "surname_key"),
        _name_comparison("surname", "given_name", "surname_key", "given_key"),
        _date_of_birth_comparison(),
        _exact("sex", "sex"),
        _citizenship_comparison(),
        _exact("country_of_birth", "country of birth"),
        # Strong but not decisive: renewals change the document, typos break its key.
        _exact("document_key", "travel document pseudonym"),
    ]


#: Candidate rules to generate predictions, most specific first: blocking.py keeps
#: those that fit the comparison budget.
CANDIDATE_BLOCKING_RULES: tuple[tuple[str, Any], ...] = (
    ("document", block_on("document_key")),
    ("dob_surname_key", block_on("dob", "surname_key")),
    ("dob_given_key", block_on("dob", "given_key")),
    ("full_name", block_on("given_name", "surname")),
    ("name_keys_reversed", "l.given_key = r.surname_key AND l.surname_key = r.given_key"),
    ("name_keys_year", block_on("given_key", "surname_key", "birth_year")),
    ("dob_sex_country_of_birth", block_on("dob", "sex", "country_of_birth")),
    ("name_keys", block_on("given_key", "surname_key")),
)

#: Blocking of the EM passes. Pairs sharing a document are nearly all matches, so the
#: first pass learns how a true match's names, date of birth, sex and citizenship vary;
#: the second (same date of birth and name sounds: nearly all matches too, across
#: documents) learns how often a match shares its document or its citizenship. Blocking
#: on names alone would not do: name pools are small, and same-name strangers would
#: teach EM that dates of birth often differ within a person.
EM_BLOCKING_RULES: tuple[Any, ...] = (
    block_on("document_key"),
    block_on("dob", "given_key", "surname_key"),
)

#: Near-certain rules for the prior probability that two profiles match.
DETERMINISTIC_RULES: tuple[Any, ...] = (
    block_on("given_name", "surname", "dob"),
    block_on("document_key"),
)


def build_settings(blocking_rules: list[Any]) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking_rules,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source", "person_key"],
        max_iterations=20,
    )
