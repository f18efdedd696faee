"""Write the SDMX structures (SDMX-ML 2.1) of the ten Eurostat datasets regmig releases.

    .venv/bin/python -m regmig.publish.sdmx_structures   # rewrites schemas/sdmx/ESTAT_MIGR.xml

Written once and kept in the repository (schemas/sdmx/ESTAT_MIGR.xml): one data structure definition
and one dataflow per dataset of Regulation (EC) No 862/2007 art. 3, with Eurostat's
dimension ids in Eurostat's order, and the codes of Eurostat's code lists that the
datasets use: FREQ (A), CITIZEN and C_BIRTH (TOTAL, NAT, FOR, EU27_2020_FOR,
NEU27_2020_FOR, STLS, UNK and the countries as GEO codes: ISO 3166-1 alpha-2, EL, UK),
PARTNER (TOTAL, UNK, countries), AGEDEF (COMPLET, REACH), AGE (TOTAL, UNK, single years
Y_LT1 .. Y_GE100, five-year groups Y_LT5 .. Y_GE85), UNIT (NR), SEX (T, M, F, UNK),
OBS_FLAG (Eurostat's flags) and CONF_STATUS (SDMX's). The tests validate every release
SDMX-CSV file against it with pysdmx (tests/test_sdmx.py).
"""

from __future__ import annotations

from pathlib import Path

import pycountry
from pysdmx.io.xml.sdmx21.writer.structure import write
from pysdmx.model import (
    Code,
    Codelist,
    Component,
    Components,
    Concept,
    ConceptScheme,
    Dataflow,
    DataStructureDefinition,
    DataType,
    Role,
)

from regmig.publish.classifications import (
    AGE_CLASSIFICATIONS,
    EU27_FOREIGN,
    FOREIGN,
    NATIONAL,
    NON_EU27_FOREIGN,
    SEX_TOTAL,
    STATELESS,
    TOTAL,
    UNKNOWN,
    eurostat_country,
)
from regmig.publish.labels import label
from regmig.publish.sdmx import DIMENSIONS

AGENCY = "ESTAT"
OUT = Path(__file__).parent.parent / "schemas" / "sdmx" / "ESTAT_MIGR.xml"
#: Eurostat's observation flags and SDMX's confidentiality statuses.
OBS_FLAGS = {"b": "break in time series", "c": "confidential", "d": "definition differs",
             "e": "estimated", "f": "forecast", "n": "not significant", "p": "provisional",
             "r": "revised", "s": "Eurostat estimate", "u": "low reliability",
             "z": "not applicable"}
CONF_STATUS = {"F": "Free", "N": "Not for publication, restricted for internal use only",
               "C": "Confidential statistical information",
               "D": "Secondary confidentiality set by the sender, not for publication",
               "S": "Secondary confidentiality set and managed by the receiver"}


def _codelist(id_: str, codes: dict[str, str]) -> Codelist:
    return Codelist(f"CL_{id_.upper()}", name=id_, agency=AGENCY, version="1.0",
                    items=[Code(c, name=n) for c, n in codes.items()])


def codelists() -> dict[str, Codelist]:
    geo = {eurostat_country(c.alpha_3): c.name for c in pycountry.countries}
    aggregates = {TOTAL: "Total", NATIONAL: "Reporting country", FOREIGN: "Foreign country",
                  EU27_FOREIGN: label("citizenship", EU27_FOREIGN),
                  NON_EU27_FOREIGN: label("citizenship", NON_EU27_FOREIGN)}
    ages = {TOTAL: "Total", UNKNOWN: "Unknown"} | {
        code: label("age", code) for groups in AGE_CLASSIFICATIONS.values()
        for code, _, _ in groups}
    return {
        "freq": _codelist("freq", {"A": "Annual"}),
        "citizen": _codelist("citizen", aggregates | {STATELESS: "Stateless"} | geo
                             | {UNKNOWN: "Unknown"}),
        "c_birth": _codelist("c_birth", aggregates | geo | {UNKNOWN: "Unknown"}),
        "partner": _codelist("partner", {TOTAL: "Total", NATIONAL: "Reporting country"}
                             | geo | {UNKNOWN: "Unknown"}),
        "agedef": _codelist("agedef", {"COMPLET": "Age in completed years",
                                       "REACH": "Age reached during the year"}),
        "age": _codelist("age", ages),
        "unit": _codelist("unit", {"NR": "Number"}),
        "sex": _codelist("sex", {SEX_TOTAL: "Total", "M": "Males", "F": "Females",
                                 UNKNOWN: "Unknown"}),
        "geo": _codelist("geo", geo),
        "OBS_FLAG": _codelist("obs_flag", OBS_FLAGS),
        "CONF_STATUS": _codelist("conf_status", CONF_STATUS),
    }


def structures() -> list:
    lists = codelists()
    concept = {c: Concept(c, name=c, urn=f"urn:sdmx:org.sdmx.infomodel.conceptscheme."
                          f"Concept={AGENCY}:CS_MIGR(1.0).{c}")
               for c in [*lists, "TIME_PERIOD", "OBS_VALUE"]}
    concepts = ConceptScheme("CS_MIGR", name="Migration concepts", agency=AGENCY,
                             version="1.0", items=list(concept.values()))
    out: list = [*lists.values(), concepts]
    for dataset, dims in DIMENSIONS.items():
        components = [Component(d, True, Role.DIMENSION, concept[d], local_codes=lists[d])
                      for d in dims]
        components += [
            Component("TIME_PERIOD", True, Role.DIMENSION, concept["TIME_PERIOD"],
                      local_dtype=DataType.PERIOD),
            Component("OBS_VALUE", False, Role.MEASURE, concept["OBS_VALUE"],
                      local_dtype=DataType.INTEGER),
            Component("OBS_FLAG", False, Role.ATTRIBUTE, concept["OBS_FLAG"],
                      local_codes=lists["OBS_FLAG"], attachment_level="O"),
            Component("CONF_STATUS", False, Role.ATTRIBUTE, concept["CONF_STATUS"],
                      local_codes=lists["CONF_STATUS"], attachment_level="O"),
        ]
        dsd = DataStructureDefinition(dataset.upper(), name=dataset, agency=AGENCY,
                                      version="1.0", components=Components(components))
        out += [dsd, Dataflow(dataset.upper(), name=dataset, agency=AGENCY, version="1.0",
                              structure=dsd)]
    return out


if __name__ == "__main__":
    write(structures(), OUT)
    print(OUT)
