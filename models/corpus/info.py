"""Summaries of a rendered corpus (``featherlight corpus info``)."""

from __future__ import annotations

import json
from pathlib import Path

from models.errors import CorpusError


def load_manifest(folder: str | Path) -> dict:
    path = Path(folder).expanduser() / "corpus.json"
    if not path.is_file():
        raise CorpusError(f"{path} not found; point at a folder made by 'featherlight corpus render'")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{path} is not readable JSON ({exc}); re-run the render to rebuild it") from exc


def summary_text(manifest: dict) -> str:
    cfg = manifest.get("config", {})
    items = manifest.get("items", [])
    lines = [
        f"task: {manifest.get('task')}   seed: {manifest.get('seed')}   "
        f"package: {manifest.get('package_version')}   complete: {manifest.get('complete')}",
        f"items: {len(items)} of {manifest.get('planned_items')} planned, "
        f"{sum(i['duration_s'] for i in items) / 60:.1f} minutes at {cfg.get('sample_rate_hz')} Hz",
    ]
    for split, s in (manifest.get("summary") or {}).items():
        lines.append(f"  {split:5s}: {s['items']:5d} items, {s['minutes']:8.2f} min, {s['pieces']:5d} pieces")
    by_source: dict[str, list[float]] = {}
    for i in items:
        by_source.setdefault(f"{i['source']} ({i.get('kind', '?')})", []).append(i["duration_s"])
    lines.append("sources:")
    for name, durs in sorted(by_source.items()):
        lines.append(f"  {name:28s} {len(durs):5d} items, {sum(durs) / 60:8.2f} min")
    for s in manifest.get("sources", []):
        lines.append(f"  folder: {s['kind']} {s['path']} ({s['pieces']} pieces)")
    fonts: dict[str, int] = {}
    for i in items:
        fonts[i["font"]] = fonts.get(i["font"], 0) + 1
    lines.append("soundfonts: " + ", ".join(f"{k} ({v})" for k, v in sorted(fonts.items())))
    lines.append("config: " + ", ".join(f"{k}={v}" for k, v in cfg.items() if k not in ("sources", "soundfonts")))
    return "\n".join(lines)
