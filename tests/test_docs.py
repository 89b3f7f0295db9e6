"""The README is the newcomer's guide: it must stay true to the code."""

from __future__ import annotations

from pathlib import Path

from flowkick.settings import table

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
CI = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()


def test_every_setting_is_documented_with_its_default() -> None:
    rows = {line.split("|")[1].strip(" `"): line for line in README.splitlines() if line.startswith("| `FLOWKICK_")}
    for env, default, _, _ in table():
        assert env in rows, f"{env} is missing from the README's settings table"
        shown = str(default) if default != "" else "(empty)"
        assert shown in rows[env], f"{env}: the README does not show the default {shown!r}"


def test_readme_documents_no_setting_that_does_not_exist() -> None:
    known = {env for env, *_ in table()}
    documented = {line.split("|")[1].strip(" `") for line in README.splitlines() if line.startswith("| `FLOWKICK_")}
    assert documented <= known


def test_readme_opens_with_the_serve_and_test_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "./scripts/serve.sh" in first_block and "./scripts/test.sh" in first_block


def test_ci_runs_the_readme_test_command() -> None:
    assert "./scripts/test.sh" in CI
