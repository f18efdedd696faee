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
from splink import SettingsCreator, block_on

from regmig.linkage.coverage import Coverage
from regmig.linkage.engine_sql import engine_sql

#: Columns of `profiles` the model reads (see profiles.py).
UNIQUE_ID = "unique_id"


def _name_comparison(
    column: str, other: str, key: str, other_key: str, engine: str
) -> cl.CustomComparison:
    """Exact (term-frequency adjusted), swapped with `other`, typo, similar, same sound,
    cut short; for the surname also written together with the given name.

    A swap of the two names is one event seen by both name comparisons; it is weighed
    once, in the given name's comparison, and the surname's swap levels weigh nothing
    (null levels). Weighed twice, a swap gave strangers whose names are each other's
    (Ryan Jack, Jack Ryan) 26 bits, enough to outweigh a different document.
    """
    left, right = f"{column}_l", f"{column}_r"
    merged = []
    swapped = [
        cll.ColumnsReversedLevel(column, other, symmetrical=True),
        cll.CustomLevel(
            f"{key}_l = {other_key}_r AND {other_key}_l = {key}_r",
            label_for_charts="Swapped with the other name (sound keys)",
        ),
    ]
    if column == "surname":
        swapped = [level.configure(is_null_level=True, label_for_charts=f"{label} "
                                   "(weighed once, in given_name)")
                   for level, label in zip(swapped, ("Swapped with the given name",
                                                     "Swapped with the given name (sound keys)"),
                                           strict=True)]
        merged = [cll.CustomLevel(
            f"{left} = " + engine_sql(engine, "concat", left=f"{other}_r", right=right)
            + f" OR {right} = " + engine_sql(engine, "concat", left=f"{other}_l", right=left),
            label_for_charts="Written together with the given name",
        )]
    return cl.CustomComparison(
        output_column_name=column,
        comparison_description=f"{column}: exact, swapped, edit distance, sound, cut short",
        comparison_levels=[
            cll.NullLevel(column),
            cll.ExactMatchLevel(column).configure(tf_adjustment_column=column),
            *swapped,
            *merged,
            cll.DamerauLevenshteinLevel(column, 1),
            cll.JaroWinklerLevel(column, 0.92),
            cll.ExactMatchLevel(key).configure(label_for_charts=f"Same sound key ({key})"),
            cll.CustomLevel(
                engine_sql(engine, "starts_with", left=left, right=right) + " OR "
                + engine_sql(engine, "starts_with", left=right, right=left),
                label_for_charts="One the beginning of the other (cut short, an initial)",
            ),
            cll.JaroWinklerLevel(column, 0.80),
            cll.ElseLevel(),
        ],
    )


def _date_of_birth_comparison() -> cl.CustomComparison:
    """Exact, day and month swapped, year off by one, a default date, one-character
    typo."""
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
            # a clerk's default: 1 January of the right year, or the 1st of the month
            cll.CustomLevel(
                f"substr({dob_l}, 1, 7) = substr({dob_r}, 1, 7) "
                f"AND (substr({dob_l}, 9, 2) = '01' OR substr({dob_r}, 9, 2) = '01')",
                label_for_charts="Same month, one date the 1st (a default)",
            ),
            cll.CustomLevel(
                f"substr({dob_l}, 1, 4) = substr({dob_r}, 1, 4) "
                f"AND (substr({dob_l}, 6, 5) = '01-01' OR substr({dob_r}, 6, 5) = '01-01')",
                label_for_charts="Same year, one date 1 January (a default)",
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


#: The label of the document comparison's level for numbers one keystroke apart.
DOCUMENT_NEIGHBOUR_LABEL = "One character apart (a keying slip)"


def _document_comparison(engine: str, neighbours: bool) -> cl.CustomComparison:
    """The same document; with neighbourhoods (ingest/document_neighbours.py), numbers
    one character apart (substituted, dropped, added or two transposed): a crossing
    keyed with a slip. Strong but not decisive either way: renewals change the document,
    and strangers' numbers in one series can be one character apart."""
    near = [cll.CustomLevel(
        "document_key_l <> document_key_r AND " + engine_sql(
            engine, "lists_overlap", left="document_neighbours_l",
            right="document_neighbours_r"),
        label_for_charts=DOCUMENT_NEIGHBOUR_LABEL,
    )] if neighbours else []
    return cl.CustomComparison(
        output_column_name="document_key",
        comparison_description="travel document pseudonym: same, one character apart",
        comparison_levels=[
            cll.NullLevel("document_key"),
            cll.ExactMatchLevel("document_key"),
            *near,
            cll.ElseLevel(),
        ],
    )


@dataclass(frozen=True)
class ModelComparison:
    """One comparison and the profile columns it needs to say anything."""

    name: str
    requires: tuple[str, ...]
    build: Any  # (engine, usable columns) -> CustomComparison


COMPARISONS: tuple[ModelComparison, ...] = (
    ModelComparison("given_name", ("given_name",), lambda e, _c: _name_comparison(
        "given_name", "surname", "given_key", "surname_key", e)),
    ModelComparison("surname", ("surname",), lambda e, _c: _name_comparison(
        "surname", "given_name", "surname_key", "given_key", e)),
    ModelComparison("dob", ("dob",), lambda e, _c: _date_of_birth_comparison()),
    ModelComparison("sex", ("sex",), lambda e, _c: _exact("sex", "sex")),
    ModelComparison("citizenship", ("citizenship",), lambda e, _c: _citizenship_comparison(e)),
    ModelComparison("country_of_birth", ("country_of_birth",),
                    lambda e, _c: _exact("country_of_birth", "country of birth")),
    ModelComparison("document_key", ("document_key",), lambda e, c: _document_comparison(
        e, "document_neighbours" in c)),
)


@dataclass(frozen=True)
class BlockingPass:
    """Pairs of profiles equal on `keys` (and on `crossed` pairs of columns, left = right).

    A block is the set of profiles sharing the values of `keys` (for a crossed pass, of
    its left-hand columns); blocking.py counts comparisons per block and, when the budget
    requires it, leaves out the largest blocks of a pass rather than the whole pass.
    """

    name: str
    keys: tuple[str, ...]
    crossed: tuple[tuple[str, str], ...] = ()
    #: the largest blocks may be left out when the budget is short (never for documents:
    #: their blocks are a handful of profiles)
    boundable: bool = True
    #: only pairs in which at least one side lacks this column (a pass for what the
    #: other passes cannot reach without it: where both sides have a date of birth, the
    #: passes on it find the pair)
    missing_on_one_side: str | None = None
    #: a list column: profiles pair when their lists share an element (Splink explodes
    #: the lists); such a pass has this one key and is not boundable
    exploded: bool = False

    @property
    def requires(self) -> tuple[str, ...]:
        return (*self.keys, *(c for pair in self.crossed for c in pair))

    def sql(self, max_block: int | None = None) -> str:
        terms = [f'l."{k}" = r."{k}"' for k in self.keys]
        terms += [f'l."{a}" = r."{b}"' for a, b in self.crossed]
        if max_block is not None:
            terms.append(f'l."{self.block_size_column}" <= {int(max_block)}')
        if self.missing_on_one_side is not None:
            column = self.missing_on_one_side
            terms.append(f'(l."{column}" IS NULL OR r."{column}" IS NULL)')
        return " AND ".join(terms)

    def rule(self, max_block: int | None = None) -> Any:
        """The Splink blocking rule (SQL text, or a rule that explodes the list)."""
        if self.exploded:
            return block_on(*self.keys, arrays_to_explode=list(self.keys))
        return self.sql(max_block)

    def condition(self, max_block: int | None = None) -> str:
        """The pass as a DuckDB condition on a pair of profiles (`l.`, `r.`): what
        blocking recall and the monthly run's pre-filter read."""
        if self.exploded:
            (key,) = self.keys
            return engine_sql("duckdb", "lists_overlap", left=f'l."{key}"',
                              right=f'r."{key}"')
        return self.sql(max_block)

    @property
    def block_size_column(self) -> str:
        return f"block_{self.name}"


#: Passes that generate predictions, most specific first. Together they tolerate a slip
#: in any one attribute: a document shared, or one character apart; the date of birth
#: with either name's sound; the names' sounds with the birth year (day or month wrong,
#: default dates) or with day and month (year typo); names swapped; a first-letter typo
#: in the surname; a nickname or another-language given name (date of birth, sex and
#: birthplace, or the surname's sound, initial and birth year); a truncated surname
#: (given name's sound, surname initial, birth year); initials and birth month; the
#: names' sounds alone (no date of birth, or a wrong one); and, where one side has no
#: date of birth, the names' sounds swapped, or one name's sound with the other's
#: initial and sex (a typo in one name of a record that has nothing else to block on).
BLOCKING_PASSES: tuple[BlockingPass, ...] = (
    BlockingPass("document", ("document_key",), boundable=False),
    # documents one keystroke apart: a crossing keyed with a slip meets its person
    BlockingPass("document_neighbour", ("document_neighbours",), boundable=False,
                 exploded=True),
    BlockingPass("dob_surname_key", ("dob", "surname_key")),
    BlockingPass("dob_given_key", ("dob", "given_key")),
    BlockingPass("name_keys_year", ("given_key", "surname_key", "birth_year")),
    BlockingPass("name_keys_month_day", ("given_key", "surname_key", "birth_month_day")),
    BlockingPass("name_keys_reversed_year", ("birth_year",),
                 crossed=(("given_key", "surname_key"), ("surname_key", "given_key"))),
    BlockingPass("dob_surname_tail", ("dob", "surname_tail")),
    BlockingPass("dob_crossed_keys", ("dob",), crossed=(("given_key", "surname_key"),)),
    BlockingPass("dob_sex_country_of_birth", ("dob", "sex", "country_of_birth")),
    BlockingPass("given_key_surname_initial_year", ("given_key", "surname_initial",
                                                    "birth_year")),
    BlockingPass("surname_key_given_initial_year", ("surname_key", "given_initial",
                                                    "birth_year")),
    BlockingPass("initials_birth_month", ("given_initial", "surname_initial", "birth_year",
                                          "birth_month", "sex")),
    BlockingPass("name_keys", ("given_key", "surname_key")),
    BlockingPass("name_keys_reversed_no_dob", (),
                 crossed=(("given_key", "surname_key"), ("surname_key", "given_key")),
                 missing_on_one_side="dob"),
    BlockingPass("surname_key_given_initial_no_dob", ("surname_key", "given_initial", "sex"),
                 missing_on_one_side="dob"),
    BlockingPass("given_key_surname_initial_no_dob", ("given_key", "surname_initial", "sex"),
                 missing_on_one_side="dob"),
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
#: documents) learns how often a match shares its document or citizenship. A pass is
#: used only where it leaves enough comparisons free (`em_min_free_comparisons`): a
#: delivery of names, dates of birth and documents alone leaves the second pass the
#: document only, so the date of birth alone (names and document free) teaches it. Names
#: with the birth year are a last resort, for deliveries without documents or dates of
#: birth: in small name pools same-name strangers teach EM that dates of birth differ.
TRAINING_PASSES: tuple[TrainingPass, ...] = (
    TrainingPass("document", ("document_key",)),
    TrainingPass("dob_name_keys", ("dob", "given_key", "surname_key")),
    TrainingPass("dob", ("dob",)),
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
    present = {c for c, share in coverage.share.items() if share >= minimum}
    return [c.build(engine, present) for c in COMPARISONS
            if usable(c.requires, coverage, minimum)]


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
