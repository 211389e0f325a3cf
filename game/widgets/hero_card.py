"""Name, level, XP bar, ATK / DEF / ACC, gold, skills (rusty levels marked) and the next goal."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from backend.fmt import fmt_count, fmt_float, fmt_percent
from game.data.tavern import HeroView
from game.render import bar


class HeroCard(Static):
    DEFAULT_CSS = """
    HeroCard { width: 1fr; height: auto; min-height: 6; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__("Opening the realm…", **kwargs)  # type: ignore[arg-type]
        self.hero: HeroView | None = None

    def show(self, hero: HeroView) -> None:
        if hero == self.hero:
            return
        self.hero = hero
        self.update(self.render_hero(hero))

    @staticmethod
    def render_hero(h: HeroView) -> Text:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(h.name, style="bold")
        t.append(f"  Level {h.level}\n", style="bold")
        t.append("XP ")
        t.append(bar(h.xp_into, h.xp_need, 8), style="green")
        t.append(f" {fmt_count(h.xp_into)}/{fmt_count(h.xp_need)}\n")
        t.append("ATK ", style="bold red")
        t.append(f"{fmt_float(h.atk, 1):<8}")
        t.append("DEF ", style="bold blue")
        t.append(f"{fmt_float(h.defense, 1)}\n")
        t.append("ACC ", style="bold cyan")
        acc = fmt_percent(h.acc)
        if h.acc is not None and h.acc_skill:
            acc += f" {h.acc_skill.upper()}"
        t.append(f"{acc:<8} ")
        t.append("Gold ", style="bold yellow")
        t.append(f"{fmt_count(h.gold)}\n")
        skills = " · ".join(f"{s.upper()} {lv}" for s, lv in h.skill_levels) or "none yet"
        t.append(f"Skills {skills}", style="dim")
        if h.rusty:
            t.append("\nRusty " + " ".join(f"{s.upper()} L{lv}" for s, lv in h.rusty), style="bold red")
        if h.goal[0]:
            t.append(f"\nNext {h.goal[0]}", style="italic")
            t.append(f"\n{h.goal[1]}", style="dim italic")
        return t
