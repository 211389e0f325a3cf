"""The small built-in corpus nano DIO's tokenizer is trained on (deterministically).

Its only job is to decide which byte sequences get their own token: chat markers'
neighbours, circled digits (the BIN skill writes binary as ⓪ and ①), digits and
operators, common English words and syllables (the SY skill), and the emoji and
symbols of the data profiles. Every other UTF-8 text still encodes, byte by byte.
"""

from __future__ import annotations

CIRCLED = "⓪①②③④⑤⑥⑦⑧⑨⑩"

ROLE_LINES = ["system\n", "user\n", "assistant\n", "\n\n"]

WORDS = (
    "the of and to a in is it you that he was for on are as with his they I at be this have from or one had "
    "by word but not what all were we when your can said there use an each which she do how their if will up "
    "other about out many then them these so some her would make like him into time has look two more write go "
    "see number no way could people my than first water been call who oil its now find long down day did get "
    "come made may part answer question solve add sum binary digit syllable syllables letter letters puzzle "
    "clue clues count total result carry bit bits zero plus equals step steps think reason because therefore "
    "yes true false correct wrong check level skill quest hero train training loss value next each word words "
    "sound sounds spell rhyme vowel consonant split join first second third last"
).split()

EMOJI_AND_SYMBOLS = "🤔 💡 🏁 💭 ✅ ❌ ➕ 🟰 § ∴ ∎ → ← ✓ ✗ • … — ’ “ ” é ñ ü".split()

SYLLABLES = (
    "ing er ed es tion ly re un in con de pre pro com ex ment ness able ful less est al ic ous ive ize ture "
    "ba be bi bo bu ca ce ci co cu da de di do du fa fe fi fo fu ga ge gi go gu la le li lo lu ma me mi mo mu "
    "na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu"
).split()


def corpus_lines() -> list[str]:
    """The corpus, as lines; repetition encodes how much each piece matters."""
    lines: list[str] = []
    lines += ROLE_LINES * 40
    # Binary in circled digits, as the BIN skill writes it: every number up to 63, twice over.
    for n in range(64):
        b = format(n, "b").translate(str.maketrans("01", "⓪①"))
        lines += [f"{b}+{b}={b}\n"] * 2
    lines += [" ".join(CIRCLED)] * 20
    lines += [" ".join(str(d) for d in range(10)) + " + - × ÷ = ( ) ? ! . , : ;"] * 20
    sentence = " ".join(WORDS)
    lines += [sentence, sentence.capitalize(), " " + sentence] * 4
    lines += [" ".join(SYLLABLES)] * 4
    lines += [" ".join(EMOJI_AND_SYMBOLS), "".join(EMOJI_AND_SYMBOLS), "\n".join(EMOJI_AND_SYMBOLS)] * 40
    return lines
