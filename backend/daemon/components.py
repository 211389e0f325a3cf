"""Assembling the daemon's parts."""

from __future__ import annotations

from backend.daemon.battle import BattleLoop
from backend.daemon.battle_ops import register_battle_ops
from backend.daemon.champion import Champion
from backend.daemon.chores import chore_tasks
from backend.daemon.command_loop import CommandLoop
from backend.daemon.component import Component
from backend.daemon.context import DaemonContext
from backend.daemon.dispatch import Dispatcher
from backend.daemon.evaluation import Evaluator
from backend.daemon.generation import Generator
from backend.daemon.heartbeat import HeartbeatLoop
from backend.daemon.inbox import InboxLoop
from backend.daemon.node_manager import NodeManager
from backend.daemon.pipeline import QuestPipeline
from backend.daemon.quest_tests import QuestTester
from backend.daemon.queue_ops import register_queue_ops
from backend.daemon.settings_ops import register_settings_ops
from backend.daemon.sparring import Sparring
from backend.daemon.taskmaster import TaskMaster
from backend.daemon.upkeep import upkeep_tasks
from backend.daemon.vault_ops import register_vault_ops
from backend.daemon.zone_ops import register_zone_ops, zone_tasks


def build_components(ctx: DaemonContext) -> list[Component]:
    dispatcher = Dispatcher(ctx)
    pipeline = QuestPipeline(ctx)
    node = NodeManager(ctx)
    battle = BattleLoop(ctx, pipeline, node_pid=lambda: node.proc.pid if node.proc else None)
    generator = Generator(ctx, pipeline)
    battle.before_next = generator.settle_queue  # a queued quest the last checkpoint overtook gives way first
    champion = Champion(ctx, node)
    evaluator = Evaluator(ctx, node, after=champion.consider)
    sparring = Sparring(ctx, node, pipeline)
    tester = QuestTester(ctx, node)
    register_queue_ops(dispatcher, pipeline)
    register_battle_ops(dispatcher, battle)
    register_settings_ops(dispatcher)
    register_vault_ops(dispatcher, node)
    register_zone_ops(dispatcher)
    generator.register(dispatcher)
    champion.register(dispatcher)
    tasks = TaskMaster(ctx, [*upkeep_tasks(), *zone_tasks(), *chore_tasks(node, pipeline), generator.task(), evaluator.task(),
                             sparring.task(), sparring.round_task(), tester.task(), champion.warmup_task()],
                       inference_busy=node.busy, node_utilisation=lambda: node.utilisation)
    tasks.register(dispatcher)
    sparring.register(dispatcher)
    return [HeartbeatLoop(ctx), CommandLoop(ctx, dispatcher), node, InboxLoop(ctx, pipeline), battle, tasks]
