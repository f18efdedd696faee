"""Names in any script to one Latin form, by documented schemes, so that a name written
in Cyrillic, Armenian or Georgian by one agency compares with the Latin spelling of the
same person's name in another.

- **Cyrillic**: ICAO Doc 9303 (7th edition, Part 3, section 6), the scheme of
  machine-readable passports, as the table below (Russian, Ukrainian, Belarusian,
  Serbian and Macedonian letters). For the Russian alphabet it is the same mapping as
  the `ICAO_DOC_9303` schema of the `iuliia` package (checked letter by letter:
  "Юлия Хачатрян" -> "iuliia khachatrian" in both); `iuliia` covers Russian only, so the
  table is kept here and applied as one vectorised replacement.
- **Armenian**: ISO 9985 (1996) as implemented by `anyascii` 0.3.3 (Հ h, Թ tʼ, Ղ gh,
  Ժ zh, Ծ ts, ...), with one rule of the Armenian passport practice (BGN/PCGN 1981)
  applied first: the digraph ու is u, not ISO's "ow" ("Harutyunyan", not "Harowtyownyan").
- **Georgian**: the national system of 2002 (Georgian State Language Department), as
  `anyascii` implements it (ქ k, კ kʼ, ყ qʼ, წ tsʼ, ჭ chʼ, ღ gh, ხ kh, ...); the
  apostrophes marking ejectives are dropped, as in Georgian passports.
- **Greek, Arabic, Persian, Chinese and every other script**: `anyascii`'s
  transliteration (Greek letter by letter, close to ELOT 743; Arabic as its consonant
  skeleton; Chinese as toneless pinyin). Linkage compares such forms by sound keys and
  string similarity, which tolerate the differences between schemes.

The `transliterate` package was checked too and not used: its Armenian pack is no
documented scheme (Հովհաննես -> "Hvovhannes", և -> "&").

A few Latin letters that do not decompose into a base letter and a diacritic (ß, æ, ø,
ł, ...) are spelled out as ICAO 9303 does, so that removing diacritics afterwards leaves
plain a-z. Input is case-folded before transliteration.
"""

from __future__ import annotations

from anyascii import anyascii

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

#: Armenian passport practice before ISO 9985 (lower case: input is case-folded).
ARMENIAN_DIGRAPHS: dict[str, str] = {"ու": "u", "ւ": "v"}

#: Both ICAO tables and the Armenian digraphs, for one multi-pattern replacement pass.
TRANSLITERATION: dict[str, str] = {**CYRILLIC_TO_LATIN, **LATIN_LIGATURES,
                                   **ARMENIAN_DIGRAPHS}

#: A letter of a script other than Latin: such a name goes through `other_scripts`.
NON_LATIN_LETTER = r"[^\p{Latin}\P{L}]"

#: Marks some schemes use for ejectives or aspirates (kʼ, tʼ); passports drop them.
APOSTROPHES = r"['ʼ’`ʻ]"


def other_scripts(text: str) -> str:
    """Latin form of a (case-folded) name holding letters of a non-Latin script."""
    return anyascii(text).lower()
