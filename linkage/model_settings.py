"""The Splink model as data: comparisons, blocking passes and training passes, each
kept only where the delivery holds the columns it reads.

Written with Splink's dialect-neutral creators and plain equality SQL, so the same model
builds for DuckDB (the default) or Spark; the few engine functions a comparison needs
come from engine_sql.py, the one seam per backend. A trained model saved as JSON holds
one dialect's SQL and is reused only on that backend (core.linkage_models records the
dialect in its settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import SettingsCreator

from regmig.linkage.coverage import Coverage
from regmig.linkage.engine_sql import engine_sql

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


def _citizenship_comparison(engine: str) -> cl.CustomComparison:
    """Same citizenship, or one citizenship in common (a dual citizen's other passport,
    a register's second citizenship). Not decisive: naturalisation changes it."""
    return cl.CustomComparison(
        output_column_name="citizenship",
        comparison_description="citizenship: same, one in common",
        comparison_levels=[
            cll.NullLevel("citizenship"),
            cll.ExactMatchLevel("citizenship"),
            cll.CustomLevel(
                engine_sql(engine, "lists_overlap", left="citizenships_l",
                           right="citizenships_r"),
                label_for_charts="A citizenship in common (dual citizens)",
            ),
            cll.ElseLevel(),
        ],
    )


@dataclass(frozen=True)
class ModelComparison:
    """One comparison and the profile columns it needs to say anything."""

    name: str
    requires: tuple[str, ...]
    build: Any  # (engine) -> CustomComparison


COMPARISONS: tuple[ModelComparison, ...] = (
    ModelComparison("given_name", ("given_name",), lambda e: _name_comparison(
        "given_name", "surname", "given_key", "surname_key")),
    ModelComparison("surname", ("surname",), lambda e: _name_comparison(
        "surname", "given_name", "surname_key", "given_key")),
    ModelComparison("dob", ("dob",), lambda e: _date_of_birth_comparison()),
    ModelComparison("sex", ("sex",), lambda e: _exact("sex", "sex")),
    ModelComparison("citizenship", ("citizenship",), _citizenship_comparison),
    ModelComparison("country_of_birth", ("country_of_birth",),
                    lambda e: _exact("country_of_birth", "country of birth")),
    # Strong but not decisive: renewals change the document, typos break its key.
    ModelComparison("document_key", ("document_key",),
                    lambda e: _exact("document_key", "travel document pseudonym")),
)


@dataclass(frozen=True)
class BlockingPass:
    """Pairs of profiles equal on `keys` (and on `crossed` pairs of columns, left = right),
    optionally filtered by `condition` (neutral SQL over l. and r.).

    A block is the set of profiles sharing the values of `keys` (for a crossed pass, of
    its left-hand columns); blocking.py counts comparisons per block and, when the budget
    requires it, leaves out the largest blocks of a pass rather than the whole pass.
    """

    name: str
    keys: tuple[str, ...]
    crossed: tuple[tuple[str, str], ...] = ()
    condition: str | None = None
    #: the largest blocks may be left out when the budget is short (never for documents:
    #: their blocks are a handful of profiles)
    boundable: bool = True

    @property
    def requires(self) -> tuple[str, ...]:
        return (*self.keys, *(c for pair in self.crossed for c in pair))

    def sql(self, max_block: int | None = None) -> str:
        terms = [f'l."{k}" = r."{k}"' for k in self.keys]
        terms += [f'l."{a}" = r."{b}"' for a, b in self.crossed]
        if self.condition:
            terms.append(f"({self.condition})")
        if max_block is not None:
            terms.append(f'l."{self.block_size_column}" <= {int(max_block)}')
        return " AND ".join(terms)

    @property
    def block_size_column(self) -> str:
        return f"block_{self.name}"


#: Passes that generate predictions, most specific first. Together they tolerate a slip
#: in any one attribute: a document shared; the date of birth with either name's sound;
#: the names' sounds with the birth year (day or month wrong, default dates) or with
#: day and month (year typo); names swapped; a first-letter typo in the surname; a
#: nickname or another-language given name (date of birth, sex and birthplace, or
#: initials and birth month); and, for profiles without a date of birth, the names
#: alone.
BLOCKING_PASSES: tuple[BlockingPass, ...] = (
    BlockingPass("document", ("document_key",), boundable=False),
    BlockingPass("dob_surname_key", ("dob", "surname_key")),
    BlockingPass("dob_given_key", ("dob", "given_key")),
    BlockingPass("name_keys_year", ("given_key", "surname_key", "birth_year")),
    BlockingPass("name_keys_month_day", ("given_key", "surname_key", "birth_month_day")),
    BlockingPass("name_keys_reversed_year", ("birth_year",),
                 crossed=(("given_key", "surname_key"), ("surname_key", "given_key"))),
    BlockingPass("dob_surname_tail", ("dob", "surname_tail")),
    BlockingPass("dob_crossed_keys", ("dob",), crossed=(("given_key", "surname_key"),)),
    BlockingPass("dob_sex_country_of_birth", ("dob", "sex", "country_of_birth")),
    BlockingPass("initials_birth_month", ("given_initial", "surname_initial", "birth_year",
                                          "birth_month", "sex")),
    BlockingPass("name_keys_without_dob", ("given_key", "surname_key"),
                 condition='l."dob" IS NULL OR r."dob" IS NULL'),
    BlockingPass("full_name_without_dob", ("given_name", "surname"),
                 condition='l."dob" IS NULL OR r."dob" IS NULL'),
)


@dataclass(frozen=True)
class TrainingPass:
    """An EM pass: blocked on `keys`, it learns m of every comparison it leaves free."""

    name: str
    keys: tuple[str, ...]

    def sql(self) -> str:
        return " AND ".join(f'l."{k}" = r."{k}"' for k in self.keys)


#: EM passes in order of preference. Pairs sharing a document are nearly all matches, so
#: the first learns how a true match's names, date of birth, sex and citizenship vary;
#: the second (same date of birth and name sounds: nearly all matches too, across
#: documents) learns how often a match shares its document or citizenship. Names with
#: the birth year are a last resort, for deliveries without documents or dates of birth:
#: in small name pools same-name strangers teach EM that dates of birth differ.
TRAINING_PASSES: tuple[TrainingPass, ...] = (
    TrainingPass("document", ("document_key",)),
    TrainingPass("dob_name_keys", ("dob", "given_key", "surname_key")),
    TrainingPass("full_name_year", ("given_name", "surname", "birth_year")),
    TrainingPass("full_name", ("given_name", "surname")),
)

#: Near-certain rules for the prior probability that two profiles match.
DETERMINISTIC_PASSES: tuple[TrainingPass, ...] = (
    TrainingPass("full_name_dob", ("given_name", "surname", "dob")),
    TrainingPass("document", ("document_key",)),
)


def usable(columns: tuple[str, ...], coverage: Coverage, minimum: float) -> bool:
    return all(coverage.share.get(c, 0.0) >= minimum for c in columns)


def comparisons(coverage: Coverage, minimum: float, engine: str = "duckdb") -> list[Any]:
    """The comparisons whose columns the delivery holds on at least `minimum` of profiles."""
    return [c.build(engine) for c in COMPARISONS if usable(c.requires, coverage, minimum)]


def build_settings(
    blocking_rules: list[Any], coverage: Coverage, minimum: float, engine: str = "duckdb"
) -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name=UNIQUE_ID,
        comparisons=comparisons(coverage, minimum, engine),
        blocking_rules_to_generate_predictions=blocking_rules,
        retain_matching_columns=True,
        retain_intermediate_calculation_columns=True,
        additional_columns_to_retain=["source", "person_key"],
        max_iterations=20,
    )
