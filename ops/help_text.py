"""``--help`` that answers: every command and option says what it does and its default.

``CommandParser`` is the parser class of ``riverchief`` and of every subcommand added to it
(``add_subparsers`` hands its class down), so a command registered by an ``ops/`` module or
an entry point gets the same formatting without asking for it.
"""

from __future__ import annotations

import argparse
from typing import Any

UNSHOWN_DEFAULTS = (None, False, argparse.SUPPRESS)


class HelpFormatter(argparse.HelpFormatter):
    """Adds ``(default: …)`` to an option's help unless the text already says it, or there is
    nothing to say (no default, or a flag that is off unless given)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if not action.option_strings or "default" in text:
            return text
        if any(action.default is unshown for unshown in UNSHOWN_DEFAULTS) or action.default == []:
            return text
        return f"{text} (default: %(default)s)"


class RawHelpFormatter(argparse.RawDescriptionHelpFormatter, HelpFormatter):
    """The same, for a command whose description or epilog is laid out by hand."""


class CommandParser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
