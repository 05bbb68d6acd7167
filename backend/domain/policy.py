"""Content policy: inbound text that must be quarantined (SPEC §8).

Every pattern is precompiled and bounded so that `ContentPolicy.check` stays fast on
a 1 MB message and never raises.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

DEFAULT_SHORTENERS: tuple[str, ...] = (
    "bit.ly",
    "bitly.com",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "v.gd",
    "buff.ly",
    "cutt.ly",
    "rebrand.ly",
    "shorturl.at",
    "tiny.cc",
    "t.ly",
    "rb.gy",
    "s.id",
    "shorte.st",
    "adf.ly",
    "bl.ink",
    "lnkd.in",
    "soo.gd",
    "clck.ru",
    "qrco.de",
)

# Official domains of brands that phishers imitate; the brand name is the label before
# the top-level domain ("paypal" for paypal.com).
DEFAULT_PROTECTED_BRANDS: tuple[str, ...] = (
    "whatsapp.com",
    "whatsapp.net",
    "wa.me",
    "facebook.com",
    "facebook.net",
    "facebookmail.com",
    "fb.com",
    "fb.me",
    "meta.com",
    "instagram.com",
    "paypal.com",
    "paypal.me",
)


@dataclass(frozen=True, slots=True)
class PolicyRule:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class PolicyHit:
    rule: str
    description: str


RULES: tuple[PolicyRule, ...] = (
    PolicyRule("phishing_link", "Link to a known phishing or look-alike domain"),
    PolicyRule("url_shortener", "Link through a URL shortener that hides its destination"),
    PolicyRule("payment_card", "Payment card number"),
    PolicyRule("iban", "Bank account number (IBAN)"),
    PolicyRule("national_id", "National identity number"),
    PolicyRule("password", "Password"),
    PolicyRule("one_time_code", "One-time or verification code"),
)
RULE_NAMES: tuple[str, ...] = tuple(rule.name for rule in RULES)
_LINK_RULE_NAMES = frozenset({"phishing_link", "url_shortener"})
_DIGIT_RUN = re.compile(r"\d+")
# Every bare host has a letter or digit, a dot and a letter (a link with a scheme, "://"):
# a cheap test that most messages fail, before the link pattern (tests/bench/ingest.py).
_HOST_DOT = re.compile(r"\.(?=[^\W\d_])(?<=[^\W_]\.)")
# IGNORECASE also matches these to ASCII letters; str.lower() alone would not
_IGNORECASE_TO_ASCII_CHARS = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_IGNORECASE_TO_ASCII = str.maketrans(_IGNORECASE_TO_ASCII_CHARS)


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    shorteners: Sequence[str] = DEFAULT_SHORTENERS
    phishing_domains: Sequence[str] = ()
    protected_brands: Sequence[str] = DEFAULT_PROTECTED_BRANDS
    disabled_rules: Collection[str] = frozenset()


# ----------------------------------------------------------------------------- links

_LABEL = r"[^\W_](?:[\w-]{0,61}[^\W_])?"
_URL_WITH_SCHEME = (
    r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]{0,15}://)(?P<authority>[^\s/?#<>\"'\\(){}|,;!]{1,512})"
)
_BARE_HOST = (
    r"(?<![\w.@/-])(?P<host>(?:" + _LABEL + r"\.){1,10}(?P<tld>[^\W\d_]{2,24}|xn--[a-z0-9-]{1,59}))"
    r"(?![\w@-])"
)
_LINK = re.compile(_URL_WITH_SCHEME + "|" + _BARE_HOST)
# Without a scheme, "word.word" is only taken for a host when its top-level domain is
# a lowercase country code or one of these, so "whatsapp.Thanks" is not a link.
_BARE_TLDS = frozenset(
    "com net org info biz io co me app dev xyz top online site shop store club live link "
    "click icu vip win bid loan work buzz cam rest fun space website tech support help "
    "services service page email login secure account bank".split()
)
_HOMOGLYPHS = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})
_TOKEN_SPLIT = re.compile(r"[.-]+")
_BRAND_CONTAINMENT_MIN = 6
_TYPO_MIN = 6


def _may_have_link(text: str) -> bool:
    return "://" in text or _HOST_DOT.search(text) is not None


def _normalize_domain(domain: str) -> str:
    return domain.strip().lower().rstrip(".")


@dataclass(frozen=True, slots=True)
class _Link:
    host: str
    has_scheme: bool
    has_credentials: bool = False


def _links(text: str) -> Iterator[_Link]:
    """Each link in the text, its host lowercased and without port or credentials."""
    for match in _LINK.finditer(text):
        authority = match.group("authority")
        if authority is not None:
            credentials, at, host = authority.rpartition("@")
            host = host.split(":", 1)[0] if not host.startswith("[") else host
            yield _Link(_normalize_domain(host), True, bool(at) and "." in credentials)
            continue
        host, tld = match.group("host", "tld")
        if tld.islower() and (tld.startswith("xn--") or len(tld) == 2 or tld in _BARE_TLDS):
            yield _Link(_normalize_domain(host), False)


# Latin look-alikes from Cyrillic and Greek, the usual homograph-attack letters.
_CONFUSABLES = str.maketrans("аеорсухіјѕԁһӏոνοατκ", "aeopcyxijsdhlnvoatk")


def _latin_skeleton(host: str) -> str:
    decomposed = unicodedata.normalize("NFKD", host.translate(_CONFUSABLES))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _within(host: str, domain: str) -> bool:
    return host == domain or host.endswith("." + domain)


def _one_edit_apart(a: str, b: str) -> bool:
    """One substitution, insertion, deletion or swap of neighbours turns a into b."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i, j = (diffs + [0, 0])[:2]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    for i in range(len(longer)):
        if longer[:i] + longer[i + 1 :] == shorter:
            return True
    return False


class _LinkRules:
    def __init__(self, config: PolicyConfig) -> None:
        self.shorteners = tuple(_normalize_domain(d) for d in config.shorteners if d.strip())
        self.phishing = tuple(_normalize_domain(d) for d in config.phishing_domains if d.strip())
        self.brand_domains = tuple(
            _normalize_domain(d) for d in config.protected_brands if d.strip()
        )
        names = {d.split(".")[-2] for d in self.brand_domains if d.count(".") >= 1}
        self.brand_names = tuple(sorted(n for n in names if len(n) >= 4))

    def is_phishing(self, link: _Link) -> bool:
        host = link.host
        if link.has_credentials:
            # https://paypal.com@evil.example/ goes to evil.example
            return True
        if any(_within(host, d) for d in self.phishing):
            return True
        if "xn--" in host:
            return True
        if not host.isascii():
            # A bare "qué.no" is prose, so without a scheme only a look-alike of a brand counts.
            if link.has_scheme:
                return True
            skeleton = _latin_skeleton(host)
            return any(_within(skeleton, d) for d in self.brand_domains) or self._imitates_brand(
                skeleton
            )
        return self._imitates_brand(host)

    def _imitates_brand(self, host: str) -> bool:
        if not self.brand_names or any(_within(host, d) for d in self.brand_domains):
            return False
        labels = host.split(".")[:-1]
        tokens = [t for t in _TOKEN_SPLIT.split(".".join(labels)) if t]
        for token in tokens:
            plain = token.translate(_HOMOGLYPHS).replace("rn", "m").replace("vv", "w")
            for brand in self.brand_names:
                if plain == brand or token == brand:
                    return True
                if len(brand) >= _BRAND_CONTAINMENT_MIN and brand in plain:
                    return True
                if len(brand) >= _TYPO_MIN and _one_edit_apart(plain, brand):
                    return True
        return False

    def is_shortener(self, host: str) -> bool:
        return any(_within(host, d) for d in self.shorteners)


# --------------------------------------------------------------------- personal data

_CARD = re.compile(r"(?<![\d+])[2-6](?:[ -]?\d){12,18}(?![\d])")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,4})?"
    r"(?![A-Za-z0-9])"
)
# ISO 13616 registry: country code → IBAN length.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BI": 27, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24,
    "DE": 22, "DJ": 27, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
    "FK": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27,
    "GT": 28, "HN": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
    "LU": 20, "LV": 21, "LY": 25, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MN": 20,
    "MR": 27, "MT": 31, "MU": 30, "NI": 28, "NL": 18, "NO": 15, "OM": 23, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "RU": 33, "SA": 24,
    "SC": 31, "SD": 18, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "SO": 23, "ST": 25,
    "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    "YE": 30,
}  # fmt: skip
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_SPANISH_ID = re.compile(r"(?<![A-Za-z0-9])([XYZxyz]?)(\d{7,8})-?([A-Za-z])(?![A-Za-z0-9])")
_SSN = re.compile(r"(?<![\d-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d-])")

_PASSWORD = re.compile(
    r"\b(?:password|passwd|pwd|contrase[ñn]a|clave)\b"
    r"(?:\s*(?P<explicit>[:=])|\s+(?:is|es|was|era)\b|\s)[ \t]*"
    r"(?P<value>\S{1,128})",
    re.IGNORECASE,
)
_OTP_KEYWORD = re.compile(
    r"\b(?:verification\s+code|security\s+code|login\s+code|code|otp|passcode|c[oó]digo)\b"
    r"[ \t]*(?:(?:is|es|was|era)\b[ \t]*)?[:=#]?[ \t]*"
    r"(?<![\d])(?:\d{4,8}|\d{3}[ -]\d{3})(?![\d])",
    re.IGNORECASE,
)
_OTP_LEADING = re.compile(
    r"(?<![\d])(?:\d{4,8}|\d{3}[ -]\d{3})(?![\d])[ \t]+"
    r"(?:is\s+your|es\s+tu|ist\s+dein)\b[^\n]{0,40}?\b(?:code|otp|c[oó]digo)\b",
    re.IGNORECASE,
)
# "zip code 28001", "error code 131047": numbers that are not secrets.
_PREVIOUS_WORD = re.compile(r"(\w+)\s+$")
_NOT_OTP_QUALIFIERS = frozenset(
    "zip postal post postcode area error status country promo promotional discount coupon "
    "voucher gift product tracking order reference ref referral invite invitation tax "
    "bank swift sort branch airport flight booking".split()
)


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_valid(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    length = _IBAN_LENGTHS.get(compact[:2])
    if length is None or len(compact) < length:
        return False
    compact = compact[:length]
    if not compact[2:4].isdigit():
        return False
    rearranged = compact[4:] + compact[:4]
    remainder = 0
    for char in rearranged:
        if char.isdigit():
            remainder = (remainder * 10 + ord(char) - 48) % 97
        elif "A" <= char <= "Z":
            remainder = (remainder * 100 + ord(char) - 55) % 97
        else:
            return False
    return remainder == 1


def _rules_that_could_fire(text: str) -> set[str]:
    """The personal-data rules whose patterns could match ``text``, by cheap necessary
    conditions: each rule's keywords in the text lowercased as IGNORECASE folds letters
    onto ASCII; how many digits, the longest run of them, and two ASCII letters right
    before a run (an IBAN's country code and check digits). Most text is ruled out of
    every pattern here (each inbound message is checked on the webhook's path,
    tests/bench/ingest.py)."""
    words = text.lower()
    if not text.isascii() and any(char in text for char in _IGNORECASE_TO_ASCII_CHARS):
        words = text.translate(_IGNORECASE_TO_ASCII).lower()
    rules = set()
    if "passw" in words or "pwd" in words or "contrase" in words or "clave" in words:
        rules.add("password")
    digits = longest = 0
    letters_then_digits = False
    for run in _DIGIT_RUN.finditer(text):
        start, end = run.span()
        length = end - start
        digits += length
        longest = max(longest, length)
        if length >= 2 and start >= 2 and not letters_then_digits:
            head = text[start - 2 : start]
            letters_then_digits = head.isascii() and head.isalpha()
    if not digits:
        return rules
    if digits >= 13:  # 13 to 19 digits
        rules.add("payment_card")
    if letters_then_digits:
        rules.add("iban")
    if digits >= 7:  # 9 (SSN) or 7 to 8 (DNI/NIE)
        rules.add("national_id")
    # 4 to 8 digits, or 3 and 3
    if longest >= 3 and ("code" in words or "otp" in words or "digo" in words):
        rules.add("one_time_code")
    return rules


def _looks_like_secret(value: str) -> bool:
    stripped = value.rstrip(".,;!?)")
    if len(stripped) < 4:
        return False
    return any(not c.isalpha() for c in stripped)


class ContentPolicy:
    """Decides whether inbound text must be quarantined, and by which rule."""

    def __init__(self, config: PolicyConfig | None = None) -> None:
        self.config = config or PolicyConfig()
        unknown = set(self.config.disabled_rules) - set(RULE_NAMES)
        if unknown:
            raise ValueError(f"Unknown content policy rules: {', '.join(sorted(unknown))}")
        self._links = _LinkRules(self.config)
        checks: dict[str, Callable[[str], bool]] = {
            "payment_card": self._has_payment_card,
            "iban": self._has_iban,
            "national_id": self._has_national_id,
            "password": self._has_password,
            "one_time_code": self._has_one_time_code,
        }
        enabled = [rule for rule in RULES if rule.name not in self.config.disabled_rules]
        self._enabled = tuple(enabled)
        self._link_rules = {r.name: r for r in enabled if r.name in _LINK_RULE_NAMES}
        self._checks = [(rule, checks[rule.name]) for rule in enabled if rule.name in checks]

    @property
    def rules(self) -> tuple[PolicyRule, ...]:
        return self._enabled

    def check(self, text: str | None) -> PolicyHit | None:
        """The first rule the text breaks, in the order of RULES, or None."""
        if isinstance(text, bytes | bytearray):
            text = bytes(text).decode("utf-8", errors="replace")
        if not isinstance(text, str) or not text:
            return None
        link_rule = self._link_rule(text) if _may_have_link(text) else None
        if link_rule is not None:
            return PolicyHit(rule=link_rule.name, description=link_rule.description)
        candidates = _rules_that_could_fire(text)
        if not candidates:
            return None
        for rule, breaks in self._checks:
            if rule.name in candidates and breaks(text):
                return PolicyHit(rule=rule.name, description=rule.description)
        return None

    def _link_rule(self, text: str) -> PolicyRule | None:
        """The link rule that fires, phishing before shortener, in one pass over the links."""
        if not self._link_rules:
            return None
        phishing = self._link_rules.get("phishing_link")
        shortener = self._link_rules.get("url_shortener")
        shortener_seen = False
        for link in _links(text):
            if phishing is not None and self._links.is_phishing(link):
                return phishing
            if shortener is not None and not shortener_seen:
                shortener_seen = self._links.is_shortener(link.host)
                if shortener_seen and phishing is None:
                    return shortener
        return shortener if shortener_seen else None

    @staticmethod
    def _has_payment_card(text: str) -> bool:
        for match in _CARD.finditer(text):
            digits = match.group().replace(" ", "").replace("-", "")
            if 13 <= len(digits) <= 19 and _luhn_valid(digits):
                return True
        return False

    @staticmethod
    def _has_iban(text: str) -> bool:
        return any(_iban_valid(m.group()) for m in _IBAN.finditer(text))

    @staticmethod
    def _has_national_id(text: str) -> bool:
        if _SSN.search(text):
            return True
        for match in _SPANISH_ID.finditer(text):
            prefix, digits, letter = match.groups()
            if prefix:
                if len(digits) != 7:
                    continue
                digits = str("XYZ".index(prefix.upper())) + digits
            elif len(digits) != 8:
                continue
            if _DNI_LETTERS[int(digits) % 23] == letter.upper():
                return True
        return False

    @staticmethod
    def _has_password(text: str) -> bool:
        for match in _PASSWORD.finditer(text):
            value = match.group("value")
            if match.group("explicit") and len(value.rstrip(".,;!?)")) >= 3:
                return True
            if _looks_like_secret(value):
                return True
        return False

    @staticmethod
    def _has_one_time_code(text: str) -> bool:
        for match in _OTP_KEYWORD.finditer(text):
            start = match.start()
            before = _PREVIOUS_WORD.search(text, max(0, start - 24), start)
            if before is None or before.group(1).lower() not in _NOT_OTP_QUALIFIERS:
                return True
        return _OTP_LEADING.search(text) is not None
