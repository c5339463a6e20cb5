"""Campaign data reaches the GitHub Actions log and the run's summary as data, never as
workflow commands or markdown: control characters are refused, output escapes what it quotes,
and in Actions the output runs with workflow commands stopped."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.cli import run

T0 = "2026-11-23T10:00:00Z"
LOCAL = {"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": ""}
ACTIONS = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": ""}
# The runner's registered commands (ActionCommandManager and its extensions)
REGISTERED = {
    "add-mask", "add-matcher", "add-path", "debug", "echo", "endgroup", "error", "group",
    "notice", "remove-matcher", "save-state", "set-env", "set-output", "stop-commands", "warning",
}  # fmt: skip
CAMPAIGN = """\
name: {name}
channel: push
labels: ["::warning::x", "##[add-mask]Promo ````` x"]
description: "::add-mask::secret\\n::error::in a description"
what:
  content:
    title: "##[error]title"
    body: "line one\\n::error::from the body\\n```\\n<details>@octocat"
    key_values:
      "::set-output name=a::b": "{value}"
when: {{delivery: now}}
"""
LABELS = """\
  - name: "::warning::x"
  - name: "##[add-mask]Promo ````` x"
    description: "::error::in a label description"
"""


def _parse(line: str, registered: set[str]) -> tuple[str, str] | None:
    """A command's name and data as the runner reads them: `::name ...::data` at the start of
    the line after blanks, else `##[name ...]data` anywhere in it."""
    stripped = line.lstrip()
    end = stripped.find("::", 2)
    if stripped.startswith("::") and end > 0:
        name = stripped[2:end].split(" ")[0]
        if name.lower() in registered:
            return name.lower(), stripped[end + 2 :]
    start = line.find("##[")
    close = line.find("]", start)
    if start >= 0 and close > 0:
        name = line[start + 3 : close].split(" ")[0]
        if name.lower() in registered:
            return name.lower(), line[close + 1 :]
    return None


def acted_on(output: str) -> list[str]:
    """The lines the Actions runner would act on; while commands are stopped, only the one
    that resumes them."""
    acted: list[str] = []
    token: str | None = None
    for line in re.split(r"\r\n|\r|\n", output):
        command = _parse(line, REGISTERED | ({token.lower()} if token else set()))
        if command is None:
            continue
        name, data = command
        if token is not None:
            if name == token.lower():
                acted.append(line)
                token = None
        else:
            acted.append(line)
            token = data if name == "stop-commands" else None
    return acted


def _hostile(repo: Path, name: str = '"::error::x"', value: str = "``` z") -> None:
    labels = (repo / "labels.yaml").read_text()
    if LABELS not in labels:
        (repo / "labels.yaml").write_text(labels + LABELS)
    (repo / "campaigns" / "hostile.yaml").write_text(CAMPAIGN.format(name=name, value=value))


def test_control_characters_fail_validate_with_their_place_and_print_no_command(
    repo: Path,
) -> None:
    labels = (repo / "labels.yaml").read_text()
    (repo / "labels.yaml").write_text(labels + '  - name: "Promo\\n::warning::x"\n')
    at = f"labels.yaml:{len(labels.splitlines()) + 1}:11: labels[{labels.count('- name:')}]"
    key = '"k\\n```\\n::error::boom"'
    (repo / "campaigns" / "hostile.yaml").write_text(
        CAMPAIGN.format(name="Fine", value="v").replace('"::set-output name=a::b"', key)
    )
    (repo / "campaigns" / "x\n::error::y.yaml").write_text("id: y\n")
    result = run("validate", cwd=repo, env=LOCAL)
    assert result.returncode == 1 and result.stderr == ""  # the report is on stdout
    problems = [line for line in result.stdout.splitlines() if "[control-character]" in line]
    assert problems == [
        "campaigns/hostile.yaml:10:7: what.content.key_values.k\\n```\\n::error::boom: key "
        "'k\\n```\\n::error::boom' holds the control character U+000A; a key is one line of "
        "text [control-character]",
        "campaigns/x\\n::error::y.yaml: the file name holds the control character U+000A; "
        "rename the file [control-character]",
        f"{at}.name: 'Promo\\n::warning::x' holds the control character U+000A; this field "
        "is one line of text [control-character]",
    ]
    assert not [line for line in result.stdout.splitlines() if line.lstrip().startswith("::")]
    # a quoted label name holds `##[add-mask]`, which the runner takes anywhere in a line
    assert acted_on(result.stdout)
    guarded = run("validate", cwd=repo, env=ACTIONS)
    lines = guarded.stdout.splitlines()
    assert guarded.returncode == 1 and problems[0] in lines
    assert "##[add-mask]Promo" in guarded.stdout  # inert: commands are stopped
    assert acted_on(guarded.stdout) == [lines[0], lines[-1]]  # the stop and resume only
    assert acted_on(guarded.stderr) == []
    # annotations are ours: one line each, data escaped, and they run even in Actions
    github = run("validate", "--format", "github", cwd=repo, env=ACTIONS)
    assert github.returncode == 1
    lines = github.stdout.splitlines()
    assert acted_on(github.stdout) == lines and all(
        line.startswith("::error file=") for line in lines
    )
    assert (
        "labels.yaml,line=" in github.stdout
        and "name: 'Promo\\n::warning::x' holds" in github.stdout
    )
    assert "::error file=campaigns/x\\n%3A%3Aerror%3A%3Ay.yaml,line=1,col=1::" in github.stdout


def test_in_actions_output_runs_with_commands_stopped_by_a_fresh_token(repo: Path) -> None:
    _hostile(repo)
    assert run("--at", T0, "apply", "--auto-approve", cwd=repo, env=LOCAL).returncode == 0
    _hostile(repo, name='"##[warning]renamed @octocat"', value="```` <img src=x>")
    unguarded = run("--at", T0, "plan", cwd=repo, env=LOCAL)
    assert unguarded.returncode == 0, unguarded.stderr
    assert acted_on(unguarded.stdout)  # this data would act, were it not for the block
    tokens = set()
    for fmt in ("text", "markdown", "json"):
        result = run("--at", T0, "plan", "--format", fmt, cwd=repo, env=ACTIONS)
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        token = lines[0].removeprefix("::stop-commands::")
        assert re.fullmatch(r"[0-9a-f]{32}", token), lines[0]
        assert lines[-1] == f"::{token}::"
        assert acted_on(result.stdout) == [lines[0], lines[-1]]
        assert not [line for line in lines[1:-1] if token in line]
        tokens.add(token)
    assert len(tokens) == 3  # random: data written before the run cannot resume commands
    text = run("--at", T0, "plan", cwd=repo, env=ACTIONS).stdout
    assert 'name: "::error::x" -> "##[warning]renamed @octocat"' in text
    # stderr reaches the runner on its own pipe, in no fixed order against stdout: its lines
    # are defanged instead
    _hostile(repo, name='"x"', value="y")
    (repo / "campaigns" / "hostile.yaml").write_text(
        (repo / "campaigns" / "hostile.yaml").read_text() + '"##[error]typo": 1\n'
    )
    failed = run("--at", T0, "plan", cwd=repo, env=ACTIONS)
    assert failed.returncode == 1 and "unknown field '# #[error]typo'" in failed.stderr
    assert acted_on(failed.stderr) == [] and len(acted_on(failed.stdout)) == 2


def test_apply_writes_the_run_summary_in_a_fence_data_cannot_close(
    repo: Path, tmp_path: Path
) -> None:
    _hostile(repo)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    env = {**LOCAL, "GITHUB_STEP_SUMMARY": str(summary)}
    applied = run("--at", T0, "apply", "--auto-approve", cwd=repo, env=env)
    assert applied.returncode == 0, applied.stderr
    head, body = summary.read_text().split("### campaign-gitops apply\n\n")
    assert head == "earlier step\n"
    fence, *inner, closing = body.removesuffix("\n\n").split("\n")
    assert fence == closing == "`" * 6  # the longest run of backticks in the data is 5
    assert "    + create label ##[add-mask]Promo ````` x" in inner
    assert not [line for line in inner if line.lstrip().startswith("``````")]
    assert re.match(r"Apply complete: \d+ applied, 0 failed, 0 not applied", inner[-1])
