"""Cyrillic to Latin by ICAO Doc 9303 (7th edition, Part 3, section 6), the scheme of
machine-readable passports, so a name written in Cyrillic by one agency compares with the
Latin spelling of the same passport holder's name in another.

Letters are lower case: names are case-folded before transliteration. Where ICAO gives a
letter no Latin equivalent (the soft sign), it is dropped. The Ukrainian and Belarusian
Г follows the table's base value G.

A few Latin letters that do not decompose into a base letter and a diacritic (ß, æ, ø,
ł, ...) are spelled out as ICAO 9303 does, so that removing diacritics afterwards leaves
plain a-z.
"""

from __future__ import annotations

CYRILLIC_TO_LATIN: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "ґ": "g", "д": "d", "ђ": "d", "ѓ": "g",
    "е": "e", "ё": "e", "є": "ie", "ж": "zh", "з": "z", "ѕ": "dz", "и": "i", "і": "i",
    "ї": "i", "й": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m", "н": "n",
    "њ": "nj", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "ћ": "c", "ќ": "k",
    "у": "u", "ў": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "џ": "dz", "ш": "sh",
    "щ": "shch", "ъ": "ie", "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}

#: Latin letters without a canonical decomposition, as ICAO 9303 spells them.
LATIN_LIGATURES: dict[str, str] = {
    "ß": "ss", "æ": "ae", "ø": "oe", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th",
    "ı": "i", "ħ": "h", "ŧ": "t", "ŋ": "n",
}

#: Both tables, for one multi-pattern replacement pass.
TRANSLITERATION: dict[str, str] = {**CYRILLIC_TO_LATIN, **LATIN_LIGATURES}
