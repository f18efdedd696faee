"""Identifier noise: what clerks, scanners and transliteration do to a person's details.

Each kind of noise hits each record independently at its configured rate (times
`SynthConfig.noise_scale`), so the rates can be measured back against the truth.

Two profiles (`SynthConfig.noise_profile`): `default`, gentle, the one data/sample/ is
built with (its random draws never change, so the sample stays byte-identical); and
`hard` (`HardNoise` in config.py), which takes the default's kinds at higher rates and
then adds, from the same random stream, every other kind of error real registers carry:
OCR confusions, spellings by ear, nicknames and other-language names, truncated and
merged names, names in Armenian, Georgian or Cyrillic script, default and mistyped
dates of birth, a household member's date, mistyped documents, a wrong sex.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import polars as pl

from regmig.config import HardNoise, SynthConfig
from regmig.synth.labels import flag_labels, labels
from regmig.synth.names import NATIVE_SCRIPTS, NameTable, in_script, with_typos
from regmig.synth.timeline import NO_DAY

#: Share of transliterated records written in Cyrillic (the others in other Latin spellings).
CYRILLIC_SHARE = 0.5

NOISE_FIELDS = ("typo", "transliteration", "name_swap", "dob_day_month_swap", "dob_missing",
                "sex_missing", "citizenship_wrong", "document_missing",
                "crossing_not_recorded")

#: Kinds of the `hard` profile only, applied after the others (HardNoise in config.py).
HARD_FIELDS = ("ocr_typo", "phonetic", "nickname", "name_truncated", "name_merged",
               "native_script", "dob_default", "dob_year_typo", "dob_household",
               "document_typo", "sex_wrong")

#: Scanner confusions: (what was written, what the scanner read).
OCR_CONFUSIONS = (("m", "rn"), ("rn", "m"), ("d", "cl"), ("h", "b"), ("u", "v"), ("e", "c"),
                  ("o", "0"), ("l", "1"), ("i", "l"), ("n", "ri"), ("a", "o"), ("g", "q"))
#: Spellings by ear: (spelling, what a clerk heard).
PHONETIC_SPELLINGS = (("ph", "f"), ("f", "ph"), ("k", "c"), ("c", "k"), ("v", "w"),
                      ("w", "v"), ("y", "i"), ("i", "y"), ("ss", "s"), ("s", "ss"),
                      ("tt", "t"), ("ll", "l"), ("kh", "h"), ("ou", "u"), ("ie", "ei"),
                      ("ey", "ei"), ("j", "y"), ("e", "a"), ("z", "s"), ("t", "d"))


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
    #: the rates of the hard-only kinds (None in the default profile)
    hard: HardNoise | None = None

    @classmethod
    def from_config(cls, config: SynthConfig, source: str | None = None) -> NoiseRates:
        """The rates of one source (None: before any per-source scale)."""
        scale = config.noise_scale * (
            1.0 if source is None else getattr(config, f"noise_scale_{source}"))
        hard = config.hard_noise if config.noise_profile == "hard" else None

        def clip(value: float) -> float:
            return float(min(1.0, max(0.0, value * scale)))

        def scaled(name: str) -> float:
            if name == "crossing_not_recorded":
                return clip(config.crossing_not_recorded)
            return clip(getattr(hard, name) if hard else getattr(config, f"noise_{name}"))

        rates = cls(**{name: scaled(name) for name in NOISE_FIELDS})
        if hard is not None:
            rates = dataclasses.replace(rates, hard=HardNoise(
                **{f.name: clip(getattr(hard, f.name)) for f in dataclasses.fields(HardNoise)}))
        return rates

    def as_dict(self) -> dict[str, float]:
        out = {name: getattr(self, name) for name in NOISE_FIELDS}
        if self.hard is not None:
            out |= {name: getattr(self.hard, name) for name in HARD_FIELDS}
        return out


@dataclass
class Identity:
    """The true identifying details written on each record (one entry per record)."""

    given_id: np.ndarray
    surname_id: np.ndarray
    male: np.ndarray  # bool
    dob: np.ndarray  # int64 day
    citizenship: np.ndarray  # int16
    document: np.ndarray  # int64 document id, -1 when none
    #: date of birth of another member of the household, per record (hard noise only)
    household_dob: np.ndarray | None = None

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
    if rates.hard is not None:
        frame = _hard_noise(rng, frame, ident, rates.hard, names, flags)
    return frame, flags


def household_dobs(surname_id: np.ndarray, dob: np.ndarray) -> np.ndarray:
    """Per person, the date of birth of another person of the same surname (a household
    member, as far as the simulation knows households), else their own."""
    order = np.lexsort((np.arange(len(surname_id)), surname_id))
    sorted_surname = surname_id[order]
    partner = np.roll(order, -1)
    same = np.roll(sorted_surname, -1) == sorted_surname
    previous = np.roll(order, 1)
    same_previous = np.roll(sorted_surname, 1) == sorted_surname
    chosen = np.where(same, partner, np.where(same_previous, previous, order))
    out = np.empty_like(dob)
    out[order] = dob[chosen]
    return out


def _hard_noise(rng: np.random.Generator, frame: pl.DataFrame, ident: Identity,
                hard: HardNoise, names: NameTable, flags: dict[str, np.ndarray]
                ) -> pl.DataFrame:
    """The hard-only kinds, on top of the default kinds already in `frame`; each record's
    flags say which kinds changed it."""
    n = frame.height
    draw = {name: rng.random(n) < getattr(hard, name) for name in HARD_FIELDS}
    given, surname = frame["given_name"].clone(), frame["surname"].clone()
    in_surname = rng.random(n) < 0.5

    # a nickname or another-language form of the registered given name
    start = names.equivalent_start[ident.given_id]
    count = names.equivalent_start[ident.given_id + 1] - start
    nick = draw["nickname"] & (count > 0)
    pick = start + np.minimum((rng.random(n) * count).astype(np.int64), np.maximum(count - 1, 0))
    idx = np.flatnonzero(nick)
    given = given.scatter(idx, pl.Series(names.equivalents, dtype=pl.String).gather(pick[idx]))
    flags["nickname"] = nick

    # a scanner's or a clerk's error: each hit record gets the first confusion (from a
    # random start) that its name allows, so the rate holds
    for kind, pairs in (("ocr_typo", OCR_CONFUSIONS), ("phonetic", PHONETIC_SPELLINGS)):
        hit = np.flatnonzero(draw[kind])
        first = (rng.random(len(hit)) * len(pairs)).astype(np.int64)
        side = in_surname[hit]
        changed = np.zeros(len(hit), dtype=bool)
        for step in range(len(pairs)):
            for k, (written, read) in enumerate(pairs):
                for target, on_side in ((surname, side), (given, ~side)):
                    sel = np.flatnonzero(on_side & ~changed & ((first + step) % len(pairs) == k))
                    if not len(sel):
                        continue
                    before = target.gather(hit[sel])
                    after = before.str.replace(written, read, literal=True, n=1)
                    target.scatter(hit[sel], after)
                    changed[sel] |= (before != after).fill_null(False).to_numpy()
        flags[kind] = np.zeros(n, dtype=bool)
        flags[kind][hit] = changed

    # a name cut short: its first letters, or a quarter of the time the initial alone
    share = 0.3 + 0.4 * rng.random(n)
    initial_only = rng.random(n) < 0.25
    for target, side in ((surname, in_surname), (given, ~in_surname)):
        idx = np.flatnonzero(draw["name_truncated"] & side)
        if len(idx):
            kept = pl.Series(np.where(initial_only[idx], 0.0, share[idx]))
            part = pl.DataFrame({"name": target.gather(idx), "share": kept}).select(
                pl.col("name").str.slice(0, pl.max_horizontal(
                    pl.lit(1), (pl.col("name").str.len_chars() * pl.col("share")).floor()
                    .cast(pl.Int64)))).to_series()
            target.scatter(idx, part)
    flags["name_truncated"] = draw["name_truncated"]

    # given name and surname written together in the surname field
    idx = np.flatnonzero(draw["name_merged"])
    merged = pl.select(pl.concat_str([given.gather(idx), surname.gather(idx)],
                                      ignore_nulls=True)).to_series()
    surname = surname.scatter(idx, merged)
    given = given.scatter(idx, pl.Series([None] * len(idx), dtype=pl.String))
    flags["name_merged"] = draw["name_merged"]

    # both names in the script of the surname's language
    script = names.native_script[ident.surname_id]
    for code, name in enumerate(NATIVE_SCRIPTS):
        idx = np.flatnonzero(draw["native_script"] & (script == code))
        for target in (given, surname):
            values = target.gather(idx)
            mapping = {v: in_script(v, name) for v in values.drop_nulls().unique().to_list()}
            target.scatter(idx, values.replace_strict(mapping, default=None))
    flags["native_script"] = draw["native_script"]

    # dates of birth: defaults, year typos, a household member's date
    dob = frame["date_of_birth"].cast(pl.Int32).to_numpy(allow_copy=True).astype(np.float64)
    known = ~np.isnan(dob)
    days = np.where(known, dob, 0).astype("datetime64[D]")
    year_start = days.astype("datetime64[Y]").astype("datetime64[D]")
    month_start = days.astype("datetime64[M]").astype("datetime64[D]")
    default = np.where(rng.random(n) < 0.5, year_start, month_start)
    year = days.astype("datetime64[Y]").astype(np.int64) + 1970
    swapped_year = (year // 100) * 100 + (year % 10) * 10 + (year // 10) % 10
    typo_year = np.where((rng.random(n) < 0.5) | (swapped_year == year),
                         year + np.where(rng.random(n) < 0.5, -1, 1), swapped_year)
    moved = _with_year(days, typo_year)
    new = days.copy()
    flags["dob_default"] = draw["dob_default"] & known & (default != days)
    new = np.where(flags["dob_default"], default, new)
    flags["dob_year_typo"] = draw["dob_year_typo"] & known & ~flags["dob_default"]
    new = np.where(flags["dob_year_typo"], moved, new)
    household = (ident.household_dob if ident.household_dob is not None else
                 np.full(n, -1)).astype("datetime64[D]")
    flags["dob_household"] = (draw["dob_household"] & known & (ident.household_dob is not None)
                              & (household != days))
    new = np.where(flags["dob_household"], household, new)
    date_of_birth = pl.Series(np.where(known, new.astype(np.int64), 0).astype(np.int32)).cast(
        pl.Date)

    # one character of the document number mistyped
    document = frame["document_number"]
    flags["document_typo"] = draw["document_typo"] & document.is_not_null().to_numpy()
    idx = np.flatnonzero(flags["document_typo"])
    position = rng.random(len(idx))
    typo = pl.DataFrame({"d": document.gather(idx), "u": position}).select(
        pos=(pl.col("u") * pl.col("d").str.len_chars()).floor().cast(pl.Int64),
        d=pl.col("d")).select(
        pl.col("d").str.slice(0, pl.col("pos"))
        + pl.col("d").str.slice(pl.col("pos"), 1).replace_strict(
            _DOCUMENT_SLIP, default="7")
        + pl.col("d").str.slice(pl.col("pos") + 1)).to_series()
    document = document.scatter(idx, typo)

    flags["sex_wrong"] = draw["sex_wrong"] & frame["sex"].is_not_null().to_numpy()
    return frame.with_columns(
        given_name=given, surname=surname, document_number=document,
        date_of_birth=pl.when(pl.Series(known)).then(date_of_birth),
        sex=pl.when(pl.Series(flags["sex_wrong"])).then(
            pl.col("sex").replace_strict({"M": "F", "F": "M"}, default=None))
        .otherwise(pl.col("sex")),
    )


#: A mistyped document character: the next digit, or a letter read as a digit.
_DOCUMENT_SLIP = {**{str(d): str((d + 1) % 10) for d in range(10)},
                  **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "48C0F6H1JK1MN0PQR5T7VWXY22",
                             strict=True))}


def _with_year(days: np.ndarray, year: np.ndarray) -> np.ndarray:
    """The same day and month in another year (28 February for 29 February)."""
    month_start = days.astype("datetime64[M]")
    month = (month_start - days.astype("datetime64[Y]").astype("datetime64[M]")).astype(
        np.int64)
    dom = (days - month_start.astype("datetime64[D]")).astype(np.int64)
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + month
    next_month = (start + 1).astype("datetime64[D]")
    return np.minimum(start.astype("datetime64[D]") + dom, next_month - 1)


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
