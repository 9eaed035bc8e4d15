"""The ``--help`` texts in the reader's language, translated when the help is formatted.

The help texts are written in English in the code and marked with ``N_()`` (a command passes
``help=N_(...)``, its docstring is for developers). The language is known only once ``--langue``
is parsed (an eager option, so ``fluxopt --langue en --help`` is English), so nothing is
translated when the commands are defined: :class:`HelpCommand` and :class:`HelpGroup` look the
texts up when they format them — the command's help and short help, each option's help and its
``[default: ...]``, ``[env var: ...]``, ``[required]`` notes, and click's own headings. A help
text's msgid is the exact string given to click (before click's ``inspect.cleandoc``).
"""

from __future__ import annotations

import inspect
from typing import Any

import click

from fluxopt.i18n import DEFAULT_LANGUAGE, N_, resolve, translations

#: Click's own words in a help page, in our catalogue (click translates them with its own domain).
CLICK_TEXTS = (N_("Usage:"), N_("Options"), N_("Commands"), N_("{heading}:"), N_("Show this message and exit."),
               N_("env var: {var}"), N_("default: {default}"), N_("required"))


def translate(text: str) -> str:
    """``text`` in the current language; an unknown FLUXOPT_LANGUE (refused when a command runs)
    does not stop the help from being shown, in French."""
    try:
        langue = resolve()
    except ValueError:
        langue = DEFAULT_LANGUAGE
    return translations(langue).gettext(text)


class HelpFormatter(click.HelpFormatter):
    """Click's headings (``Usage:``, ``Options``, ``Commands``) in the current language."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, f"{translate('Usage:')} " if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{translate('{heading}:').format(heading=translate(heading))}\n")


class HelpContext(click.Context):
    formatter_class = HelpFormatter


def _option_help(param: click.Parameter, ctx: click.Context) -> tuple[str, str] | None:
    """An option's row of the help page (None for an argument): its help and its notes translated, put
    together as click does."""
    record = param.get_help_record(ctx)
    if record is None or not isinstance(param, click.Option):
        return None
    text = translate(param.help) if param.help else ""
    extra = param.get_help_extra(ctx)
    notes = []
    if "envvars" in extra:
        notes.append(translate("env var: {var}").format(var=", ".join(extra["envvars"])))
    if "default" in extra:
        notes.append(translate("default: {default}").format(default=extra["default"]))
    if "range" in extra:
        notes.append(extra["range"])
    if "required" in extra:
        notes.append(translate("required"))
    if notes:
        text = f"{text}  [{'; '.join(notes)}]" if text else f"[{'; '.join(notes)}]"
    return record[0], text


class HelpCommand(click.Command):
    """A command whose help page is in the current language (see the module)."""

    context_class = HelpContext

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = inspect.cleandoc(translate(self.help)).partition("\f")[0] if self.help else ""
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def get_short_help_str(self, limit: int = 45) -> str:
        if self.short_help:
            return inspect.cleandoc(translate(self.short_help)).strip()
        if not self.help:
            return ""
        # click's own shortening (first sentence, at most ``limit`` characters) of the translated help
        return click.Command(self.name, help=translate(self.help)).get_short_help_str(limit)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [row for row in (_option_help(p, ctx) for p in self.get_params(ctx)) if row is not None]
        if rows:
            with formatter.section("Options"):  # translated by HelpFormatter
                formatter.write_dl(rows)


class HelpGroup(HelpCommand, click.Group):
    """A group whose help page, and its list of commands, are in the current language."""

    command_class = HelpCommand

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        HelpCommand.format_options(self, ctx, formatter)
        self.format_commands(ctx, formatter)


def command(name: str | None = None, **attrs: Any) -> Any:
    """``click.command`` with :class:`HelpCommand` (for the commands defined outside the group)."""
    return click.command(name, cls=HelpCommand, **attrs)

