"""The skill API: an HTTP contract any skill can be served over and used through.

Routes (JSON):
- ``GET /info`` -> SkillInfo
- ``POST /sample`` {level, count, seed, start=0} -> {"problems": [Problem, ...]} (count <= 10,000)
- ``GET /eval_set/{level}`` -> {"problems": [...]}
- ``POST /grade`` {problem, answer} -> Grade
- ``GET /health`` -> {"ok": true, "skill": id}

Errors are HTTP 400 (or 422 for a malformed body) with ``{"detail": message}``.
``server.create_app(skill)`` serves a skill; ``client.RemoteSkill`` uses one and
implements the same skills.base.Skill protocol as a built-in skill.
"""
