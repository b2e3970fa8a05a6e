"""Rendering a corpus: plan, render batches in parallel, write items atomically, resume after a stop.

Layout: ``OUT/{train,valid,test}/<stem>.flac`` with the label files beside it, ``OUT/corpus.json``
(configuration, seed, package version, per-item provenance) and ``OUT/.items/<stem>.json`` (an item's
provenance, written last: an item is done when it and all the item's files exist).
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
from pathlib import Path

import numpy as np

from models.corpus import labels as lab
from models.corpus.augment import active_rms, augment
from models.corpus.config import LABEL_HOP_S, CorpusConfig
from models.corpus.items import build_item
from models.corpus.plan import SPLITS, Batch, font_label, plan_batches, plan_items
from models.corpus.soundfonts import resolve_kit_fonts, resolve_soundfonts
from models.corpus.sources import detect_source
from models.corpus.synth import fluidsynth_program, render_batch
from models.errors import CorpusError

log = logging.getLogger(__name__)

CORPUS_FORMAT = "featherlight-corpus/1"
STATE_DIR = ".items"
WORK_DIR = ".work"
FADE_OUT_S = 0.2

#: task -> label-file suffixes written beside <stem>.flac
LABEL_SUFFIXES: dict[str, tuple[str, ...]] = {
    "pitch": (".f0.csv", ".notes.csv", ".notes.mid"),
    "chords": (".chords.lab",),
    "drums": (".drums.csv", ".drums.mid"),
    "onsets": (".onsets.csv",),
}


def package_version() -> str:
    try:
        return importlib.metadata.version("featherlight")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def item_files(out: Path, task: str, spec: dict) -> list[Path]:
    folder = out / spec["split"]
    files = [folder / f"{spec['stem']}.flac"] + [folder / f"{spec['stem']}{s}" for s in LABEL_SUFFIXES[task]]
    return files + [out / STATE_DIR / f"{spec['stem']}.json"]


def item_done(out: Path, task: str, spec: dict) -> bool:
    return all(p.is_file() for p in item_files(out, task, spec))


def _mix(content, rendered: list[np.ndarray], sample_rate_hz: int) -> tuple[np.ndarray, list[float]]:
    mix = np.zeros_like(rendered[0], dtype=np.float64)
    levels = []
    for stem, audio in zip(content.stems, rendered):
        rms = active_rms(audio, sample_rate_hz)
        if rms <= 0:  # a stem with no sound (e.g. an excerpt where that track rests)
            levels.append(None)
            continue
        mix += audio.astype(np.float64) / rms * 10 ** (stem.level_db / 20)
        levels.append(stem.level_db)
    fade = min(mix.size, int(FADE_OUT_S * sample_rate_hz))
    if fade:
        mix[-fade:] *= np.linspace(1.0, 0.0, fade)
    return mix, levels


def _write_labels(task: str, folder: Path, stem_name: str, content, line_audio, sample_rate_hz: int) -> dict:
    from models.annotations import csv_io, lab as lab_io, midi_io

    base = folder / stem_name
    if task == "pitch":
        f0 = lab.line_f0(content.line, content.duration_s, line_audio, sample_rate_hz)
        notes = lab.line_notes(content.line)
        csv_io.write_f0_csv(f"{base}.f0.csv", f0)
        csv_io.write_notes_csv(f"{base}.notes.csv", notes)
        midi_io.write_notes_midi(f"{base}.notes.mid", notes)
        return {"notes": len(notes), "voiced_s": round(float(np.sum(f0.f0_hz > 0)) * LABEL_HOP_S, 2)}
    if task == "chords":
        lab_io.write_lab(f"{base}.chords.lab", content.chords)
        return {"chords": len(content.chords)}
    if task == "drums":
        hits = lab.drum_hits(content)
        csv_io.write_drums_csv(f"{base}.drums.csv", hits)
        midi_io.write_drums_midi(f"{base}.drums.mid", hits)
        return {"hits": len(hits)}
    onsets = lab.all_onsets(content)
    csv_io.write_onsets_csv(f"{base}.onsets.csv", onsets)
    return {"onsets": int(onsets.size)}


def render_one_batch(batch: Batch, cfg: CorpusConfig, out: Path) -> list[dict]:
    """Render the batch's items that are not done yet; returns their provenance records."""
    from models.audio import write_audio

    if all(item_done(out, cfg.task, s) for s in batch.items):
        return []
    # The whole batch is rendered even when some items are done, so every item's audio comes from the
    # very same synth run whether or not the render was interrupted.
    contents = [build_item(s, cfg) for s in batch.items]
    stems = [(stem, c.duration_s) for c in contents for stem in c.stems]
    work = Path(tempfile.mkdtemp(prefix=f"batch{batch.batch_id}.", dir=out / WORK_DIR))
    rendered: list[np.ndarray | None] = [None] * len(stems)
    try:  # one fluidsynth call per font: the batch's GM font, and each one-kit font its drum stems use
        for font in dict.fromkeys([batch.font] + [s.kit_font for s, _ in stems if s.kit_font]):
            idx = [i for i, (s, _) in enumerate(stems) if (s.kit_font or batch.font) == font]
            if idx:
                audio = render_batch([stems[i] for i in idx], Path(font), cfg.sample_rate_hz, work)
                for i, a in zip(idx, audio):
                    rendered[i] = a
    finally:
        shutil.rmtree(work, ignore_errors=True)
    records = []
    k = 0
    for spec, content in zip(batch.items, contents):
        audio_stems = rendered[k:k + len(content.stems)]
        k += len(content.stems)
        if item_done(out, cfg.task, spec):
            continue
        for p in item_files(out, cfg.task, spec):  # leftovers of an interrupted attempt
            p.unlink(missing_ok=True)
        mix, levels = _mix(content, audio_stems, cfg.sample_rate_hz)
        rng = np.random.default_rng(np.random.SeedSequence(spec["seed"] + [2]))
        audio, aug = augment(mix, rng, cfg.sample_rate_hz)
        folder = out / spec["split"]
        folder.mkdir(parents=True, exist_ok=True)
        counts = _write_labels(cfg.task, folder, spec["stem"], content, audio_stems[0], cfg.sample_rate_hz)
        write_audio(folder / f"{spec['stem']}.flac", audio, cfg.sample_rate_hz)
        record = {
            "stem": spec["stem"], "split": spec["split"], "source": spec["source"], "piece": spec["piece_id"],
            "duration_s": round(content.duration_s, 4), "font": font_label(batch.font),
            "stems": [{"name": s.name, "level_db": None if lv is None else round(lv, 2),
                       "labelled": i in content.labelled_stems,
                       "parts": [{"program": p.program, "drum_kit": p.is_drum, "notes": len(p.notes)} for p in s.parts]}
                      for i, (s, lv) in enumerate(zip(content.stems, levels))],
            **content.provenance, "augmentation": aug, "labels": counts,
            "files": [p.name for p in item_files(out, cfg.task, spec)[:-1]],
        }
        from models.fileio import atomic_write_text

        atomic_write_text(out / STATE_DIR / f"{spec['stem']}.json", json.dumps(record, indent=1) + "\n")
        records.append(record)
    return records


def _worker_init() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops the pool


def _run_batch(args) -> list[dict]:
    batch, cfg, out = args
    return render_one_batch(batch, cfg, out)


def _config_record(cfg: CorpusConfig, sources, fonts) -> dict:
    return {"config": cfg.to_dict(), "sources": [{"kind": s.kind, "path": str(s.path), "pieces": len(s.pieces)}
                                                 for s in sources],
            "soundfonts": fonts}


def _clean_leftovers(out: Path) -> None:
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)
    for folder in [out / s for s in SPLITS] + [out / STATE_DIR]:
        if folder.is_dir():
            for p in folder.glob(".*.tmp*"):  # temporaries of atomic writes cut short by a kill
                p.unlink(missing_ok=True)


def render_corpus(cfg: CorpusConfig, out_dir: str | os.PathLike, *, jobs: int = 1, progress: bool = True) -> dict:
    """Render (or finish rendering) the corpus described by ``cfg`` into ``out_dir``; returns corpus.json's
    content. Safe to call again after an interruption: finished items are kept, the rest is rendered."""
    fluidsynth_program()
    out = Path(out_dir).expanduser()
    sources = [detect_source(p) for p in cfg.sources]
    kinds = [s.kind for s in sources]
    if len(set(kinds)) != len(kinds):
        raise CorpusError(f"two source folders of the same kind ({', '.join(kinds)}); pass each source once")
    fonts = resolve_soundfonts(cfg.soundfonts)
    kit_fonts = resolve_kit_fonts(cfg.kit_fonts)
    cfg = CorpusConfig(**{**cfg.to_dict(), "sources": tuple(str(s.path) for s in sources),
                          "soundfonts": tuple(fonts), "kit_fonts": tuple(kit_fonts)})
    header = _config_record(cfg, sources, fonts)
    manifest = out / "corpus.json"
    if manifest.is_file():
        try:
            old = json.loads(manifest.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise CorpusError(f"{manifest} is unreadable ({exc}); remove it or choose another --out") from exc
        # settings added after a corpus was rendered take their defaults (what that render used)
        if {**CorpusConfig.defaults_dict(), **(old.get("config") or {})} != header["config"]:
            raise CorpusError(
                f"{out} holds a corpus rendered with other settings (see {manifest}); resume with the same "
                "--task/--minutes/--seed/--sources/--soundfonts/--kit-fonts, or choose another --out folder"
            )
    elif out.is_dir() and any(out.iterdir()):
        raise CorpusError(f"{out} is not empty and holds no corpus.json; choose an empty or new --out folder")
    # the full plan, then the chosen splits' items: each keeps what the full render gives it
    items = [s for s in plan_items(cfg, sources, fonts) if s["split"] in cfg.splits]
    batches = plan_batches(cfg, items, fonts)
    base = {"format": CORPUS_FORMAT, "package_version": package_version(), "task": cfg.task,
            "seed": cfg.seed, **header, "complete": False, "planned_items": len(items)}
    from models.fileio import atomic_write_text

    # corpus.json first: from now on the folder is recognisably a (resumable) corpus
    atomic_write_text(manifest, json.dumps(base, indent=1) + "\n", overwrite=True)
    for split in cfg.splits:
        (out / split).mkdir(exist_ok=True)
    (out / STATE_DIR).mkdir(exist_ok=True)
    _clean_leftovers(out)
    (out / WORK_DIR).mkdir(exist_ok=True)

    todo = [b for b in batches if any(not item_done(out, cfg.task, s) for s in b.items)]
    n_todo = sum(1 for b in todo for s in b.items if not item_done(out, cfg.task, s))
    log.info("%d items planned, %d to render in %d batches with %d job(s)", len(items), n_todo, len(todo), jobs)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), initial=len(items) - n_todo, unit="item", desc=f"corpus {cfg.task}")
    try:
        if jobs <= 1:
            for b in todo:
                recs = render_one_batch(b, cfg, out)
                if bar:
                    bar.update(len(recs))
        else:
            ctx = multiprocessing.get_context("fork")
            with ctx.Pool(jobs, initializer=_worker_init, maxtasksperchild=4) as pool:
                for recs in pool.imap_unordered(_run_batch, [(b, cfg, out) for b in todo]):
                    if bar:
                        bar.update(len(recs))
    finally:
        if bar:
            bar.close()
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)
    records = []
    for spec in items:
        path = out / STATE_DIR / f"{spec['stem']}.json"
        records.append(json.loads(path.read_text(encoding="utf-8")))
    summary = {split: {"items": sum(1 for r in records if r["split"] == split),
                       "minutes": round(sum(r["duration_s"] for r in records if r["split"] == split) / 60, 3),
                       "pieces": len({r["piece"] for r in records if r["split"] == split})}
               for split in cfg.splits}
    final = {**base, "complete": True, "summary": summary, "items": records}
    atomic_write_text(manifest, json.dumps(final, indent=1) + "\n", overwrite=True)
    return final
