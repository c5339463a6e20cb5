from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.cli import run

FIXTURES = Path(__file__).parents[1] / "fixtures"


def break_repo(repo: Path) -> None:
    shutil.copy(FIXTURES / "invalid" / "end-before-start.yaml", repo / "campaigns" / "x.yaml")
    shutil.copy(FIXTURES / "invalid" / "unknown-field.yaml", repo / "campaigns" / "a" / "y.yaml")


def test_repo_campaigns_are_valid(repo: Path) -> None:
    result = run("validate", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 21 campaigns and 8 labels are valid")


def test_all_problems_of_all_files_at_once_sorted_without_traceback(repo: Path) -> None:
    (repo / "campaigns" / "a").mkdir()
    break_repo(repo)
    result = run("validate", cwd=repo)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        "campaigns/a/y.yaml:8:3: when.deliver: unknown field 'deliver' [unknown-field]",
        "campaigns/x.yaml:9:8: when.end: end must be after start [end-before-start]",
        "2 problem(s) found",
    ]


def test_json_and_github_formats(repo: Path) -> None:
    (repo / "campaigns" / "a").mkdir()
    break_repo(repo)
    result = run("validate", "--format", "json", cwd=repo)
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert problems[1] == {
        "file": "campaigns/x.yaml",
        "line": 9,
        "col": 8,
        "path": "when.end",
        "message": "end must be after start",
        "code": "end-before-start",
    }
    result = run("validate", "--format", "github", cwd=repo)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1] == (
        "::error file=campaigns/x.yaml,line=9,col=8::when.end: end must be after start "
        "[end-before-start]"
    )
    ok = run("validate", "--format", "json", cwd=FIXTURES.parent.parent)
    assert json.loads(ok.stdout) == {"problems": [], "campaigns": 21, "labels": 8}


def test_validate_from_a_subfolder_and_with_chdir(repo: Path) -> None:
    assert run("validate", cwd=repo / "campaigns" / "onboarding").returncode == 0
    assert run("-C", str(repo), "validate", cwd=repo.parent).returncode == 0


def test_bad_config_is_a_clear_error(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text('backend = "local"\nbackend_typo = 1\n')
    result = run("validate", cwd=repo)
    assert result.returncode == 1
    assert result.stderr.startswith(
        "campaign-gitops.toml:2:1: backend_typo: unknown key 'backend_typo'"
    )
    assert "Traceback" not in result.stderr


def test_help_reads_no_config(repo: Path) -> None:
    (repo / "campaign-gitops.toml").write_text("this is not toml")
    for args in (["--help"], ["validate", "--help"], ["schema", "export", "--help"]):
        result = run(*args, cwd=repo)
        assert result.returncode == 0, result.stderr
        assert "Usage:" in result.stdout


def test_undecodable_file_is_a_problem_not_a_crash(repo: Path) -> None:
    (repo / "campaigns" / "bad.yaml").write_bytes(b"name: caf\xe9\n")
    result = run("validate", cwd=repo)
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "campaigns/bad.yaml:1:10: the file is not UTF-8 text (byte 0xe9) [encoding]"
    )


def test_init_scaffolds_a_valid_repo(tmp_path: Path) -> None:
    result = run("init", "site", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "site"
    for name in ("labels.yaml", "campaigns/onboarding/welcome-push.yaml"):
        assert (site / name).read_text().startswith("# yaml-language-server: $schema=")
    campaign_modeline = (site / "campaigns/onboarding/welcome-push.yaml").read_text().split("\n")[0]
    schema_path = campaign_modeline.split("$schema=")[1]
    assert (site / "campaigns/onboarding" / schema_path).resolve().is_file()
    assert ".campaign-gitops/" in (site / ".gitignore").read_text()
    assert run("validate", cwd=site).returncode == 0
    again = run("init", "site", cwd=tmp_path)
    assert "kept     labels.yaml (exists)" in again.stdout


def test_init_into_a_python_project_uses_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "shop"\n')
    assert run("init", cwd=tmp_path).returncode == 0
    assert "[tool.campaign-gitops]" in (tmp_path / "pyproject.toml").read_text()
    assert not (tmp_path / "campaign-gitops.toml").exists()
    assert run("validate", cwd=tmp_path).returncode == 0


def test_console_script_and_module_agree() -> None:
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "campaign-gitops"
    version = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and "campaign-gitops" in version.stdout


def test_a_leading_zero_is_refused_where_it_is(repo: Path) -> None:
    # `percent: 09` ended in "unexpected ValueError: invalid literal for int() with base 8"
    # (no file, no line), and `percent: 012` loaded as 10 where YAML 1.2 tools show 12
    path = repo / "campaigns" / "onboarding" / "welcome-push.yaml"
    text = path.read_text()
    assert "percent: 10" in text
    path.write_text(text.replace("percent: 10", "percent: 09"))
    (repo / "campaigns" / "x.yaml").write_text(text.replace("percent: 10", "percent: 012"))
    result = run("validate", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    line = 1 + text.splitlines().index(next(x for x in text.splitlines() if "percent: 10" in x))
    col = 1 + text.splitlines()[line - 1].index("10")
    assert lines == [
        f"campaigns/onboarding/welcome-push.yaml:{line}:{col}: ambiguous number 09: YAML 1.2 "
        'reads 9, YAML 1.1 the text "09"; write 9 or "09" [ambiguous-number]',
        f"campaigns/x.yaml:{line}:{col}: ambiguous number 012: YAML 1.2 reads 12, YAML 1.1 "
        'octal 10; write 12 or "012" [ambiguous-number]',
        "2 problem(s) found",
    ]


def test_validate_never_loads_the_round_trip_library(repo: Path) -> None:
    # ruamel.yaml is for the commands that edit files; the reader's speed budget excludes it
    code = (
        "import sys\nfrom campaign_gitops.cli import main\n"
        "try:\n    main(['validate'])\nexcept SystemExit as exit:\n    assert exit.code == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('ruamel')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, check=True
    )
    assert result.stdout.splitlines()[-1] == "[]"


def test_one_run_reports_what_used_to_take_several(repo: Path) -> None:
    # issue #19: an unknown channel hid the rest of the file, a [pattern] error in
    # when.preferences hid end-before-start, and `what: {}` was called extra content
    (repo / "campaigns" / "x.yaml").write_text(
        "name: Typos\nchannel: emial\nwhat:\n  content:\n    subjct: Hi\n    body: There\n"
        "    sender_name: Shop\nwhen:\n  delivery: on_date_time\n  start: 2026-13-01T09:00:00Z\n"
    )
    (repo / "campaigns" / "y.yaml").write_text(
        "name: Prefs\nchannel: push\nwhat:\n  content: {title: Hi, body: There}\nwhen:\n"
        "  delivery: on_date_time\n  start: 2026-12-01T09:00:00Z\n  end: 2026-11-01T09:00:00Z\n"
        '  preferences: {cutoff: "25:00"}\n'
    )
    (repo / "campaigns" / "z.yaml").write_text(
        "name: Empty\nchannel: push\nwhat: {}\nwhen: {delivery: now}\n"
    )
    result = run("validate", cwd=repo)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("campaigns/x.yaml:2:10: channel: 'emial' is not one of: ")
    assert lines[0].endswith("; did you mean 'email'? [enum]")
    assert lines[1:] == [
        'campaigns/x.yaml:4:3: what.content: "subject" is a required property [required]',
        "campaigns/x.yaml:5:5: what.content.subjct: unknown field 'subjct'; did you mean "
        "'subject'? [unknown-field]",
        "campaigns/x.yaml:10:10: when.start: '2026-13-01T09:00:00Z' is not an ISO 8601 "
        "date-time [datetime-format]",
        "campaigns/y.yaml:8:8: when.end: end must be after start [end-before-start]",
        "campaigns/y.yaml:9:25: when.preferences.cutoff: '25:00' is not a time of day HH:MM "
        "(24 h) [pattern]",
        "campaigns/z.yaml:3:1: what: single_message needs what.content [what-shape]",
        "7 problem(s) found",
    ]
