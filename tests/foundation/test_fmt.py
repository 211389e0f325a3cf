from backend.fmt import fmt_bytes, fmt_count, fmt_duration, fmt_float, fmt_percent


def test_counts() -> None:
    assert [fmt_count(n) for n in (0, 999, 1234, 999_999, 1_500_000, 2_000_000_000)] == [
        "0", "999", "1,234", "999,999", "1.50M", "2.00B"]
    assert fmt_count(None) == "—" and fmt_count(-1234) == "-1,234"


def test_durations() -> None:
    assert [fmt_duration(s) for s in (0, 42, 185, 7800, 273600)] == ["0s", "42s", "3m 05s", "2h 10m", "3d 4h"]
    assert fmt_duration(None) == "—"


def test_floats_and_percent_and_bytes() -> None:
    assert fmt_float(1.23456, 3) == "1.235"
    assert fmt_float(0.00003, 2) == "3.0e-05"
    assert fmt_percent(0.8) == "80%"
    assert fmt_bytes(3 * 1024 * 1024) == "3.0 MB"
