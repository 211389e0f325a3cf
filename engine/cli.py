"""`python -m engine`: run | job-template | nano.

    python -m engine run JOB.json          train; JSON-lines events on stdout, control lines on stdin
    python -m engine standby --fd N        the same, warm: imports first, then the job from socket N
    python -m engine job-template          print a job with every field at its default
    python -m engine nano PATH [--seed N] [--spec JSON]   create nano DIO in PATH

Exit codes of `run`: 0 success (also after `stop`/SIGTERM), 1 training failed, 2 bad job file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _cmd_run(args: argparse.Namespace) -> int:
    return run_job_file(args.job)


def _cmd_standby(args: argparse.Namespace) -> int:
    from contracts.engine_handover import receive_job
    from engine.standby import log_to, warm_up

    import time

    began = time.monotonic()
    warm_up()
    warm_s = time.monotonic() - began
    handover = receive_job(args.fd)
    if handover is None:  # the daemon no longer needs a warm engine
        return 0
    if handover.log is not None:
        log_to(handover.log)
    print(f"warm engine: imports took {warm_s:.1f} s before the job came ({handover.job.name})",
          file=sys.stderr, flush=True)
    return run_job_file(handover.job)  # handover.lock_fd stays open: the engine holds run/engine.lock


def run_job_file(job_path: Path) -> int:
    from contracts.engine_events import ErrorEvent, ResultEvent
    from contracts.engine_job import JobFileError, load_job
    from engine.control import ControlChannel
    from engine.events import EventWriter, take_over_stdout

    from engine.distributed import launched_world

    world = launched_world()
    if world is not None:
        print(f"engine rank {world.rank} of {world.size}" + (": events and checkpoints come from rank 0"
                                                            if not world.main else ""), file=sys.stderr, flush=True)
    if world is None or world.main:
        events = EventWriter(take_over_stdout())
        control = ControlChannel(sys.stdin)
    else:  # torchrun's other ranks: rank 0 speaks for the job and reads its control lines
        take_over_stdout()
        events = EventWriter(open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115 - lives as long as the run
        control = ControlChannel(None)
    control.install_signal_handlers()
    try:
        job = load_job(job_path)
    except JobFileError as exc:
        events.emit(ErrorEvent(code="bad_job", message=str(exc), where=str(job_path),
                               fix="compare with `python -m engine job-template`"))
        events.emit(ResultEvent(success=False, global_step=0, runtime_sec=0.0, summary="bad job file",
                                error_message=str(exc)))
        return 2
    from engine.runner import result_event, run_job

    result = run_job(job, events, control)
    events.emit(result_event(result))
    return 0 if result.success else 1


def _cmd_job_template(args: argparse.Namespace) -> int:  # noqa: ARG001
    from contracts.engine_job import job_template

    print(json.dumps(job_template(), indent=2))
    return 0


def _parse_spec(text: str | None):
    from pydantic import ValidationError

    from contracts.nano import NanoSpec

    if not text:
        return NanoSpec()
    raw = text if text.lstrip().startswith("{") else Path(text).read_text(encoding="utf-8")
    try:
        return NanoSpec.model_validate_json(raw)
    except ValidationError as exc:
        raise SystemExit(f"engine nano: bad --spec: {exc}") from None


def _cmd_nano(args: argparse.Namespace) -> int:
    from engine.loading import quiet_transformers
    from engine.nano_model import create_nano

    quiet_transformers()
    spec = _parse_spec(args.spec)
    try:
        out = create_nano(args.path, seed=args.seed, spec=spec)
    except FileExistsError as exc:
        print(f"engine nano: {exc}", file=sys.stderr)
        return 2
    print(str(out))
    return 0


def _cmd_merge(args: argparse.Namespace) -> int:
    from engine.errors import EngineError
    from engine.loading import quiet_transformers
    from engine.lora import merge_to_folder

    if args.out.exists():
        print(f"engine merge: {args.out} already exists (nothing was overwritten)", file=sys.stderr)
        return 2
    quiet_transformers()
    try:
        print(merge_to_folder(args.adapter, args.out, args.base))
    except EngineError as exc:
        print(f"engine merge: {exc.render()}", file=sys.stderr)
        return 2
    return 0


def _cmd_probe(args: argparse.Namespace) -> int:
    from engine.probe import main as probe_main

    return probe_main(args.device, args.precision, args.attention)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Realm of Training's training engine.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser("run", help="train a job; events on stdout, control lines on stdin")
    run.add_argument("job", type=Path, help="job JSON file (see job-template)")
    run.set_defaults(func=_cmd_run)
    standby = sub.add_parser("standby", help="a warm engine: import everything, then wait for a job on socket FD")
    standby.add_argument("--fd", type=int, required=True, help="inherited Unix socket the job is handed over on")
    standby.set_defaults(func=_cmd_standby)
    tmpl = sub.add_parser("job-template", help="print a complete job with every field at its default")
    tmpl.set_defaults(func=_cmd_job_template)
    nano = sub.add_parser("nano", help="create nano DIO (tiny Qwen3 + compact tokenizer) in PATH")
    nano.add_argument("path", type=Path)
    nano.add_argument("--seed", type=int, default=0, help="weight initialisation seed (default 0)")
    nano.add_argument("--spec", default=None, help="NanoSpec as a JSON object or a JSON file path")
    nano.set_defaults(func=_cmd_nano)
    merge = sub.add_parser("merge", help="merge a LoRA checkpoint into its base: a full Hugging Face folder")
    merge.add_argument("adapter", type=Path, help="the LoRA checkpoint folder")
    merge.add_argument("out", type=Path, help="the folder to write (must not exist)")
    merge.add_argument("--base", default=None, help="the base model (default: the one its ledger names)")
    merge.set_defaults(func=_cmd_merge)
    probe = sub.add_parser("probe", help="print, as JSON, what a job with these settings would train with")
    probe.add_argument("--device", default="auto")
    probe.add_argument("--precision", default="auto")
    probe.add_argument("--attention", default="auto")
    probe.set_defaults(func=_cmd_probe)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
