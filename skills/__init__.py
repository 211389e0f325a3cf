"""Skills: what DIO learns. Pure Python: no torch, no network, no I/O beyond skills' own data files.

- skills/<id>.yaml: the single source of truth of a skill (skills/_template.yaml documents it).
- skills.base: the Skill protocol (info, sample, eval_set, grade), Problem, Grade, SkillInfo.
- skills.spec: the YAML model and loader; skills.catalog: builds built-in skills.
- skills.generated: seeding, evaluation sets and eval/train separation for built-ins.
- skills.bin (BIN, Binary Alchemy) and skills.syllo (SY, Word Weaving): the generators.

backend.skill_registry.load_skills() is the one way the rest of the system gets skills.
"""
