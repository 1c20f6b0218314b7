"""The text analyzers of full-text search: a text and a language in, the searchable terms out.

One analyzer per language of the API model (``TextSearchConfiguration.language``), all built
from tantivy's own pieces, never a tokenizer of ours:

- none: AWS's "default standard analyzer", as Elasticsearch's ``standard``: words (tantivy's
  ``simple`` tokenizer splits at every non-alphanumeric character), tokens over 40 bytes
  dropped, lowercase; no stop words, no stemming;
- ``en fr es pt it de nl``: the same, then that language's stop words and Snowball stemmer
  (tantivy's ``stopword`` and ``stemmer`` filters), as Elasticsearch's language analyzers;
- ``zh ja ko``: lindera's dictionary segmenter (``lindera-python-cjk``: CC-CEDICT, IPADIC,
  ko-dic, embedded in the wheel), then the standard analyzer over each segment it finds, which
  drops punctuation and lowercases Latin words inside CJK text.

Why lindera for ``zh ja ko`` rather than CJK bigrams (Elasticsearch's ``cjk`` analyzer):
tantivy has no bigram filter, so bigrams within runs of Han, kana or Hangul would be a
tokenizer of ours (its ``ngram(2, 2)`` pairs across spaces and punctuation too), and bigrams
make every two-character window a term, so "北京的天气" matches anything holding "的天". A
dictionary segmenter finds words as a reader does (我 是 中国人; 東京 は 日本 の 首都 です;
서울 은 한국 의 수도 입니다), which is what OpenSearch's language analyzers for these languages
(smartcn, kuromoji, nori) do, so scores are nearer AWS's. The price is a 64 MB wheel, with
nothing to download at run time, and 0.1-0.4 s to load a dictionary, paid once per process on
the first text in that language (the analyzers here are built lazily and cached).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable

import tantivy

# The languages of the API model; None is the standard analyzer.
LANGUAGES = ("en", "fr", "es", "pt", "it", "de", "nl", "zh", "ja", "ko")
_SNOWBALL = {"en": "english", "fr": "french", "es": "spanish", "pt": "portuguese", "it": "italian",
             "de": "german", "nl": "dutch"}
_DICTIONARIES = {"zh": "cc-cedict", "ja": "ipadic", "ko": "ko-dic"}
# tantivy's default: longer tokens (base64, hashes, URLs) are dropped, not indexed.
MAX_TOKEN_BYTES = 40

Analyze = Callable[[str], list[str]]
_lock = threading.Lock()


class UnknownLanguage(ValueError):
    """A language the API model does not list."""


def _standard() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES))
            .filter(tantivy.Filter.lowercase()).build())


def _snowball(language: str) -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(tantivy.Filter.remove_long(MAX_TOKEN_BYTES))
            .filter(tantivy.Filter.lowercase()).filter(tantivy.Filter.stopword(language))
            .filter(tantivy.Filter.stemmer(language)).build())


def _dictionary(name: str) -> Analyze:
    import lindera  # imported here: only an index with a zh, ja or ko key pays for loading it

    segmenter = lindera.Tokenizer(lindera.load_dictionary(f"embedded://{name}"))
    standard = _standard()

    def analyze(text: str) -> list[str]:
        terms: list[str] = []
        for token in segmenter.tokenize(text):
            terms.extend(standard.analyze(token.surface))
        return terms

    return analyze


@functools.cache
def _built(language: str | None) -> Analyze:
    if language is None:
        return _standard().analyze
    if language in _SNOWBALL:
        return _snowball(_SNOWBALL[language]).analyze
    return _dictionary(_DICTIONARIES[language])


def analyzer(language: str | None) -> Analyze:
    """The analyzer of a searchable key in ``language`` (None: the standard analyzer)."""
    if language is not None and language not in LANGUAGES:
        raise UnknownLanguage(f"unknown text search language {language!r}")
    with _lock:  # loading a dictionary twice at once would cost twice the memory for nothing
        return _built(language)


def analyze(text: str, language: str | None) -> list[str]:
    """The searchable terms of ``text``, in order, repeats kept, as the key's analyzer makes them."""
    return analyzer(language)(text)
