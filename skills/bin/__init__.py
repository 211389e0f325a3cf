"""BIN, Binary Alchemy: binary arithmetic in circled notation (⓪ and ①).

Built-in generator named by skills/bin.yaml (`generator.module: skills.bin`).
"""

from skills.bin.notation import from_circled, to_circled
from skills.bin.skill import BinLevel, BinSkill, create_skill

GENERATOR_ID = BinSkill.GENERATOR_ID
GENERATOR_VERSION = BinSkill.GENERATOR_VERSION

__all__ = ["GENERATOR_ID", "GENERATOR_VERSION", "BinLevel", "BinSkill", "create_skill", "from_circled", "to_circled"]
