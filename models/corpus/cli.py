"""`featherlight corpus render` and `featherlight corpus info`."""

from __future__ import annotations

import argparse
import os
import time

from models.annotations.types import TASKS
from models.corpus.config import ALL_SPLITS

_RENDER_HELP = """\
Render a labelled training corpus from MIDI with fluidsynth and General MIDI soundfonts.

Sources are recognised by their layout: a POP909 folder (NNN/NNN.mid with chord_midi.txt) and a
Groove MIDI folder (info.csv). Procedural material (random melodies with vibrato and glides, chord
progressions over every root and quality, drum patterns) needs no source; without --sources the
corpus is procedural only.

Output: OUT/{train,valid,test}/<stem>.flac (mono FLAC) with label files beside it
(pitch: .f0.csv .notes.csv .notes.mid; chords: .chords.lab; drums: .drums.csv .drums.mid;
onsets: .onsets.csv) and OUT/corpus.json with the configuration and each item's provenance.
Splits are by source piece (song, drum session, procedural piece), never by excerpt.
The same seed gives byte-identical audio and labels whatever --jobs is. Run the same command again
to resume an interrupted render.

examples:
  featherlight corpus render --task chords --sources data/pop909 --out corpus/chords --minutes 120 --seed 1 --jobs 2
  featherlight corpus render --task drums --sources data/groove_midi data/pop909 --out corpus/drums --minutes 60 --seed 1
  featherlight corpus render --task pitch --out corpus/pitch-small --minutes 2 --seed 0
  featherlight corpus render --task pitch --sources data/pop909 --out heldout/pitch-s9 --minutes 480 --seed 9 --splits test
"""


def register(subparsers) -> None:
    corpus = subparsers.add_parser(
        "corpus", help="render a labelled training corpus from MIDI (fluidsynth), or summarise one",
        description="Render a labelled training corpus from MIDI, or summarise one already rendered.")
    sub = corpus.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    render = sub.add_parser("render", help="render audio + labels for one task",
                            description=_RENDER_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    render.add_argument("--task", required=True, choices=TASKS, help="which labels to render")
    render.add_argument("--sources", nargs="+", default=[], metavar="DIR",
                        help="POP909 and/or Groove MIDI folders (read-only); omit for procedural material only")
    render.add_argument("--out", required=True, metavar="DIR",
                        help="output folder (new or empty, or a previous render of the same settings to resume)")
    render.add_argument("--minutes", required=True, type=float, metavar="M", help="total audio to render, in minutes")
    render.add_argument("--seed", type=int, default=0, metavar="S", help="random seed; fixes every choice (default 0)")
    render.add_argument("--jobs", type=int, default=max(1, (os.cpu_count() or 1)), metavar="N",
                        help="worker processes (default: number of CPU cores); does not change the output")
    render.add_argument("--sample-rate-hz", type=int, default=16000, metavar="HZ",
                        help="sample rate of the rendered audio (default 16000, what the models use)")
    render.add_argument("--soundfonts", nargs="+", default=[], metavar="PATH",
                        help="General MIDI .sf2/.sf3 fonts (default: FluidR3_GM, TimGM6mb, FluidR3Mono_GM, "
                             "MuseScore_General where installed)")
    render.add_argument("--procedural-fraction", type=float, default=0.3, metavar="F",
                        help="share of items that are procedural when sources are given (default 0.3)")
    render.add_argument("--melody-accompaniment-probability", type=float, default=0.4, metavar="P",
                        help="pitch and onsets: share of POP909 melody items played over their song's "
                             "accompaniment, 6-20 dB lower (default 0.4); for pitch the accompaniment is never "
                             "labelled")
    render.add_argument("--music-bed-probability", type=float, default=0.3, metavar="P",
                        help="drums and onsets: share of Groove items rendered over a POP909 accompaniment, whose "
                             "notes are not drum labels (default 0.3)")
    render.add_argument("--music-bed-level-db", type=float, nargs=2, default=(-20.0, -6.0), metavar=("LOW", "HIGH"),
                        help="the accompaniment's level relative to the drums, dB (default -20 -6)")
    render.add_argument("--music-bed-on-procedural", action="store_true",
                        help="procedural drum items get an accompaniment too (with the same probability)")
    render.add_argument("--kit-fonts", nargs="+", default=[], metavar="PATH",
                        help="one-kit soundfonts (a single drum kit as preset 0 of bank 0, e.g. the acoustic kits "
                             "of the Debian package avldrums.lv2-soundfont in /usr/share/sounds/sf2): drum items "
                             "play their drums on one of them with --kit-font-probability (default: none)")
    render.add_argument("--kit-font-probability", type=float, default=0.5, metavar="P",
                        help="share of drum items played on a --kit-fonts kit (default 0.5)")
    render.add_argument("--splits", nargs="+", choices=ALL_SPLITS, default=list(ALL_SPLITS), metavar="SPLIT",
                        help="render only the items of these splits (train, valid, test; default all): the plan "
                             "stays the full render's, so --splits test gives the test split of --minutes M at "
                             "about a tenth of the work, a held-out set for a model trained on other seeds "
                             "(its items are the full render's, their audio can differ in small details: "
                             "fluidsynth renders items in batches)")
    render.add_argument("--no-progress", action="store_true", help="no progress bar")
    render.set_defaults(func=run_render)
    info = sub.add_parser("info", help="summarise a rendered corpus (minutes per split, items, sources, config)",
                          description="Print a summary of a corpus made by 'featherlight corpus render'.")
    info.add_argument("folder", metavar="DIR", help="the --out folder of a render")
    info.set_defaults(func=run_info)


def run_render(args) -> int:
    from models.corpus.config import CorpusConfig
    from models.corpus.info import summary_text
    from models.corpus.render import render_corpus
    from models.errors import ConfigError

    if args.jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {args.jobs}")
    cfg = CorpusConfig(task=args.task, minutes=args.minutes, seed=args.seed, sample_rate_hz=args.sample_rate_hz,
                       procedural_fraction=args.procedural_fraction, sources=tuple(args.sources),
                       melody_accompaniment_probability=args.melody_accompaniment_probability,
                       music_bed_probability=args.music_bed_probability,
                       music_bed_level_db=tuple(args.music_bed_level_db),
                       music_bed_on_procedural=args.music_bed_on_procedural,
                       kit_fonts=tuple(args.kit_fonts), kit_font_probability=args.kit_font_probability,
                       soundfonts=tuple(args.soundfonts), splits=tuple(args.splits))
    start = time.perf_counter()
    manifest = render_corpus(cfg, args.out, jobs=args.jobs, progress=not args.no_progress)
    elapsed = time.perf_counter() - start
    print(summary_text(manifest))
    print(f"rendered into {args.out} in {elapsed:.1f} s")
    return 0


def run_info(args) -> int:
    from models.corpus.info import load_manifest, summary_text

    print(summary_text(load_manifest(args.folder)))
    return 0
