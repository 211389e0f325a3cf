from pathlib import Path

import yaml

from backend.config import RealmConfig, check_config, load_config, render_config
from backend.config.edit import set_value
from backend.errors import ConfigError


def test_template_is_valid_and_commented() -> None:
    text = render_config()
    assert RealmConfig.model_validate(yaml.safe_load(text)) == RealmConfig()
    assert "# peak learning rate" in text
    assert text.count("#") > 60


def test_check_reports_five_kinds_of_mistakes_with_paths(tmp_path: Path) -> None:
    cfg = tmp_path / "realm.yaml"
    cfg.write_text(
        "hero:\n"
        "  nmae: Dio\n"                    # 1 unknown key (typo)
        "training:\n"
        "  learning_rate: -0.5\n"          # 2 out of range
        "  precision: fp16\n"              # 3 not one of the choices
        "  grad_accum: lots\n"             # 4 wrong type
        "hosts:\n"
        "  inference:\n"
        "    url: ftp://node:9\n",         # 5 invalid value (custom rule)
        encoding="utf-8",
    )
    config, problems = check_config(cfg, {})
    assert config is None
    by_path = {p.path: p for p in problems}
    assert set(by_path) == {
        "hero.nmae", "training.learning_rate", "training.precision", "training.grad_accum", "hosts.inference.url",
    }
    assert "did you mean 'name'" in by_path["hero.nmae"].fix
    assert "greater than 0" in by_path["training.learning_rate"].what
    assert "'auto', 'bf16' or 'fp32'" in by_path["training.precision"].fix
    assert "grad_accum: 1" in by_path["training.grad_accum"].fix
    assert "http://" in by_path["hosts.inference.url"].what
    assert by_path["training.precision"].where.endswith("realm.yaml:5")


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    cfg = tmp_path / "realm.yaml"
    cfg.write_text("training:\n  learning_rate: [1, 2\n", encoding="utf-8")
    _, problems = check_config(cfg, {})
    assert len(problems) == 1 and "YAML syntax" in problems[0].what
    assert ":3:" in problems[0].where or ":2:" in problems[0].where


def test_environment_overrides(tmp_path: Path) -> None:
    cfg = tmp_path / "realm.yaml"
    cfg.write_text(render_config(), encoding="utf-8")
    env = {"REALM_TRAINING__LEARNING_RATE": "1e-4", "REALM_HOSTS__INFERENCE__URL": "http://gpu-box:8765",
           "REALM_CURRICULUM__SKILLS__BIN__WEIGHT": "3", "REALM_SAVE": "/ignored"}
    config = load_config(cfg, env)
    assert config.training.learning_rate == 1e-4
    assert config.hosts.inference.url == "http://gpu-box:8765"
    assert config.curriculum.skills["bin"].weight == 3


def test_bad_environment_override_names_variable(tmp_path: Path) -> None:
    cfg = tmp_path / "realm.yaml"
    cfg.write_text("", encoding="utf-8")
    _, problems = check_config(cfg, {"REALM_TRAINING__SAVE_EVERY": "often"})
    assert problems[0].path == "training.save_every"
    assert problems[0].where == "$REALM_TRAINING__SAVE_EVERY"
    try:
        load_config(cfg, {"REALM_TRAINING__SAVE_EVERY": "often"})
    except ConfigError as exc:
        assert "training.save_every" in str(exc)
    else:
        raise AssertionError("load_config accepted a bad override")


def test_set_value_keeps_comments_and_refuses_bad_values(tmp_path: Path) -> None:
    cfg = tmp_path / "realm.yaml"
    cfg.write_text(render_config(), encoding="utf-8")
    config, problems = set_value(cfg, "training.learning_rate", "0.0005")
    assert problems == [] and config.training.learning_rate == 0.0005
    text = cfg.read_text(encoding="utf-8")
    assert "learning_rate: 0.0005" in text and "# peak learning rate" in text
    before = cfg.read_bytes()
    config, problems = set_value(cfg, "training.schedule", "sawtooth")
    assert config is None and problems[0].path == "training.schedule"
    assert cfg.read_bytes() == before
