"""Evidence files: the kind told from the bytes, the EXIF time and place, the store, and the
settings that place it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.evidence_files import (
    JPEG,
    PDF,
    PNG,
    WEBP,
    EvidenceStore,
    PhotoFacts,
    TooLarge,
    photo_facts,
    sniff,
)
from core.settings import Settings, SettingsError
from tests.evidence import photo

BASE = {"RIVERCHIEF_ENV": "test", "RIVERCHIEF_SECRET": "s" * 40}


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", JPEG),
        (b"\x89PNG\r\n\x1a\n\x00\x00", PNG),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", WEBP),
        (b"%PDF-1.7\n", PDF),
        (b"GIF89a", None),
        (b"<svg xmlns=", None),
        (b"<html><script>", None),
        (b"RIFF\x10\x00\x00\x00WAVEfmt ", None),
        (b"", None),
    ],
)
def test_the_kind_is_told_from_the_first_bytes(head: bytes, kind: str | None) -> None:
    assert sniff(head) == kind


def test_a_photo_says_when_and_where_it_was_taken() -> None:
    taken = datetime(2025, 5, 9, 9, 30, tzinfo=timezone(timedelta(hours=8)))

    facts = photo_facts(photo(taken, (-70.25, -33.5)), JPEG)

    assert facts == PhotoFacts(datetime(2025, 5, 9, 1, 30, tzinfo=UTC), -70.25, -33.5)


def test_a_time_without_an_offset_is_read_as_china_standard_time() -> None:
    content = photo(datetime(2025, 5, 9, 9, 30, tzinfo=UTC))
    without_offset = content.replace(b"+00:00", b"\x00\x00\x00\x00\x00\x00")

    facts = photo_facts(without_offset, JPEG)

    assert facts.taken_at == datetime(2025, 5, 9, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("content", "kind"),
    [(photo(), JPEG), (b"%PDF-1.7\n", PDF), (b"\xff\xd8\xff broken", JPEG)],
)
def test_what_does_not_say_has_no_time_or_place(content: bytes, kind: str) -> None:
    assert photo_facts(content, kind) == PhotoFacts()


def files_under(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.is_file()]


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        await asyncio.sleep(0)
        yield part


async def test_the_store_keeps_a_content_once_and_refuses_past_its_limit(tmp_path: Path) -> None:
    store = EvidenceStore(tmp_path, max_bytes=10)

    received = await store.receive(chunks(b"abc", b"def"))
    first, second = store.keep(received), store.keep(received)

    assert (first, second) == (True, False)
    assert store.read(received.sha256) == b"abcdef"
    assert files_under(tmp_path) == [received.sha256]
    with pytest.raises(TooLarge):
        await store.receive(chunks(b"abcdef", b"ghijk"))
    assert store.read("../" + received.sha256) is None
    assert store.read("0" * 64) is None


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({}, Path("data/evidence")),
        ({"DATABASE_URL": "sqlite:///srv/rc/db.sqlite3"}, Path("/srv/rc/evidence")),
        ({"DATABASE_URL": "postgres://u@h/db"}, Path("data/evidence")),
        ({"RIVERCHIEF_EVIDENCE_DIR": "/var/lib/rc/files"}, Path("/var/lib/rc/files")),
    ],
)
def test_evidence_is_kept_beside_the_database_unless_placed(
    env: dict[str, str], where: Path
) -> None:
    assert Settings.from_env({**BASE, **env}).evidence_dir == where


def test_the_evidence_limit_is_a_positive_number() -> None:
    assert Settings.from_env(BASE).evidence_max_bytes == 10 * 1024 * 1024
    assert (
        Settings.from_env({**BASE, "RIVERCHIEF_EVIDENCE_MAX_BYTES": "2048"}).evidence_max_bytes
        == 2048
    )
    with pytest.raises(SettingsError):
        Settings.from_env({**BASE, "RIVERCHIEF_EVIDENCE_MAX_BYTES": "0"})
