"""Countries of the simulated region: who lives in the country, who visits, and which
name pool each citizenship draws its names from.

Every code is ISO 3166-1 alpha-3 (checked against pycountry by the tests). Shares are
relative weights; they are normalised where they are used.
"""

from __future__ import annotations

import numpy as np

#: Citizenships of foreign residents (long-established immigrants in the register).
FOREIGN_RESIDENT_MIX: dict[str, float] = {
    "RUS": 30, "IRN": 9, "IND": 9, "SYR": 5, "GEO": 6, "UKR": 6, "CHN": 4, "USA": 4,
    "FRA": 2, "DEU": 2, "KAZ": 4, "UZB": 5, "TJK": 3, "KGZ": 3, "TKM": 1, "LBN": 4,
    "IRQ": 3,
}

#: Citizenships of immigrants on work, study and family permits, and of seasonal workers.
IMMIGRANT_MIX: dict[str, float] = {
    "RUS": 25, "IND": 14, "IRN": 10, "UZB": 8, "TJK": 6, "KGZ": 5, "KAZ": 4, "CHN": 5,
    "UKR": 5, "SYR": 4, "GEO": 4, "USA": 3, "LBN": 3, "IRQ": 2, "FRA": 1, "DEU": 1,
}

#: Citizenships of tourists and other short-term visitors.
VISITOR_MIX: dict[str, float] = {
    "RUS": 32, "GEO": 12, "IRN": 11, "IND": 6, "CHN": 5, "UKR": 4, "USA": 6, "FRA": 4,
    "DEU": 3, "ITA": 2, "POL": 2, "ESP": 1, "NLD": 1, "KAZ": 3, "UZB": 2, "TJK": 1,
    "KGZ": 1, "BLR": 2, "GBR": 2,
}

#: Citizenships of asylum seekers.
ASYLUM_MIX: dict[str, float] = {"SYR": 35, "IRQ": 25, "IRN": 15, "RUS": 15, "UKR": 10}

#: Second citizenships of dual citizens of the reporting country.
SECOND_CITIZENSHIP_MIX: dict[str, float] = {"RUS": 50, "USA": 15, "FRA": 10, "GEO": 5,
                                            "UKR": 5, "DEU": 5, "LBN": 5, "IRN": 5}

#: Countries residents travel to (trip destinations).
DESTINATION_MIX: dict[str, float] = {
    "RUS": 34, "GEO": 22, "FRA": 5, "DEU": 4, "USA": 4, "ARE": 8, "IRN": 6, "TUR": 4,
    "ITA": 3, "UKR": 2, "KAZ": 2, "CYP": 3, "GRC": 3,
}

#: Countries reached over a land border (the rest are reached by air).
LAND_NEIGHBOURS: frozenset[str] = frozenset({"GEO", "IRN", "TUR", "AZE"})

#: Name pool of each citizenship; citizenships not listed use the "western" pool.
NAME_POOL_OF: dict[str, str] = {
    "ARM": "armenian", "RUS": "russian", "BLR": "russian", "UKR": "ukrainian",
    "GEO": "georgian", "IRN": "persian", "IND": "indian", "CHN": "chinese",
    "KAZ": "central_asian", "UZB": "central_asian", "TJK": "central_asian",
    "KGZ": "central_asian", "TKM": "central_asian", "AZE": "central_asian",
    "SYR": "arabic", "IRQ": "arabic", "LBN": "arabic", "ARE": "arabic",
}

#: Regions of the register (Armenia's marzer); other countries get numbered regions.
REGIONS: dict[str, tuple[str, ...]] = {
    "ARM": ("Yerevan", "Aragatsotn", "Ararat", "Armavir", "Gegharkunik", "Kotayk", "Lori",
            "Shirak", "Syunik", "Tavush", "Vayots Dzor"),
}
REGION_WEIGHTS: dict[str, tuple[float, ...]] = {
    "ARM": (36, 4, 9, 9, 7, 9, 7, 8, 5, 4, 2),
}


class CountryIndex:
    """A fixed list of country codes; arrays hold positions in it (int16)."""

    def __init__(self, country: str) -> None:
        codes = {country}
        for mix in (FOREIGN_RESIDENT_MIX, IMMIGRANT_MIX, VISITOR_MIX, ASYLUM_MIX,
                    SECOND_CITIZENSHIP_MIX, DESTINATION_MIX):
            codes.update(mix)
        codes.update(LAND_NEIGHBOURS)
        self.codes: tuple[str, ...] = tuple(sorted(codes))
        self._pos = {code: i for i, code in enumerate(self.codes)}
        self.home = self._pos[country]

    def __len__(self) -> int:
        return len(self.codes)

    def index(self, code: str) -> int:
        return self._pos[code]

    def draw(self, rng: np.random.Generator, mix: dict[str, float], size: int,
             exclude: str | None = None) -> np.ndarray:
        """`size` draws from a weighted mix, as positions in this index."""
        items = sorted((c, w) for c, w in mix.items() if c != exclude)
        positions = np.array([self._pos[c] for c, _ in items], dtype=np.int16)
        weights = np.array([w for _, w in items], dtype=float)
        return positions[rng.choice(len(items), size=size, p=weights / weights.sum())]

    def is_land(self) -> np.ndarray:
        return np.array([c in LAND_NEIGHBOURS for c in self.codes])
