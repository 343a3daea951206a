"""Issue 21: who may do what (augment_core.serve.policy) and which server paths a served app may
read or write (augment_core.serve.server_paths): a reviewer is refused every admin action with one
line; a path outside the configured folders, through ``..``, an absolute path or a symlink,
is refused with the same line whether or not it exists."""

from __future__ import annotations

import os

import pytest

from augment_core.errors import InputError
from augment_core.serve import policy
from augment_core.serve.access import AllowListError
from augment_core.serve.policy import Action, Forbidden, Role, User
from augment_core.serve.server_paths import (
    OutsideServerDirs,
    ServerDirs,
    ServerDirsError,
    env_dirs,
    model_location,
    parse_dirs,
)

ADMIN_ONLY = [Action.ADD_DATASET, Action.CHANGE_MAPPING, Action.CHANGE_TAGS, Action.RUN_AUGMENTATION,
              Action.LOAD_RUN, Action.WRITE_SERVER_FILE]
EVERYONE = [Action.REVIEW, Action.EVALUATE, Action.DOWNLOAD_EXPORT]


@pytest.mark.parametrize("action", ADMIN_ONLY)
def test_a_reviewer_is_refused_every_admin_action_with_one_line(action):
    bob = User("bob@crew.example", Role.REVIEWER)
    assert not policy.allows(bob, action)
    with pytest.raises(Forbidden) as err:
        policy.authorize(bob, action)
    assert isinstance(err.value, InputError)  # shown as one line, in the app and the CLI
    text = str(err.value)
    assert "\n" not in text and "bob@crew.example is a reviewer" in text and action.value in text
    policy.authorize(User("alice@team.example", Role.ADMIN), action)  # no error


@pytest.mark.parametrize("action", EVERYONE)
def test_both_roles_review_evaluate_and_download(action):
    for role in Role:
        policy.authorize(User("x@y.example", role), action)


def test_every_action_is_in_the_policy_and_admins_may_do_all():
    assert set(ADMIN_ONLY) | set(EVERYONE) == set(Action)
    assert policy.POLICY[Role.ADMIN] == frozenset(Action)


def test_roles_from_the_admins_setting():
    admins = policy.parse_admins(["Alice@Team.example", "@ops.example"])
    assert admins == ("alice@team.example", "@ops.example")
    assert policy.role_of("alice@team.example", admins, signed_in=True) is Role.ADMIN
    assert policy.role_of("carol@ops.example", admins, signed_in=True) is Role.ADMIN
    assert policy.role_of("bob@crew.example", admins, signed_in=True) is Role.REVIEWER
    assert policy.role_of("bob@crew.example", (), signed_in=True) is Role.REVIEWER  # no admins: nobody is
    assert policy.role_of(None, (), signed_in=False) is Role.ADMIN  # the one local user
    with pytest.raises(AllowListError, match="^admins: 'alice' is not an e-mail address or @domain$"):
        policy.parse_admins(["alice"])


@pytest.fixture
def dirs(tmp_path):
    """A configured folder with a file in it, a secret file beside it, and a symlink inside
    that leads out."""
    root = tmp_path / "runs"
    root.mkdir()
    (root / "run.parquet").write_bytes(b"x")
    (tmp_path / "secret.csv").write_text("payroll")
    (root / "escape").symlink_to(tmp_path)
    (root / "escape.csv").symlink_to(tmp_path / "secret.csv")
    return ServerDirs.of([root])


def _line(dirs: ServerDirs, path, must_exist: bool) -> str:
    with pytest.raises(OutsideServerDirs) as err:
        dirs.confine(path, must_exist=must_exist)
    text = str(err.value)
    assert "\n" not in text
    return text.replace(str(path), "PATH")


def test_paths_inside_a_configured_folder_resolve_there(dirs, tmp_path):
    root = tmp_path / "runs"
    assert dirs.confine(root / "run.parquet", must_exist=True) == root / "run.parquet"
    assert dirs.confine("run.parquet", must_exist=True) == root / "run.parquet"  # relative: in the first folder
    assert dirs.confine("out/new.csv") == root / "out" / "new.csv"  # a write target need not exist
    assert dirs.confine(root / "sub" / ".." / "run.parquet", must_exist=True) == root / "run.parquet"


@pytest.mark.parametrize("must_exist", [True, False])
def test_outside_paths_are_refused_alike_whether_they_exist_or_not(dirs, tmp_path, must_exist):
    root = tmp_path / "runs"
    existing = _line(dirs, tmp_path / "secret.csv", must_exist)  # absolute, exists
    assert "nothing was" in existing and str(root) in existing
    for path in [tmp_path / "no-such.csv",  # absolute, missing
                 root / ".." / "secret.csv", "../secret.csv", "../no-such.csv",  # .. out of the folder
                 root / "escape" / "secret.csv", "escape/no-such.csv", "escape.csv",  # a symlink leading out
                 "/etc/passwd", "~/x.csv", "a\x00b"]:
        assert _line(dirs, path, must_exist) == existing, path
    if must_exist:  # a missing path inside reads the same as one outside
        assert _line(dirs, root / "missing.parquet", True) == existing


def test_no_folders_configured_allows_no_path(tmp_path):
    none = ServerDirs()
    assert not none
    with pytest.raises(OutsideServerDirs, match="none configured"):
        none.confine(tmp_path)


def test_the_settings_and_the_environment_variable_are_both_honoured(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert parse_dirs([str(a)]) == (str(a),) and parse_dirs(None) == ()
    with pytest.raises(ServerDirsError, match="server_dirs must be a list of folder paths"):
        parse_dirs([1])
    assert env_dirs(f"{b}{os.pathsep}{os.pathsep} {a} ") == (str(b), str(a))
    both = ServerDirs.of(parse_dirs([str(a)]), env_dirs(f"{b}{os.pathsep}{a}"))
    assert both.roots == (a, b)
    assert both.confine(b / "x.csv") == b / "x.csv" and both.confine("x.csv") == a / "x.csv"


def test_a_model_field_holds_a_hub_name_or_a_confined_path(dirs, tmp_path):
    assert model_location(dirs, "distilbert-base-uncased") == "distilbert-base-uncased"
    assert model_location(dirs, " org/some.model-v2 ") == "org/some.model-v2"
    (tmp_path / "runs" / "models" / "tiny").mkdir(parents=True)
    assert model_location(dirs, "./models/tiny") == str(tmp_path / "runs" / "models" / "tiny")
    (tmp_path / "outside-model").mkdir()
    with pytest.raises(OutsideServerDirs) as there:
        model_location(dirs, str(tmp_path / "outside-model"))
    with pytest.raises(OutsideServerDirs) as missing:
        model_location(dirs, str(tmp_path / "no-model"))
    assert (str(there.value).replace("outside-model", "M") == str(missing.value).replace("no-model", "M"))
    with pytest.raises(OutsideServerDirs):
        model_location(dirs, "org/../../etc")
