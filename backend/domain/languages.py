"""The languages a contact likely reads, from what the desk knows of them.

An agent who sends an English template to a Spanish customer has lost their trust before
the first reply: the template picker puts these languages first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from backend.domain.phones import region_of

# The languages most people of a country read, most read first (WhatsApp's codes are the
# language, or the language and the country: "es", "es_MX").
_COUNTRY_LANGUAGES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        "ES MX AR CO CL PE VE EC GT CU BO DO HN PY SV NI CR PA UY PR GQ".split(), ("es",)
    ),
    **dict.fromkeys(("BR", "PT", "AO", "MZ", "CV", "GW", "ST", "TL"), ("pt",)),
    **dict.fromkeys("US GB IE AU NZ NG GH KE UG ZW ZM JM TT SG ZA PH BS BB BZ".split(), ("en",)),
    **dict.fromkeys(("FR", "MC", "SN", "CI", "CM", "ML", "BF", "NE", "CD", "HT"), ("fr",)),
    **dict.fromkeys(("DE", "AT", "LI"), ("de",)),
    **dict.fromkeys(("IT", "SM"), ("it",)),
    **dict.fromkeys(
        ("SA", "AE", "EG", "MA", "DZ", "TN", "JO", "LB", "IQ", "KW", "QA", "BH", "OM", "YE"),
        ("ar",),
    ),
    "CH": ("de", "fr", "it"),
    "BE": ("nl", "fr"),
    "LU": ("fr", "de"),
    "CA": ("en", "fr"),
    "IN": ("hi", "en"),
    "PK": ("ur", "en"),
    "NL": ("nl",),
    "CN": ("zh",),
    "HK": ("zh",),
    "TW": ("zh",),
    "JP": ("ja",),
    "KR": ("ko",),
    "RU": ("ru",),
    "UA": ("uk",),
    "PL": ("pl",),
    "TR": ("tr",),
    "ID": ("id",),
    "MY": ("ms",),
    "TH": ("th",),
    "VN": ("vi",),
    "IL": ("he",),
    "GR": ("el",),
    "RO": ("ro",),
    "HU": ("hu",),
    "CZ": ("cs",),
    "SK": ("sk",),
    "SE": ("sv",),
    "NO": ("nb",),
    "DK": ("da",),
    "FI": ("fi",),
    "BG": ("bg",),
    "HR": ("hr",),
    "RS": ("sr",),
    "SI": ("sl",),
    "IR": ("fa",),
    "BD": ("bn",),
    "TZ": ("sw",),
}

# What a contact's own `language` or `locale` property may say: "es", "es-MX", "es_MX".
_LANGUAGE_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?")
LANGUAGE_PROPERTIES = ("language", "locale")


def _tag(value: object) -> tuple[str, str | None] | None:
    if not isinstance(value, str):
        return None
    match = _LANGUAGE_TAG.fullmatch(value.strip())
    if match is None:
        return None
    region = match.group(2)
    return match.group(1).lower(), region.upper() if region else None


def _country(country: str | None, phones: Iterable[str | None]) -> str | None:
    if country and len(country.strip()) == 2:
        return country.strip().upper()
    for phone in phones:
        region = region_of(phone) if phone else None
        if region:
            return region
    return None


def contact_languages(
    *, country: str | None, phones: Iterable[str | None], properties: Mapping[str, object]
) -> list[str]:
    """WhatsApp language codes the contact likely reads, best first, each once: their own
    `language` or `locale` property, then their country's (the contact's country, else
    their phone number's). Each language comes with its country first: ``es_MX``, ``es``.
    Empty when nothing is known."""
    region = _country(country, phones)
    tags: list[tuple[str, str | None]] = []
    for name in LANGUAGE_PROPERTIES:
        tag = _tag(properties.get(name))
        if tag is not None:
            tags.append(tag)
    tags.extend((language, region) for language in _COUNTRY_LANGUAGES.get(region or "", ()))
    codes: list[str] = []
    for language, tag_region in tags:
        if tag_region:
            codes.append(f"{language}_{tag_region}")
        codes.append(language)
    return list(dict.fromkeys(codes))
