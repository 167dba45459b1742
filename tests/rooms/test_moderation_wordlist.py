"""Word lists (rooms/wordlist.py): folding, whole-word matching, masking, list checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rooms.errors import RoomError
from rooms.state import WordEntry, WordLists
from rooms.wordlist import (
    MASK,
    MAX_PHRASE_WORDS,
    MAX_WORD,
    MAX_WORDS,
    check_word_list,
    fold,
    screen,
)


def _lists(*entries: tuple[str, str], merchant: tuple[tuple[str, str], ...] = ()) -> WordLists:
    return WordLists(
        room=check_word_list(WordEntry(w, a) for w, a in entries),  # type: ignore[arg-type]
        merchant=check_word_list(WordEntry(w, a) for w, a in merchant),  # type: ignore[arg-type]
    )


MASKED = _lists(("darn", "mask"), ("bad", "mask"), ("bad day", "mask"), ("god", "mask"))


def test_fold_drops_case_width_accents_and_invisible_characters() -> None:
    assert fold("\uff24\uff41\uff32\uff4e")[0] == "darn"
    assert fold("Dárñ")[0] == "darn"
    assert fold("d\u200ba\u00adrn")[0] == "darn"
    assert fold("ﬁne")[0] == "fine"  # a ligature is two letters, both from the one character
    assert fold("ﬁne")[1] == (0, 0, 1, 2)
    assert fold("STRASSE")[0] == fold("straße")[0]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("that is darn good", f"that is {MASK} good"),
        ("DARN!", f"{MASK}!"),
        ("\uff44\uff41\uff52\uff4e it", f"{MASK} it"),
        ("d\u200barn it", f"{MASK} it"),
        ("dárn it", f"{MASK} it"),
        ("daaaarn", MASK),
        ("darn,darn", f"{MASK},{MASK}"),
        ("goood", MASK),  # a letter stretched to three or more still matches
    ],
)
def test_listed_words_are_masked_whole_and_folded(text: str, shown: str) -> None:
    assert screen(text, MASKED).text == shown
    assert screen(text, MASKED).masked


@pytest.mark.parametrize("text", ["darned", "undarn", "good", "darn1", "a bad_ idea", "dar n"])
def test_other_words_and_parts_of_words_are_left_alone(text: str) -> None:
    # "good" is not "god": a doubled letter is a different word; "_" is no letter or digit,
    # so "bad_" is "bad" — except that here it is masked; see the next assertion
    screened = screen(text, MASKED)
    if text == "a bad_ idea":
        assert screened.text == f"a {MASK}_ idea"
    else:
        assert screened == screen(text, WordLists()) == type(screened)(text)


def test_a_phrase_matches_its_words_in_a_row_and_overlaps_merge() -> None:
    assert screen("what a bad  day", MASKED).text == f"what a {MASK}"
    assert screen("what a bad  day", MASKED).masked == ("bad", "bad day")
    assert screen("bad", _lists(("bad day", "mask"))).text == "bad"  # the phrase runs out
    assert screen("bad night", _lists(("bad day", "mask"))).text == "bad night"


def test_block_wins_over_mask_across_lists_and_names_the_entries() -> None:
    lists = _lists(("bad", "mask"), merchant=(("Bad", "block"), ("awful", "block")))
    screened = screen("bad AWFUL bad", lists)
    assert screened.blocked == ("bad", "awful")
    assert screened.text == "bad AWFUL bad"  # a blocked text is not masked: it is not sent


def test_check_word_list_folds_merges_and_lets_block_win() -> None:
    entries = check_word_list(
        [
            WordEntry("  Darn ", "mask"),
            WordEntry("DARN", "block"),
            WordEntry("darn", "mask"),
            WordEntry("Very   Rude!", "block"),
        ]
    )
    assert entries == (WordEntry("darn", "block"), WordEntry("very rude", "block"))
    assert check_word_list([]) == ()


@pytest.mark.parametrize(
    "entry",
    [
        WordEntry("", "block"),
        WordEntry("!!!", "block"),
        WordEntry("x" * (MAX_WORD + 1), "block"),
        WordEntry(" ".join(["a"] * (MAX_PHRASE_WORDS + 1)), "block"),
        WordEntry("fine", "shout"),  # type: ignore[arg-type]  # refused on purpose
    ],
)
def test_bad_entries_are_refused(entry: WordEntry) -> None:
    with pytest.raises(RoomError) as info:
        check_word_list([entry])
    assert info.value.code == "invalid_word_list"


def test_a_list_holds_at_most_max_words() -> None:
    check_word_list(WordEntry(f"w{i}") for i in range(MAX_WORDS))
    with pytest.raises(RoomError) as info:
        check_word_list(WordEntry(f"w{i}") for i in range(MAX_WORDS + 1))
    assert info.value.code == "invalid_word_list"


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=12)
_FILLER = st.text(alphabet=st.characters(codec="utf-8"), max_size=60)


def _disguise(word: str, draw: st.DrawFn) -> str:
    """The word as an evader might write it: mixed case, full-width letters, zero-width
    spaces, an accent, a letter stretched."""
    out = []
    for char in word:
        style = draw(st.sampled_from(["lower", "upper", "wide", "zw", "accent"]))
        if style == "upper":
            out.append(char.upper())
        elif style == "wide":
            out.append(chr(ord(char) - ord("a") + ord("\uff41")))
        elif style == "zw":
            out.append(char + "\u200b")
        elif style == "accent":
            out.append(char + "\u0301")
        else:
            out.append(char)
    if draw(st.booleans()):
        i = draw(st.integers(0, len(out) - 1))
        out[i] = out[i] * 4
    return "".join(out)


@st.composite
def _message(draw: st.DrawFn) -> tuple[str, str]:
    word = draw(_WORD)
    before, after = draw(_FILLER), draw(_FILLER)
    return word, f"{before} {_disguise(word, draw)} {after}"


@settings(max_examples=500, deadline=None)
@given(case=_message())
def test_a_disguised_listed_word_is_always_caught(case: tuple[str, str]) -> None:
    word, text = case
    lists = _lists((word, "block"))
    assert screen(text, lists).blocked == (word,)
    masked = screen(text, _lists((word, "mask")))
    assert MASK in masked.text
    # once masked, the word is gone: a second pass finds nothing
    assert screen(masked.text, _lists((word, "mask"))).masked == ()


@settings(max_examples=500, deadline=None)
@given(text=_FILLER, words=st.lists(_WORD, max_size=5))
def test_screening_only_ever_replaces_listed_words(text: str, words: list[str]) -> None:
    lists = _lists(*((w, "mask") for w in words))
    screened = screen(text, lists)
    if not screened.masked:
        assert screened.text == text
    # what is left besides the masks is the original text, in order
    parts = screened.text.split(MASK)
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0
        at = found + len(part)
    assert screen(screened.text, lists).masked == ()
