"""Build skills/data/words_en.txt: common English words split into syllables.

Run once (needs the optional `data` extra: pip install -e '.[data]'):

    python -m skills.tools.build_words [--top 60000] [--out skills/data/words_en.txt]

Output: one word per line, most frequent first, syllables joined by '-'
(e.g. ``ap-ple``). Words are lowercase ASCII letters only, 3-14 letters long.
Single-syllable words are kept (they can be hidden acrostic words); only words
of 2 or more syllables become puzzle targets. Syllables are pyphen's en_US
hyphenation points, which follow written syllables closely enough for a word
game. The run-time code only reads the committed file; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "words_en.txt"

# Words kept out of puzzles (profanity, slurs, and a few uncomfortable ones).
BLOCKLIST = frozenset(
    """
    anal anus arse ass asshole bastard bitch bitches blowjob bollocks boner boob boobs
    butt cock cocks coon crap cum cunt damn dick dicks dildo dyke fag faggot fuck fucked
    fucker fucking fucks genital hell homo horny hooker jizz kike nazi negro nigga nigger
    nude nudes orgasm penis piss porn porno prick pussy queer rape raped rapist retard
    retarded scrotum semen sex sexy shit shitty slut sluts spic tit tits twat vagina
    wank whore whores suicide murder murdered killing kill killed
    """.split()
)

CLEAN = re.compile(r"^[a-z]{3,14}$")


def build(top: int) -> list[str]:
    import pyphen  # the `data` extra; never imported at run time
    from wordfreq import top_n_list

    hyph = pyphen.Pyphen(lang="en_US")
    lines: list[str] = []
    seen: set[str] = set()
    for word in top_n_list("en", top):
        if word in seen or not CLEAN.match(word) or word in BLOCKLIST:
            continue
        if len(set(word)) == 1:  # "aaa", "zzz"
            continue
        seen.add(word)
        parts = hyph.inserted(word).split("-")
        if "".join(parts) != word or any(not p for p in parts):
            continue
        lines.append("-".join(parts))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=60000, help="wordfreq words considered (most frequent first)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    lines = build(args.top)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# words_en.txt: built by skills/tools/build_words.py --top {args.top} (wordfreq + pyphen en_US)\n"
    args.out.write_text(header + "\n".join(lines) + "\n", encoding="ascii")
    multi = sum(1 for line in lines if "-" in line)
    print(f"wrote {len(lines)} words ({multi} with 2+ syllables) to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
