import json
import subprocess
import sys

import pytest

from desktop_app import cli
from models.errors import AudioFileNotFoundError


def test_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("gui", "doctor"):
        assert command in out


@pytest.mark.parametrize("command", ["gui", "doctor"])
def test_each_subcommand_has_real_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert f"featherlight {command}" in out
    assert len(out.splitlines()) >= 4


def test_unknown_command_exits_nonzero(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["no-such-command"])
    assert exc.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_featherlight_error_becomes_one_line_on_stderr(monkeypatch, capsys):
    def boom(args):
        raise AudioFileNotFoundError("missing.wav: no such file; check the path")

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda: parser)
    parser.set_defaults(func=boom)
    assert cli.main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["featherlight: error: missing.wav: no such file; check the path"]


def test_doctor_json_reports_versions_and_models():
    out = subprocess.run([sys.executable, "-m", "desktop_app.cli", "doctor", "--json"],
                         capture_output=True, text=True, timeout=120)
    checks = {c["name"]: c for c in json.loads(out.stdout)}
    assert checks["featherlight"]["ok"]
    assert checks["numpy"]["ok"] and checks["numpy"]["detail"][0].isdigit()
    assert "onnxruntime" in checks
    assert any(name.startswith(("model ", "bundled model")) for name in checks)
    assert "Qt platform" in checks
    # exit code says whether a required check failed
    required_failed = any(c["required"] and not c["ok"] for c in checks.values())
    assert out.returncode == (1 if required_failed else 0)


def test_gui_without_display_says_how_to_fix(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    assert cli.main(["gui"]) == 2
    assert "Xvfb" in capsys.readouterr().err


def test_doctor_reports_a_broken_user_model(tmp_path):
    import os

    (tmp_path / "mine.onnx").write_bytes(b"not an onnx graph")
    env = dict(os.environ, FEATHERLIGHT_MODEL_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-m", "desktop_app.cli", "doctor", "--json"],
                         capture_output=True, text=True, timeout=120, env=env)
    checks = {c["name"]: c for c in json.loads(out.stdout)}
    check = checks["user model mine.onnx"]
    assert not check["ok"] and not check["required"]
    assert "does not load" in check["detail"] and "card" in check["detail"]
    assert str(tmp_path) in check["fix"]
