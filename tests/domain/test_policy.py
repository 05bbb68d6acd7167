import random

import pytest

from backend.domain.policy import RULE_NAMES, RULES, ContentPolicy, PolicyConfig, PolicyHit


def rule_of(text: str | None) -> str | None:
    # a policy built in the test, not at import: mutation testing switches a mutant on
    # after the import, and a policy built before would never run it
    hit = ContentPolicy().check(text)
    return hit.rule if hit else None


def test_rules_are_in_a_fixed_order() -> None:
    assert RULE_NAMES == (
        "phishing_link", "url_shortener", "payment_card", "iban", "national_id", "password",
        "one_time_code",
    )  # fmt: skip


def test_a_hit_carries_the_rule_name_and_description() -> None:
    hit = ContentPolicy().check("pay here: https://bit.ly/3xYz")
    assert hit == PolicyHit("url_shortener", RULES[1].description)


@pytest.mark.parametrize("text", [None, "", "Hello, my order has not arrived yet."])
def test_ordinary_or_empty_text_passes(text: str | None) -> None:
    assert ContentPolicy().check(text) is None


# phishing_link


@pytest.mark.parametrize(
    "text",
    [
        "log in at https://paypa1.com/login",
        "visit wh4tsapp-support.net now",
        "http://whatsapp-verify.com/account",
        "https://www.paypal.com.secure-login.net/",
        "https://xn--80ak6aa92e.com/",
        "https://pаypal.com/",  # Cyrillic а
        "pаypal.com/login",  # Cyrillic а, no scheme
        "https://bücher.example/",
        "go to paypall.com",
        "https://watsapp.com/x",
        "https://instagrarn.com/",
        "https://paypal.com@evil.example/",
        "see https://meta-support.help/case",
    ],
)
def test_look_alike_domains_are_phishing(text: str) -> None:
    assert rule_of(text) == "phishing_link"


@pytest.mark.parametrize(
    "text",
    ["paypla.com", "see apypal.me", "https://faecbook.com/x", "instagarm.com/p", "whatspap.com"],
)
def test_a_brand_with_two_neighbouring_letters_swapped_is_phishing(text: str) -> None:
    assert rule_of(text) == "phishing_link"


@pytest.mark.parametrize("text", ["paapyl.com", "facobeok.com", "ppyaal.com"])
def test_a_brand_with_letters_swapped_further_apart_is_not_a_look_alike(text: str) -> None:
    assert rule_of(text) is None


def test_configured_phishing_domain_and_its_subdomains_are_phishing() -> None:
    policy = ContentPolicy(PolicyConfig(phishing_domains=("evil.example",)))
    assert policy.check("http://login.evil.example/x").rule == "phishing_link"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "text",
    [
        "https://www.paypal.com/signin",
        "https://business.whatsapp.com/products",
        "wa.me/34612345678",
        "https://faq.whatsapp.com/123",
        "write to maria.paypal@gmail.com",
        "see https://www.example.com/whatsapp-guide",
        "I use whatsapp.Thanks for asking",
        "https://metallica.com/tour",
        "my file is report.pdf",
        "¿Por qué.no me contestan?",
    ],
)
def test_genuine_brand_links_and_lookalike_free_text_pass(text: str) -> None:
    assert rule_of(text) is None


def test_protected_brands_are_configurable() -> None:
    policy = ContentPolicy(PolicyConfig(protected_brands=("acmebank.com",)))
    assert policy.check("https://acmebank-login.net").rule == "phishing_link"  # type: ignore[union-attr]
    assert policy.check("https://online.acmebank.com") is None


def test_phishing_comes_before_a_shortener_in_the_same_text() -> None:
    assert rule_of("https://bit.ly/x and https://paypa1.com") == "phishing_link"


# url_shortener


@pytest.mark.parametrize(
    "text", ["https://bit.ly/3xYz", "tinyurl.com/abc", "http://t.co/x", "see cutt.ly/q and go",
             "HTTPS://BIT.LY/ABC", "(see https://bit.ly)"]
)  # fmt: skip
def test_url_shorteners_are_caught(text: str) -> None:
    assert rule_of(text) == "url_shortener"


@pytest.mark.parametrize("text", ["https://bitly.example.org/", "I'm bit.lyrical today"])
def test_hosts_that_only_resemble_shorteners_pass(text: str) -> None:
    assert rule_of(text) is None


def test_shorteners_are_configurable() -> None:
    policy = ContentPolicy(PolicyConfig(shorteners=("sho.rt",)))
    assert policy.check("https://sho.rt/x").rule == "url_shortener"  # type: ignore[union-attr]
    assert policy.check("https://bit.ly/x") is None


def test_a_disabled_rule_does_not_fire() -> None:
    policy = ContentPolicy(PolicyConfig(disabled_rules=frozenset({"url_shortener"})))
    assert policy.check("https://bit.ly/x") is None
    assert "url_shortener" not in [r.name for r in policy.rules]


def test_disabling_an_unknown_rule_is_a_configuration_error() -> None:
    with pytest.raises(ValueError):
        ContentPolicy(PolicyConfig(disabled_rules=frozenset({"profanity"})))


def test_config_accepts_plain_lists() -> None:
    policy = ContentPolicy(PolicyConfig(shorteners=["sho.rt"], phishing_domains=["evil.example"]))
    assert policy.check("sho.rt/x").rule == "url_shortener"  # type: ignore[union-attr]


# payment_card


@pytest.mark.parametrize(
    "text",
    ["card 4111 1111 1111 1111", "4111-1111-1111-1111", "5555555555554444 exp 12/27",
     "amex 3782 822463 10005"],
)  # fmt: skip
def test_luhn_valid_card_numbers_are_caught(text: str) -> None:
    assert rule_of(text) == "payment_card"


@pytest.mark.parametrize(
    "text",
    ["card 4111 1111 1111 1112", "call +4111111111111111", "order A123456",
     "total 1,299.99 EUR", "tracking 0012345678901234", "4111 1111 1111"],
)  # fmt: skip
def test_card_near_misses_pass(text: str) -> None:
    assert rule_of(text) is None


@pytest.mark.parametrize(
    "text",
    ["card 4222222222222", "4222 2222 2222 2", "60110009901394249", "4000 0566 5566 5566 6",
     "400005665566556681", "2221 0000 0000 0000 000"],
    ids=["13", "13-spaced", "17", "17-spaced", "18", "19"],
)  # fmt: skip
def test_card_numbers_of_13_and_17_to_19_digits_are_caught(text: str) -> None:
    assert rule_of(text) == "payment_card"


@pytest.mark.parametrize(
    "text", ["422222222222", "42222222222222222228"], ids=["12", "20"]
)  # both pass the Luhn check
def test_luhn_valid_runs_of_12_or_20_digits_are_not_cards(text: str) -> None:
    assert rule_of(text) is None


# iban


@pytest.mark.parametrize(
    "text",
    ["IBAN ES91 2100 0418 4502 0005 1332", "DE89370400440532013000", "gb29 nwbk 6016 1331 9268 19",
     "ES91 2100 0418 4502 0005 1332 ok"],
)  # fmt: skip
def test_valid_ibans_are_caught(text: str) -> None:
    assert rule_of(text) == "iban"


@pytest.mark.parametrize(
    "text", ["ES91 2100 0418 4502 0005 1333", "QQ91 2100 0418 4502 0005 1332", "ES91 2100 0418"]
)
def test_iban_near_misses_pass(text: str) -> None:
    assert rule_of(text) is None


# national_id


@pytest.mark.parametrize(
    "text", ["DNI 12345678Z", "mi dni es 12345678-z", "NIE X1234567L", "SSN 123-45-6789"]
)
def test_national_ids_are_caught(text: str) -> None:
    assert rule_of(text) == "national_id"


@pytest.mark.parametrize(
    "text",
    ["DNI 12345678A", "NIE X1234567A", "000-12-3456", "666-12-3456", "912-34-5678",
     "123-00-4567", "date 2024-11-01", "12345678 a day"],
)  # fmt: skip
def test_national_id_near_misses_pass(text: str) -> None:
    assert rule_of(text) is None


# password


@pytest.mark.parametrize(
    "text",
    ["password: hunter2", "Password: sunshine", "pwd=abc", "my password is Secret123",
     "contraseña gatito99", "mi contraseña es perro2024", "contraseña: gatito"],
)  # fmt: skip
def test_passwords_are_caught(text: str) -> None:
    assert rule_of(text) == "password"


@pytest.mark.parametrize(
    "text",
    ["I forgot my password", "my password is wrong", "contraseña incorrecta",
     "how do I reset the password?", "passwordless login"],
)  # fmt: skip
def test_password_near_misses_pass(text: str) -> None:
    assert rule_of(text) is None


# one_time_code


@pytest.mark.parametrize(
    "text",
    ["code 123456", "OTP: 1234", "your verification code is 482913", "código 1234",
     "482913 is your WhatsApp code", "the code is 123-456"],
)  # fmt: skip
def test_one_time_codes_are_caught(text: str) -> None:
    assert rule_of(text) == "one_time_code"


@pytest.mark.parametrize(
    "text",
    ["zip code 28001", "error code 131047", "código postal 28001", "promo code 2024",
     "order A123456", "it costs 1234 euros", "code red", "code 12"],
)  # fmt: skip
def test_one_time_code_near_misses_pass(text: str) -> None:
    assert rule_of(text) is None


# robustness


def test_bytes_are_read_as_text() -> None:
    assert ContentPolicy().check(b"OTP: 1234") is not None  # type: ignore[arg-type]


def test_non_text_input_passes() -> None:
    assert ContentPolicy().check(12345) is None  # type: ignore[arg-type]


def test_random_junk_never_raises() -> None:
    generator = random.Random(8)
    for _ in range(300):
        junk = "".join(chr(generator.randrange(0, 0x11000)) for _ in range(200))
        ContentPolicy().check(junk)


def test_a_hit_at_the_end_of_a_megabyte_is_found() -> None:
    text = "hello world. " * 80_000 + "card 4111 1111 1111 1111"
    assert rule_of(text) == "payment_card"


# (unit, times): about a megabyte of one repeated unit; the ids name the unit, not the megabyte
HOSTILE_MEGABYTES = {
    "letters": ("a", 1_000_000),
    "digits": ("1 ", 500_000),
    "dots": ("a.", 500_000),
    "words": ("code ", 200_000),
    "labels": ("x" * 63 + ".", 15_000),
    "schemes": ("http://", 140_000),
    "password": ("password ", 110_000),
}


@pytest.mark.parametrize("unit, times", HOSTILE_MEGABYTES.values(), ids=HOSTILE_MEGABYTES)
def test_a_megabyte_of_hostile_text_is_checked_and_passes(unit: str, times: int) -> None:
    # how long each takes is a figure of tests/bench/hostile_text.py, not a test
    assert ContentPolicy().check(unit * times) is None


# ------------------------------------------------------------------ the quick tests


def _patterns_alone(policy: ContentPolicy, text: str) -> str | None:
    """What ``check`` answers without its quick tests: every rule's own pattern, in order."""
    link_rule = policy._link_rule(text)
    if link_rule is not None:
        return link_rule.name
    for rule, breaks in policy._checks:
        if breaks(text):
            return rule.name
    return None


_FRAGMENTS = (
    # keywords in every case, and the letters IGNORECASE folds onto ASCII (İ ı ſ K)
    "password", "PASSWORD", "Passwd", "pwd", "contraseña", "CONTRASEÑA", "clave", "paſſword",
    "PAſSWD", "code", "CODE", "código", "CÓDIGO", "codıgo", "codİgo", "otp", "OTP", "passcode",
    "verification code", "is your code", "es tu código", "zip code", "error code", ":", "=",
    " is ", " es ", "#",
    # digits: runs of every length, separators, other scripts' digits
    "1", "12", "123", "1234", "123456", "1234567", "12345678", "123 456", "123-456",
    "4111 1111 1111 1111", "4111-1111-1111-1111", "4111111111111111", "123-45-6789",
    "12345678Z", "X1234567L", "٣٤٥٦٧٨٩", "١٢٣٤", "GB82 WEST 1234 5698 7654 32",
    "GB82WEST12345698765432", "DE89370400440532013000", "de89 3704 0044 0532 0130 00",
    "NO9386011117947", "X763900", "K522565",
    # links, bare hosts, look-alikes, prose with dots
    "https://", "http://bit.ly/x", "bit.ly/abc", "paypal.com", "paypa1.com", "xn--pypal-4ve.com",
    "wa.me", "whatsapp.Thanks", "e.g.", "a.b", "3.5", "www.example.org", "user@paypal.com",
    "https://paypal.com@evil.example/", "https://bücher", "ftp://j.doe@intranet", "qué.no", "pаypal.com", "t.co", ". ", "..", "ok.",
    # prose
    "hola", "my order", "arrived", "🙂", "\n", "\t", " ", " ", "-", "/", ",", "(", ")",
)  # fmt: skip


def test_the_quick_tests_never_skip_a_rule_that_would_fire() -> None:
    """``check`` first rules out most text cheaply (digits, keywords, a host-like dot); it
    must answer exactly what the patterns alone answer."""
    generator = random.Random(20261126)
    policies = (ContentPolicy(), ContentPolicy(PolicyConfig(phishing_domains=("evil.example",))))
    fired = set()
    for _ in range(6000):
        parts = generator.choices(_FRAGMENTS, k=generator.randrange(1, 9))
        glue = generator.choice(("", " ", "  ", "\n"))
        text = glue.join(parts)
        for policy in policies:
            hit = policy.check(text)
            expected = _patterns_alone(policy, text)
            assert (hit.rule if hit else None) == expected, text
            fired.add(expected)
    # the corpus reaches every rule, and text that breaks none
    assert fired == {*RULE_NAMES, None}


# ------------------------------------------------------------------ the edges of each rule


@pytest.mark.parametrize(
    "text",
    ["paypai.com", "whatsaqp.com", "payxpal.com", "https://meta.account-help.com/x",
     "vvhatsapp.com", "rneta.com", "securepaypal.com"],
    ids=["substituted", "substituted-2", "inserted", "brand-label-first", "vv-for-w",
         "rn-for-m-in-a-short-brand", "contained"],
)  # fmt: skip
def test_each_kind_of_look_alike_is_phishing(text: str) -> None:
    assert rule_of(text) == "phishing_link"


def test_vv_for_w_in_a_short_brand_is_phishing() -> None:
    # a brand under six letters has no one-letter-typo rule to fall back on
    policy = ContentPolicy(PolicyConfig(protected_brands=("swift.com",)))
    assert policy.check("https://svvift.com/") == PolicyHit("phishing_link", RULES[0].description)


@pytest.mark.parametrize("text", ["ftp://anonymous@ftp.example.org/pub", "my file is paypal.pdf"])
def test_a_name_before_an_at_sign_or_a_file_name_is_not_a_look_alike(text: str) -> None:
    # only a domain before the @ hides the host; "paypal.pdf" has no top-level domain
    assert rule_of(text) is None


def test_bytes_are_read_as_utf_8_and_broken_bytes_do_not_hide_the_rest() -> None:
    policy = ContentPolicy()
    password = PolicyHit("password", RULES[5].description)
    assert policy.check("mi contraseña: gato1234".encode()) == password  # ñ in UTF-8
    assert policy.check(b"\xff\xfe see https://paypa1.com/login") == PolicyHit(
        "phishing_link", RULES[0].description
    )


def test_a_hit_of_a_personal_data_rule_carries_its_description() -> None:
    hit = ContentPolicy().check("my card is 4111 1111 1111 1111")
    assert hit == PolicyHit("payment_card", RULES[2].description)


def test_a_bare_host_under_a_punycode_top_level_domain_is_phishing() -> None:
    assert rule_of("see shop.xn--p1ai now") == "phishing_link"


def test_a_keyword_folded_to_ascii_is_found_among_every_other_folding_letter() -> None:
    # "paſsword" (long s) with İ, ı and the Kelvin sign: every letter IGNORECASE folds
    assert rule_of("pa\u017fsword: hunter22 \u0130\u0131\u212a") == "password"


def test_a_qualifier_counts_only_within_24_characters_before_the_code() -> None:
    assert rule_of("promo" + " " * 19 + "code 4821") is None  # 24 characters back
    assert rule_of("promo" + " " * 20 + "code 4821") == "one_time_code"  # 25: too far


@pytest.mark.parametrize(
    "text",
    [
        "https://www.paypal.com:443/signin",
        "https://wa.me:8443/34612345678",
        "http://[::1]:8080/",
        "https://www.paypal.com./signin",
    ],
)
def test_a_port_or_the_root_dot_is_not_part_of_the_host(text: str) -> None:
    assert rule_of(text) is None


def test_a_shortener_behind_a_port_is_caught() -> None:
    assert rule_of("https://bit.ly:443/3xYz") == "url_shortener"


@pytest.mark.parametrize(
    "text", ["https://login.mybank.com@evil.example/", "http://support.example.org@10.0.0.1/x"]
)
def test_a_domain_before_an_at_sign_hides_the_real_host(text: str) -> None:
    assert rule_of(text) == "phishing_link"


@pytest.mark.parametrize(
    "text",
    ["GB74 AZAZ 1234 5698 7654 32", "GB02YBZA12345698765432"],
)
def test_ibans_with_the_letters_at_the_ends_of_the_alphabet_are_caught(text: str) -> None:
    assert rule_of(text) == "iban"


@pytest.mark.parametrize(
    "text",
    ["NIE Y1234567X", "NIE Z7654321H", "ref X12345678L, DNI 12345678Z",
     "1234567L and 12345678Z"],
    ids=["Y", "Z", "after-a-bad-nie", "after-a-short-dni"],
)  # fmt: skip
def test_national_ids_are_found_whatever_comes_before(text: str) -> None:
    assert rule_of(text) == "national_id"


@pytest.mark.parametrize("text", ["my password is Ab1X", "my password is ab12"])
def test_a_four_character_password_with_a_digit_is_caught(text: str) -> None:
    assert rule_of(text) == "password"


@pytest.mark.parametrize("text", ["my password is secret.", "the password is 42."])
def test_a_word_or_a_short_number_after_password_is_not_one(text: str) -> None:
    assert rule_of(text) is None


def test_the_unknown_rules_are_named() -> None:
    with pytest.raises(ValueError, match="^Unknown content policy rules: iban2, nope$"):
        ContentPolicy(PolicyConfig(disabled_rules=["nope", "iban2"]))
