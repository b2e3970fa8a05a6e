"""Finding and reading the MIDI sources: POP909 songs and Groove MIDI sessions.

A source folder is recognised by its layout. Pieces are the split unit: a POP909 song, or a Groove
session (all takes of ``drummerX/sessionY``), so no piece ever lands in two splits.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pretty_midi

from models.corpus.score import PartNote
from models.errors import CorpusError

log = logging.getLogger(__name__)

#: Roland TD-11 keys that General MIDI kits do not have -> the GM key that sounds the same drum.
ROLAND_TO_GM: dict[int, int] = {22: 42, 26: 46, 58: 43}


@dataclass(frozen=True)
class Source:
    kind: str  # "pop909" or "groove"
    path: Path
    pieces: tuple[str, ...]  # piece ids within the source (song number, or drummer/session)


def _is_pop909(folder: Path) -> list[str]:
    songs = []
    for sub in sorted(folder.iterdir()):
        if sub.is_dir() and re.fullmatch(r"\d{3}", sub.name) and (sub / f"{sub.name}.mid").is_file() \
                and (sub / "chord_midi.txt").is_file():
            songs.append(sub.name)
    return songs


def _groove_rows(folder: Path) -> list[dict]:
    info = folder / "info.csv"
    with open(info, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"session", "midi_filename", "duration"} - set(reader.fieldnames or ())
        if missing:
            raise CorpusError(
                f"{info}: not a Groove MIDI info.csv, columns {', '.join(sorted(missing))} are missing"
            )
        return list(reader)


def detect_source(folder: str | Path) -> Source:
    """Recognise a POP909 or Groove MIDI folder; raise CorpusError naming what was expected otherwise."""
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise CorpusError(f"source folder not found: {path}; pass an existing POP909 or Groove MIDI folder")
    if (path / "info.csv").is_file():
        rows = _groove_rows(path)
        sessions = sorted({r["session"] for r in rows if (path / r["midi_filename"]).is_file()})
        if not sessions:
            raise CorpusError(f"{path}: info.csv lists no MIDI file that exists in the folder; is it complete?")
        return Source("groove", path.resolve(), tuple(sessions))
    songs = _is_pop909(path)
    if not songs and (path / "POP909").is_dir():
        return detect_source(path / "POP909")
    if songs:
        return Source("pop909", path.resolve(), tuple(songs))
    raise CorpusError(
        f"{path} is neither a POP909 folder (expected sub-folders NNN/ holding NNN.mid and chord_midi.txt) "
        "nor a Groove MIDI folder (expected info.csv with session and midi_filename columns)"
    )


# --- POP909 ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pop909Song:
    song: str
    tracks: dict  # track name -> list[PartNote]
    pedal: dict  # track name -> list[(time_s, value)] sustain pedal
    chords: tuple[tuple[float, float, str], ...]
    end_s: float


def _notes(inst: pretty_midi.Instrument) -> list[PartNote]:
    return [PartNote(float(n.start), float(n.end), int(n.pitch), int(n.velocity))
            for n in sorted(inst.notes, key=lambda n: (n.start, n.pitch))]


@lru_cache(maxsize=8)
def load_pop909_song(folder: str, song: str) -> Pop909Song:
    base = Path(folder) / song
    midi_path = base / f"{song}.mid"
    try:
        pm = pretty_midi.PrettyMIDI(str(midi_path))
    except Exception as exc:  # pretty_midi raises many kinds on a broken file
        raise CorpusError(f"cannot read {midi_path}: {exc}; the POP909 copy may be damaged") from exc
    tracks, pedal = {}, {}
    for inst in pm.instruments:
        name = inst.name.strip().upper()
        tracks[name] = _notes(inst)
        pedal[name] = [(float(c.time), int(c.value)) for c in inst.control_changes if c.number == 64]
    chords = []
    chord_path = base / "chord_midi.txt"
    for lineno, line in enumerate(chord_path.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) != 3:
            raise CorpusError(f"{chord_path}, line {lineno}: expected 'start_s end_s label', got {line!r}")
        chords.append((float(fields[0]), float(fields[1]), fields[2]))
    return Pop909Song(song, tracks, pedal, tuple(chords), float(pm.get_end_time()))


# --- Groove MIDI -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrooveTake:
    take_id: str
    style: str
    bpm: float
    midi_path: Path
    duration_s: float


@lru_cache(maxsize=4)
def groove_sessions(folder: str) -> dict[str, tuple[GrooveTake, ...]]:
    path = Path(folder)
    out: dict[str, list[GrooveTake]] = {}
    for r in _groove_rows(path):
        midi = path / r["midi_filename"]
        if not midi.is_file():
            continue
        out.setdefault(r["session"], []).append(GrooveTake(
            r.get("id", r["midi_filename"]), r.get("style", ""), float(r.get("bpm") or 120),
            midi, float(r["duration"])))
    return {k: tuple(sorted(v, key=lambda t: t.take_id)) for k, v in out.items()}


def load_groove_take(take: GrooveTake) -> list[PartNote]:
    """The drum notes of a take, Roland-only keys mapped to General MIDI."""
    try:
        pm = pretty_midi.PrettyMIDI(str(take.midi_path))
    except Exception as exc:
        raise CorpusError(f"cannot read {take.midi_path}: {exc}; the Groove MIDI copy may be damaged") from exc
    notes = []
    for inst in pm.instruments:
        for n in inst.notes:
            notes.append(PartNote(float(n.start), float(n.end), ROLAND_TO_GM.get(int(n.pitch), int(n.pitch)),
                                  int(n.velocity)))
    notes.sort(key=lambda n: (n.onset_s, n.pitch))
    return notes
