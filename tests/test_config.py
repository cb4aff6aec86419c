"""The process's switches: fast mode and choose."""

import pytest

from whetstone_lab import config


@pytest.mark.parametrize("value, fast", [("1", True), ("true", True), (" Yes ", True),
                                         ("0", False), ("", False), ("no", False)])
def test_fast_mode_reads_whetstone_fast_and_choose_follows_it(monkeypatch, value, fast):
    monkeypatch.setenv("WHETSTONE_FAST", value)
    assert config.fast_mode() is fast
    assert config.choose(30, 3) == (3 if fast else 30)


def test_fast_mode_is_off_without_the_variable(monkeypatch):
    monkeypatch.delenv("WHETSTONE_FAST", raising=False)
    assert config.fast_mode() is False and config.choose("full", "fast") == "full"
