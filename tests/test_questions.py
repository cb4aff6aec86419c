"""The self-check questions' answer key: every question has a right option and says why each
option is right or wrong."""

import re

from whetstone_lab.questions import QUESTIONS


def test_every_question_has_its_right_option_and_a_reason_for_each_option():
    assert QUESTIONS
    for qid, entry in QUESTIONS.items():
        assert re.fullmatch(r"\d\d[a-z]?\.\d", qid), qid
        assert set(entry) == {"right", "why"}, qid
        assert entry["right"] in entry["why"], qid
        assert len(entry["why"]) >= 2 and all(o in "abcd" for o in entry["why"]), qid
        assert all(isinstance(why, str) and why.strip() for why in entry["why"].values()), qid
