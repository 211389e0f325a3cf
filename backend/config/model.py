"""The one pydantic model for realm.yaml. Field descriptions become the comments
of the generated realm.yaml, so this file is the single source of truth."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from backend.config.hosts_form import is_per_machine, machines_to_roles
from contracts.lora_targets import LORA_TARGETS
from contracts.nano import NanoSpec


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class HeroConfig(Section):
    name: str = Field("DIO", min_length=1, max_length=32, description="the hero's name")
    base_model: str = Field(
        "nano",
        min_length=1,
        description="'nano' (created offline on first start), a local Qwen3 folder, or a hub id such as Qwen/Qwen3-0.6B",
    )
    nano: NanoSpec = Field(default_factory=NanoSpec, description="size of nano DIO (used when base_model is 'nano')")
    seed: int = Field(1234, ge=0, description="seed nano DIO is created with")


class LoraConfig(Section):
    rank: int = Field(16, ge=1, le=1024, description="rank r of each adapter")
    alpha: float = Field(32.0, gt=0, description="adapter scale alpha (updates are scaled by alpha / rank)")
    dropout: float = Field(0.05, ge=0, lt=1, description="dropout on each adapter's input")
    target_modules: list[str] = Field(
        default_factory=lambda: list(LORA_TARGETS), min_length=1,
        description="Linear layers that get an adapter (Qwen3: q/k/v/o_proj, gate/up/down_proj)")


class TrainingConfig(Section):
    max_length: int = Field(512, ge=16, le=131072, description="longest example in tokens")
    tokens_per_micro_batch: int = Field(1024, ge=64, description="token budget of one micro-batch (padded slots count)")
    grad_accum: int = Field(1, ge=1, le=1024, description="micro-batches per optimizer step")
    length_grouping: int = Field(
        1, ge=0, le=1024,
        description="micro-batches' worth of examples sorted by length together (1 = near-random micro-batches, "
        "best learning; more = less padding; 0 = the whole quest)",
    )
    learning_rate: float = Field(
        1e-3, gt=0, le=1.0,
        description="peak learning rate: 1e-3 keeps nano DIO's mastered levels while it learns the next "
        "(benchmarks/retention.py); use ~1e-5 for Qwen3-0.6B")
    weight_decay: float = Field(
        0.1, ge=0, le=1.0,
        description="AdamW weight decay (matrices only). In a campaign every weight the current quest does not "
        "use is pulled toward zero by lr x decay each step, so a high value erases mastered levels: 0.1 for nano "
        "DIO, ~0.01-0.1 for Qwen3-0.6B")
    continuity: Literal["campaign", "per_quest"] = Field(
        "campaign",
        description="campaign: every quest carries on the training state of the newest checkpoint (AdamW moments, "
        "step count, learning rate, RNG) with its own data, so DIO keeps what it learned; per_quest: the old "
        "behaviour, each quest a fresh optimizer with its own warmup and schedule (kept to compare against)",
    )
    warmup_steps: int = Field(
        10, ge=0, description="linear warmup steps: once per save in a campaign, at the start of every battle per_quest")
    schedule: Literal["constant", "wsd", "cosine"] = Field(
        "constant",
        description="learning-rate schedule after warmup: constant; wsd = constant with a linear cool-down over "
        "the last cooldown_fraction of every battle; cosine (over each battle) only with continuity per_quest "
        "(a campaign has no planned end: it runs constant then)",
    )
    cooldown_fraction: float = Field(0.2, ge=0, le=1, description="wsd: share of a battle's steps spent cooling down")
    min_quest_steps: int = Field(
        20, ge=0, le=100_000,
        description="a quest shorter than this many optimizer steps (a sparring set, a small file of yours) does "
        "not fight its own battle: it rides along with the next larger quest, mixed into its data (0 = off)",
    )
    epochs: int = Field(1, ge=1, le=100, description="passes over a quest's examples")
    max_steps_per_quest: int = Field(0, ge=0, description="step budget of one battle (0 = as many as the epochs need)")
    save_every: int = Field(
        50, ge=1, description="save a checkpoint every N optimizer steps (each is evaluated: mastery is noticed sooner)")
    log_every: int = Field(5, ge=1, description="report a step event every N optimizer steps")
    validation_fraction: float = Field(0.05, ge=0, lt=0.5, description="share of each quest held out for validation loss")
    grad_clip: float = Field(1.0, gt=0, description="gradient norm clipping")
    precision: Literal["auto", "bf16", "fp32"] = Field("auto", description="auto = bf16 on CUDA that supports it, fp32 on the CPU")
    attention: Literal["auto", "sdpa", "flash_attention_2", "eager"] = Field(
        "auto", description="auto = flash_attention_2 when flash-attn imports on a CUDA GPU of compute capability "
        ">= 8.0 and training runs in bf16, else sdpa"
    )
    gradient_checkpointing: bool = Field(False, description="trade compute for memory on large models")
    method: Literal["full", "lora", "qlora"] = Field(
        "full", description="full: every weight trains; lora: PEFT adapters over a frozen hero (checkpoints of a "
        "few MB; Qwen3-8B fits a 24 GB card); qlora: the same over a 4-bit copy of the hero (CUDA and bitsandbytes). "
        "Locked once the save has trained")
    lora: LoraConfig = Field(default_factory=LoraConfig, description="the adapters of method lora")
    profile: Literal["none", "emoji_think", "regime3"] = Field("none", description="data profile (reasoning format)")
    overlength: Literal["drop", "truncate"] = Field("drop", description="what to do with examples longer than max_length")
    seed: int = Field(0, ge=0, description="training seed")


def device_name(v: str) -> str:
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return v
    raise ValueError("must be auto, cpu, cuda or cuda:N (for example cuda:0)")


class TrainerHost(Section):
    device: str = Field("auto", description="auto, cpu, cuda or cuda:N")
    threads: int = Field(0, ge=0, le=512, description="CPU threads for training (0 = all cores)")
    devices: int = Field(
        1, ge=1, le=64, description="processes to train with: more than 1 runs the engine under torchrun, one rank "
        "per GPU (cuda:0 ... cuda:N-1; gloo ranks on the CPU), with data-parallel gradients")
    sharding: Literal["auto", "ddp", "fsdp"] = Field(
        "auto", description="with devices > 1: ddp keeps the whole hero on every rank; fsdp shards weights, "
        "gradients and AdamW state across them (FSDP2) for a hero that does not fit one GPU; auto = fsdp when "
        "one copy of the training state (16 bytes a parameter) would take over half of a GPU")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return device_name(v)


class InferenceHost(Section):
    url: str = Field("local", description="'local' (the daemon runs a node on this machine) or http(s)://host:port of a remote node")
    api_key_env: str = Field("REALM_NODE_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", description="environment variable holding the node's API key")
    port: int = Field(0, ge=0, le=65535, description="port of the local node (0 = a free port, chosen when it starts)")
    pool: int = Field(3, ge=1, le=64, description="checkpoints the node keeps loaded at once")
    device: str = Field("auto", description="device of the local node: auto (another GPU than training's "
                        "when there are two or more), cpu, cuda or cuda:N")

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        return device_name(v)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v == "local" or v.startswith(("http://", "https://")):
            return v.rstrip("/")
        raise ValueError("must be 'local' or a URL starting with http:// or https://")


class StorageHost(Section):
    path: str = Field(min_length=1, description="an absolute folder that holds copies of checkpoints: a mounted "
                      "NAS share, a second disk")
    keep: Literal["champions", "all"] = Field(
        "champions", description="champions: every champion and every pinned checkpoint is copied here and kept; "
        "all: every checkpoint is")

    @field_validator("path")
    @classmethod
    def _absolute(cls, v: str) -> str:
        if not Path(v).expanduser().is_absolute():
            raise ValueError("must be an absolute folder path, e.g. /mnt/nas/realm")
        return v


class NamedNode(Section):
    url: str = Field(description="http(s)://host:port of another inference node (`realm-node` there)")
    api_key_env: str = Field("REALM_NODE_KEY", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                             description="environment variable holding that node's API key")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if v.startswith(("http://", "https://")):
            return v.rstrip("/")
        raise ValueError("must be a URL starting with http:// or https:// (the local node is hosts.inference)")


ZONE_NAME = r"^[a-z][a-z0-9_-]{0,31}$"
RESERVED_ZONES = ("trainer", "node", "inference")


class HostsConfig(Section):
    trainer: TrainerHost = Field(default_factory=TrainerHost, description="where training runs")
    inference: InferenceHost = Field(default_factory=InferenceHost, description="where checkpoints are served")
    nodes: dict[str, NamedNode] = Field(
        default_factory=dict, description="more inference nodes by name (lower-case letters, digits, - and _): "
        "the Oracle can ask any of them (ctrl+o) and evaluation.node can evaluate on one; hosts.inference stays "
        "the default, which serves the champion")
    storage: dict[str, StorageHost] = Field(
        default_factory=dict, description="storage zones by name (lower-case letters, digits, - and _): folders "
        "that keep copies of checkpoints beyond the trainer's retention")

    @model_validator(mode="before")
    @classmethod
    def _per_machine(cls, raw: Any) -> Any:
        """hosts written per machine (backend.config.hosts_form) reads into the grouped form."""
        return machines_to_roles(raw) if is_per_machine(raw) else raw

    @field_validator("storage", "nodes")
    @classmethod
    def _host_names(cls, v: dict[str, Any]) -> dict[str, Any]:
        for name in v:
            if not re.match(ZONE_NAME, name) or name in RESERVED_ZONES:
                raise ValueError(f"host {name!r}: use lower-case letters, digits, - and _ (not "
                                 f"{', '.join(RESERVED_ZONES)})")
        return v


class SkillPlan(Section):
    enabled: bool = Field(True, description="train this skill")
    weight: float = Field(1.0, ge=0, le=1000, description="share under the 'weighted' strategy")
    priority: int = Field(0, ge=-100, le=100, description="higher goes first on ties")


class AutoGenerateConfig(Section):
    enabled: bool = Field(True, description="generate quests when the queue runs low")
    threshold: int = Field(1, ge=0, le=1000, description="generate when fewer quests than this are queued")
    tokens: int = Field(
        200_000, ge=0, le=100_000_000,
        description="training tokens per generated quest, about: the example count follows the skill's "
        "example length, so quests of every skill take about as long (0 = use count)",
    )
    count: int = Field(2000, ge=1, le=1_000_000, description="examples per generated quest when tokens is 0")
    cooldown_s: float = Field(5.0, ge=0, description="seconds between two generations")
    lead_s: float = Field(20.0, ge=0, description="while a battle runs, generate its successor only when it has "
                          "this many seconds left, so the choice sees the newest evaluations (0 = as soon as the "
                          "queue runs low)")


class CurriculumConfig(Section):
    strategy: Literal["equal", "focus", "weighted", "catch-up"] = Field("equal", description="which skill the next generated quest trains")
    focus: str | None = Field(None, description="skill id trained under the 'focus' strategy")
    skills: dict[str, SkillPlan] = Field(
        default_factory=lambda: {"bin": SkillPlan(), "sy": SkillPlan()},
        description="per-skill enable, weight and priority (keys are skill ids)",
    )
    auto_generate: AutoGenerateConfig = Field(default_factory=AutoGenerateConfig, description="auto-generation of quests")
    rehearsal: float = Field(
        0.4, ge=0, le=0.9,
        description="share of each auto-generated quest's tokens (of its examples when auto_generate.tokens is 0) "
        "that rehearses what DIO already knows: the other enabled skills at their training levels and every "
        "mastered level, the shakiest and longest unchecked most (0 = off)",
    )


class GameRules(Section):
    xp_per_level: int = Field(1000, ge=1, description="Level = 1 + XP // xp_per_level")
    gold_per_quest: int = Field(100, ge=0, description="gold for each completed quest")
    level_up_accuracy: float = Field(0.8, gt=0, le=1.0, description="mean accuracy a skill level needs to be mastered")
    level_up_window: int = Field(3, ge=1, le=100, description="evaluations of a level the mean is taken over")
    rusty_below: float = Field(
        0.6, ge=0, le=1.0, description="a mastered level whose last level_up_window re-checks average below this is "
        "rusty (rehearsed until it passes level_up_accuracy again); a bar above level_up_accuracy counts as "
        "level_up_accuracy")
    stat_scale: float = Field(100.0, gt=0, description="ATK = scale / train loss, DEF = scale / validation loss")


class RetentionConfig(Section):
    keep_last: int = Field(5, ge=1, description="newest checkpoints always kept")
    keep_best: int = Field(3, ge=0, description="best checkpoints by evaluation always kept")
    resume_states_kept: int = Field(
        2, ge=1, le=10_000,
        description="lean checkpoints: the newest N keep their resume state (optimizer moments, twice the weights' "
        "size) and so do pinned ones; older ones are thinned to their weights, which serve, evaluate and export "
        "as before but can no longer be resumed exactly")
    min_free_disk_gb: float = Field(1.0, ge=0, description="pause training when free disk falls below this")


class ValidationConfig(Section):
    level: Literal["quick", "standard", "deep"] = Field("standard", description="data validation run on intake")
    policy: Literal["reject", "quarantine"] = Field("quarantine", description="bad lines reject the file, or are set aside and the rest trains")
    max_bad_fraction: float = Field(0.2, ge=0, le=1.0, description="under 'quarantine', reject the file when more lines than this are bad")
    duplicates: Literal["warn", "drop", "bad"] = Field(
        "warn", description="exact duplicate lines, the same rule for generated and your own quests: warn = kept as "
        "extra weight and reported with their count; drop = the repeats are set aside (it shrinks generated quests "
        "of small levels, e.g. BIN level 1's 100 sums); never a reason to reject a file. 'bad', the old default "
        "that older saves spell out, reads as warn")


class DaemonConfig(Section):
    heartbeat_s: float = Field(2.0, gt=0, le=60, description="heartbeat interval")
    backup_every_min: float = Field(30.0, gt=0, description="online database backup interval")
    backups_keep: int = Field(5, ge=1, le=100, description="database backups kept")
    log_max_mb: float = Field(10.0, gt=0, le=10_000, description="logs/daemon.log rotates at this size")
    log_files_kept: int = Field(5, ge=1, le=100, description="rotated daemon logs kept (daemon.log.1 ... .N)")
    log_http: bool = Field(False, description="log every HTTP request the daemon makes (debugging; one line per "
                           "health check every few seconds otherwise)")
    max_engine_restarts: int = Field(3, ge=0, le=100, description="restarts of a crashed battle before the quest fails")
    engine_silence_s: float = Field(600.0, gt=0, description="watchdog: an engine that reports nothing this long "
                                    "while training is hung; it is killed and restarted from its newest checkpoint")
    engine_start_s: float = Field(1800.0, gt=0, description="watchdog: the same before the first step (loading a "
                                  "large model, tokenizing a large quest)")
    restart_backoff_s: float = Field(2.0, ge=0, description="first restart delay (doubles each time)")
    engine_standby: bool = Field(True, description="start the next battle's engine while the current one trains, "
                                 "so its imports are done when the quest begins (a second engine process waits, "
                                 "importing only; off = a fresh engine per battle)")
    engine_standby_idle_s: float = Field(120.0, ge=0, description="how long the waiting engine is kept when no "
                                         "quest is queued (the generator usually posts the next within seconds)")
    tasks_busy_percent: float = Field(
        40.0, gt=0, le=100, description="heavy background tasks (the daily sparring round, re-validation, the vault "
        "scan) run when the trainer and the inference host are both below this utilisation (GPU through NVML, "
        "else CPU); one that waited a whole cooldown past due runs anyway, so a box that trains all day still gets it")


class EvaluationConfig(Section):
    enabled: bool = Field(True, description="evaluate every new checkpoint")
    node: str | None = Field(None, description="evaluate on this node of hosts.nodes (null: the default node, "
                             "hosts.inference); checkpoints are uploaded to it as needed")
    max_new_tokens: int = Field(128, ge=1, le=8192, description="longest answer generated in an evaluation")


class SparringConfig(Section):
    enabled: bool = Field(True, description="turn DIO's wrong answers into HIGH-priority quests")
    problems: int = Field(8, ge=1, le=1000, description="problems per sparring round")
    max_age_steps: int = Field(2000, ge=1, description="drop sparring quests made this many steps ago")
    every_steps: int = Field(300, ge=1, description="spar at most once per this many training steps")
    min_accuracy: float = Field(0.2, ge=0, le=1, description="spar only once DIO scores this much at its training level (before that its answers are noise)")
    round_every_h: float = Field(24.0, gt=0, description="a larger sparring round against the deployed champion "
                                 "this often (hours), when the machines are not busy")
    round_problems: int = Field(50, ge=1, le=5000, description="problems per skill in that round")


class RealmConfig(Section):
    """realm.yaml: every setting of a save slot."""

    hero: HeroConfig = Field(default_factory=HeroConfig, description="the hero")
    training: TrainingConfig = Field(default_factory=TrainingConfig, description="how battles train")
    hosts: HostsConfig = Field(default_factory=HostsConfig, description="trainer, inference nodes and storage zones")
    curriculum: CurriculumConfig = Field(default_factory=CurriculumConfig, description="what DIO learns next")
    game: GameRules = Field(default_factory=GameRules, description="game rules")
    retention: RetentionConfig = Field(default_factory=RetentionConfig, description="which checkpoints are kept")
    validation: ValidationConfig = Field(default_factory=ValidationConfig, description="quest data validation")
    daemon: DaemonConfig = Field(default_factory=DaemonConfig, description="the realm daemon")
    evaluation: EvaluationConfig = Field(default_factory=EvaluationConfig, description="checkpoint evaluations")
    sparring: SparringConfig = Field(default_factory=SparringConfig, description="sparring rounds")

    @field_validator("evaluation")
    @classmethod
    def _evaluation_node_exists(cls, v: EvaluationConfig, info: ValidationInfo) -> EvaluationConfig:
        hosts = info.data.get("hosts")  # validated before evaluation (field order)
        nodes = hosts.nodes if isinstance(hosts, HostsConfig) else {}
        if v.node is not None and v.node not in nodes:
            raise ValueError(f"evaluation.node {v.node!r} is not a node of hosts.nodes (known: "
                             f"{', '.join(nodes) or 'none'}); use null for the default node")
        return v


# Values that cannot change once the save has trained: the weights depend on them.
LOCKED_KEYS: tuple[str, ...] = ("hero.base_model", "hero.nano", "training.max_length", "training.method",
                                "training.lora")
