"""The dense lane also ranks chunks by their best sentence (query.answer.retrieve,
`HybridRetriever._with_sentences`): a chunk that says many things is found by the one
sentence a question asks about."""

from __future__ import annotations

from pathlib import Path

from ingest.run import ingest
from query.answer.retrieve import HybridRetriever
from tests.helpers import make_settings

MEMBER = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Member services</title></head><body>
<h1>Member services</h1><h2 id="misc">Other questions members ask</h2>
<p>Member levels are set again every January from the past year of use. Points expire five years after they were
earned, and we text you a month before. You can change your address in the My details menu. If you lose your card,
call the help desk at once and we block it the same minute. Family members: up to four people can share points.
Store visits can be booked a day ahead in the app. A birthday coupon arrives in the month of your birthday.</p>
</body></html>"""
CARD_SECTIONS = [
    ("fee", "Card annual fee", "The annual fee is waived the first year and is 10,000 won after that, unless you spent "
     "3 million won last year."),
    ("delivery", "Card delivery", "A new card is sent by registered mail within five business days. Register it in the "
     "app before use."),
    ("design", "Card designs", "Choose one of five designs when you order a new card. The design cannot be changed later."),
    ("limit", "Card spending limit", "Your card's monthly limit is set from your income and can be raised once a year "
     "in the app."),
    ("abroad", "Using the card abroad", "The card works in 200 countries; a 1% fee applies to payments in foreign "
     "currency."),
]
QUESTION = "What should I do if I lost my card?"


def write_manuals(root: Path) -> Path:
    root.mkdir(parents=True)
    body = "".join(f'<h2 id="{anchor}">{heading}</h2><p>{text}</p>' for anchor, heading, text in CARD_SECTIONS)
    (root / "member.html").write_text(MEMBER, encoding="utf-8")
    (root / "cards.html").write_text(f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Card products'
                                     f'</title></head><body><h1>Card products</h1>{body}</body></html>', encoding="utf-8")
    return root


def test_a_long_chunk_is_found_by_the_sentence_a_question_asks_about(tmp_path):
    """Dense lane alone (RETRIEVAL_MODE=dense): the member page's one chunk averages seven
    topics, and five card sections each look more like a card question than it does. The
    sentence about a lost card lifts it into the top 4; without sentence vectors it is not
    there. The similarity the answer reports (its low-confidence check) is the chunk's own
    either way: the sentences change the order, not the scores."""
    manuals = write_manuals(tmp_path / "manuals")
    found = {}
    for on in (True, False):
        settings = make_settings(tmp_path / f"storage-{on}", sentence_vectors=on, retrieval_mode="dense")
        ingest([manuals], settings, progress=False)
        retriever = HybridRetriever(settings)
        try:
            assert (retriever.sentences is not None) is on
            retrieval = retriever.retrieve(QUESTION, 5)
            found[on] = ([s.section_id for s in retrieval.sections], retrieval.dense_top)
        finally:
            retriever.close()
    assert "member.html#misc" in found[True][0][:4], found
    assert "member.html#misc" not in found[False][0][:4], found
    assert abs(found[True][1] - found[False][1]) < 1e-6
