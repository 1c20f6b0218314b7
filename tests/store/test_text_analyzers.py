"""Each language's analyzer on one sentence: the stop words it drops and the stems it makes show."""

from __future__ import annotations

import pytest

from pgs3v.store.engine.text_analyzers import LANGUAGES, UnknownLanguage, analyze, analyzer

SENTENCES: dict[str | None, tuple[str, list[str]]] = {
    # The standard analyzer: words, lowercase, nothing dropped, nothing stemmed.
    None: ("The Children's DOGS were running, quickly!",
           ["the", "children", "s", "dogs", "were", "running", "quickly"]),
    "en": ("The children's dogs were running quickly through the gardens.",
           ["children", "s", "dog", "were", "run", "quick", "through", "garden"]),
    "fr": ("Les enfants couraient rapidement dans les jardins de l'école.",
           ["enfant", "cour", "rapid", "jardin", "écol"]),
    "es": ("Los niños estaban corriendo rápidamente por los jardines.", ["niñ", "corr", "rapid", "jardin"]),
    "pt": ("As crianças estavam correndo rapidamente pelos jardins.", ["crianc", "corr", "rapid", "jardins"]),
    "it": ("I bambini correvano velocemente nei giardini della città.",
           ["bambin", "corr", "veloc", "giardin", "citt"]),
    "de": ("Die Kinder liefen schnell durch die Gärten der Häuser.", ["kind", "lief", "schnell", "gart", "haus"]),
    "nl": ("De kinderen liepen snel door de tuinen van de huizen.", ["kinder", "liep", "snel", "tuin", "huis"]),
    # Dictionary segmentation: words as a reader finds them, punctuation gone, Latin lowercased.
    "zh": ("我是中国人，我喜欢北京的天气。Apple", ["我", "是", "中国人", "我", "喜欢", "北京", "的", "天气", "apple"]),
    "ja": ("東京は日本の首都です。", ["東京", "は", "日本", "の", "首都", "です"]),
    "ko": ("서울은 한국의 수도입니다.", ["서울", "은", "한국", "의", "수도", "입니다"]),
}


@pytest.mark.parametrize("language", list(SENTENCES), ids=lambda language: language or "standard")
def test_each_language_analyzes_its_sentence(language: str | None) -> None:
    text, terms = SENTENCES[language]
    assert analyze(text, language) == terms


def test_every_language_of_the_api_model_has_an_analyzer() -> None:
    assert set(LANGUAGES) == {language for language in SENTENCES if language}
    with pytest.raises(UnknownLanguage):
        analyzer("xx")


def test_a_query_and_a_document_meet_on_their_stems() -> None:
    assert analyze("gardening", "en") == analyze("Gardens", "en") == ["garden"]
    assert analyze("Häuser", "de") == analyze("Haus", "de")
    assert analyze("天气", "zh") == ["天气"]


def test_long_tokens_are_dropped_and_empty_text_has_no_terms() -> None:
    assert analyze("a" * 41 + " kept", None) == ["kept"]
    assert analyze("", "en") == [] and analyze(" ,.; ", "ja") == []
