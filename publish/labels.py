"""Labels of the release's codes, for people: country names from pycountry, and words
for the aggregates, sexes and age groups."""

from __future__ import annotations

import re
from functools import cache

import pycountry

from regmig.publish.classifications import (
    EU27_FOREIGN,
    EUROSTAT_COUNTRY_EXCEPTIONS,
    FOREIGN,
    NATIONAL,
    NON_EU27_FOREIGN,
    SEX_TOTAL,
    STATELESS,
    TOTAL,
    UNKNOWN,
)

_WORDS = {TOTAL: "Total", SEX_TOTAL: "Total", UNKNOWN: "Unknown", FOREIGN: "Foreign",
          EU27_FOREIGN: "EU27 countries (from 2020)", NON_EU27_FOREIGN:
          "Countries outside the EU27 (from 2020)", STATELESS: "Stateless",
          NATIONAL: "Reporting country", "Y_LT1": "Less than 1 year",
          "Y_LT5": "Less than 5 years", "Y_GE85": "85 years or over",
          "Y_GE100": "100 years or over", "Y": "Yes", "N": "No"}
_SEX = {"M": "Males", "F": "Females"}
_EUROSTAT_TO_ISO = {code: alpha3 for alpha3, code in EUROSTAT_COUNTRY_EXCEPTIONS.items()}


@cache
def label(dimension: str, code: str) -> str:
    """What a code means in a dimension, e.g. ("citizenship", "SY") -> "Syrian Arab
    Republic", ("age", "Y5-9") -> "5 to 9 years"."""
    if dimension == "sex" and code in _SEX:
        return _SEX[code]
    if code in _WORDS:
        return _WORDS[code]
    ages = re.fullmatch(r"Y(\d+)(?:-(\d+))?", code)
    if dimension == "age" and ages:
        low, high = ages.groups()
        return f"{low} to {high} years" if high else f"{low} years"
    if len(code) == 2:
        country = (pycountry.countries.get(alpha_3=_EUROSTAT_TO_ISO[code])
                   if code in _EUROSTAT_TO_ISO else pycountry.countries.get(alpha_2=code))
        if country is not None:
            return country.name
    return code.replace("_", " ").capitalize()
