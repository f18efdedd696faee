"""Name pools and the spelling variants one name takes across registers.

Every pool holds canonical Latin spellings. A name's variants are what other clerks and
systems write for the same name: other Latin transliterations (-yan/-ian/-jan,
kh/h/x, ts/c, -ov/-off, ...) and a Cyrillic transliteration. Variants are computed once
per distinct name (a few hundred), never per record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from regmig.synth.name_variants import EQUIVALENTS, mechanical, to_armenian, to_georgian

_SLAVIC_FEMININE = (("ov", "ova"), ("ev", "eva"), ("in", "ina"), ("yn", "yna"), ("iy", "aya"),
                    ("kiy", "kaya"), ("ski", "ska"))

#: pool -> (male given names, female given names, surnames, feminine surname forms?)
POOLS: dict[str, tuple[str, str, str, bool]] = {
    "armenian": (
        "Davit Narek Hayk Tigran Aram Armen Gor Arman Levon Vahe Ashot Artur Gagik Karen "
        "Samvel Hovhannes Mher Erik Suren Sargis Arsen Vardan Ruben Edgar Grigor Artak Hrant "
        "Gevorg Rafael Aren Hakob Khachatur Arshak Ararat Vazgen Mkrtich Aghasi Zhora",
        "Anna Mariam Ani Lilit Nare Anahit Gayane Hasmik Armine Lusine Syuzanna Narine "
        "Tatevik Astghik Siranush Karine Marine Nune Arpine Milena Elen Meri Sona Zaruhi "
        "Hripsime Naira Ruzanna Kristine Inna Seda Gohar Shushanik Yeva Lusine Varduhi",
        "Hovhannisyan Harutyunyan Sargsyan Khachatryan Grigoryan Hakobyan Vardanyan "
        "Karapetyan Gevorgyan Petrosyan Avetisyan Mkrtchyan Ghazaryan Poghosyan Manukyan "
        "Martirosyan Davtyan Hambardzumyan Stepanyan Mnatsakanyan Baghdasaryan Arakelyan "
        "Simonyan Galstyan Avagyan Abrahamyan Margaryan Mkhitaryan Zakaryan Asatryan "
        "Melkonyan Danielyan Tadevosyan Yeghiazaryan Movsisyan Kirakosyan Aslanyan "
        "Hayrapetyan Minasyan Torosyan Nersisyan Sahakyan Muradyan Ohanyan Gasparyan "
        "Amiryan Badalyan Yesayan Israelyan Sukiasyan Ter-Petrosyan Khachikyan Harutyunov "
        "Saroyan Tumanyan Barseghyan Chilingaryan Aghajanyan Shahinyan Zohrabyan",
        False,
    ),
    "russian": (
        "Alexander Sergey Dmitry Andrey Alexey Maxim Evgeny Ivan Mikhail Artem Nikolai "
        "Vladimir Pavel Denis Igor Oleg Roman Anton Kirill Yuri Konstantin Viktor Boris",
        "Elena Olga Natalia Tatiana Irina Svetlana Anna Maria Ekaterina Yulia Anastasia "
        "Marina Daria Ksenia Valentina Yana Galina Lyudmila Nadezhda Vera Polina Alina",
        "Ivanov Smirnov Kuznetsov Popov Vasiliev Petrov Sokolov Mikhailov Novikov Fedorov "
        "Morozov Volkov Alekseev Lebedev Semenov Egorov Pavlov Kozlov Stepanov Nikolaev "
        "Orlov Andreev Makarov Nikitin Zakharov Zaitsev Solovyov Borisov Yakovlev "
        "Grigoriev Romanov Vorobyov Sergeev Kovalev Belov Tarasov Belyaev Frolov Zhukov",
        True,
    ),
    "ukrainian": (
        "Oleksandr Andriy Serhiy Volodymyr Mykola Vasyl Yuriy Oleh Taras Bohdan Dmytro Ivan",
        "Olena Oksana Nataliya Tetiana Iryna Yuliya Kateryna Halyna Svitlana Mariya Olha "
        "Viktoriya",
        "Shevchenko Kovalenko Bondarenko Tkachenko Kravchenko Oliynyk Shevchuk Koval "
        "Polishchuk Bondar Tkachuk Moroz Marchenko Lysenko Rudenko Savchenko Petrenko "
        "Klymenko Pavlenko Kovalchuk",
        False,
    ),
    "georgian": (
        "Giorgi Davit Nikoloz Luka Levan Irakli Zurab Lasha Otar Tornike Gela Sandro Vakhtang",
        "Nino Mariam Tamar Ana Ketevan Salome Natia Eka Maia Nana Tamta Lika Khatia",
        "Beridze Kapanadze Gelashvili Maisuradze Giorgadze Lomidze Tsiklauri Bolkvadze "
        "Kvaratskhelia Nozadze Khutsishvili Shengelia Abuladze Chikovani Gogichaishvili "
        "Japaridze Mchedlishvili Tabatadze Gvenetadze Kharaishvili",
        False,
    ),
    "persian": (
        "Mohammad Ali Hossein Reza Mehdi Amir Hamid Saeed Majid Mahmoud Javad Farhad Behzad",
        "Fatemeh Zahra Maryam Narges Sara Leila Parisa Shirin Mahsa Zeinab Nazanin Roya Azadeh",
        "Hosseini Mohammadi Rezaei Ahmadi Moradi Karimi Jafari Rahimi Hashemi Mousavi "
        "Sadeghi Ghasemi Rostami Kazemi Tehrani Abbasi Bagheri Heidari Zamani Naseri",
        False,
    ),
    "arabic": (
        "Ahmad Mohammed Omar Khaled Youssef Hassan Ibrahim Mahmoud Samer Tarek Bilal Karim",
        "Fatima Aisha Mariam Layla Nour Rania Huda Salma Yasmin Lina Dina Rasha",
        "Haddad Khoury Hamdan Nasser Saleh Aziz Mansour Khalil Darwish Haddad Sabbagh Issa "
        "Qassem Hamoud Jaber Yassin Awad Saad",
        False,
    ),
    "indian": (
        "Rahul Amit Rohit Arjun Vikram Suresh Rajesh Anil Sanjay Karan Deepak Manish Harpreet",
        "Priya Anjali Pooja Neha Sunita Kavita Divya Meera Asha Lakshmi Ritu Sneha Gurpreet",
        "Sharma Singh Kumar Patel Gupta Verma Reddy Nair Iyer Das Mehta Joshi Rao Khan Chopra "
        "Malhotra Bhatia Kaur Pillai Menon",
        False,
    ),
    "chinese": (
        "Wei Jun Hao Lei Qiang Jian Ming Tao Yong Bo Peng Chao",
        "Fang Na Jing Min Yan Xiu Hui Ying Lan Mei Xin Ting",
        "Wang Li Zhang Liu Chen Yang Huang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo He Lin",
        False,
    ),
    "central_asian": (
        "Aziz Rustam Farrukh Timur Bakhtiyor Dilshod Nurlan Askar Bekzod Jasur Ulugbek "
        "Sherzod Daniyar Azamat",
        "Dilnoza Gulnara Madina Aigerim Nilufar Zarina Malika Kamila Aizhan Saida Shakhnoza "
        "Feruza Aliya",
        "Karimov Rakhimov Nazarov Yusupov Aliev Abdullaev Tursunov Ismoilov Sultanov "
        "Rahmonov Akhmedov Nurmatov Zhumabaev Bekov Sadykov Kasymov Usmanov Mirzoev",
        True,
    ),
    "western": (
        "John Michael David James Robert Thomas Peter Paul Mark Daniel Lukas Pierre Marco Jan "
        "William Stefan",
        "Mary Sarah Emily Emma Laura Anna Julia Sophie Maria Claire Giulia Katarzyna Hannah "
        "Charlotte",
        "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Martin "
        "Mueller Schmidt Schneider Fischer Dubois Bernard Rossi Russo Ferrari Garcia Martinez "
        "Lopez Kowalski Nowak Jansen Bakker",
        False,
    ),
}

#: Latin re-spellings: (pattern, replacement); each rule that applies gives one variant.
_LATIN_RULES: tuple[tuple[str, str], ...] = (
    (r"yan$", "ian"), (r"yan$", "jan"), (r"yan$", "yants"), (r"kh", "h"), (r"kh", "x"),
    (r"gh", "g"), (r"ts", "c"), (r"ts", "tz"), (r"zh", "j"), (r"sh", "sch"), (r"ch", "tch"),
    (r"ov$", "off"), (r"ev$", "eff"), (r"ova$", "owa"), (r"iy$", "y"), (r"y", "j"),
    (r"^Ye", "E"), (r"^E", "Ye"), (r"^H", ""), (r"ss", "s"), (r"mm", "m"), (r"ou", "u"),
    (r"ei$", "ey"), (r"^Moh", "Muh"), (r"^Mah", "Mah"), (r"v$", "w"), (r"ii", "iy"),
    (r"iy", "ii"), (r"ph", "f"), (r"ks", "x"), (r"dze$", "dse"), (r"ae", "e"),
)

_CYRILLIC_MULTI = (
    ("shch", "щ"), ("kh", "х"), ("zh", "ж"), ("ts", "ц"), ("ch", "ч"), ("sh", "ш"),
    ("ya", "я"), ("yu", "ю"), ("yo", "ё"), ("ye", "е"), ("gh", "г"),
)
_CYRILLIC_SINGLE = dict(zip("abcdefghijklmnopqrstuvwxyz",
                            ["а", "б", "к", "д", "е", "ф", "г", "х", "и", "дж", "к", "л", "м",
                             "н", "о", "п", "к", "р", "с", "т", "у", "в", "в", "кс", "й", "з"],
                            strict=True))


def to_cyrillic(name: str) -> str:
    """A mechanical Latin-to-Cyrillic transliteration (as a Russian-speaking clerk would)."""
    word = mechanical(name, _CYRILLIC_MULTI, _CYRILLIC_SINGLE)
    return word[:1].upper() + word[1:]


def latin_variants(name: str) -> list[str]:
    variants: list[str] = []
    for pattern, replacement in _LATIN_RULES:
        if pattern.startswith("^") or pattern.endswith("$"):
            new = re.sub(pattern, replacement, name, count=1)
        else:
            new = re.sub(pattern, replacement, name, count=1)
        new = new[:1].upper() + new[1:]
        if new and new != name and new not in variants:
            variants.append(new)
    return variants


def variants_of(name: str) -> list[str]:
    """Other spellings of `name`: Latin re-spellings, then the Cyrillic form (never empty)."""
    out = latin_variants(name)
    cyr = to_cyrillic(name)
    if cyr not in out:
        out.append(cyr)
    return out


def feminine(surname: str) -> str:
    for masc, fem in sorted(_SLAVIC_FEMININE, key=lambda p: -len(p[0])):
        if surname.endswith(masc):
            return surname[: -len(masc)] + fem
    return surname


@dataclass(frozen=True)
class NameTable:
    """All names, canonical and variant, as flat arrays indexed by name id."""

    canonical: tuple[str, ...]
    #: variants of name id i are variants[variant_start[i]: variant_start[i + 1]]: its
    #: Latin re-spellings, then (always last) its Cyrillic form
    variants: tuple[str, ...]
    variant_start: np.ndarray
    #: name ids per pool: (male given, female given, male surnames, female surnames)
    pool_ids: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    #: equivalents of name id i (name_variants.EQUIVALENTS) are
    #: equivalents[equivalent_start[i]: equivalent_start[i + 1]]
    equivalents: tuple[str, ...] = ()
    equivalent_start: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    #: the script a name's language writes it in (index into NATIVE_SCRIPTS), per name id
    native_script: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def cyrillic(self, ids: np.ndarray) -> np.ndarray:
        """Index into `variants` of the Cyrillic form of each name id."""
        return self.variant_start[ids + 1] - 1

    def latin_variant(self, ids: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index into `variants` of a Latin re-spelling of each name id chosen by uniforms
        `u`, and whether the name has one at all (if not, the index is meaningless)."""
        start = self.variant_start[ids]
        latin = self.variant_start[ids + 1] - 1 - start
        pick = start + np.minimum((u * latin).astype(np.int64), np.maximum(latin - 1, 0))
        return pick, latin > 0


def build_name_table() -> NameTable:
    canonical: list[str] = []
    position: dict[str, int] = {}

    def ids_of(names: list[str]) -> np.ndarray:
        out = []
        for name in names:
            if name not in position:
                position[name] = len(canonical)
                canonical.append(name)
            out.append(position[name])
        return np.array(sorted(set(out), key=out.index), dtype=np.int64)

    pool_ids = {}
    for pool in sorted(POOLS):
        male, female, surnames, gendered = POOLS[pool]
        surname_list = surnames.split()
        female_surnames = [feminine(s) for s in surname_list] if gendered else surname_list
        pool_ids[pool] = (ids_of(male.split()), ids_of(female.split()),
                          ids_of(surname_list), ids_of(female_surnames))
    variants: list[str] = []
    start = [0]
    for name in canonical:
        variants.extend(variants_of(name))
        start.append(len(variants))
    equivalents: list[str] = []
    equivalent_start = [0]
    for name in canonical:
        equivalents.extend(EQUIVALENTS.get(name, ()))
        equivalent_start.append(len(equivalents))
    script = np.zeros(len(canonical), dtype=np.int64)  # Cyrillic unless a pool says so
    for pool in sorted(POOLS, reverse=True):  # the first pool (sorted) of a name wins
        for ids in pool_ids[pool]:
            script[ids] = NATIVE_SCRIPTS.index(POOL_SCRIPT.get(pool, "cyrillic"))
    return NameTable(tuple(canonical), tuple(variants), np.array(start, dtype=np.int64),
                     pool_ids, tuple(equivalents), np.array(equivalent_start, dtype=np.int64),
                     script)


#: Scripts a record's names may be delivered in (noise profile `hard`), and the pools
#: whose own script is not Cyrillic (a Russian-speaking clerk writes the others).
NATIVE_SCRIPTS = ("cyrillic", "armenian", "georgian")
POOL_SCRIPT = {"armenian": "armenian", "georgian": "georgian"}


def in_script(name: str, script: str) -> str:
    if script == "armenian":
        return to_armenian(name)
    if script == "georgian":
        return to_georgian(name)
    return to_cyrillic(name)


#: The key next to each letter (a slipped finger), Latin and Cyrillic keyboards.
KEYBOARD_NEIGHBOUR: dict[str, str] = {
    **dict(zip("abcdefghijklmnopqrstuvwxyz", "sxvfrghjokljnbpoweaiyctzus", strict=True)),
    **dict(zip("абвгдежзийклмнопрстуфхцчшщъыьэюя", "вьаншлэщцуиодиьртыкмгавгщзхвмжбю",
               strict=True)),
}


def with_typos(names: pl.Series, u: np.ndarray, v: np.ndarray) -> pl.Series:
    """One keyboard slip in each name, vectorised: a neighbouring key, a dropped or
    doubled letter, or two letters swapped, chosen by the uniforms `u` (kind) and `v`
    (position; never the first letter, which clerks rarely get wrong)."""
    kind = pl.Series((u * 4).astype(np.int64))
    frame = pl.DataFrame({"name": names, "kind": kind, "v": v})
    length = pl.col("name").str.len_chars()
    pos = (1 + (pl.col("v") * (length - 2).clip(lower_bound=0)).floor()).cast(pl.Int64)
    pos = pl.min_horizontal(pos, (length - 1).clip(lower_bound=0))
    head = pl.col("name").str.slice(0, pos)
    ch = pl.col("name").str.slice(pos, 1)
    nxt = pl.col("name").str.slice(pos + 1, 1)
    neighbour = ch.str.to_lowercase().replace_strict(KEYBOARD_NEIGHBOUR, default=None)
    substitute = pl.coalesce(neighbour, pl.when(ch == "e").then(pl.lit("a"))
                             .otherwise(pl.lit("e")))
    dropped = head + pl.col("name").str.slice(pos + 1)
    doubled = head + ch + pl.col("name").str.slice(pos)
    swapped = head + nxt + ch + pl.col("name").str.slice(pos + 2)
    slip = (pl.when(pl.col("kind") == 0).then(head + substitute + pl.col("name").str.slice(
        pos + 1))
        .when(pl.col("kind") == 2).then(doubled)
        .when((pl.col("kind") == 3) & (nxt != "") & (nxt != ch)).then(swapped)
        .otherwise(dropped))
    # a one-letter name only ever gets a doubled letter
    return frame.select(pl.when(length < 2).then(pl.col("name") + pl.col("name"))
                        .otherwise(slip).alias(names.name)).to_series()
