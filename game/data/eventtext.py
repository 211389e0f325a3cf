"""One line of text per event, for the Tavern's chronicle and the toasts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.event_kinds import EventKind, icon_for
from backend.fmt import fmt_bytes, fmt_count, fmt_duration, fmt_float, fmt_percent


def _skill(p: dict[str, Any]) -> str:
    skill = p.get("skill")
    if not skill:
        return ""
    level = p.get("level")
    return f" ({str(skill).upper()} L{level})" if level is not None else f" ({str(skill).upper()})"


def transfer_text(p: dict[str, Any]) -> str:
    """📦 Checkpoint 400 to nas: 45 % (1.2 GB of 2.7 GB) / ... copied to nas (2.7 GB, verified)."""
    where = f"to {p.get('zone')}" if p.get("direction") == "push" else f"from {p.get('zone')}"
    head = f"Checkpoint {fmt_count(p.get('step'))} {where}"
    total = p.get("total_bytes") or 0
    if p.get("finished"):
        why = f" ({p['why']})" if p.get("why") else ""
        return f"{head}: copied and verified, {fmt_bytes(total)}{why}"
    share = (p.get("done_bytes") or 0) / total if total else 0.0
    return f"{head}: {share:.0%} ({fmt_bytes(p.get('done_bytes'))} of {fmt_bytes(total)})"


def _name(p: dict[str, Any]) -> str:
    return str(p.get("name") or f"#{p.get('quest_id', '?')}")


TEXT: dict[str, Callable[[dict[str, Any]], str]] = {
    EventKind.SAVE_CREATED: lambda p: f"The realm is founded for {p.get('hero', 'the hero')}",
    EventKind.HERO_CREATED: lambda p: f"The hero awakens ({fmt_count(p.get('parameters'))} parameters)",
    EventKind.DAEMON_STARTED: lambda p: f"The daemon wakes (pid {p.get('pid')})",
    EventKind.DAEMON_STOPPED: lambda p: f"The daemon rests (pid {p.get('pid')}: {p.get('reason', 'stopped')})",
    EventKind.QUEST_ADDED: lambda p: f"Quest posted: {_name(p)}",
    EventKind.QUEST_QUEUED: lambda p: f"Quest queued: {_name(p)} [{p.get('priority', 'normal')}]"
    + (f", {fmt_count(p['examples'])} examples" if p.get("examples") is not None else ""),
    EventKind.QUEST_STARTED: lambda p: f"Battle begins: {_name(p)}{_skill(p)}"
    + (f", with {len(p['riders'])} small quest(s) riding along" if p.get("riders") else ""),
    EventKind.QUEST_COMPLETED: lambda p: f"Quest complete: {_name(p)}{_skill(p)}"
    + (f", rode with quest #{p['rode_with']}" if p.get("rode_with") else
       f" in {fmt_count(p['steps'])} steps" if p.get("steps") is not None else ""),
    EventKind.QUEST_FAILED: lambda p: f"Quest failed: {_name(p)}: {p.get('reason', '')}",
    EventKind.QUEST_RETRIED: lambda p: f"Quest retried: {_name(p)}",
    EventKind.QUEST_DELETED: lambda p: f"Quest deleted: {_name(p)}" + (f" ({p['reason']}: a new one replaces it)"
                                                                      if p.get("reason") else ""),
    EventKind.QUEST_PRIORITY: lambda p: f"Quest {_name(p)} is now {p.get('priority')} priority",
    EventKind.BATTLE_PAUSED: lambda p: "Battle paused" + (f" ({p['reason']})" if p.get("reason") else ""),
    EventKind.BATTLE_RESUMED: lambda p: "Battle resumed",
    EventKind.BATTLE_STOPPED: lambda p: f"Battle stopped at step {fmt_count(p.get('step'))}",
    EventKind.ENGINE_CRASHED: lambda p: f"The engine crashed: {p.get('error', '')}"
    + (f"; retrying in {fmt_duration(p['restart_in_s'])}" if p.get("restart_in_s") is not None else ""),
    EventKind.CHECKPOINT_SAVED: lambda p: f"Checkpoint {fmt_count(p.get('step'))} saved"
    + (f", loss {fmt_float(p['train_loss'], 3)}" if p.get("train_loss") is not None else ""),
    EventKind.CHECKPOINT_DELETED: lambda p: f"Checkpoint {fmt_count(p.get('step'))} removed ({p.get('reason', '')})"
    + (f"; a copy stays in {', '.join(p['kept_in'])}" if p.get("kept_in") else ""),
    EventKind.CHECKPOINT_TRANSFER: lambda p: transfer_text(p),
    "checkpoint_evaluated": lambda p: f"Checkpoint {fmt_count(p.get('step'))} evaluated",
    EventKind.EVALUATION: lambda p: f"Trial of {str(p.get('skill', '?')).upper()} L{p.get('level')}: "
    f"{fmt_percent(p.get('accuracy'))} ({p.get('correct')}/{p.get('total')})"
    + (f", {fmt_percent(p['score'])} partial credit" if isinstance(p.get("score"), (int, float))
       and p["score"] > (p.get("accuracy") or 0) + 1e-9 else "")
    + f" at step {fmt_count(p.get('step'))}",
    EventKind.SKILL_LEVEL_UP: lambda p: f"{str(p.get('skill', '?')).upper()} mastered level {p.get('level')}!",
    EventKind.SKILL_RUSTY: lambda p: f"{str(p.get('skill', '?')).upper()} L{p.get('level')} is rusty: its last re-checks "
    f"average {fmt_percent(p.get('mean_accuracy'))}; DIO trains it again until it passes",
    EventKind.SKILL_RESTORED: lambda p: f"{str(p.get('skill', '?')).upper()} L{p.get('level')} restored "
    f"({fmt_percent(p.get('mean_accuracy'))} over its last evaluations)",
    EventKind.QUEST_TESTED: lambda p: quest_tested_text(p),
    EventKind.LEVEL_UP: lambda p: f"Level up! DIO reaches level {p.get('level')}",
    EventKind.CHAMPION: lambda p: f"New champion: checkpoint-{p.get('step')}"
    + (f" ({fmt_percent(p['accuracy'])})" if p.get("accuracy") is not None else ""),
    EventKind.DEPLOYED: lambda p: f"checkpoint-{p.get('step')} deployed to the inference node",
    EventKind.ACHIEVEMENT: lambda p: f"Achievement unlocked: {p.get('name', p.get('id'))}",
    EventKind.CONFIG_LOCKED: lambda p: "Hero settings locked (the save has trained)",
    EventKind.CONFIG_FORCED: lambda p: f"Locked setting {p.get('key')} changed by force",
    EventKind.DATABASE_RESTORED: lambda p: (f"The database was restored from a backup ({p.get('reason', 'damaged')}); "
                                            f"lost: {p.get('lost', 'unknown')}") if p.get("backup") else
    f"The database could not be used ({p.get('reason', 'damaged')}) and no backup existed; lost: {p.get('lost', 'unknown')}",
    EventKind.SPARRING: lambda p: f"Sparring at step {fmt_count(p.get('step'))}: {p.get('wrong', 0)} wrong answers to train on",
    EventKind.SPARRING_DROPPED: lambda p: f"Old sparring quest {_name(p)} dropped",
    EventKind.DISK_LOW: lambda p: f"Disk low: {fmt_float(p.get('free_gb'), 1)} GB free, "
    f"{fmt_float(p.get('needed_gb'), 1)} GB needed; training paused",
    EventKind.NODE_STATUS: lambda p: f"Inference node {p.get('status')}" + (f" ({p['url']})" if p.get("url") else ""),
    EventKind.PLAN_CHANGED: lambda p: plan_text(p),
    EventKind.WARNING: lambda p: f"{p.get('source', 'warning')}: {p.get('message', '')}",
}


def plan_text(p: dict[str, Any]) -> str:
    """A change of the curriculum or of one skill's plan, in words: e.g. "SY rests: no new SY quests"."""
    skill = str(p.get("skill") or "").upper()
    parts = []
    if p.get("strategy") is not None:
        parts.append(f"the curriculum follows the {p['strategy']} strategy")
    if p.get("focus") is not None:
        parts.append(f"it focuses on {str(p['focus']).upper()}")
    if p.get("enabled") is True:
        parts.append(f"{skill} trains again")
    elif p.get("enabled") is False:
        parts.append(f"{skill} rests: no new {skill} quests")
    if p.get("weight") is not None:
        parts.append(f"{skill}'s share of the quests is weighted {fmt_float(p['weight'], 2)}")
    if p.get("priority") is not None:
        parts.append(f"{skill}'s priority is now {p['priority']}")
    text = "; ".join(parts) or "the plan is unchanged"
    return text[0].upper() + text[1:]


def quest_tested_text(p: dict[str, Any]) -> str:
    """E.g. "DIO answers 7 of 10 sampled lines of greetings.jsonl (similarity 84 %); 1 of 3 held-out"."""
    seen, held = p.get("seen") or {}, p.get("held_out") or {}
    text = (f"DIO answers {seen.get('exact', 0)} of {seen.get('total', 0)} sampled lines of {p.get('name', '?')} "
            f"(similarity {fmt_percent(seen.get('similarity'))}) at step {fmt_count(p.get('step'))}")
    if held.get("total"):
        text += f"; {held.get('exact', 0)} of {held['total']} held-out lines ({fmt_percent(held.get('similarity'))})"
    return text


def describe(kind: str, payload: dict[str, Any]) -> str:
    """The event as one line of text (without its icon)."""
    render = TEXT.get(kind)
    if render is None:
        return kind.replace("_", " ")
    try:
        return render(payload)
    except (KeyError, TypeError, ValueError):
        return kind.replace("_", " ")


def line(kind: str, payload: dict[str, Any]) -> str:
    return f"{icon_for(kind)} {describe(kind, payload)}"


# Event kinds that raise a toast when they arrive while the app is open.
TOAST_KINDS: dict[str, str] = {
    EventKind.QUEST_COMPLETED: "information",
    EventKind.LEVEL_UP: "information",
    EventKind.SKILL_LEVEL_UP: "information",
    EventKind.QUEST_TESTED: "information",
    EventKind.CHAMPION: "information",
    EventKind.ACHIEVEMENT: "information",
    EventKind.QUEST_FAILED: "warning",
    EventKind.ENGINE_CRASHED: "warning",
    EventKind.DISK_LOW: "warning",
}

TOAST_TITLES: dict[str, str] = {
    EventKind.QUEST_COMPLETED: "Quest complete",
    EventKind.LEVEL_UP: "Level up",
    EventKind.SKILL_LEVEL_UP: "Skill level up",
    EventKind.QUEST_TESTED: "Quest tested",
    EventKind.CHAMPION: "New champion",
    EventKind.ACHIEVEMENT: "Achievement unlocked",
    EventKind.QUEST_FAILED: "Quest failed",
    EventKind.ENGINE_CRASHED: "Engine crashed",
    EventKind.DISK_LOW: "Disk low",
}
