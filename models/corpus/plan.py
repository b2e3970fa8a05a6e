"""The job list, planned up front from the seed: items, their splits, fonts and render batches.

The plan depends only on the configuration (task, minutes, seed, sources, fonts), never on --jobs or
on what is already on disk, so an interrupted render resumes the very same plan.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.annotations.types import TASKS
from models.corpus.config import ALL_SPLITS, CorpusConfig
from models.corpus.sources import Source

log = logging.getLogger(__name__)

SPLITS: tuple[str, ...] = ALL_SPLITS

#: task -> [(kind, weight, source kind needed or None for procedural)]
_MIX: dict[str, list[tuple[str, float, str | None]]] = {
    "pitch": [("pop909_melody", 1.0, "pop909"), ("proc_line", 1.0, None)],
    "chords": [("pop909_poly", 1.0, "pop909"), ("proc_chords", 1.0, None)],
    "drums": [("groove", 1.0, "groove"), ("proc_drums", 1.0, None)],
    "onsets": [("pop909_poly", 0.35, "pop909"), ("pop909_melody", 0.25, "pop909"), ("groove", 0.4, "groove"),
               ("proc_line", 1.0, None), ("proc_chords", 1.0, None), ("proc_drums", 1.0, None)],
}


def split_of(piece_id: str, cfg: CorpusConfig | None = None) -> str:
    """train/valid/test from a hash of the piece id alone (the same song lands in the same split in
    every task and every render)."""
    h = int.from_bytes(hashlib.sha256(piece_id.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64
    train = cfg.split_train if cfg else 0.8
    valid = cfg.split_valid if cfg else 0.9
    return "train" if h < train else ("valid" if h < valid else "test")


@dataclass(frozen=True)
class Batch:
    batch_id: str
    font: str
    items: tuple[dict, ...]


def _cycle(rng: np.random.Generator, values: tuple[str, ...]):
    while True:
        for v in rng.permutation(len(values)):
            yield values[int(v)]


def plan_items(cfg: CorpusConfig, sources: list[Source], fonts: list[str]) -> list[dict]:
    task_code = TASKS.index(cfg.task)
    rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, task_code, 0]))
    by_kind = {s.kind: s for s in sources}
    mix = _MIX[cfg.task]
    src_kinds = [(k, w, need) for k, w, need in mix if need is not None and need in by_kind]
    proc_kinds = [(k, w, need) for k, w, need in mix if need is None]
    if sources and not src_kinds:
        log.warning("none of the sources (%s) serves the %s task; rendering procedural material only",
                    ", ".join(s.kind for s in sources), cfg.task)
    proc_fraction = 1.0 if not src_kinds else cfg.procedural_fraction
    # pieces of each source, by split: an item first draws its split (80/10/10 by default), then the
    # next piece of that split, so the minutes per split follow the ratios even when a source has few,
    # unequal pieces (Groove has 21 sessions)
    split_p = np.array([cfg.split_train, cfg.split_valid - cfg.split_train, 1.0 - cfg.split_valid])
    cycles = {}
    for kind, src in by_kind.items():
        for split in SPLITS:
            pieces = tuple(p for p in src.pieces if split_of(f"{kind}/{p}", cfg) == split)
            if pieces:
                cycles[(kind, split)] = _cycle(rng, pieces)
    pop909 = by_kind.get("pop909")
    pop_by_split: dict[str, tuple[str, ...]] = {}
    if pop909:
        for split in SPLITS:
            pop_by_split[split] = tuple(p for p in pop909.pieces if split_of(f"pop909/{p}", cfg) == split)
    items: list[dict] = []
    total = 0.0
    target = cfg.minutes * 60.0
    while total < target - 1e-6:
        i = len(items)
        use_proc = rng.random() < proc_fraction
        pool = proc_kinds if use_proc else src_kinds
        w = np.array([p[1] for p in pool], dtype=float)
        kind, _, need = pool[int(rng.choice(len(pool), p=w / w.sum()))]
        duration = float(rng.uniform(cfg.excerpt_min_s, cfg.excerpt_max_s))
        remaining = target - total
        if remaining < duration + 5.0:  # no tiny item at the end: the last one takes the rest
            duration = max(remaining, 5.0)
        duration = round(duration, 3)
        tempo = round(float(rng.uniform(cfg.tempo_min, cfg.tempo_max)), 4)
        spec: dict = {"index": i, "kind": kind, "duration_s": duration, "tempo": tempo,
                      "font": fonts[int(rng.integers(len(fonts)))],
                      "seed": [int(cfg.seed), task_code, i, 1]}
        if need is None:
            piece = f"procedural/{cfg.task}/{cfg.seed}/{i:05d}"
            spec.update(source="procedural", piece=piece, source_path="")
            spec["tempo"] = 1.0
        else:
            src = by_kind[need]
            split = SPLITS[int(rng.choice(3, p=split_p))]
            if (need, split) not in cycles:
                split = next(sp for sp in SPLITS if (need, sp) in cycles)
            name = next(cycles[(need, split)])
            piece = f"{need}/{name}"
            spec.update(source=need, piece=name, source_path=str(src.path))
        spec["piece_id"] = piece
        spec["split"] = split_of(piece, cfg)
        if cfg.task == "onsets":
            spec["label_all"] = True
            spec["melody_probability"] = 0.7
        bed_kinds = ("groove", "proc_drums") if cfg.music_bed_on_procedural else ("groove",)
        if kind in bed_kinds and pop909 and rng.random() < cfg.music_bed_probability:
            candidates = pop_by_split.get(spec["split"]) or ()
            if candidates:
                bed = candidates[int(rng.integers(len(candidates)))]
                low, high = cfg.music_bed_level_db
                # one uniform draw, from the top of the range down (what the first corpora were rendered with)
                level = high - (high - low) * float(rng.random())
                spec["music_bed"] = {"piece": bed, "source_path": str(pop909.path),
                                     "level_db": round(level, 2), "labelled": cfg.task == "onsets"}
        if kind in ("groove", "proc_drums") and cfg.kit_fonts:
            # a draw of its own, so that plans without kit fonts stay what they were
            kit_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, task_code, i, 7]))
            if kit_rng.random() < cfg.kit_font_probability:
                spec["kit_font"] = cfg.kit_fonts[int(kit_rng.integers(len(cfg.kit_fonts)))]
        slug = spec["piece_id"].replace("/", "-")
        spec["stem"] = f"{cfg.task}_{i:05d}_{slug}"
        items.append(spec)
        total += duration
    return items


def _stems_per_item(spec: dict) -> float:
    extra = 0.4 if spec["kind"] in ("pop909_melody", "pop909_poly") else 0.0
    # a stem on a one-kit font is one more fluidsynth call
    return 1.0 + extra + (1.0 if spec.get("music_bed") else 0.0) + (0.5 if spec.get("kit_font") else 0.0)


def plan_batches(cfg: CorpusConfig, items: list[dict], fonts: list[str]) -> list[Batch]:
    batches: list[Batch] = []
    for f_index, font in enumerate(fonts):
        current: list[dict] = []
        audio = 0.0
        for spec in items:
            if spec["font"] != font:
                continue
            cost = spec["duration_s"] * _stems_per_item(spec)
            if current and audio + cost > cfg.batch_audio_s:
                batches.append(Batch(f"{f_index}-{len(batches)}", font, tuple(current)))
                current, audio = [], 0.0
            current.append(spec)
            audio += cost
        if current:
            batches.append(Batch(f"{f_index}-{len(batches)}", font, tuple(current)))
    # long batches first: better load balance over the worker processes
    batches.sort(key=lambda b: -sum(s["duration_s"] for s in b.items))
    return batches


def font_label(font: str) -> str:
    return Path(font).name
