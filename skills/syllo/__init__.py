"""SY, Word Weaving: syllacrostic puzzles.

A pool of syllables and 4 or more target words whose first letters spell a
hidden word. Built-in generator named by skills/sy.yaml
(`generator.module: skills.syllo`). The training engine imports
`syllo_to_chat` to train on syllo_v1 files; the daemon's validators import
`validate_syllo`.
"""

from skills.syllo.render import golden_answer, syllo_to_chat
from skills.syllo.skill import SyLevel, SySkill, create_skill
from skills.syllo.validate import validate_syllo

GENERATOR_ID = SySkill.GENERATOR_ID
GENERATOR_VERSION = SySkill.GENERATOR_VERSION

__all__ = [
    "GENERATOR_ID", "GENERATOR_VERSION", "SyLevel", "SySkill",
    "create_skill", "golden_answer", "syllo_to_chat", "validate_syllo",
]
