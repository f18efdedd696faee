"""What else one person's name is written as: diminutives, other-language equivalents,
and the name in its own script.

EQUIVALENTS is data: for a given name of synth/names.py's pools, the forms the same
person goes by in other registers: the Russian or Armenian form of an Armenian name
(Hovhannes/Ovanes/Ivan), the diminutive used on an application form (Aleksandr/Sasha,
Mariya/Masha), the Ukrainian or English form (Oleksandr/Alexander). A record of the
`hard` noise profile may carry one of them instead of the registered name.

The script converters write a Latin name in Armenian, Georgian or Cyrillic letters as a
clerk of that country would (a mechanical mapping, not a standard: the point is that the
linkage side, which transliterates back by ISO and national schemes, never sees the
exact inverse of what wrote the record).
"""

from __future__ import annotations

#: given name -> equivalents (diminutives, other languages)
EQUIVALENTS: dict[str, tuple[str, ...]] = {
    # Armenian
    "Hovhannes": ("Ovanes", "Ivan", "Hovik", "Vanik", "Johannes"),
    "Davit": ("David", "Dav", "Dato"),
    "Grigor": ("Grigori", "Grisha", "Gregory"),
    "Hakob": ("Akop", "Yakov", "Jacob", "Hakobik"),
    "Khachatur": ("Khachik", "Khachatour"),
    "Mkrtich": ("Mkrtchik", "Mkrtych"),
    "Sargis": ("Sarkis", "Sergey", "Sako"),
    "Gevorg": ("Georgi", "Gevorik", "George"),
    "Artur": ("Arthur", "Arturik"),
    "Aram": ("Aramik",),
    "Armen": ("Armenak", "Armo"),
    "Tigran": ("Tiko", "Tigranik"),
    "Levon": ("Leva", "Lev", "Leon"),
    "Ashot": ("Asho",),
    "Samvel": ("Samuel", "Samo"),
    "Ruben": ("Rubik", "Reuben"),
    "Suren": ("Surik",),
    "Vardan": ("Vardo",),
    "Rafael": ("Rafik", "Raphael"),
    "Zhora": ("Zhorik", "Georgy"),
    "Mariam": ("Mariya", "Maria", "Mary", "Masha"),
    "Anahit": ("Ana", "Anahid"),
    "Gayane": ("Gaya", "Gayaneh"),
    "Hasmik": ("Asmik",),
    "Lilit": ("Lilia", "Lili"),
    "Lusine": ("Lusya", "Lucine"),
    "Syuzanna": ("Susanna", "Suzanna", "Syuzi"),
    "Hripsime": ("Ripsime", "Ripsik"),
    "Yeva": ("Eva", "Eve"),
    "Karine": ("Karina",),
    "Marine": ("Marina",),
    "Kristine": ("Kristina", "Christine"),
    "Elen": ("Elena", "Helen"),
    "Meri": ("Mary", "Maria"),
    # Russian
    "Alexander": ("Aleksandr", "Sasha", "Oleksandr", "Alex", "Sanya"),
    "Sergey": ("Sergei", "Seryozha", "Serhiy", "Sargis"),
    "Dmitry": ("Dmitri", "Dima", "Dmytro"),
    "Andrey": ("Andrei", "Andriy", "Andrew"),
    "Alexey": ("Aleksei", "Alyosha", "Oleksiy"),
    "Maxim": ("Maksim", "Max"),
    "Evgeny": ("Yevgeny", "Zhenya", "Eugene"),
    "Ivan": ("Vanya", "Hovhannes", "John"),
    "Mikhail": ("Misha", "Mykhailo", "Michael"),
    "Nikolai": ("Kolya", "Mykola", "Nicholas"),
    "Vladimir": ("Volodya", "Volodymyr", "Vova"),
    "Pavel": ("Pasha", "Pavlo", "Paul"),
    "Yuri": ("Yura", "Yuriy", "Georgy"),
    "Konstantin": ("Kostya",),
    "Viktor": ("Vitya", "Victor"),
    "Boris": ("Borya",),
    "Elena": ("Lena", "Olena", "Helen"),
    "Olga": ("Olya", "Olha"),
    "Natalia": ("Natasha", "Nataliya", "Natalya"),
    "Tatiana": ("Tanya", "Tetiana", "Tatyana"),
    "Irina": ("Ira", "Iryna"),
    "Svetlana": ("Sveta", "Svitlana"),
    "Maria": ("Masha", "Mariya", "Mariam", "Mary"),
    "Ekaterina": ("Katya", "Kateryna", "Katherine"),
    "Yulia": ("Yuliya", "Julia", "Yulya"),
    "Anastasia": ("Nastya", "Anastasiya"),
    "Daria": ("Dasha", "Darya"),
    "Ksenia": ("Ksyusha", "Kseniya"),
    "Galina": ("Galya", "Halyna"),
    "Lyudmila": ("Lyuda", "Ludmila"),
    "Nadezhda": ("Nadya",),
    # Ukrainian
    "Oleksandr": ("Alexander", "Sasha", "Sashko"),
    "Andriy": ("Andrey", "Andrii"),
    "Serhiy": ("Sergey", "Serhii"),
    "Volodymyr": ("Vladimir", "Volodya"),
    "Mykola": ("Nikolai", "Kolya"),
    "Vasyl": ("Vasily", "Vasya"),
    "Oleh": ("Oleg",),
    "Bohdan": ("Bogdan",),
    "Dmytro": ("Dmitry", "Dima"),
    "Olena": ("Elena", "Lena"),
    "Nataliya": ("Natalia", "Natasha"),
    "Iryna": ("Irina", "Ira"),
    "Kateryna": ("Ekaterina", "Katya"),
    "Halyna": ("Galina", "Halya"),
    "Mariya": ("Maria", "Masha"),
    "Olha": ("Olga", "Olya"),
    # Georgian
    "Giorgi": ("Georgi", "Gogi", "George", "Gia"),
    "Nikoloz": ("Nika", "Nikolai"),
    "Levan": ("Leo", "Leva"),
    "Irakli": ("Ika", "Irakliy"),
    "Zurab": ("Zura",),
    "Vakhtang": ("Vakho",),
    "Aleksandre": ("Sandro", "Alexander"),
    "Ketevan": ("Keti", "Eka"),
    "Tamar": ("Tamara", "Tako"),
    "Ana": ("Anna", "Anuki"),
    "Nino": ("Nina",),
    "Salome": ("Salo",),
    # Persian, Arabic, Central Asian
    "Mohammad": ("Muhammad", "Mohammed", "Mamad"),
    "Mohammed": ("Muhammad", "Mohamed"),
    "Hossein": ("Hussein", "Husayn"),
    "Youssef": ("Yusuf", "Joseph"),
    "Ibrahim": ("Ebrahim", "Abraham"),
    "Fatemeh": ("Fatima", "Fati"),
    "Fatima": ("Fatemeh", "Fatma"),
    "Maryam": ("Mariam", "Maria"),
    "Rustam": ("Rustem",),
    "Timur": ("Temur",),
    # Western
    "John": ("Johnny", "Jack", "Ivan", "Juan"),
    "Michael": ("Mike", "Mikhail"),
    "William": ("Bill", "Will"),
    "Robert": ("Bob", "Rob"),
    "James": ("Jim", "Jamie"),
    "Peter": ("Pete", "Pyotr"),
    "Thomas": ("Tom",),
    "Daniel": ("Dan", "Danny"),
    "Stefan": ("Stephan", "Steven"),
    "Katarzyna": ("Kasia", "Katherine"),
    "Sarah": ("Sara",),
    "Julia": ("Yulia", "Julie"),
}

_ARMENIAN_MULTI = (
    ("kh", "խ"), ("gh", "ղ"), ("zh", "ժ"), ("ts", "ծ"), ("ch", "չ"), ("sh", "շ"),
    ("dz", "ձ"), ("th", "թ"), ("ph", "ֆ"), ("ye", "ե"), ("x", "քս"), ("u", "ու"),
)
_ARMENIAN_SINGLE = dict(zip(
    "abcdefghijklmnopqrstvwxyz",
    ["ա", "բ", "կ", "դ", "ե", "ֆ", "գ", "հ", "ի", "ջ", "կ", "լ", "մ", "ն", "ո", "պ", "ք",
     "ր", "ս", "տ", "վ", "վ", "խ", "յ", "զ"], strict=True))

_GEORGIAN_MULTI = (
    ("kh", "ხ"), ("gh", "ღ"), ("zh", "ჟ"), ("ts", "ც"), ("ch", "ჩ"), ("sh", "შ"),
    ("dz", "ძ"), ("th", "თ"), ("ph", "ფ"),
)
_GEORGIAN_SINGLE = dict(zip(
    "abcdefghijklmnopqrstuvwxyz",
    ["ა", "ბ", "ც", "დ", "ე", "ფ", "გ", "ჰ", "ი", "ჯ", "კ", "ლ", "მ", "ნ", "ო", "პ", "ქ",
     "რ", "ს", "თ", "უ", "ვ", "ვ", "ხ", "ი", "ზ"], strict=True))


def mechanical(name: str, multi: tuple[tuple[str, str], ...], single: dict[str, str],
               first_multi: tuple[tuple[str, str], ...] = ()) -> str:
    """Letter by letter, the longest Latin group first (`multi`, and at the start of the
    word `first_multi`), else one letter by `single`, else the character unchanged."""
    out: list[str] = []
    s = name.lower()
    i = 0
    while i < len(s):
        for latin, letter in (first_multi if i == 0 else ()) + multi:
            if s.startswith(latin, i):
                out.append(letter)
                i += len(latin)
                break
        else:
            out.append(single.get(s[i], s[i]))
            i += 1
    return "".join(out)


def to_armenian(name: str) -> str:
    """A Latin name in Armenian letters (capitalised, as Armenian passports print it)."""
    word = mechanical(name, _ARMENIAN_MULTI, _ARMENIAN_SINGLE,
                       first_multi=(("e", "ե"), ("o", "օ")))
    return word[:1].upper() + word[1:]


def to_georgian(name: str) -> str:
    """A Latin name in Georgian letters (Mkhedruli has no capitals)."""
    return mechanical(name, _GEORGIAN_MULTI, _GEORGIAN_SINGLE)
