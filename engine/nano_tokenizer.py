"""Nano DIO's tokenizer: byte-level BPE trained deterministically on a built-in corpus.

Byte-level coverage means any UTF-8 text encodes without an unknown token; the merges
make the common pieces (circled digits, chat role words, emoji of the profiles) one
token each. Digits split one per token (Qwen's pre-tokenizer regex), so a circled
binary number costs one token per bit. The trainer is a few lines of Python with a
fixed tie-break, so the same vocabulary size always gives the same tokenizer.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

from engine.chat_templates import CHATML_TEMPLATE
from engine.nano_corpus import corpus_lines

PAD_TOKEN = "<|endoftext|>"
IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
THINK_OPEN = "<think>"
THINK_CLOSE = "</think>"
SPECIAL_TOKENS = (PAD_TOKEN, IM_START, IM_END)
PLAIN_ADDED_TOKENS = (THINK_OPEN, THINK_CLOSE)  # added, but not "special" (kept when decoding), as in Qwen3

QWEN_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def _pre_tokenizer() -> pre_tokenizers.PreTokenizer:
    return pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character map (what tokenizers' ByteLevel uses)."""
    bs = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


_BYTE_TO_UNICODE = bytes_to_unicode()


def _word_counts(lines: list[str]) -> Counter[tuple[str, ...]]:
    pre = _pre_tokenizer()
    counts: Counter[tuple[str, ...]] = Counter()
    for line in lines:
        for piece, _ in pre.pre_tokenize_str(line):
            counts[tuple(piece)] += 1
    return counts


def train_bpe_merges(lines: list[str], n_merges: int) -> list[tuple[str, str]]:
    """Most frequent adjacent pair first; ties go to the lexicographically smallest pair."""
    words = _word_counts(lines)
    merges: list[tuple[str, str]] = []
    for _ in range(n_merges):
        pairs: Counter[tuple[str, str]] = Counter()
        for word, count in words.items():
            for pair in zip(word, word[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        joined = best[0] + best[1]
        new_words: Counter[tuple[str, ...]] = Counter()
        for word, count in words.items():
            out: list[str] = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(joined)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            new_words[tuple(out)] += count
        words = new_words
    return merges


def build_nano_tokenizer(vocab_size: int = 512) -> Tokenizer:
    """A `tokenizers.Tokenizer` with exactly `vocab_size` entries (specials first, then bytes, then merges)."""
    added = list(SPECIAL_TOKENS) + list(PLAIN_ADDED_TOKENS)
    base = len(added) + 256
    if vocab_size < base:
        raise ValueError(f"nano vocab_size must be at least {base} (specials + 256 bytes), got {vocab_size}")
    merges = train_bpe_merges(corpus_lines(), vocab_size - base)
    vocab: dict[str, int] = {tok: i for i, tok in enumerate(added)}
    for sym in (_BYTE_TO_UNICODE[b] for b in range(256)):
        vocab[sym] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    # The corpus may run out of pairs before the budget; pad with unused, reserved tokens so sizes match.
    reserved = 0
    while len(vocab) < vocab_size:
        vocab[f"<|reserved_{reserved}|>"] = len(vocab)
        reserved += 1
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False, byte_fallback=False))
    tok.pre_tokenizer = _pre_tokenizer()
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIAL_TOKENS])
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    if reserved:
        tok.add_special_tokens(
            [AddedToken(f"<|reserved_{i}|>", special=True, normalized=False) for i in range(reserved)]
        )
    return tok


def save_nano_tokenizer(path: str | Path, vocab_size: int = 512, model_max_length: int = 2048) -> None:
    """Write a Hugging Face tokenizer folder (tokenizer.json, tokenizer_config.json with the ChatML template)."""
    from transformers import PreTrainedTokenizerFast

    hf = PreTrainedTokenizerFast(
        tokenizer_object=build_nano_tokenizer(vocab_size),
        eos_token=IM_END,
        pad_token=PAD_TOKEN,
        model_max_length=model_max_length,
        clean_up_tokenization_spaces=False,
    )
    hf.chat_template = CHATML_TEMPLATE
    hf.save_pretrained(str(path))
