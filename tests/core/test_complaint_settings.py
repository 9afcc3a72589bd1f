"""``RIVERCHIEF_COMPLAINT_LIMIT`` and ``RIVERCHIEF_PUBLIC_URL``: read once, refused when wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.complaint_settings import ComplaintSettings, from_env
from core.settings import SettingsError


def test_nothing_set_gives_five_an_hour_and_a_local_page() -> None:
    settings = from_env({})

    assert settings == ComplaintSettings(limit=5, window=timedelta(hours=1))
    assert settings.complaint_url("daoliu_luobu") == (
        "http://localhost:8000/complain?segment=daoliu_luobu"
    )


def test_a_limit_and_a_public_url_are_read() -> None:
    settings = from_env(
        {
            "RIVERCHIEF_COMPLAINT_LIMIT": "20/day",
            "RIVERCHIEF_PUBLIC_URL": "https://hezhang.example.cn/weixin/",
        }
    )

    assert (settings.limit, settings.window) == (20, timedelta(days=1))
    assert settings.complaint_url("a b/c") == (
        "https://hezhang.example.cn/weixin/complain?segment=a%20b%2Fc"
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RIVERCHIEF_COMPLAINT_LIMIT", "5"),
        ("RIVERCHIEF_COMPLAINT_LIMIT", "0/hour"),
        ("RIVERCHIEF_COMPLAINT_LIMIT", "5/week"),
        ("RIVERCHIEF_PUBLIC_URL", "ftp://example.cn"),
        ("RIVERCHIEF_PUBLIC_URL", "https://example.cn/?x=1"),
    ],
)
def test_a_malformed_value_is_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        from_env({name: value})
