"""Identifiers with their check digits: INN and OGRN of organizations, SNILS of persons, KPP,
OKTMO codes and GUIDs, all drawn from a seeded random generator."""

from __future__ import annotations

import random

INN_WEIGHTS = (2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn_check_digit(first9: str) -> str:
    """The 10th digit of a legal entity's INN."""
    total = sum(int(d) * w for d, w in zip(first9, INN_WEIGHTS, strict=True))
    return str(total % 11 % 10)


def is_valid_inn(inn: str) -> bool:
    return len(inn) == 10 and inn.isdigit() and inn_check_digit(inn[:9]) == inn[9]


def make_inn(rng: random.Random, region: str) -> str:
    """A legal entity's INN: region (2 digits), tax office (2), serial (5), check digit."""
    first9 = f"{region}{rng.randint(1, 99):02d}{rng.randint(0, 99999):05d}"
    return first9 + inn_check_digit(first9)


def ogrn_check_digit(first12: str) -> str:
    """The 13th digit of an OGRN: the 12-digit number mod 11, then mod 10."""
    return str(int(first12) % 11 % 10)


def is_valid_ogrn(ogrn: str) -> bool:
    return len(ogrn) == 13 and ogrn.isdigit() and ogrn_check_digit(ogrn[:12]) == ogrn[12]


def make_ogrn(rng: random.Random, region: str, year: int) -> str:
    """An OGRN: sign 1, year (2 digits), region (2), serial (7), check digit."""
    first12 = f"1{year % 100:02d}{region}{rng.randint(0, 9999999):07d}"
    return first12 + ogrn_check_digit(first12)


def make_kpp(region: str, rng: random.Random) -> str:
    return f"{region}{rng.randint(1, 99):02d}01001"


def snils_check(number9: str) -> str:
    """The two check digits of a SNILS from its 9-digit number."""
    total = sum(int(d) * (9 - i) for i, d in enumerate(number9))
    if total < 100:
        check = total
    elif total in (100, 101):
        check = 0
    else:
        check = total % 101
        if check == 100:
            check = 0
    return f"{check:02d}"


def format_snils(number9: str, check: str) -> str:
    return f"{number9[:3]}-{number9[3:6]}-{number9[6:9]} {check}"


def is_valid_snils(snils: str) -> bool:
    """`XXX-XXX-XXX YY` with a correct checksum."""
    digits = snils.replace("-", "").replace(" ", "")
    if len(digits) != 11 or not digits.isdigit():
        return False
    return snils_check(digits[:9]) == digits[9:]


def make_snils(rng: random.Random) -> str:
    number = f"{rng.randint(2_000_000, 999_999_999):09d}"
    return format_snils(number, snils_check(number))


def break_check(value: str) -> str:
    """The same identifier with its last digit changed, so its checksum fails."""
    last = value[-1]
    return value[:-1] + str((int(last) + 1) % 10)


def make_guid(rng: random.Random) -> str:
    """A random (version 4 shaped) GUID from the seeded generator."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"
