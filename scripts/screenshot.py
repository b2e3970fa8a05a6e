"""Render the main window with a real analysis of a file loaded, to a PNG (for the README).

    .venv/bin/python scripts/screenshot.py                               # demo file -> docs/screenshots/main_window.png
    .venv/bin/python scripts/screenshot.py --audio song.flac --models /work/runs --overwrite
    xvfb-run -a .venv/bin/python scripts/screenshot.py --platform xcb --out /tmp/shot.png

The window is built at a fixed size (``--size``, default 1400x900) on the Qt ``offscreen`` platform
unless ``--platform`` says otherwise (``xcb`` under ``xvfb-run``), opens the file exactly as File > Open
does, waits for the background analysis to finish (``--timeout-s``), shows the whole file and grabs the
window. The audio is ``--audio`` or, without it, the bundled demo file (``desktop_app.demo``) when the
package has one. ``--models``: as in scripts/bench_gui.py (a folder of ``<task>.onnx`` + cards, or of run
folders; default the bundled models). An existing PNG is kept unless ``--overwrite`` is given; the
file is written atomically and refused when the grabbed image is blank.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from bench_gui import get_app, make_catalog, resolve_model_dir  # noqa: E402

log = logging.getLogger("screenshot")

DEFAULT_OUT = ROOT / "docs" / "screenshots" / "main_window.png"


def demo_audio_path() -> Path | None:
    """The bundled demo file when desktop_app.demo provides one, else None."""
    try:
        import desktop_app.demo as demo
    except ImportError:
        return None
    for name in ("demo_path", "demo_file", "demo_audio_path"):
        getter = getattr(demo, name, None)
        if callable(getter):
            try:
                path = getter()
            except Exception as exc:  # noqa: BLE001 - a missing demo only means --audio is needed
                log.warning("desktop_app.demo.%s() failed: %s", name, exc)
                return None
            return Path(path) if path is not None else None
    return None


def parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--size {text!r} is not WIDTHxHEIGHT; use e.g. 1400x900") from None
    if width < 200 or height < 150:
        raise argparse.ArgumentTypeError(f"--size {text} is too small; use at least 200x150")
    return width, height


def take_screenshot(audio: Path, out: Path, catalog, size: tuple[int, int], overwrite: bool,
                    timeout_s: float, platform: str | None) -> Path:
    """Analyse ``audio`` in the window and save its PNG to ``out``; returns the path written."""
    from PySide6.QtCore import QEventLoop, QTimer

    from desktop_app.export import export_png
    from desktop_app.main_window import MainWindow
    from models.errors import FeatherlightError

    app = get_app(platform)
    window = MainWindow(catalog=catalog, device_lister=lambda: [])
    window.resize(*size)
    window.show()
    app.processEvents()
    if not window.open_file(audio):
        raise FeatherlightError(f"the window could not open {audio}: {window.last_error}")
    job = window.file_job
    loop = QEventLoop()
    job.done.connect(loop.quit)
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(int(timeout_s * 1000))
    if job.is_running:
        loop.exec()
    # `done` arrives while the worker thread is still winding down: let it end before asking the window
    job.wait(5000)
    app.processEvents()
    if window.file_analysis_running:
        window.close()
        raise FeatherlightError(f"the analysis of {audio} did not finish within {timeout_s:g} s; "
                                "pass a larger --timeout-s or a shorter file")
    if window.last_error:
        raise FeatherlightError(f"the analysis of {audio} failed: {window.last_error}")
    window.redraw()
    for _ in range(5):  # let layouts settle and the views paint
        app.processEvents()
    written = export_png(window, out, overwrite=overwrite)
    log.info("counts: %s", window.store.counts())
    window.close()
    app.processEvents()
    return written


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--audio", help="audio file to analyse (default: the bundled demo file)")
    parser.add_argument("--models", help="folder of <task>.onnx + <task>.json (or of run folders); default bundled")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"PNG to write (default {DEFAULT_OUT})")
    parser.add_argument("--size", type=parse_size, default=(1400, 900), help="window size WIDTHxHEIGHT")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing PNG")
    parser.add_argument("--timeout-s", type=float, default=300.0, help="give up on the analysis after this")
    parser.add_argument("--platform", help="Qt platform (default offscreen; xcb under xvfb-run)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    from models.errors import ConfigError, FeatherlightError
    from models.fileio import check_writable

    out = Path(args.out).expanduser()
    scratch = Path(tempfile.mkdtemp(prefix="featherlight_screenshot_"))
    try:
        if out.suffix.lower() != ".png":
            raise ConfigError(f"--out {out} must end in .png; rename it to {out.stem}.png")
        check_writable([out], args.overwrite)  # before any work
        audio = Path(args.audio).expanduser() if args.audio else demo_audio_path()
        if audio is None:
            raise ConfigError("no --audio given and no bundled demo file (desktop_app.demo); pass --audio PATH")
        catalog = make_catalog(resolve_model_dir(args.models, scratch / "models"))
        written = take_screenshot(audio, out, catalog, args.size, args.overwrite, args.timeout_s, args.platform)
    except FeatherlightError as exc:
        print(f"screenshot: {exc}", file=sys.stderr)
        return 2
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
