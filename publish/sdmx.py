"""The Eurostat datasets as SDMX-CSV, in the layout of Eurostat's own SDMX-CSV files.

One file per dataset (release/sdmx/<dataset>.csv): DATAFLOW, LAST UPDATE, then the
dataset's dimensions in Eurostat's order and case (freq, citizen, agedef, age, unit,
sex, geo for migr_imm1ctz), TIME_PERIOD, OBS_VALUE, OBS_FLAG, CONF_STATUS. A confidential
value is empty with CONF_STATUS "C" (every suppressed cell alike: telling primary from
complementary cells would disclose); the observations of a provisional table carry
OBS_FLAG "p". Age is in completed years at the migration (AGEDEF COMPLET); the datasets
of eurostat.REACH_DATASETS also hold the rows of their table by age reached during the
year (`<dataset>_reach`, AGEDEF REACH); the stocks have no AGEDEF.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from regmig.publish.classifications import SDMX_AGENCY, SDMX_VERSION, eurostat_country

if TYPE_CHECKING:
    from regmig.publish.export import ReleaseTable

#: dataset -> its dimensions, in the order of Eurostat's data structure definition.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "migr_imm1ctz": ("freq", "citizen", "agedef", "age", "unit", "sex", "geo"),
    "migr_imm3ctb": ("freq", "c_birth", "agedef", "age", "unit", "sex", "geo"),
    "migr_imm5prv": ("freq", "partner", "agedef", "age", "unit", "sex", "geo"),
    "migr_imm8": ("freq", "agedef", "age", "unit", "sex", "geo"),
    "migr_emi1ctz": ("freq", "citizen", "agedef", "age", "unit", "sex", "geo"),
    "migr_emi2": ("freq", "agedef", "age", "unit", "sex", "geo"),
    "migr_emi3nxt": ("freq", "partner", "agedef", "age", "unit", "sex", "geo"),
    "migr_pop1ctz": ("freq", "citizen", "age", "unit", "sex", "geo"),
    "migr_pop3ctb": ("freq", "c_birth", "age", "unit", "sex", "geo"),
    "migr_acq": ("freq", "citizen", "agedef", "age", "unit", "sex", "geo"),
}
#: Eurostat's dimension id -> our column.
COLUMN = {"citizen": "citizenship", "c_birth": "country_of_birth", "age": "age",
          "sex": "sex"}
#: Partner country: previous residence (immigration) or next residence (emigration).
PARTNER = ("previous_residence", "next_residence")
FREQ_ANNUAL = "A"
UNIT_NUMBER = "NR"
CONFIDENTIAL = "C"
PROVISIONAL = "p"


def sdmx_csv(table: ReleaseTable, header: dict[str, Any], dataset: str, agedef: str
             ) -> pl.DataFrame:
    """The dataset's SDMX-CSV rows (AGEDEF `agedef`) from a protected release table."""
    spec = table.spec
    cells = table.cells
    if spec.age_reached is not None:   # Eurostat's age column, AGEDEF telling which age
        cells = cells.rename({spec.age_reached.reached: spec.age_reached.completed})
    fixed = {"freq": pl.lit(FREQ_ANNUAL), "agedef": pl.lit(agedef),
             "unit": pl.lit(UNIT_NUMBER), "geo": pl.lit(eurostat_country(header["country"]))}
    columns: list[pl.Expr] = [
        pl.lit(f"{SDMX_AGENCY}:{dataset.upper()}({SDMX_VERSION})").alias("DATAFLOW"),
        pl.lit(header["published_at"]).alias("LAST UPDATE"),
    ]
    for dim in DIMENSIONS[dataset]:
        if dim in fixed:
            columns.append(fixed[dim].alias(dim))
        elif dim == "partner":
            columns.append(pl.col(next(c for c in PARTNER if c in cells.columns)).alias(dim))
        else:
            columns.append(pl.col(COLUMN[dim]).alias(dim))
    confidential = pl.col("value").is_null()
    columns += [
        pl.lit(str(header["year"])).alias("TIME_PERIOD"),
        pl.col("value").alias("OBS_VALUE"),
        pl.lit(PROVISIONAL if table.metadata.status == "provisional" else None,
               dtype=pl.Utf8).alias("OBS_FLAG"),
        pl.when(confidential).then(pl.lit(CONFIDENTIAL)).alias("CONF_STATUS"),
    ]
    return cells.select(columns)
