"""The files, layered one way: the process environment over `.env` over the generated secrets file."""

from __future__ import annotations

import pytest

from stacksettings import SettingsError, layered, read_env_file, with_env_file


def test_env_file_is_read_as_compose_reads_it(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# comment\nA='9180'\nexport B=UTC\nC=\"two words\"\nD=plain # a comment\nE=${A}\nF\n")
    assert read_env_file(path) == {"A": "9180", "B": "UTC", "C": "two words", "D": "plain", "E": "${A}"}
    assert read_env_file(tmp_path / "absent.env") == {}


def test_a_bad_line_names_file_and_line_but_never_shows_it(tmp_path):
    path = tmp_path / "custom.env"
    path.write_text("GOOD=1\nPOSTGRES_PASSWORD hunter2-secret\n")
    with pytest.raises(SettingsError, match=r"custom.env:2 is not a KEY=VALUE line") as caught:
        read_env_file(path)
    assert "hunter2" not in str(caught.value)


def test_environment_wins_over_env_file_which_wins_over_generated_secrets(tmp_path):
    (tmp_path / "secrets.env").write_text("POSTGRES_PASSWORD=generated\nREDIS_PASSWORD=generated\nX=secrets\n")
    env_file = tmp_path / "custom.env"
    env_file.write_text("REDIS_PASSWORD=from-env-file\nX=env-file\n")
    values = layered({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": str(env_file), "X": "process"})
    assert (values["POSTGRES_PASSWORD"], values["REDIS_PASSWORD"], values["X"]) == (
        "generated", "from-env-file", "process")


def test_state_dir_set_only_in_env_file_finds_the_secrets(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "secrets.env").write_text("POSTGRES_PASSWORD=generated\n")
    env_file = tmp_path / ".env"
    env_file.write_text(f"STACK_STATE_DIR={state}\n")
    values = layered({"STACK_ENV_FILE": str(env_file)})
    assert values["STACK_STATE_DIR"] == str(state)
    assert values["POSTGRES_PASSWORD"] == "generated"


def test_empty_stack_env_file_reads_no_env_file_and_handing_on_reads_it_once(tmp_path):
    env_file = tmp_path / "custom.env"
    env_file.write_text("A=file\nB=file\n")
    assert "A" not in layered({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": ""})
    handed = with_env_file({"STACK_STATE_DIR": str(tmp_path), "STACK_ENV_FILE": str(env_file), "B": "process"})
    env_file.unlink()
    assert (handed["A"], handed["B"], handed["STACK_ENV_FILE"]) == ("file", "process", "")
    assert layered(handed)["A"] == "file"


def test_an_unreadable_file_is_named(tmp_path):
    folder = tmp_path / "a-folder.env"
    folder.mkdir()
    with pytest.raises(SettingsError, match="a-folder.env cannot be read"):
        read_env_file(folder)
