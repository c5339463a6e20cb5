"""Terraform's single-dash spellings of the flags we share, rewritten to ours before click
parses the command line: `-auto-approve`, `-out=plan.bin`, `-lock-timeout=5s`..."""

from __future__ import annotations

from collections.abc import Sequence

TERRAFORM_SPELLINGS = {
    "-auto-approve": "--auto-approve",
    "-out": "--out",
    "-target": "--target",
    "-detailed-exitcode": "--detailed-exitcode",
    "-lock-timeout": "--lock-timeout",
}


def rewrite_terraform_flags(args: Sequence[str]) -> list[str]:
    """Each argument spelled as Terraform does (alone, or `-flag=value`) becomes ours; nothing
    after `--` is touched, since there every argument is a value."""
    out: list[str] = []
    for index, arg in enumerate(args):
        if arg == "--":
            return out + list(args[index:])
        name, equals, value = arg.partition("=")
        ours = TERRAFORM_SPELLINGS.get(name)
        out.append(arg if ours is None else ours + equals + value)
    return out
