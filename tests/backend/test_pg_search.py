"""The same typed search finds the same rows on PostgreSQL (``pg_search``) as on SQLite's
FTS5 (``search.fts_query``), for text that the two engines' own tokenizers cut apart
differently: e-mail addresses, URLs, accents, other scripts, numbers, punctuation; its
last word, a prefix, searched as the words it begins finds the same rows as the prefix."""

from __future__ import annotations

import psycopg

from backend.store import PostgresStore
from backend.store.engine import connect_sqlite
from backend.store.engine import migrate as migrate_sqlite
from backend.store.pg_engine import migrate as migrate_pg
from backend.store.pg_search import index_text, prefix_word, snippet, ts_query
from backend.store.postgres import ADD_SEARCH_WORDS, LAST_CHARACTER
from backend.store.search import fts_query

BODIES = [
    "Hola, ¿dónde está mi pedido #4521?",
    "Write to ana.garcia@example.com or call +34 600 111 222",
    "See https://shop.example.com/orders/4521?ref=wa for the invoice",
    "CAFÉ crème brûlée, Ærøskøbing, façade, naïve, Straße",
    "ΠΡΟΣΟΧΗ: η παραγγελία σας καθυστερεί",
    "Здравствуйте! Заказ №8812 отправлен",
    "東京都の配送センターから発送しました",
    "मेरा ऑर्डर कहाँ है",
    "well-known issue: the foo_bar widget (v2.5) is 3x slower",
    "order 00123 and ORDER-00124, total 1,299.50 EUR",
    "emoji 🎉🎉 party!!! 👍 thanks",
    "l'été dernier, j'ai reçu le colis",
    "tab\tseparated\nlines and    spaces",
    "+34600111222 Ana García",
    "",
]
SETTINGS = ("max_parallel_workers_per_gather", "jit")
QUERIES = [
    "ana", "ana.garcia", "example", "example.com", "garcia", "garcía", "GARCIA", "shop",
    "orders", "ref", "4521", "#4521", "pedido", "donde", "dónde", "cafe", "CAFÉ", "creme",
    "brulee", "aeroskobing", "Ærøskøbing", "facade", "naive", "strasse", "straße", "προσοχη",
    "ΠΡΟΣΟΧΗ", "παραγγ", "здравствуйте", "ЗАКАЗ", "8812", "東京", "東京都の配送センターから発送しました",
    "मेरा", "ऑर्डर", "well", "known", "well-known", "foo", "foo_bar", "bar", "v2", "2.5", "3x",
    "00123", "order 00124", "1,299", "299", "eur", "party", "🎉", "thanks", "ete", "été",
    "l'été", "recu", "colis", "separated lines", "spaces", "+34 600", "600 111", "34600",
    "600-111-222", "ana garc", "garcia ana", "hola pedido", "x", "the", "wid", "sl",
]  # fmt: skip


def test_the_same_queries_find_the_same_rows_on_both_engines(tmp_path, postgresql_url):
    sqlite = connect_sqlite(tmp_path / "search.db")
    migrate_sqlite(sqlite)
    sqlite.executemany(
        "INSERT INTO messages_fts (rowid, body) VALUES (?, ?)", list(enumerate(BODIES, 1))
    )
    with psycopg.connect(postgresql_url, autocommit=True) as postgresql:
        migrate_pg(postgresql)
        with postgresql.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO messages_fts (rowid, body) VALUES (%s, %s)",
                [(rowid, index_text(body)) for rowid, body in enumerate(BODIES, 1)],
            )
        # the words the store adds as it indexes messages (PgWriter._commit)
        postgresql.execute(ADD_SEARCH_WORDS, (list(range(1, len(BODIES) + 1)),))
        differences = {}
        for query in QUERIES:
            match, tsquery = fts_query(query), ts_query(query)
            assert (match is None) == (tsquery is None), query
            if match is None:
                continue
            prefix = prefix_word(query)
            if prefix is not None:  # as the store searches it: the words the prefix begins
                completions = [
                    row[0]
                    for row in postgresql.execute(
                        "SELECT word FROM messages_fts_words WHERE word >= %s AND word < %s",
                        (prefix, prefix + LAST_CHARACTER),
                    )
                ]
                expanded = ts_query(query, completions)
                found = []
                if expanded is not None:
                    found = postgresql.execute(
                        "SELECT rowid FROM messages_fts WHERE document @@ %s::tsquery "
                        "ORDER BY rowid",
                        (expanded,),
                    ).fetchall()
                tsquery_found = postgresql.execute(
                    "SELECT rowid FROM messages_fts WHERE document @@ %s::tsquery ORDER BY rowid",
                    (tsquery,),
                ).fetchall()
                if found != tsquery_found:
                    differences[f"{query} expanded"] = (tsquery, tsquery_found, expanded, found)
            on_sqlite = [
                row[0]
                for row in sqlite.execute(
                    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? ORDER BY rowid",
                    (match,),
                )
            ]
            on_postgresql = [
                row[0]
                for row in postgresql.execute(
                    "SELECT rowid FROM messages_fts WHERE document @@ %s::tsquery ORDER BY rowid",
                    (tsquery,),
                )
            ]
            if on_sqlite != on_postgresql:
                differences[query] = (match, on_sqlite, tsquery, on_postgresql)
    sqlite.close()
    assert differences == {}
    assert any(ts_query(query) for query in QUERIES)


def test_nothing_to_search_for_is_no_query_on_either_engine():
    for text in (None, "", "   ", "!!!", "🎉", "_"):
        assert ts_query(text) is None, text
    assert ts_query("a_") == "'a':*"  # the underscore cuts, as in FTS5


def test_a_snippet_is_cut_as_fts5_cuts_it(tmp_path):
    """``pg_search.snippet`` gives what SQLite's ``snippet(…, '…', 12)`` gives for every
    awkward text above and for long ones (the window, its centring on the words found,
    a sentence's start, the ellipses)."""
    long_bodies = [
        "Hello, I ordered a lamp last week and it arrived today, but the box was open and "
        "the cable inside is missing. So I would like a refund or a new cable please: "
        "thank you for your help with this order 00123, Ann",
        " ".join(f"word{n} filler" for n in range(40)) + " the refund at the very end",
        "refund " + " ".join(f"w{n}" for n in range(30)) + ". Refund again: refund once more",
    ]
    bodies = [*BODIES, *long_bodies]
    sqlite = connect_sqlite(tmp_path / "snippet.db")
    migrate_sqlite(sqlite)
    sqlite.executemany(
        "INSERT INTO messages_fts (rowid, body) VALUES (?, ?)", list(enumerate(bodies, 1))
    )
    differences = {}
    compared = 0
    for query in [*QUERIES, "refund", "refund again", "word3", "filler", "cable refund"]:
        match = fts_query(query)
        if match is None:
            continue
        rows = sqlite.execute(
            "SELECT rowid, snippet(messages_fts, 0, '', '', '…', 12) FROM messages_fts "
            "WHERE messages_fts MATCH ?",
            (match,),
        ).fetchall()
        for rowid, expected in rows:
            compared += 1
            found = snippet(bodies[rowid - 1], query)
            if found != expected:
                differences[(query, rowid)] = (found, expected)
    assert compared > 80
    assert differences == {}


async def test_the_stores_connections_plan_a_search_as_it_runs(postgresql_url):
    """No parallel workers and no JIT compilation on any of the store's connections
    (``pg_dialect.configure``): either cost a page-sized search many times its run."""
    store = PostgresStore(postgresql_url)
    await store.open()
    try:
        read = [await store.readers.value(f"SHOW {name}") for name in SETTINGS]
        written = await store.write(lambda tx: [tx.one(f"SHOW {name}")[0] for name in SETTINGS])
    finally:
        await store.close()
    assert read == written == ["0", "off"]
