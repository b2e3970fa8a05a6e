"""`featherlight doctor`: what is installed, what is missing, and how to fix it."""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.resources
import json
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass

# (distribution, import name, required for what)
_PACKAGES: tuple[tuple[str, str, str], ...] = (
    ("numpy", "numpy", "everything"),
    ("scipy", "scipy", "everything"),
    ("onnxruntime", "onnxruntime", "running the models"),
    ("librosa", "librosa", "front-end and DSP baselines"),
    ("soundfile", "soundfile", "reading audio files"),
    ("soxr", "soxr", "resampling"),
    ("sounddevice", "sounddevice", "live audio input"),
    ("PySide6-Essentials", "PySide6", "the window"),
    ("pyqtgraph", "pyqtgraph", "the window's plots"),
    ("mir_eval", "mir_eval", "evaluation"),
    ("jams", "jams", "JAMS annotations"),
    ("pretty_midi", "pretty_midi", "MIDI annotations"),
    ("mido", "mido", "MIDI annotations"),
    ("torch", "torch", "training and pruning (not needed for live analysis)"),
    ("onnx", "onnx", "exporting models"),
)

# (program, what for, Debian package)
_PROGRAMS: tuple[tuple[str, str, str], ...] = (
    ("fluidsynth", "rendering the training corpus", "fluidsynth"),
    ("ffmpeg", "reading m4a/aac/wma files", "ffmpeg"),
    ("jackd", "live-input tests with a JACK dummy server", "jackd2"),
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True
    fix: str = ""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the installation: versions, audio devices, bundled models, what is missing",
        description=(
            "Print the versions of Featherlight and the packages it uses, the audio devices sound can "
            "come from, whether each bundled model loads, and what is missing with the command that fixes "
            "it. Exits 1 when something required is missing."
        ),
    )
    p.add_argument("--json", action="store_true", help="print the checks as JSON instead of a table")
    p.set_defaults(func=run)


def _package_checks() -> list[Check]:
    checks = []
    for dist, module, purpose in _PACKAGES:
        try:
            ver = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            checks.append(Check(dist, False, f"not installed (needed for {purpose})",
                                required=module != "torch", fix=f"pip install {dist}"))
            continue
        checks.append(Check(dist, True, ver))
    return checks


def _program_checks() -> list[Check]:
    checks = []
    for program, purpose, deb in _PROGRAMS:
        path = shutil.which(program)
        checks.append(Check(program, path is not None, path or f"not found (needed for {purpose})",
                            required=False, fix=f"sudo apt-get install {deb}"))
    return checks


def _soundfont_check() -> Check:
    from models.corpus.soundfonts import DEFAULT_SOUNDFONTS

    fonts = [p for p in DEFAULT_SOUNDFONTS if os.path.isfile(p)]
    return Check("GM soundfonts", bool(fonts),
                 ", ".join(fonts) or "none found (needed for corpus rendering)",
                 required=False, fix="sudo apt-get install fluid-soundfont-gm")


def _audio_checks() -> list[Check]:
    try:
        import sounddevice as sd
    except OSError as exc:  # PortAudio library missing
        return [Check("audio (PortAudio)", False, f"PortAudio could not be loaded: {exc}",
                      fix="sudo apt-get install libportaudio2")]
    except ImportError:
        return [Check("audio (PortAudio)", False, "sounddevice is not installed", fix="pip install sounddevice")]
    checks = [Check("PortAudio", True, sd.get_portaudio_version()[1])]
    hostapis = sd.query_hostapis()
    inputs, outputs = [], []
    for dev in sd.query_devices():
        api = hostapis[dev["hostapi"]]["name"]
        if dev["max_input_channels"] > 0:
            inputs.append(f"[{dev['index']}] {dev['name']} ({api}, {dev['max_input_channels']} ch, "
                          f"{dev['default_samplerate']:.0f} Hz)")
        if dev["max_output_channels"] > 0:
            outputs.append(f"[{dev['index']}] {dev['name']} ({api}, {dev['max_output_channels']} ch)")
    checks.append(Check("host APIs", True, ", ".join(h["name"] for h in hostapis) or "none", required=False))
    checks.append(Check("input devices", bool(inputs), "; ".join(inputs) or
                        "none: live input is unavailable, file analysis still works", required=False,
                        fix="plug in a microphone or audio interface"))
    checks.append(Check("output devices", bool(outputs), "; ".join(outputs) or
                        "none: files are analysed but cannot be played", required=False,
                        fix="connect headphones or speakers, or start the sound server"))
    return checks


def _model_checks() -> list[Check]:
    """Load every bundled and user model the way the analyser does (card and graph validated)."""
    try:
        from models.runtime.onnx_model import OnnxTaskModel, user_model_dir
    except ImportError as exc:
        return [Check("models", False, f"the model runtime cannot be imported: {exc}", fix="pip install onnxruntime")]
    folders = [("bundled", importlib.resources.files("resources") / "models"), ("user", user_model_dir())]
    checks = []
    for kind, folder in folders:
        paths = sorted(p for p in folder.iterdir() if p.name.endswith(".onnx")) if folder.is_dir() else []
        for path in paths:
            try:
                model = OnnxTaskModel(str(path))
            except Exception as exc:  # noqa: BLE001 - any loader failure is a failed check
                checks.append(Check(f"{kind} model {path.name}", False, f"does not load: {exc}",
                                    required=kind == "bundled", fix="reinstall Featherlight" if kind == "bundled"
                                    else f"re-export it or remove it from {folder}"))
                continue
            card = model.card
            checks.append(Check(f"{kind} model {path.name}", True,
                                f"{card.task}, {card.n_parameters:,} parameters, {card.file_bytes / 1e6:.2f} MB, "
                                f"latency {card.latency_ms:.0f} ms"))
        if kind == "bundled" and not paths:
            checks.append(Check("bundled models", False, "none bundled yet", required=False))
    return checks


def _qt_check() -> Check:
    # Creating a QApplication in this process would tie the CLI to a display; probe in a child.
    env = dict(os.environ)
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    code = "from PySide6.QtWidgets import QApplication; a = QApplication([]); print(a.platformName())"
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        return Check("Qt platform", False, "starting Qt timed out")
    if out.returncode == 0:
        return Check("Qt platform", True, out.stdout.strip())
    last = (out.stderr.strip().splitlines() or ["unknown error"])[-1]
    return Check("Qt platform", False, f"Qt cannot start: {last}",
                 fix="sudo apt-get install libegl1 libgl1 libxkbcommon0 libfontconfig1 libxcb-cursor0")


def collect() -> list[Check]:
    from desktop_app import __version__

    checks = [Check("featherlight", True, __version__),
              Check("python", sys.version_info >= (3, 11), f"{platform.python_version()} ({sys.executable})",
                    fix="use Python 3.11 or newer")]
    checks += _package_checks()
    checks += _program_checks()
    checks.append(_soundfont_check())
    checks += _audio_checks()
    checks += _model_checks()
    checks.append(_qt_check())
    return checks


def run(args: argparse.Namespace) -> int:
    checks = collect()
    if args.json:
        print(json.dumps([asdict(c) for c in checks], indent=2))
    else:
        width = max(len(c.name) for c in checks)
        for c in checks:
            mark = "ok  " if c.ok else ("FAIL" if c.required else "warn")
            line = f"{mark}  {c.name:<{width}}  {c.detail}"
            if not c.ok and c.fix:
                line += f"  -> {c.fix}"
            print(line)
    failed = [c for c in checks if c.required and not c.ok]
    if failed and not args.json:
        print(f"\n{len(failed)} required check(s) failed: {', '.join(c.name for c in failed)}")
    return 1 if failed else 0
