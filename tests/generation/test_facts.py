"""Dates and numbers stated in prose, with spans and comparable values."""

from __future__ import annotations

from ragkit.generation.facts import dates, lifespan, numbers

TEXT = ("Christer Fuglesang (born 18 March 1957) flew on December 10, 2006. The group had seven members; "
        "the peak is 8,035 metres high and ranks 13th. 3.5 million people live there. One Manhattan Square")


def test_dates_have_spans_and_order() -> None:
    found = dates(TEXT)
    assert [d.text for d in found] == ["18 March 1957", "December 10, 2006"]
    assert found[0].value == (1957.0, 3.0, 18.0) and found[0].value < found[1].value
    assert TEXT[found[1].start:found[1].end] == "December 10, 2006"
    assert dates("It opened in March 1990 and closed in 1995.")[0].value == (1990.0, 3.0, 0.0)


def test_numbers_skip_dates_ordinals_and_capitalized_words() -> None:
    found = {n.text: n.value[0] for n in numbers(TEXT)}
    assert found == {"seven members": 7.0, "8,035 metres": 8035.0, "3.5 million people": 3_500_000.0}


def test_lifespan() -> None:
    assert lifespan("Elia Kazan (September 7, 1909 – September 28, 2003) was a director.") == 94.0
    assert lifespan("Caroline Wozniacki (born 11 July 1990) is a tennis player.") is None
