"""Full-text search on PostgreSQL, finding what SQLite's FTS5 finds (``search.fts_query``).

FTS5's ``unicode61`` tokenizer (``remove_diacritics 2``) cuts text into runs of letters and
digits, folds case in every script and drops the accents of Latin letters. PostgreSQL's
text search parser does not: it keeps an e-mail address, a host name or a URL as one token
(a search for "ana" misses "ana@example.com"), and under the C locale it folds only ASCII
case. So the text is cut and folded here, in Python, the same way for what is indexed
(``index_text``, stored in the ``*_fts`` tables' ``body``) and what is searched
(``ts_query``); PostgreSQL's ``simple`` configuration then only splits at the spaces.
"""

from __future__ import annotations

import re
import unicodedata

from backend.store.search import _PHONE_LIKE, MAX_TERMS

# a token: a run of letters and digits (``\\w`` without the underscore), as unicode61's
_TOKEN = re.compile(r"[^\W_]+")
_WORD = re.compile(r"\w+")


def _fold(text: str) -> str:
    """Lower case, and Latin letters without their accents (é → e, Ç → c)."""
    decomposed = unicodedata.normalize("NFD", text.lower())
    kept: list[str] = []
    base = ""
    for char in decomposed:
        if unicodedata.combining(char):
            if not base.isascii():
                kept.append(char)  # only a Latin letter loses its accent
            continue
        base = char
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(_fold(text))


def index_text(text: str) -> str:
    """What a ``*_fts`` table's ``body`` holds for ``text``: its tokens, one space apart."""
    return " ".join(tokens(text))


def _term(token: str, prefix: bool) -> str:
    return f"'{token}'" + (":*" if prefix else "")  # a token holds no quote


def ts_query(text: str | None) -> str | None:
    """A ``tsquery`` for what a person typed, as ``search.fts_query``: every word must
    match, the last as a prefix; a word of several tokens ("foo_bar") as a phrase; a
    phone number typed with spaces or dashes as one run of digits. Used as
    ``document @@ %s::tsquery`` (terms are taken as they are, already folded)."""
    if not text or not text.strip():
        return None
    stripped = text.strip()
    if _PHONE_LIKE.fullmatch(stripped):
        digits = re.sub(r"\D", "", stripped)
        if len(digits) >= 3:
            return _term(digits, prefix=True)
    words = [tokens(word) for word in _WORD.findall(stripped)[:MAX_TERMS]]
    words = [word for word in words if word]
    if not words:
        return None
    terms = []
    for index, word in enumerate(words):
        last = index == len(words) - 1
        parts = [_term(token, prefix=last and n == len(word) - 1) for n, token in enumerate(word)]
        terms.append(parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")")
    return " & ".join(terms)
