"""As root, `./stack` hands the state folder to the stack user and works as that user (stackctl/privileges.py)."""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import sys
import tempfile
from pathlib import Path

import pytest

from stackctl import cli, privileges

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root changes owners and users")

NOBODY = pwd.getpwnam("nobody")  # stands in for the stack user: nothing here needs it to reach the folders
DAEMON = pwd.getpwnam("daemon")


def entries(top: Path) -> list[Path]:
    return [Path(folder) / name for folder, dirs, files in os.walk(top) for name in dirs + files]


def test_a_root_owned_folder_is_handed_over_whole_and_closed_to_other_users(tmp_path):
    # an older `up`'s folder: root's files, some readable by anyone, and a cluster owned by `postgres`
    state = tmp_path / "state"
    (state / "logs").mkdir(parents=True)
    (state / "logs" / "webhook.log").write_text("log")
    (state / "logs" / "webhook.log").chmod(0o644)
    (state / "secrets.env").write_text("A=b\n")
    (state / "postgres" / "data").mkdir(parents=True)
    os.chown(state / "postgres" / "data", pwd.getpwnam("postgres").pw_uid, -1)
    (state / "passwd").symlink_to("/etc/passwd")
    privileges.hand_over(state, NOBODY, echo=lambda message: None)

    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    for path in [state, *entries(state)]:
        info = path.lstat()
        assert (info.st_uid, info.st_gid) == (NOBODY.pw_uid, NOBODY.pw_gid), path
        assert stat.S_ISLNK(info.st_mode) or not info.st_mode & 0o007, f"{path} is open to other users"
    assert stat.S_IMODE((state / "logs" / "webhook.log").stat().st_mode) == 0o640
    assert os.stat("/etc/passwd").st_uid == 0, "a link is handed over, never what it points at"


def test_a_folder_of_another_user_is_refused_naming_the_ways_out(tmp_path):
    os.chown(tmp_path, DAEMON.pw_uid, DAEMON.pw_gid)
    with pytest.raises(RuntimeError, match="belongs to daemon, not to the stack user nobody.*STACK_USER=daemon"):
        privileges.hand_over(tmp_path, NOBODY, echo=lambda message: None)


def test_missing_folders_above_the_state_folder_stay_open_to_traversal(tmp_path):
    state = tmp_path / "srv" / "airflow" / "state"
    previous = os.umask(0o027)  # ./stack's
    try:
        privileges.hand_over(state, NOBODY, echo=lambda message: None)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "srv").stat().st_mode) == stat.S_IMODE(state.parent.stat().st_mode) == 0o755
    assert state.stat().st_uid == NOBODY.pw_uid


def test_the_work_runs_as_the_user_for_good_and_its_exit_code_comes_back():
    def work() -> int:
        try:
            os.setuid(0)
        except PermissionError:
            pass
        else:
            return 99
        ids = (os.getresuid(), os.getresgid())
        return 7 if ids == ((NOBODY.pw_uid,) * 3, (NOBODY.pw_gid,) * 3) else 98

    assert privileges.run_as("up", NOBODY, {}, work) == 7


def test_a_folder_the_user_cannot_enter_is_one_sentence_and_nothing_runs(capfd):
    private = Path(tempfile.mkdtemp())  # root's, mode 0700
    try:
        (private / "checkout").mkdir()
        assert privileges.run_as("up", NOBODY, {"the checkout": private / "checkout"}, lambda: 0) == 2
    finally:
        shutil.rmtree(private)
    err = capfd.readouterr().err
    assert f"stack up: the stack user nobody cannot enter {private} (mode 0o700, owner root) on the way to the " \
        f"checkout, {private / 'checkout'}." in err, err
    assert "Traceback" not in err


def test_root_and_a_name_useradd_refuses_are_sentences():
    with pytest.raises(RuntimeError, match="STACK_USER=root is root"):
        privileges.ensure_user("root", echo=lambda message: None)
    with pytest.raises(RuntimeError, match="could not create the system user No Such User!.*set STACK_USER"):
        privileges.ensure_user("No Such User!", echo=lambda message: None)


def test_commands_act_as_the_state_folders_owner_unless_root_owns_it(tmp_path):
    assert privileges.owner_of(tmp_path) is None
    assert privileges.owner_of(tmp_path / "missing") is None
    os.chown(tmp_path, NOBODY.pw_uid, NOBODY.pw_gid)
    assert privileges.owner_of(tmp_path).pw_name == "nobody"


def test_up_leaves_a_stack_that_an_older_up_started_as_root_alone(tmp_path):
    state = tmp_path / "state"
    (state / "run").mkdir(parents=True)
    (state / "run" / "supervisord.pid").write_text(str(os.getpid()))  # alive, and root's
    environ = {"STACK_STATE_DIR": str(state), "STACK_ENV_FILE": "", "STACK_USER": "nobody", "PATH": os.defpath}
    with pytest.raises(RuntimeError, match=r"was started as root; stop it \(./stack down\)"):
        cli.up(environ)
    assert state.stat().st_uid == 0


def test_the_child_has_root_do_the_one_thing_it_may_ask_and_hears_how_it_went():
    done = []

    def action() -> str:
        done.append(os.geteuid())
        return "" if len(done) == 1 else "could not, second time"

    channel = privileges.Channel(action)

    def work() -> int:
        channel.ask()  # done by root, in the parent
        try:
            channel.ask()
        except RuntimeError as error:
            return 5 if str(error) == "could not, second time" and os.geteuid() == NOBODY.pw_uid else 97
        return 98

    assert privileges.run_as("up", NOBODY, {}, work, channel) == 5
    assert done == [0, 0]


def test_a_program_spawned_as_the_task_user_runs_as_it_for_good():
    check = f"import os, sys; sys.exit(0 if os.getresuid() == ({NOBODY.pw_uid},) * 3 " \
            f"and os.getresgid() == ({NOBODY.pw_gid},) * 3 and os.umask(0) == 0o007 else 1)"
    assert privileges.spawn_as(NOBODY, {}, [sys.executable, "-c", check], {}, 0o007, "task user",
                               "STACK_TASK_USER") == 0


def test_a_task_user_that_cannot_reach_its_folder_is_one_sentence(capfd):
    private = Path(tempfile.mkdtemp())  # root's, mode 0700
    try:
        code = privileges.spawn_as(NOBODY, {"its folder": private / "tasks"}, ["/bin/true"], {}, 0o007,
                                   "task user", "STACK_TASK_USER")
    finally:
        shutil.rmtree(private)
    assert code == 2
    err = capfd.readouterr().err
    assert f"stack up: the task user nobody cannot enter {private} (mode 0o700, owner root)" in err, err
    assert "set STACK_TASK_USER" in err and "Traceback" not in err


def test_a_task_user_that_is_the_stack_user_or_shares_its_group_is_refused():
    with pytest.raises(RuntimeError, match="STACK_TASK_USER=nobody shares its user or group with STACK_USER=nobody"):
        privileges.ensure_task_user(NOBODY, "nobody", echo=lambda message: None)
    with pytest.raises(RuntimeError, match="STACK_TASK_USER=root is root"):
        privileges.ensure_task_user(NOBODY, "root", echo=lambda message: None)
