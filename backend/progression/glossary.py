"""What every number the game shows means: one table for the Help screen and the README's
stats table (a test keeps the README equal to it)."""

from __future__ import annotations

STATS: tuple[tuple[str, str], ...] = (
    ("XP", "optimizer steps trained, all quests together; it ticks with every step report of the battle "
           "(every few steps), not only at checkpoints"),
    ("Level", "1 + XP // 1000"),
    ("ATK", "the sum over DIO's skills (and the player's own quests, as one more) of 100 / that skill's smoothed "
            "train loss: each checkpoint's train loss (the mean since the one before) moves its own skill's average "
            "30 % of the way, and a running battle's moving average stands for its skill once 60 of its steps are "
            "in. Per skill, so a change of quest from BIN (loss about 0.2) to SY (about 2) moves nothing, and one "
            "bad step cannot make it jump; it falls when a skill starts a harder level"),
    ("DEF", "the same sum from the checkpoints' held-out validation losses (each moves its skill's average 30 %)"),
    ("ACC", "the latest evaluation accuracy at the training level of the skill being trained (not a re-check of a "
            "level already mastered); — until that level has been evaluated once"),
    ("Gold", "100 per completed quest"),
    ("Skill level", "the highest level mastered; a level is mastered at >= 80 % mean accuracy over its last 3 "
                    "evaluations. `1→2/30`: mastered 1, training 2, of 30"),
    ("Rusty", "a mastered level whose last 3 re-checks average below 60 % (`game.rusty_below`: lower than the 80 % "
              "that masters a level, so the noise of 10-problem re-checks (BIN; SY has 5) of a level held at 85 % does not flag it): "
              "marked in the Tavern, the Guild and `realm status`, with an event. It is brought back into training: "
              "it takes the largest share of every quest's rehearsal (which grows from 40 % to 60 % of the quest) "
              "until it passes the mastery rule again (80 % over 3), then it is restored"),
    ("Next", "the next goal of the skill being trained, e.g. `BIN L3: 40 20 60%` and `needs 80% mean of 3`"),
    ("Champion", "the checkpoint with the best evaluations so far (👑), by score = the mean of (level - 1 + "
                 "accuracy) over its evaluations, ties to the lower validation loss; it is deployed to the inference "
                 "node (🚀). The Vault's board (c) ranks every checkpoint this way"),
    ("Where", "the Vault's column: disk (this save's folder), node (loaded on the inference node now), a storage "
              "zone's name (a verified copy there, hosts.storage), deleted (retention removed it)"),
    ("Sparring", "DIO's wrong answers at its training level turned into examples that ride along with the next quest"),
)


def markdown_table() -> str:
    """The README's stats table."""
    return "\n".join(["| stat | meaning |", "|---|---|", *(f"| {k} | {v} |" for k, v in STATS)]) + "\n"
