from backend.domain.languages import contact_languages


def test_a_spanish_number_reads_spanish() -> None:
    assert contact_languages(country=None, phones=["+34600000001"], properties={}) == [
        "es_ES",
        "es",
    ]


def test_the_contacts_country_comes_before_its_numbers() -> None:
    languages = contact_languages(country="mx", phones=["+14155550105"], properties={})
    assert languages == ["es_MX", "es"]


def test_the_contacts_own_language_comes_first() -> None:
    languages = contact_languages(
        country="ES", phones=[], properties={"language": "ca", "locale": "en-gb"}
    )
    assert languages == ["ca", "en_GB", "en", "es_ES", "es"]


def test_a_country_of_several_languages_gives_each() -> None:
    assert contact_languages(country="CH", phones=[], properties={}) == [
        "de_CH",
        "de",
        "fr_CH",
        "fr",
        "it_CH",
        "it",
    ]


def test_a_language_given_twice_is_listed_once() -> None:
    assert contact_languages(country="ES", phones=[], properties={"language": "es"}) == [
        "es",
        "es_ES",
    ]


def test_nothing_known_gives_no_language() -> None:
    assert contact_languages(country=None, phones=[None, "not a number"], properties={}) == []


def test_a_property_that_is_no_language_is_ignored() -> None:
    properties = {"language": "Spanish please", "locale": 34}
    assert contact_languages(country="BR", phones=[], properties=properties) == ["pt_BR", "pt"]
