"""Written questions need transfer (issue 21, point 3): a guard, not the judge.

No reference answer of a written question may share a long run of prose with any lecture
(its sentences, folded exercise answers, quiz explanations: every cell's text). Code spans and
formulas are left out of the comparison: a transfer answer may well use the idioms the lecture
taught (`h_n[-1]`, `torch.cat`), it must not be the lecture's sentences. The questions are also
read by a reviewer; this test only catches the copy.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nbtools import read

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted((ROOT / "source").glob("*/*.ipynb"))

# Prose characters (whitespace and markup removed) that may coincide by chance: a short phrase
# ("最后一个时间步的隐状态" is 11, "在最后一个时间步的隐状态，反向" 15) is vocabulary; a run of this length is a copied clause.
LONGEST_SHARED_RUN = 16

_CODE = re.compile(r"```.*?```|`[^`]*`|\$\$.*?\$\$|\$[^$]*\$", re.S)
_MARKUP = re.compile(r"[\s*_#>|\\]+")


def prose_pieces(text: str) -> list[str]:
    """The text's prose between code spans and formulas, whitespace and markdown markup removed."""
    return [p for p in (_MARKUP.sub("", piece) for piece in _CODE.split(text)) if p]


def written_answers() -> list[tuple[str, str, str]]:
    """(assignment, grade_id, reference answer) of every written question in source/."""
    found = []
    for path in ASSIGNMENTS:
        for cell in read(path).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("solution") and meta.get("grade"):
                answer = cell.source.split("### BEGIN SOLUTION", 1)[-1].split("### END SOLUTION", 1)[0]
                found.append((path.stem, meta["grade_id"], answer))
    return found


class Lecture:
    """A lecture's prose, with every run of LONGEST_SHARED_RUN characters for a quick look-up."""

    def __init__(self, pieces: list[str]):
        self.text = "\n".join(pieces)
        n = LONGEST_SHARED_RUN
        self.runs = {p[i:i + n] for p in pieces for i in range(len(p) - n + 1)}

    def longest_shared(self, answer: list[str]) -> str:
        """The longest run of at least LONGEST_SHARED_RUN characters of `answer` in this lecture."""
        n, best = LONGEST_SHARED_RUN, ""
        for piece in answer:
            for i in range(len(piece) - n + 1):
                if piece[i:i + n] in self.runs:
                    j = i + n
                    while j < len(piece) and piece[i:j + 1] in self.text:
                        j += 1
                    if j - i > len(best):
                        best = piece[i:j]
        return best


@pytest.fixture(scope="module")
def lectures() -> dict[str, Lecture]:
    return {path.stem: Lecture([p for cell in read(path).cells for p in prose_pieces(cell.source)])
            for path in LECTURES}


def test_there_is_a_written_question_in_every_assignment():
    assert sorted({aid for aid, _, _ in written_answers()}) == sorted(p.stem for p in ASSIGNMENTS)


@pytest.mark.parametrize("aid, grade_id, answer", written_answers(), ids=lambda v: v if isinstance(v, str) and len(v) < 40 else "")
def test_no_reference_answer_repeats_a_lecture(lectures, aid, grade_id, answer):
    pieces = prose_pieces(answer)
    assert sum(map(len, pieces)) > 200, f"{aid}/{grade_id}: the reference answer is missing"
    copied = {stem: lecture.longest_shared(pieces) for stem, lecture in lectures.items()}
    copied = {stem: run for stem, run in copied.items() if run}
    assert not copied, f"{aid}/{grade_id} says what a lecture says, word for word: {copied}"


def test_the_guard_sees_a_copied_sentence(lectures):
    """The guard itself: a lecture sentence pasted into an answer is found, a paraphrase is not."""
    cells = [c.source for c in read(LECTURES[1]).cells if c.cell_type == "markdown"]
    sentence = max((p for c in cells for p in prose_pieces(c)), key=len)[:40]
    lecture = lectures[LECTURES[1].stem]
    assert lecture.longest_shared(["我的回答：" + sentence + "。"]) == sentence
    assert lecture.longest_shared(["循环的每一步都把上一步的结果再读一遍，这句话不在讲义里"]) == ""
