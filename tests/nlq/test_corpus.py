"""The paraphrase corpus (tests/nlq/corpus.py) through the engine on the seeded dataset, loaded
once: the score on the templates tuned on and on those held out (at least 97 % required),
on the questions written by hand, and on the follow-up conversations (at least 95 %). Each
expected answer comes from the dataset's Python rows, not from the engine."""

from __future__ import annotations

from collections import Counter

import asyncpg

from postback.app import PostbackApp
from postback.auth import ADMIN
from postback.nlq import service
from postback.nlq.plan import CannotAnswer
from tests.nlq.corpus import HAND, HELD_OUT, TEMPLATES, Case, check, conversations, generated
from tests.nlq.dataset import NOW, load
from tests.nlq.test_questions import DATA

HELD_OUT_MARK = 0.97
FOLLOW_UP_MARK = 0.95
GENERATED = generated()
CONVERSATIONS = conversations()


def test_the_corpus_is_big_bilingual_and_split_by_template() -> None:
    assert len(GENERATED) >= 1500
    assert len(HAND) >= 200
    assert len({c.question for c in HAND}) == len(HAND)
    chinese = sum(1 for c in GENERATED if any("\u4e00" <= ch <= "\u9fff" for ch in c.question))
    assert 0.3 <= chinese / len(GENERATED) <= 0.7
    assert len(HELD_OUT) / len(TEMPLATES) >= 0.3
    per_template = Counter(c.template for c in GENERATED)
    assert set(per_template) == set(TEMPLATES)
    assert len(CONVERSATIONS) >= 100
    assert all(2 <= len(c.turns) <= 3 for c in CONVERSATIONS)
    assert any(len(c.turns) == 3 for c in CONVERSATIONS)


async def _answer(
    db: asyncpg.Connection,
    app: PostbackApp,
    question: str,
    conversation: object = None,
    *,
    remember: bool = False,
) -> tuple[dict[str, object] | None, str | None]:
    """The answer (a single question keeps no conversation; a turn of one does)."""
    try:
        answer = await service.answer(
            db,
            ADMIN,
            question,
            settings=app.state.settings,
            now=NOW,
            conversation=conversation,  # type: ignore[arg-type]
            remember=remember,
        )
    except CannotAnswer as exc:
        return None, f"refused: {exc.message}"
    return answer.model_dump(), None


async def _score(db: asyncpg.Connection, app: PostbackApp, cases: list[Case]) -> list[str]:
    failures = []
    for case in cases:
        answer, problem = await _answer(db, app, case.question)
        if answer is not None:
            problem = check(answer, case.spec)
        if problem is not None:
            failures.append(f"{case.question!r}: {problem}")
    return failures


async def test_paraphrases_held_out_and_follow_ups(
    app: PostbackApp, db: asyncpg.Connection
) -> None:
    await load(db, DATA)
    service.forget_vocabulary()
    tuned = [c for c in GENERATED if c.template not in HELD_OUT]
    held = [c for c in GENERATED if c.template in HELD_OUT]
    tuned_failures = await _score(db, app, tuned)
    held_failures = await _score(db, app, held)
    hand_failures = await _score(db, app, HAND)

    follow_failures = []
    for conversation in CONVERSATIONS:
        thread = None
        for turn in conversation.turns:
            answer, problem = await _answer(db, app, turn.question, thread, remember=True)
            if answer is not None:
                thread = answer["conversation"]
                problem = check(answer, turn.spec)
            if problem is not None:
                asked = " → ".join(t.question for t in conversation.turns)
                follow_failures.append(f"{asked}: at {turn.question!r}: {problem}")
                break

    def score(failures: list[str], total: int) -> float:
        return 1 - len(failures) / total

    tuned_score = score(tuned_failures, len(tuned))
    held_score = score(held_failures, len(held))
    hand_score = score(hand_failures, len(HAND))
    follow_score = score(follow_failures, len(CONVERSATIONS))
    print(
        f"\nNLQ paraphrase corpus: tuned-on templates {len(tuned) - len(tuned_failures)}/"
        f"{len(tuned)} ({tuned_score:.1%}); held-out templates {len(held) - len(held_failures)}"
        f"/{len(held)} ({held_score:.1%}); written by hand {len(HAND) - len(hand_failures)}/"
        f"{len(HAND)} ({hand_score:.1%}); follow-up conversations "
        f"{len(CONVERSATIONS) - len(follow_failures)}/{len(CONVERSATIONS)} ({follow_score:.1%})"
    )
    for failure in tuned_failures + hand_failures + follow_failures:
        print("  FAIL", failure)
    # The held-out failures are counted, not listed: nothing was tuned on them.
    assert held_score >= HELD_OUT_MARK, f"{len(held_failures)} held-out questions failed"
    assert follow_score >= FOLLOW_UP_MARK, "\n".join(follow_failures)
