"""sync/ids.py: the one spelling of node ids, log indexes, DNS labels and subjects."""

from __future__ import annotations

import pytest

from sync.ids import (
    DNS_LABEL_RE,
    INDEX_RE,
    LISTING_SUBJECTS,
    LOOKUP_SUBJECTS,
    NODE_ID_RE,
    TASK_SUBJECTS,
    Subjects,
)

LONGEST_NODE_ID = "a" + "-" * 61 + "z"  # 63 characters


@pytest.mark.parametrize(
    "node_id", ["a", "0", "chengdu", "cq-01", "9lives", "a-", LONGEST_NODE_ID, "b" * 63]
)
def test_node_ids_accepted(node_id: str) -> None:
    assert NODE_ID_RE.fullmatch(node_id)


@pytest.mark.parametrize(
    "node_id",
    [
        "",
        "b" * 64,
        "-lead",
        "Chengdu",
        "chengDu",
        "a_b",
        "a.b",
        "a/b",
        "a b",
        "成都",
        "ｃｄ",  # full-width letters
        "cd\n",
    ],
)
def test_node_ids_refused(node_id: str) -> None:
    assert NODE_ID_RE.fullmatch(node_id) is None


@pytest.mark.parametrize("index", ["0", "1", "10", "42", "9" * 19, "1" + "0" * 18])
def test_indexes_accepted(index: str) -> None:
    assert INDEX_RE.fullmatch(index)


@pytest.mark.parametrize(
    "index", ["", "00", "01", "007", "-1", "+1", "1.0", "1e3", " 1", "1" + "0" * 19, "١", "²"]
)
def test_indexes_refused(index: str) -> None:
    assert INDEX_RE.fullmatch(index) is None


@pytest.mark.parametrize("label", ["a", "court", "cq-01", "a" * 63, "0"])
def test_dns_labels_accepted(label: str) -> None:
    assert DNS_LABEL_RE.fullmatch(label)


@pytest.mark.parametrize("label", ["", "-a", "a-", "A", "a_b", "a.b", "a" * 64])
def test_dns_labels_refused(label: str) -> None:
    assert DNS_LABEL_RE.fullmatch(label) is None


@pytest.mark.parametrize(
    ("subjects", "word"),
    [(TASK_SUBJECTS, "task"), (LOOKUP_SUBJECTS, "lookup"), (LISTING_SUBJECTS, "bl")],
)
def test_subjects_round_trip(subjects: Subjects, word: str) -> None:
    assert subjects.prefix("chengdu") == f"chengdu/{word}/"
    assert subjects.of("chengdu", 17) == f"chengdu/{word}/17"
    assert subjects.of("chengdu", 17).startswith(subjects.prefix("chengdu"))
    assert subjects.parse(subjects.of("chengdu", 17)) == ("chengdu", 17)
    assert subjects.parse(subjects.of(LONGEST_NODE_ID, 0)) == (LONGEST_NODE_ID, 0)
    assert subjects.parse(f"chengdu/{word}/{'9' * 19}") == ("chengdu", int("9" * 19))


@pytest.mark.parametrize(
    "subject",
    [
        "chengdu/task/01",  # leading zero: not the canonical spelling of the index
        "chengdu/task/",
        "chengdu/task/-1",
        "chengdu/task/1/",
        "chengdu/task/1/s1",
        "chengdu/task/" + "1" + "0" * 19,
        "Chengdu/task/1",
        "-chengdu/task/1",
        "b" * 64 + "/task/1",
        "/task/1",
        "chengdu/tasks/1",
        "chengdu/lookup/1",  # another business's subject
        "chengdu/task/1\n",
        "x/chengdu/task/1",
    ],
)
def test_task_subjects_refused(subject: str) -> None:
    assert TASK_SUBJECTS.parse(subject) is None


def test_a_subject_of_one_business_is_not_one_of_another() -> None:
    subject = LOOKUP_SUBJECTS.of("chongqing", 3)
    assert LOOKUP_SUBJECTS.parse(subject) == ("chongqing", 3)
    assert TASK_SUBJECTS.parse(subject) is None
    assert LISTING_SUBJECTS.parse(subject) is None
    assert not subject.startswith(TASK_SUBJECTS.prefix("chongqing"))


@pytest.mark.parametrize("word", ["", "Task", "a/b", "t.k", "bl1"])
def test_a_subject_word_is_lowercase_letters(word: str) -> None:
    with pytest.raises(AssertionError):
        Subjects(word)
