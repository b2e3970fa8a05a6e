"""The layering rules of the design: only desktop_app imports Qt; the runtime side of models never
imports torch (the live path must start fast and stay small)."""

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QT_MODULES = ("PySide6", "pyqtgraph", "shiboken6")


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_only_desktop_app_imports_qt():
    offenders = [str(p.relative_to(REPO)) for pkg in ("models", "pruning") for p in (REPO / pkg).rglob("*.py")
                 if _imported_roots(p) & set(QT_MODULES)]
    assert offenders == []


def _runtime_modules() -> list[str]:
    names = []
    for p in sorted((REPO / "models").rglob("*.py")):
        rel = p.relative_to(REPO).with_suffix("")
        parts = rel.parts
        if "training" in parts:  # the training side may use torch
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_runtime_side_of_models_imports_without_torch_or_qt():
    modules = _runtime_modules()
    assert "models.frontend" in modules
    blocked = ("torch", *QT_MODULES)
    code = (
        "import sys, importlib, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.split('.')[0] in {blocked!r}: raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"assert not any(name.split('.')[0] in {blocked!r} for name in sys.modules)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip() == "ok"


def test_the_window_and_live_path_import_without_torch():
    code = (
        "import sys, importlib, importlib.abc\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch': raise ImportError('blocked: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import desktop_app.cli, desktop_app.main_window, desktop_app.live.worker, desktop_app.audio.capture\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "window = desktop_app.main_window.MainWindow()\n"
        "assert 'torch' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("ok")
