"""Identifier noise: what clerks, scanners and transliteration do to a person's details.

Each kind of noise hits each record independently at its configured rate (times
`SynthConfig.noise_scale`), so the rates can be measured back against the truth.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.config import SynthConfig
from regmig.synth.labels import flag_labels, labels
from regmig.synth.names import NameTable, with_typos
from regmig.synth.timeline import NO_DAY

#: Share of transliterated records written in Cyrillic (the others in other Latin spellings).
CYRILLIC_SHARE = 0.5

NOISE_FIELDS = ("typo", "transliteration", "name_swap", "dob_day_month_swap", "dob_missing",
                "sex_missing", "citizenship_wrong", "document_missing",
                "crossing_not_recorded")


@dataclass(frozen=True)
class NoiseRates:
    typo: float
    transliteration: float
    name_swap: float
    dob_day_month_swap: float
    dob_missing: float
    sex_missing: float
    citizenship_wrong: float
    document_missing: float
    crossing_not_recorded: float

    @classmethod
    def from_config(cls, config: SynthConfig, source: str | None = None) -> NoiseRates:
        """The rates of one source (None: before any per-source scale)."""
        scale = config.noise_scale * (
            1.0 if source is None else getattr(config, f"noise_scale_{source}"))

        def scaled(name: str) -> float:
            raw = getattr(config, name if name == "crossing_not_recorded" else f"noise_{name}")
            return float(min(1.0, max(0.0, raw * scale)))

        return cls(**{name: scaled(name) for name in NOISE_FIELDS})

    def as_dict(self) -> dict[str, float]:
        return dataclasses.asdict(self)


@dataclass
class Identity:
    """The true identifying details written on each record (one entry per record)."""

    given_id: np.ndarray
    surname_id: np.ndarray
    male: np.ndarray  # bool
    dob: np.ndarray  # int64 day
    citizenship: np.ndarray  # int16
    document: np.ndarray  # int64 document id, -1 when none

    def __len__(self) -> int:
        return len(self.given_id)


def write_identity(rng: np.random.Generator, ident: Identity, rates: NoiseRates,
                   names: NameTable, country_codes: tuple[str, ...], document_numbers: pl.Series,
                   document_noise: bool) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """The identity columns as delivered (with noise), and which records got which noise."""
    n = len(ident)
    flags = {name: rng.random(n) < getattr(rates, name)
             for name in NOISE_FIELDS if name != "crossing_not_recorded"}
    if not document_noise:
        flags["document_missing"] = np.zeros(n, dtype=bool)
    given, surname = _spellings(rng, ident, flags["transliteration"], names)
    # one keyboard slip in the given name or the surname
    typo_idx = np.flatnonzero(flags["typo"])
    in_surname = rng.random(len(typo_idx)) < 0.5
    u, v = rng.random(len(typo_idx)), rng.random(len(typo_idx))
    for target, sel in ((surname, in_surname), (given, ~in_surname)):
        idx = typo_idx[sel]
        target.scatter(idx, with_typos(target.gather(idx), u[sel], v[sel]))
    swap = flags["name_swap"]
    given, surname = _choose(swap, surname, given), _choose(swap, given, surname)

    dob = ident.dob.copy()
    has_dob = dob != NO_DAY
    swapped = _day_month_swapped(dob)
    can_swap = has_dob & (swapped != dob)
    # only some dates can be swapped (day <= 12): swap those more often, so that the share
    # of all records with a swapped date is the configured rate
    swappable = max(float(can_swap.mean()), 1e-9) if n else 1.0
    flags["dob_day_month_swap"] = can_swap & (
        rng.random(n) < min(1.0, rates.dob_day_month_swap / swappable))
    dob = np.where(flags["dob_day_month_swap"], swapped, dob)
    flags["dob_missing"] &= has_dob
    dob_missing = flags["dob_missing"] | ~has_dob

    k = len(country_codes)
    citizenship = ident.citizenship.astype(np.int64)
    other = (citizenship + 1 + (rng.random(n) * (k - 1)).astype(np.int64)) % k
    citizenship = np.where(flags["citizenship_wrong"], other, citizenship)

    has_doc = ident.document >= 0
    doc_numbers = document_numbers.gather(np.where(has_doc, ident.document, 0))
    flags["document_missing"] &= has_doc
    frame = pl.DataFrame({
        "given_name": given,
        "surname": surname,
        "sex": flag_labels(ident.male, "M", "F"),
        "date_of_birth": pl.Series(np.where(dob_missing, 0, dob).astype(np.int32)).cast(
            pl.Date),
        "citizenship": labels(country_codes, citizenship),
        "document_number": doc_numbers,
    }).with_columns(
        pl.when(pl.Series(flags["sex_missing"])).then(None).otherwise(pl.col("sex"))
        .alias("sex"),
        pl.when(pl.Series(dob_missing)).then(None).otherwise(pl.col("date_of_birth"))
        .alias("date_of_birth"),
        pl.when(pl.Series(flags["document_missing"] | ~has_doc)).then(None)
        .otherwise(pl.col("document_number")).alias("document_number"),
    )
    return frame, flags


def _spellings(rng: np.random.Generator, ident: Identity, translit: np.ndarray,
               names: NameTable) -> tuple[pl.Series, pl.Series]:
    """Given names and surnames; a transliterated record is written either in Cyrillic or
    in other Latin spellings, never in a mix of scripts."""
    n = len(ident)
    cyrillic = rng.random(n) < CYRILLIC_SHARE
    u_given, u_surname = rng.random(n), rng.random(n)
    g_latin, g_has = names.latin_variant(ident.given_id, u_given)
    s_latin, s_has = names.latin_variant(ident.surname_id, u_surname)
    # a name with no other Latin spelling stays as it is, unless neither has one
    cyrillic |= ~g_has & ~s_has
    canonical = pl.Series(names.canonical)
    variants = pl.Series(names.variants)
    out = []
    for ids, latin, has in ((ident.given_id, g_latin, g_has),
                            (ident.surname_id, s_latin, s_has)):
        variant = np.where(cyrillic, names.cyrillic(ids), latin)
        respelt = translit & (cyrillic | has)
        out.append(_choose(respelt, variants.gather(np.where(respelt, variant, 0)),
                           canonical.gather(ids)))
    return out[0], out[1]


def _choose(flag: np.ndarray, if_true: pl.Series, if_false: pl.Series) -> pl.Series:
    return pl.select(pl.when(pl.Series(flag)).then(if_true).otherwise(if_false)).to_series()


def _day_month_swapped(dob: np.ndarray) -> np.ndarray:
    """The date with day and month exchanged where that is a valid, different date."""
    d = np.where(dob == NO_DAY, 0, dob).astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]")
    month = (month_start - year.astype("datetime64[M]")).astype(np.int64) + 1
    dom = (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    ok = (dom <= 12) & (dom != month) & (dob != NO_DAY)
    swapped = (year.astype("datetime64[M]") + (np.where(ok, dom, 1) - 1)).astype(
        "datetime64[D]") + (np.where(ok, month, 1) - 1)
    return np.where(ok, swapped.astype(np.int64), dob)
