"""``riverchief --help`` answers: every command has a description, every argument and option
a help text, and every option's default is shown."""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Iterator

import pytest

from app.cli import parser


def every_command(
    command: argparse.ArgumentParser, name: str = "riverchief"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """The parser and each of its subcommands, at any depth (``policy check``), by name."""
    yield name, command
    for action in command._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from every_command(sub, f"{name} {sub_name}")


COMMANDS = dict(every_command(parser()))


def own_actions(command: argparse.ArgumentParser) -> list[argparse.Action]:
    return [
        a
        for a in command._actions
        if not isinstance(a, argparse._HelpAction | argparse._SubParsersAction)
    ]


def test_the_commands_are_all_found() -> None:
    assert {"riverchief serve", "riverchief policy check", "riverchief counters rebuild"} <= set(
        COMMANDS
    )
    assert len(COMMANDS) >= 20


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_describes_itself(name: str) -> None:
    command = COMMANDS[name]

    assert command.description, f"{name} has no description"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_argument_and_option_has_help(name: str) -> None:
    missing = [
        "/".join(a.option_strings) or a.dest
        for a in own_actions(COMMANDS[name])
        if not a.help or a.help == argparse.SUPPRESS
    ]

    assert missing == [], f"{name}: no help for {missing}"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_default_is_shown(name: str) -> None:
    command = COMMANDS[name]
    text = command.format_help()
    for action in own_actions(command):
        if action.option_strings and action.default not in (None, False, argparse.SUPPRESS):
            assert "default" in command._get_formatter()._expand_help(action), (
                f"{name} {action.option_strings[0]}: default {action.default!r} not shown"
            )
    assert "%(default)" not in text


def test_serve_help_as_an_operator_reads_it() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "app.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout

    flat = " ".join(shown.split())  # argparse wraps lines where the terminal width says
    assert "Migrate the database on DATABASE_URL" in flat
    assert "the address to listen on (default: 127.0.0.1)" in flat
    assert "the port to listen on (default: 8000)" in flat
    assert "(default: 30)" in flat
    assert "--access-log, --no-access-log" in flat
    assert "Exit status: 0 done" in flat
