"""The Oracle: ask a checkpoint on the inference node; the answer streams in as
Markdown, and the header names the checkpoint that answered (step and short
sha256) as the node confirmed it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from textual import work
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widget import Widget
from textual.widgets import Label, Markdown, Select, Static

from backend.command_kinds import CommandKind
from backend.fmt import fmt_count
from backend.http_client import ModelNotLoaded, ServiceAuthError, ServiceError, ServiceUnavailable
from backend.oracle import Identity, IdentityMismatch, ModelCard, OracleClient, node_settings, node_url
from game.screens.base import RealmScreen
from game.widgets.prompt_area import PromptArea
from game.widgets.line import Line

MAX_TOKENS = 256
QUIZ_SEED_BASE = 7_000_000  # quiz problems come from their own seed space (never a held-out evaluation one)
HISTORY = 8  # messages sent with each question (nano DIO's context is short)


def identity_text(identity: Identity) -> str:
    step = f"step {fmt_count(identity.step)}" if identity.step is not None else "base model"
    return f"{identity.model} · {step} · sha256 {identity.short_sha or '—'}"


def check_level(value: str) -> str | None:
    return None if value.strip().isdigit() and int(value) >= 1 else "a level number: 1 or more"


def fresh_problem(skill_id: str, level: int) -> tuple[Any, Any]:
    """Blocking (a thread): the skill and one new training problem of the level (never an evaluation
    problem held out of training). A LevelOutOfRange names the skill's levels."""
    import random

    from backend.skill_registry import check_level as check_skill_level
    from backend.skill_registry import get_skill, load_skills

    skill = get_skill(load_skills(), skill_id)
    check_skill_level(skill, skill_id, level)
    return skill, skill.sample(level, 1, QUIZ_SEED_BASE + random.randrange(1_000_000))[0]


def explain(exc: BaseException, model: str | None, url: str) -> str:
    """What went wrong, for the player."""
    if isinstance(exc, ModelNotLoaded):
        return f"{model or 'That checkpoint'} is not loaded on the node ({exc.message}). Press ctrl+l to load a checkpoint."
    if isinstance(exc, ServiceUnavailable):
        return (f"The inference node is down or unreachable at {url}. The daemon starts the local node; "
                "check the Tavern's status line (is the daemon running?).")
    if isinstance(exc, ServiceAuthError):
        return f"The node refused the API key ({exc.message}). Set the key named by hosts.inference.api_key_env."
    if isinstance(exc, IdentityMismatch):
        return f"Refused an answer from the wrong checkpoint: {exc}"
    if isinstance(exc, ServiceError):
        return f"The node answered with an error: {exc}"
    return f"{type(exc).__name__}: {exc}"


class OracleScreen(RealmScreen):
    MODE = "oracle"
    BINDINGS = [
        Binding("escape", "cancel", "Leave", tooltip="Cancel the answer / leave the prompt"),
        Binding("ctrl+y", "copy", "Copy", tooltip="Copy the answer", priority=True),  # not the prompt's redo
        Binding("ctrl+l", "load", "Load", tooltip="Load a checkpoint (or the base model)"),
        Binding("ctrl+r", "models", "Refresh", tooltip="Refresh the list of loaded checkpoints"),
        Binding("ctrl+n", "clear", "New chat"),
        Binding("ctrl+t", "quiz", "Quiz", tooltip="Quiz me: the checkpoint answers a fresh problem of a skill and level, "
                "graded by the skill"),
        Binding("ctrl+o", "next_node", "Node", show=False,
                tooltip="Ask another inference node (hosts.nodes): each press picks the next one"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.client: OracleClient | None = None
        self.client_key: tuple[str, str | None] | None = None
        self.models: list[ModelCard] = []
        self.messages: list[dict[str, str]] = []
        self.last_answer = ""
        self.last_identity: Identity | None = None
        self.streaming = False
        self.node_status: str | None = None
        self.deployed: str | None = None  # the daemon's deployed champion, as the database says
        self.deployed_known = False  # read at least once (a first deployment then lists the node again)
        self.note = ""
        self.last_grade: Any = None  # the latest quiz's Grade
        self.turns: list[Any] = []  # game.data.conversation.Turn: the conversation kept with the save
        self.node: str | None = None  # the node asked: None = the default (hosts.inference), else a hosts.nodes name

    def compose_body(self) -> Iterable[Widget]:
        with Horizontal(id="oracle-head"):
            yield Select([], id="oracle-model", prompt="no checkpoint loaded", allow_blank=True)
        yield Line("Nobody has answered yet.", id="oracle-identity")
        yield VerticalScroll(id="conversation", can_focus=True)
        yield PromptArea(placeholder="Ask DIO… (enter sends, ctrl+j a new line, esc leaves)", id="prompt")  # a draft survives

    def on_mount(self) -> None:
        self.query_one("#prompt", PromptArea).focus()
        self.restore_conversation()

    def restore_conversation(self) -> None:
        """The conversation of this save's last session, as it was (answers with who gave them)."""
        from game.data.conversation import chat_path, load_turns

        self.turns = load_turns(chat_path(self.realm.slot.tui_state_path))
        if not self.turns:
            return
        conversation = self.query_one("#conversation", VerticalScroll)
        widgets: list[Widget] = [Static("(the conversation so far, kept with this save; ctrl+n starts a new one)",
                                        classes="turn-note", markup=False)]
        for turn in self.turns:
            if turn.role == "user":
                widgets += [Label("You", classes="turn-user"), Static(turn.content, markup=False)]
            else:
                widgets += [Label(f"DIO · {turn.answered_by or 'an earlier checkpoint'}", classes="turn-dio"),
                            Markdown(turn.content)]
        conversation.mount(*widgets)
        conversation.scroll_end(animate=False)
        self.messages = [{"role": t.role, "content": t.content} for t in self.turns]

    def keep_turns(self, question: str, answer: str, identity: Identity | None) -> None:
        from game.data.conversation import Turn, chat_path, save_turns

        self.turns += [Turn("user", question), Turn("assistant", answer, identity_text(identity) if identity else "")]
        save_turns(chat_path(self.realm.slot.tui_state_path), self.turns)

    def on_screen_resume(self) -> None:
        # (Textual also calls RealmScreen.on_screen_resume: the database look)
        self.action_models()  # what the node serves may have changed while the Oracle was hidden
        # back from another mode or a dialog (the checkpoint picker): typing goes to the prompt,
        # never to the global keys (a "t" in "Greet" must not jump to the Tavern)
        self.query_one("#prompt", PromptArea).focus()

    async def on_unmount(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            await client.aclose()

    @property
    def url(self) -> str:
        config = self.realm.config
        if config is None:
            return "the node"
        return config.hosts.nodes[self.node].url if self.node in config.hosts.nodes else node_url(config, self.realm.slot)

    def action_next_node(self) -> None:
        config = self.realm.config
        names: list[str | None] = [None, *(config.hosts.nodes if config else {})]
        if len(names) == 1:
            self.say("Only one inference node: add more under hosts.nodes in realm.yaml (`realm hosts` lists them).")
            return
        self.node = names[(names.index(self.node) + 1) % len(names)] if self.node in names else None
        self.say(f"Asking {self.node or 'the default node'} now ({self.url}).")
        self.action_models()

    def get_client(self) -> OracleClient:
        """A client for the node as realm.yaml and run/node.key say now (the daemon writes
        the local node's key when it first starts the node; realm.yaml may change)."""
        assert self.realm.config is not None
        settings = node_settings(self.realm.slot, self.realm.config, self.node)
        key = (settings.base_url, settings.api_key)
        if self.client is None or key != self.client_key:
            old, self.client = self.client, OracleClient(settings.base_url, settings.api_key,
                                                         timeout_s=settings.timeout_s, retries=settings.retries)
            self.client_key = key
            if old is not None:
                self.run_worker(old.aclose(), group="oracle-close")
        return self.client

    async def refresh_data(self) -> None:
        """The node's status and the deployed champion as the daemon last saw them; when the
        node comes up or the daemon deploys another champion, list the node's models again."""
        app = self.realm
        if app.store is None:
            return
        node = await app.store.services.get("inference_node")
        status = node.status if node else None
        deployed = await self.deployed_model()
        changed = (status != self.node_status and self.node_status is not None and status == "up") or \
            (deployed != self.deployed and self.deployed_known)
        self.node_status, self.deployed, self.deployed_known = status, deployed, True
        if changed:
            self.action_models()

    # ----- models ----------------------------------------------------------------------------

    async def deployed_model(self) -> str | None:
        store = self.realm.store
        step = await store.meta.deployed_step() if store is not None else None
        return f"checkpoint-{step}" if step is not None else None

    def action_models(self) -> None:
        if self.realm.config is None:
            self.app.call_later(self.action_models)  # not booted yet
            return
        self.list_models()

    @work(exclusive=True, group="oracle-models", exit_on_error=False)
    async def list_models(self, select: str | None = None) -> None:
        try:
            self.deployed, self.deployed_known = await self.deployed_model(), True
            models = await self.get_client().models()
        except Exception as exc:  # noqa: BLE001 - shown to the player
            self.models = []
            self.set_options([])
            self.say(explain(exc, None, self.url))
            return
        self.models = models
        self.set_options(models, select)
        if not models:
            self.say("No checkpoint is loaded on the node. Press ctrl+l to load one.")

    def set_options(self, models: list[ModelCard], select: str | None = None) -> None:
        widget = self.query_one("#oracle-model", Select)
        current = widget.value if isinstance(widget.value, str) else None
        options = []
        for m in models:
            step = f"step {fmt_count(m.step)}" if m.step is not None else "base"
            options.append((f"{m.id}  ({step}, sha256 {(m.sha256 or '')[:12] or '—'})", m.id))
        widget.set_options(options)
        ids = [m.id for m in models]
        choice = select if select in ids else current if current in ids else self.preferred(ids)
        if choice is not None:
            widget.value = choice

    def preferred(self, ids: list[str]) -> str | None:
        """The deployed champion when it is loaded, else the newest checkpoint loaded."""
        if not ids:
            return None
        if self.deployed in ids:
            return self.deployed
        steps = sorted((int(i.split("-")[1]) for i in ids if i.startswith("checkpoint-") and i[11:].isdigit()), reverse=True)
        return f"checkpoint-{steps[0]}" if steps else ids[0]

    def selected_model(self) -> str | None:
        value = self.query_one("#oracle-model", Select).value
        return value if isinstance(value, str) else None

    def action_load(self) -> None:
        from game.screens.pick_checkpoint import BASE, PickCheckpointScreen

        def chosen(step: int | str | None) -> None:
            if step is None:
                return
            model = "base" if step == BASE else f"checkpoint-{step}"
            payload: dict[str, Any] = {"base": True} if step == BASE else {"step": step}
            where = f"node {self.node}" if self.node else "the node"
            if self.node:
                payload["node"] = self.node
            self.say(f"Loading {model} on {where}…")
            self.realm.send(CommandKind.NODE_LOAD, payload, done=f"{model} loaded on {where}",
                            on_done=lambda _cmd: self.list_models(model))

        self.app.push_screen(PickCheckpointScreen("Load which checkpoint on the node?", with_base=True), chosen)

    # ----- quiz ------------------------------------------------------------------------------

    def action_quiz(self) -> None:
        """A fresh problem of a chosen skill and level, asked as the skill writes it (SY puzzles keep
        their lines) and graded by the skill's own grader."""
        from game.screens.ask_value import AskValueScreen
        from game.screens.pick_skill import PickSkillScreen

        model = self.selected_model()
        if model is None:
            self.say("Choose a checkpoint first (none is loaded? ctrl+l loads one).")
            return

        def level_chosen(skill_id: str, value: str | None) -> None:
            if value is not None:
                self.quiz(model, skill_id, int(value))
            self.query_one("#prompt", PromptArea).focus()

        def skill_chosen(skill_id: str | None) -> None:
            if skill_id is None:
                self.query_one("#prompt", PromptArea).focus()
                return
            stats = self.realm.feed.stats if self.realm.feed else None
            progress = stats.progress.get(skill_id) if stats else None
            level = progress.training_level if progress else 1
            self.app.push_screen(AskValueScreen(f"Quiz on {skill_id.upper()}", "Which level (its training level now):",
                                                str(level), check_level), lambda v: level_chosen(skill_id, v))

        self.app.push_screen(PickSkillScreen("Quiz DIO on which skill?"), skill_chosen)

    @work(exclusive=True, group="oracle-quiz", exit_on_error=False)
    async def quiz(self, model: str, skill_id: str, level: int) -> None:
        if self.streaming:
            self.notify("DIO is still answering: esc cancels.", severity="warning")
            return
        try:
            skill, problem = await asyncio.to_thread(fresh_problem, skill_id, level)
        except Exception as exc:  # noqa: BLE001 - a bad level or a broken skill file, said plainly
            self.say(f"No quiz: {exc}")
            return
        conversation = self.query_one("#conversation", VerticalScroll)
        header = Label(f"DIO · asking {model}…", classes="turn-dio")
        answer = Markdown("")
        question = problem.messages[-1].content
        conversation.mount(Label(f"Quiz · {skill_id.upper()} L{level}", classes="turn-user"),
                           Static(question, markup=False), header, answer)
        conversation.scroll_end(animate=False)
        self.streaming = True
        self.chat(model, [m.model_dump() for m in problem.messages], header, answer, quiz=(skill, problem))

    # ----- chat ------------------------------------------------------------------------------

    def on_prompt_area_submitted(self, event: PromptArea.Submitted) -> None:
        question = event.value.strip()
        if not question:
            return
        if self.streaming:
            self.notify("DIO is still answering: esc cancels.", severity="warning")
            return
        model = self.selected_model()
        if model is None:
            self.say("Choose a checkpoint first (none is loaded? ctrl+l loads one).")
            return
        event.area.value = ""
        self.ask(model, question)

    def ask(self, model: str, question: str) -> None:
        conversation = self.query_one("#conversation", VerticalScroll)
        self.messages.append({"role": "user", "content": question})
        header = Label(f"DIO · asking {model}…", classes="turn-dio")
        answer = Markdown("")
        conversation.mount(Label("You", classes="turn-user"), Static(question, markup=False), header, answer)
        conversation.scroll_end(animate=False)
        self.streaming = True
        self.chat(model, self.messages[-HISTORY:], header, answer)

    @work(exclusive=True, group="oracle-chat", exit_on_error=False)
    async def chat(self, model: str, messages: list[dict[str, str]], header: Label, answer: Markdown,
                   quiz: tuple[Any, Any] | None = None) -> None:
        """Stream one answer. A quiz (skill, problem) is graded and never joins the conversation's history."""
        stream = Markdown.get_stream(answer)
        text: list[str] = []
        identity: Identity | None = None
        outcome = "cancelled"
        try:
            async for delta in self.get_client().stream_chat(model, messages, max_tokens=MAX_TOKENS):
                if identity is None:
                    identity = delta.identity
                    header.update(f"DIO · {identity_text(identity)}")
                    self.query_one("#oracle-identity", Line).set(f"Answered by {identity_text(identity)} (confirmed by the node)")
                if delta.text:
                    text.append(delta.text)
                    await stream.write(delta.text)
            outcome = "done"
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except Exception as exc:  # noqa: BLE001 - shown to the player
            outcome = "error"
            header.update("DIO · no answer")
            self.say(explain(exc, model, self.url))
            if isinstance(exc, ModelNotLoaded):
                self.list_models()  # the node dropped it (a new champion was deployed?): offer what it serves now
        finally:
            await stream.stop()
            self.streaming = False
            full = "".join(text)
            if outcome == "cancelled":
                if identity is None:
                    header.update("DIO · cancelled")
                if full:
                    await answer.append("\n\n*(cancelled)*")
            answered = outcome == "done" and identity is not None
            if answered and not full:
                await answer.update("*(DIO answered with nothing)*")
            if quiz is not None:
                if answered:
                    await self.show_grade(*quiz, full)
            elif answered or full:
                if self.messages and self.messages[-1]["role"] == "user":
                    self.keep_turns(self.messages[-1]["content"], full, identity)
                self.messages.append({"role": "assistant", "content": full})
                self.last_answer = full
                self.last_identity = identity
            elif self.messages and self.messages[-1]["role"] == "user":
                question = self.messages.pop()["content"]  # nothing came back: ask again without a dangling turn
                self.give_back(question)
            self.query_one("#conversation", VerticalScroll).scroll_end(animate=False)

    async def show_grade(self, skill: Any, problem: Any, answer: str) -> None:
        grade = await asyncio.to_thread(skill.grade, problem, answer)
        mark = "right" if grade.correct else (f"{grade.score:.0%} right" if grade.score else "wrong")
        if "✓" not in grade.detail and "✗" not in grade.detail:  # BIN's detail carries its own mark
            mark = ("✓ " if grade.correct else "✗ ") + mark
        gloss = f" · {problem.note}" if problem.note else ""
        line = Static(f"{mark} · {grade.detail}{gloss}", markup=False,
                      classes="turn-grade " + ("ok" if grade.correct else "error"))
        self.last_grade = grade
        await self.query_one("#conversation", VerticalScroll).mount(line)

    def give_back(self, question: str) -> None:
        """Put an unanswered question back in an empty prompt, so enter asks it again."""
        prompt = self.query_one("#prompt", PromptArea)
        if not prompt.value:
            prompt.value = question

    def action_cancel(self) -> None:
        if self.streaming:
            for worker in self.workers:
                if worker.group == "oracle-chat":
                    worker.cancel()
            self.notify("Answer cancelled.")
            return
        prompt = self.query_one("#prompt", PromptArea)
        if prompt.has_focus:
            self.query_one("#conversation").focus()
        else:
            prompt.focus()

    def action_copy(self) -> None:
        if not self.last_answer:
            self.notify("No answer to copy yet.", severity="warning")
            return
        self.app.copy_to_clipboard(self.last_answer)
        who = f" from {self.last_identity.model}" if self.last_identity else ""
        self.notify(f"Copied the last answer{who} ({len(self.last_answer)} characters) to the clipboard (OSC 52).")

    def action_clear(self) -> None:
        if self.streaming:
            self.action_cancel()
        self.messages.clear()
        if self.turns:
            from game.data.conversation import chat_path, save_turns

            self.turns = []
            save_turns(chat_path(self.realm.slot.tui_state_path), [])
        self.query_one("#conversation", VerticalScroll).remove_children()
        self.query_one("#oracle-identity", Line).set("Nobody has answered yet.")

    def say(self, text: str) -> None:
        """A note from the Oracle screen itself (errors, hints) in the conversation."""
        if text == self.note:
            return
        self.note = text
        conversation = self.query_one("#conversation", VerticalScroll)
        conversation.mount(Static(text, classes="turn-note", markup=False))
        conversation.scroll_end(animate=False)

    def notes(self) -> list[str]:
        return [str(w.content) for w in self.query(".turn-note").results(Static)]
