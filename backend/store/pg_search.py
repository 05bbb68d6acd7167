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
from collections.abc import Sequence

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


# a query's phrase: its tokens in order, and whether the last one is a prefix
Phrase = tuple[tuple[str, ...], bool]


def phrases(text: str | None) -> list[Phrase]:
    """What a person typed as ``search.fts_query`` reads it: every word a phrase that must
    match (a word of several tokens, "foo_bar", as tokens in a row), the last a prefix; a
    phone number typed with spaces or dashes as one run of digits."""
    if not text or not text.strip():
        return []
    stripped = text.strip()
    if _PHONE_LIKE.fullmatch(stripped):
        digits = re.sub(r"\D", "", stripped)
        if len(digits) >= 3:
            return [((digits,), True)]
    words = [tokens(word) for word in _WORD.findall(stripped)[:MAX_TERMS]]
    words = [word for word in words if word]
    return [(tuple(word), index == len(words) - 1) for index, word in enumerate(words)]


def ts_query(text: str | None, completions: Sequence[str] | None = None) -> str | None:
    """A ``tsquery`` for what a person typed, as ``search.fts_query`` (``phrases``). Used
    as ``document @@ %s::tsquery`` (terms are taken as they are, already folded).

    ``completions``: the indexed words that begin with ``prefix_word(text)``, searched
    instead of the prefix (the same rows: a prefix matches exactly those words); None
    when there is none (nothing can match)."""
    terms = []
    found = phrases(text)
    for index, (words, prefix) in enumerate(found):
        if completions is not None and index == len(found) - 1 and prefix and len(words) == 1:
            if not completions:
                return None
            quoted = [_quoted(word) for word in completions]
            terms.append(quoted[0] if len(quoted) == 1 else "(" + " | ".join(quoted) + ")")
            continue
        parts = [_term(token, prefix and n == len(words) - 1) for n, token in enumerate(words)]
        terms.append(parts[0] if len(parts) == 1 else "(" + " <-> ".join(parts) + ")")
    return " & ".join(terms) or None


def prefix_word(text: str | None) -> str | None:
    """The word of what a person typed that is searched as a prefix, when it is a word of
    its own (not the end of "foo_bar"): ``ts_query`` can search the words it begins."""
    found = phrases(text)
    if found and found[-1][1] and len(found[-1][0]) == 1:
        return found[-1][0][0]
    return None


def _quoted(word: str) -> str:
    """A word of the index (a tsvector's lexeme) as an exact ``tsquery`` term."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def _sentence_starts(text: str, spans: list[tuple[int, int, str]]) -> list[int]:
    """The tokens that start a sentence, as FTS5 finds them: the first, and any after a
    ``.`` or ``:`` and white space."""
    starts = [0] if spans else []
    for position in range(1, len(spans)):
        before = text[: spans[position][0]]
        trimmed = before.rstrip(" \t\n\r")
        if len(trimmed) < len(before) and trimmed.endswith((".", ":")):
            starts.append(position)
    return starts


def snippet(text: str, typed: str | None, *, size: int = 12, ellipsis: str = "…") -> str:
    """The part of ``text`` around what ``typed`` finds in it, cut as SQLite's
    ``snippet(messages_fts, 0, '', '', '…', 12)`` cuts it (fts5_aux.c): the window of
    ``size`` tokens with the most different query words, centred on them, or starting at
    the start of their sentence; ``ellipsis`` where text was left out."""
    spans = [(m.start(), m.end(), _fold(m.group())) for m in _TOKEN.finditer(text)]
    words = [folded for _, _, folded in spans]
    found: list[tuple[int, int, int]] = []  # (token position, phrase, phrase length)
    query = phrases(typed)
    for position in range(len(words)):
        for index, (phrase, prefix) in enumerate(query):
            end = position + len(phrase)
            if end > len(words):
                continue
            head, last = phrase[:-1], phrase[-1]
            if tuple(words[position : end - 1]) == head and (
                words[end - 1].startswith(last) if prefix else words[end - 1] == last
            ):
                found.append((position, index, len(phrase)))

    def score(start: int) -> tuple[int, int, int]:
        """(score, first, end) of the window of ``size`` tokens from ``start``."""
        seen: set[int] = set()
        total, first, end = 0, -1, 0
        for position, index, length in found:
            if start <= position < start + size:
                total += 1 if index in seen else 1000
                seen.add(index)
                first = position if first < 0 else first
                end = position + length
        return total, first, end

    count = len(words)
    sentences = _sentence_starts(text, spans) if count > size else []
    best, best_start = 0, 0
    for position, _, _ in found:
        total, first, end = score(position)
        if total > best:
            best = total
            best_start = max(0, min(first - int((size - (end - first)) / 2), count - size))
        if sentences:
            starts = [start for start in sentences if start <= position]
            sentence = starts[-1] if starts else sentences[0]
            if sentence < position:
                total = score(sentence)[0] + (120 if sentence == 0 else 100)
                if total > best:
                    best, best_start = total, sentence
    last = best_start + size - 1
    begin = spans[best_start][0] if best_start and best_start < count else 0
    if last >= count - 1:
        return (ellipsis if best_start else "") + text[begin:]
    return (ellipsis if best_start else "") + text[begin : spans[last][1]] + ellipsis
