"""Quest validation gates (issue 5, item 3): a library the daemon calls.

    from backend.validation import validate_quest, write_quarantine

    report = validate_quest(path, level="standard", policy="quarantine", max_bad_fraction=0.2,
                            max_length=512, tokenizer_file=model_dir / "tokenizer.json")
    if report.verdict == "quarantine":
        write_quarantine(report, path, quarantine_path=..., clean_path=...)

- `spec.SpecValidator`: which schema a file speaks (declared or detected), per-line schema checks.
- `data.DataValidator`: the streaming pass, QUICK / STANDARD / DEEP, and the verdict.
- `reasons.REASONS`: the stable reason-code vocabulary (code -> scope, title, fix).
- `limits.ValidationLimits`: every limit, documented and configurable.
- `report.ValidationReport`: the JSON-serialisable report.
- `quarantine.write_quarantine`: bad lines to a sidecar, good lines to a clean file, atomically.
"""

from backend.validation.data import VALIDATOR_NAME, VALIDATOR_VERSION, DataValidator, ValidationCancelled, validate_quest
from backend.validation.deep import EvalIndex, skills_eval_index
from backend.validation.fileguard import Sidecar, load_sidecar
from backend.validation.limits import ValidationLimits
from backend.validation.quarantine import QuarantineError, QuarantineResult, write_quarantine
from backend.validation.reasons import FILE_CODES, LINE_CODES, REASONS, WARNING_CODES, Reason
from backend.validation.report import BadLine, Counts, Issue, TokenStats, ValidationReport
from backend.validation.spec import SCHEMAS, SpecValidator

__all__ = [
    "FILE_CODES", "LINE_CODES", "REASONS", "SCHEMAS", "VALIDATOR_NAME", "VALIDATOR_VERSION", "WARNING_CODES",
    "BadLine", "Counts", "DataValidator", "EvalIndex", "Issue", "QuarantineError", "QuarantineResult", "Reason",
    "Sidecar", "SpecValidator", "TokenStats", "ValidationCancelled", "ValidationLimits", "ValidationReport", "load_sidecar",
    "skills_eval_index", "validate_quest", "write_quarantine",
]
