"""Exit codes, and the one place exceptions become them (as pre-commit does).

0 ok; 1 refused, invalid input, a held lock, a known failure (a full disk, a damaged store);
2 bad command-line usage, except with `--detailed-exitcode`, where 2 means changes (or drift)
and usage errors exit 1, as in Terraform; 3 an unexpected error (a bug: the version and a hint
to rerun with -v, never a traceback without it); 130 interrupted (Ctrl-C)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import click

from campaign_gitops import __version__, redact
from campaign_gitops.errors import FatalError, ValidationFailed, render_problems

OK, REFUSED, USAGE, UNEXPECTED, INTERRUPTED = 0, 1, 2, 3, 130


def _options(args: Sequence[str]) -> Sequence[str]:
    """The arguments before `--` (after it, a `--detailed-exitcode` is a value, not a flag)."""
    return args[: args.index("--")] if "--" in args else args


def usage_code(args: Sequence[str]) -> int:
    """2, or 1 with --detailed-exitcode (whose 2 means changes)."""
    return REFUSED if "--detailed-exitcode" in _options(args) else USAGE


def unexpected(exc: BaseException, verbose: bool) -> str:
    hint = "" if verbose else "; rerun with -v for a traceback"
    return f"campaign-gitops {__version__}: unexpected error: {type(exc).__name__}: {exc}{hint}"


def run(call: Callable[[], object], args: Sequence[str]) -> int:
    """`call()` (click in non-standalone mode), its exceptions mapped to exit codes. `args`:
    the command line, after the Terraform spellings are rewritten."""
    verbose = any(a in ("-v", "--verbose") for a in _options(args))
    try:
        call()
    except SystemExit as exc:  # a command's own exit code
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or OK
        click.echo(f"error: {exc.code}", err=True)
        return REFUSED
    except click.exceptions.Exit as exc:  # --help, --version
        return exc.exit_code
    except click.UsageError as exc:
        exc.show()
        return usage_code(args)
    except click.ClickException as exc:  # click.FileError: a file argument it cannot open
        exc.show()
        return exc.exit_code
    except click.Abort:  # what click makes of Ctrl-C (and of the end of input at a question)
        click.echo("Interrupted.", err=True)
        return INTERRUPTED
    except ValidationFailed as exc:
        click.echo(render_problems(exc.problems, "text"), err=True)
        return exc.exit_code
    except FatalError as exc:
        from campaign_gitops.models.common import printable_lines  # (pydantic: on errors only)

        if verbose:
            redact.print_exc()
        # a message may quote a name or a path from a pull request: shown as what it holds
        click.echo(f"error: {printable_lines(redact.text(str(exc)))}", err=True)
        return usage_code(args) if exc.exit_code == USAGE else exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        return INTERRUPTED
    except Exception as exc:
        from campaign_gitops.failures import explain

        if verbose:
            redact.print_exc()
        known = explain(exc)  # a full disk, a damaged database...: what to do, not "unexpected"
        if known is not None:
            click.echo(f"error: {redact.text(known)}", err=True)
            return REFUSED
        click.echo(f"error: {redact.text(unexpected(exc, verbose))}", err=True)
        return UNEXPECTED
    return OK
