"""Build the bundled models (resources/models/<task>.onnx + <task>.json) from data a user can obtain.

    .venv/bin/python scripts/build_models.py --sources ../shared/data/pop909 ../shared/data/groove_midi \
        --work build/models --minutes 120 --seed 0 --epochs 30 --device auto

Per task (--tasks, default all four), the documented pipeline, each step a `featherlight` command run
as a subprocess of this Python (its output shows as it runs):

1. `featherlight corpus render --task T --out WORK/corpus/T --minutes M --seed S --sources ...`:
   skipped when WORK/corpus/T/corpus.json says the corpus is complete with these settings (a stopped
   render resumes; other settings in that folder are an error: use another --work); with
   `--more-renders SEED:MINUTES ...` also one render per extra seed into WORK/corpus/T-seedSEED (same
   task and render options, or `--more-render-options` in their place), and WORK/combined/T gets links
   to the train files of all of them (named s<seed>_<file>) plus the main corpus's validation split: more
   pieces and instruments for training, the same validation (a piece's split comes from its id, never
   from the seed, so no test piece leaks);
2. `featherlight train --task T --data WORK/corpus/T --out WORK/runs/T --seed S [--epochs N] --device D
   [--train-options]` (`--data WORK/combined/T` with --more-renders), with --resume when WORK/runs/T
   holds an interrupted (or finished) run; a run fine-tuned with `--train-options '--init RUN'` gets the
   starting weights' file, sha256 and source run (its command, data and epochs) recorded in the card;
3. `featherlight export WORK/runs/T --out WORK/export --name T --overwrite`;
4. the card's "training" block gets the build facts: the render and train commands, the data sources
   (POP909, Groove MIDI: what the corpus was rendered from), corpus minutes and seed, training seed, and
   this script's command; then WORK/export/T.onnx/.json are copied into --out (default resources/models).
   Existing bundled models are replaced only after a yes at the prompt, or with --overwrite.

Nothing is deleted: re-running continues where a previous run stopped.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from models.annotations.types import TASKS
from models.corpus.config import CorpusConfig
from models.errors import ConfigError, CorpusError, FeatherlightError, OverwriteError

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO / "resources" / "models"

#: Runs one featherlight command (argv after "featherlight"); raises FeatherlightError when it fails.
CommandRunner = Callable[[Sequence[str]], None]


@dataclass(frozen=True)
class BuildSettings:
    """Everything that decides the built models (and where the work goes)."""

    work: Path
    tasks: tuple[str, ...] = TASKS
    sources: tuple[str, ...] = ()
    minutes: float = 120.0
    seed: int = 0
    epochs: int | None = None  # None: the trainer's default
    device: str = "auto"
    jobs: int = 1  # render processes
    out: Path = DEFAULT_OUT
    overwrite: bool = False
    #: corpus options passed to `corpus render` as given (e.g. ("--music-bed-probability", "0.7")); they
    #: decide the audio, so a corpus folder rendered without them is not reused
    render_options: tuple[str, ...] = ()
    #: more `train` options as given (e.g. ("--init", "runs/pitch", "--lr", "0.0005")): part of the run's
    #: settings, so a run folder trained without them is not resumed with them (the trainer refuses)
    train_options: tuple[str, ...] = ()
    #: appended to the task in the installed file names and the card's name: "-live" gives drums-live.onnx,
    #: an alternative beside the task's default model (the one named after the task)
    name_suffix: str = ""
    #: more renders of the same task and render options with other seeds, as (seed, minutes): their train
    #: splits join the main corpus's for training (pieces keep their split whatever the seed, so no test
    #: or validation piece enters training); validation stays the main corpus's
    more_renders: tuple[tuple[int, float], ...] = ()
    #: the `corpus render` options of the extra renders in place of ``render_options`` (None: the same), e.g.
    #: ("--melody-accompaniment-probability", "1.0") for more accompanied melodies than the main corpus has
    more_render_options: tuple[str, ...] | None = None

    def render_options_for(self, more: tuple[int, float] | None = None) -> tuple[str, ...]:
        """The options of the main render (``more`` None) or of an extra render."""
        if more is None or self.more_render_options is None:
            return self.render_options
        return self.more_render_options

    def model_name(self, task: str) -> str:
        return task + self.name_suffix

    def corpus_dir(self, task: str, seed: int | None = None) -> Path:
        """The main corpus of ``task`` (``seed`` None or the main seed), else the render of that ``seed``
        from ``more_renders``."""
        return self.work / "corpus" / (task if seed in (None, self.seed) else f"{task}-seed{seed}")

    def training_data(self, task: str) -> Path:
        """What training reads: the main corpus, or with ``more_renders`` a folder of links joining them."""
        return self.work / "combined" / task if self.more_renders else self.corpus_dir(task)

    def run_dir(self, task: str) -> Path:
        return self.work / "runs" / task

    @property
    def export_dir(self) -> Path:
        return self.work / "export"


def run_cli(argv: Sequence[str]) -> None:
    """Run ``featherlight ARGV`` with this Python; output goes straight to the terminal."""
    cmd = [sys.executable, "-m", "desktop_app.cli", *map(str, argv)]
    print("$ featherlight " + shlex.join(map(str, argv)), flush=True)
    code = subprocess.run(cmd).returncode
    if code != 0:
        raise ConfigError(f"`featherlight {shlex.join(map(str, argv))}` failed with exit status {code}; "
                          "fix the problem it reported and run this script again (finished steps are kept)")


# --- the commands ------------------------------------------------------------------------------------------
def render_command(s: BuildSettings, task: str, more: tuple[int, float] | None = None) -> list[str]:
    """The main render, or (``more`` = (seed, minutes)) one of the extra renders."""
    seed, minutes = (s.seed, s.minutes) if more is None else more
    cmd = ["corpus", "render", "--task", task, "--out", str(s.corpus_dir(task, seed)),
           "--minutes", f"{minutes:g}", "--seed", str(seed)]
    if s.sources:
        cmd += ["--sources", *s.sources]
    return cmd + [*s.render_options_for(more), "--jobs", str(s.jobs), "--no-progress"]


def train_command(s: BuildSettings, task: str) -> list[str]:
    cmd = ["train", "--task", task, "--data", str(s.training_data(task)), "--out", str(s.run_dir(task)),
           "--seed", str(s.seed), "--device", s.device]
    if s.epochs is not None:
        cmd += ["--epochs", str(s.epochs)]
    return cmd + list(s.train_options)


def export_command(s: BuildSettings, task: str) -> list[str]:
    return ["export", str(s.run_dir(task)), "--out", str(s.export_dir), "--name", s.model_name(task), "--overwrite"]


# --- the steps ---------------------------------------------------------------------------------------------
def corpus_is_complete(s: BuildSettings, task: str, more: tuple[int, float] | None = None) -> bool:
    """True when the task's corpus folder (``more``: that extra render's) holds a finished render with these
    minutes, seed and sources.

    A folder rendered with other settings is a :class:`CorpusError` (never re-rendered over)."""
    seed, minutes = (s.seed, s.minutes) if more is None else more
    folder = s.corpus_dir(task, seed)
    manifest = folder / "corpus.json"
    if not manifest.is_file():
        return False
    try:
        info = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{manifest} is unreadable ({exc}); remove that corpus folder or use another --work") from None
    config = info.get("config", {})
    wanted = {"minutes": float(minutes), "seed": seed,
              "sources": sorted(str(Path(p).resolve()) for p in s.sources)}
    found = {"minutes": float(config.get("minutes", -1)), "seed": config.get("seed"),
             "sources": sorted(str(Path(p).resolve()) for p in config.get("sources", []))}
    options = _render_option_values(s.render_options_for(more))
    defaults = CorpusConfig.defaults_dict()
    for key, value in options.items():
        wanted[key] = value
        found[key] = config.get(key, defaults.get(key))
    if found != wanted:
        diff = ", ".join(f"{k} {found[k]} (wanted {wanted[k]})" for k in wanted if found[k] != wanted[k])
        raise CorpusError(f"{folder} holds a corpus rendered with other settings: {diff}; "
                          "use another --work folder or the same --minutes/--seed/--sources")
    return bool(info.get("complete"))


def combine_corpora(s: BuildSettings, task: str) -> Path:
    """WORK/combined/TASK: ``train/`` holds links to the train files of the main corpus and of every extra
    render (named ``s<seed>_<file>``, so equal names of two renders stay apart), ``valid`` links the main
    corpus's validation split. Rebuilt on every call from the corpora as they are; returns the folder."""
    out = s.training_data(task)
    train = out / "train"
    train.mkdir(parents=True, exist_ok=True)
    for old in train.iterdir():  # only links live here: what this function made last time
        if old.is_symlink():
            old.unlink()
    for seed in (s.seed, *(seed for seed, _ in s.more_renders)):
        source = s.corpus_dir(task, seed) / "train"
        if not source.is_dir():
            raise CorpusError(f"{source} is missing; the render of seed {seed} did not finish: run this script again")
        for f in sorted(source.iterdir()):
            (train / f"s{seed}_{f.name}").symlink_to(f.resolve())
    valid = out / "valid"
    if valid.is_symlink():
        valid.unlink()
    valid.symlink_to((s.corpus_dir(task) / "valid").resolve(), target_is_directory=True)
    return out


def _parse_command_options(register: Callable, command: Sequence[str], options: Sequence[str],
                           flag: str) -> argparse.Namespace:
    """``options`` parsed as `featherlight COMMAND...` would (``command`` holds the command and its required
    arguments); a :class:`ConfigError` naming ``flag`` when it would not take them."""
    parser = argparse.ArgumentParser(add_help=False)
    register(parser.add_subparsers())
    try:
        args, extra = parser.parse_known_args([*command, *options])
    except SystemExit:
        extra = ["?"]
    if extra:
        name = " ".join(command[: 2 if command[0] == "corpus" else 1])
        raise ConfigError(f"{flag} {shlex.join(options)!r}: not valid `{name}` options "
                          f"(see featherlight {name} --help)") from None
    return args


def _render_option_values(options: Sequence[str], flag: str = "--render-options") -> dict:
    """The corpus settings ``options`` (``corpus render`` flags) stand for, as corpus.json records them."""
    from models.corpus.cli import register

    args = _parse_command_options(register, ["corpus", "render", "--task", "drums", "--out", "-", "--minutes", "1"],
                                  options, flag)
    given = {a.lstrip("-").split("=")[0].replace("-", "_") for a in options if a.startswith("--")}
    values = {}
    for name in given:
        if not hasattr(args, name):
            raise ConfigError(f"{flag}: {name} is not a `corpus render` option")
        value = getattr(args, name)
        values[name] = list(value) if isinstance(value, (list, tuple)) else value
    return values


def check_train_options(options: Sequence[str]) -> None:
    """Refuse ``--train-options`` that `featherlight train` does not take, or that this script sets itself."""
    from models.training.train_cli import register

    own = {"--task", "--data", "--out", "--seed", "--device", "--epochs", "--resume", "--overwrite"}
    clash = sorted(a.split("=")[0] for a in options if a.split("=")[0] in own)
    if clash:
        raise ConfigError(f"--train-options: {', '.join(clash)} set by this script itself; use its own options")
    _parse_command_options(register, ["train", "--task", "pitch", "--data", "-", "--out", "-"], options,
                           "--train-options")


def record_build(card_path: Path, s: BuildSettings, task: str, build_argv: Sequence[str]) -> None:
    """Add the build facts to the card's "training" block (rewritten atomically, validated)."""
    from models.runtime.card import load_card, save_card

    card = load_card(card_path)
    manifest = s.corpus_dir(task) / "corpus.json"
    corpus = json.loads(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    # settings a corpus rendered before they existed took their defaults
    config = {**CorpusConfig.defaults_dict(), **corpus.get("config", {})}
    training = dict(card.training)
    training.update({
        "render_command": ["featherlight", *render_command(s, task)],
        "train_command": ["featherlight", *train_command(s, task)],
        "build_command": list(build_argv),
        "data_sources": [{"kind": src.get("kind"), "path": src.get("path"), "pieces": src.get("pieces")}
                         for src in corpus.get("sources", [])] or list(s.sources),
        "corpus": {"minutes": s.minutes, "seed": s.seed, "summary": corpus.get("summary"),
                   "soundfonts": [Path(p).name for p in corpus.get("soundfonts", [])],
                   "procedural_fraction": config.get("procedural_fraction"),
                   "kit_fonts": [Path(p).name for p in config.get("kit_fonts", [])],
                   "kit_font_probability": config.get("kit_font_probability"),
                   "melody_accompaniment_probability": config.get("melody_accompaniment_probability"),
                   "music_bed": {"probability": config.get("music_bed_probability"),
                                 "level_db": config.get("music_bed_level_db"),
                                 "on_procedural": config.get("music_bed_on_procedural")}},
        "corpus_seed": s.seed,
        "train_seed": training.get("seed", s.seed),
    })
    if s.more_renders:
        more = []
        for seed, minutes in s.more_renders:
            path = s.corpus_dir(task, seed) / "corpus.json"
            info = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
            more.append({"seed": seed, "minutes": minutes, "summary": info.get("summary"),
                         "render_command": ["featherlight", *render_command(s, task, (seed, minutes))]})
        training["more_renders"] = more
        training["combined_training_data"] = (f"{s.training_data(task)}: the train splits of the main render "
                                              "and of more_renders (links made by scripts/build_models.py), "
                                              "validation of the main render")
    init = _init_record(s.run_dir(task))
    if init:
        training["init_weights"] = init
    save_card(replace(card, training=training), card_path, overwrite=True)


def _init_record(run_dir: Path) -> dict | None:
    """A fine-tuned run's starting weights: file, sha256, and the run they came from (its command, data
    and the epochs it had run), so the card says what the bundled model was fine-tuned from. Started from
    an exported model (``--init resources/models/drums.onnx``), the record keeps that model's card's
    commands, data, epochs and its own starting weights, read before the new model replaces it."""
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        return None
    init = json.loads(config_path.read_text(encoding="utf-8")).get("init")
    if not init:
        return None
    record = dict(init)
    if Path(init["path"]).suffix == ".onnx":  # an exported model (a bundled one, say): its card tells its story
        card_path = Path(init["path"]).with_suffix(".json")
        if card_path.is_file():
            card = json.loads(card_path.read_text(encoding="utf-8"))
            tr = card.get("training") or {}
            record.update(source_name=card.get("name"), source_command=tr.get("train_command") or tr.get("command"),
                          source_data=tr.get("data"), source_epochs_run=tr.get("epochs"),
                          source_best_epoch=tr.get("best_epoch"), source_build_command=tr.get("build_command"),
                          source_render_command=tr.get("render_command"),
                          source_init_weights=tr.get("init_weights"))
        return record
    source = Path(init["path"]).parent
    made_by = Path(init["path"]).with_suffix(".json")  # a weights file written by a script, e.g. deepen_model.py
    if Path(init["path"]).suffix == ".safetensors" and made_by.is_file():
        try:
            record["made_by"] = json.loads(made_by.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            pass
    if (source / "config.json").is_file():
        parent = json.loads((source / "config.json").read_text(encoding="utf-8"))
        record.update(source_command=parent.get("command"), source_data=parent.get("data"))
    if (source / "state.json").is_file():
        state = json.loads((source / "state.json").read_text(encoding="utf-8"))
        record.update(source_epochs_run=int(state.get("epoch", -1)) + 1, source_best_epoch=state.get("best_epoch"))
    return record


def _confirm(question: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def install(s: BuildSettings, task: str, ask: Callable[[str], bool] = _confirm) -> tuple[Path, Path]:
    """Copy WORK/export/<name>.onnx/.json to OUT/<name>.onnx/.json atomically (asks before replacing);
    ``name`` is the task plus ``--name-suffix``."""
    from models.fileio import atomic_write_bytes

    name = s.model_name(task)
    sources = [s.export_dir / f"{name}.onnx", s.export_dir / f"{name}.json"]
    targets = [s.out / f"{name}.onnx", s.out / f"{name}.json"]
    existing = [t for t in targets if t.exists()]
    if existing and not s.overwrite:
        names = ", ".join(map(str, existing))
        if not ask(f"replace the existing {names}?"):
            raise OverwriteError(f"{names} already exist(s); pass --overwrite (or answer yes) to replace, or "
                                 "choose another --out folder")
    s.out.mkdir(parents=True, exist_ok=True)
    for src, dst in zip(sources, targets):  # the .onnx first: a card never points at a missing graph
        atomic_write_bytes(dst, src.read_bytes(), overwrite=True)
    return targets[0], targets[1]


def build_task(s: BuildSettings, task: str, *, run: CommandRunner = run_cli, build_argv: Sequence[str] = (),
               ask: Callable[[str], bool] = _confirm) -> tuple[Path, Path]:
    """The whole pipeline for one task; returns the installed (onnx, card) paths."""
    for more in (None, *s.more_renders):
        if corpus_is_complete(s, task, more):
            seed = s.seed if more is None else more[0]
            print(f"{task}: corpus {s.corpus_dir(task, seed)} is complete; not rendering", flush=True)
        else:
            run(render_command(s, task, more))
    if s.more_renders:
        combine_corpora(s, task)
    train = train_command(s, task)
    if (s.run_dir(task) / "state.json").is_file():
        print(f"{task}: resuming the run in {s.run_dir(task)}", flush=True)
        train.append("--resume")
    run(train)
    run(export_command(s, task))
    card_path = s.export_dir / f"{s.model_name(task)}.json"
    if not card_path.is_file():
        raise ConfigError(f"export wrote no {card_path}; check the export step's output above")
    record_build(card_path, s, task, build_argv)
    return install(s, task, ask)


def main(argv: Sequence[str] | None = None, *, run: CommandRunner = run_cli,
         ask: Callable[[str], bool] = _confirm) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated tasks (default {','.join(TASKS)})")
    parser.add_argument("--sources", nargs="+", default=[], metavar="DIR",
                        help="MIDI collections to render from (POP909, Groove MIDI folders); none: procedural only")
    parser.add_argument("--work", type=Path, required=True, metavar="DIR",
                        help="folder for corpora, training runs and exports (kept; re-runs continue)")
    parser.add_argument("--minutes", type=float, default=120.0, help="corpus minutes per task (default 120)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the corpus render and of training (default 0)")
    parser.add_argument("--epochs", type=int, default=None, help="maximum training epochs (default: the trainer's)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="training device")
    parser.add_argument("--jobs", type=int, default=max(1, os.cpu_count() or 1), help="render processes")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"where the models go (default {DEFAULT_OUT})")
    parser.add_argument("--overwrite", action="store_true", help="replace models in --out without asking")
    parser.add_argument("--render-options", default="", metavar="'OPTIONS'",
                        help="more `corpus render` options in one quoted string, e.g. "
                             "--render-options '--music-bed-probability 0.7 --music-bed-on-procedural'")
    parser.add_argument("--train-options", default="", metavar="'OPTIONS'",
                        help="more `train` options in one quoted string, e.g. fine-tuning: "
                             "--train-options '--init WORK0/runs/pitch --lr 0.0005'")
    parser.add_argument("--name-suffix", default="", metavar="SUFFIX",
                        help="install as <task>SUFFIX (e.g. --name-suffix=-live: drums-live.onnx), an alternative "
                             "model beside the task's default <task>.onnx")
    parser.add_argument("--more-renders", nargs="+", default=[], metavar="SEED:MINUTES",
                        help="more renders with other seeds (same task and render options) whose train splits join "
                             "the main corpus's for training, e.g. --more-renders 1:360; validation stays the "
                             "main corpus's")
    parser.add_argument("--more-render-options", default=None, metavar="'OPTIONS'",
                        help="`corpus render` options of the --more-renders in place of --render-options (default: "
                             "the same), e.g. --more-render-options '--melody-accompaniment-probability 1.0'")
    args = parser.parse_args(argv)
    try:
        from models.runtime.analyze_cli import parse_tasks

        if args.name_suffix and not re.fullmatch(r"[-_][A-Za-z0-9_-]+", args.name_suffix):
            raise ConfigError(f"--name-suffix {args.name_suffix!r}: start it with - or _ and use letters, digits, "
                              "- and _ only (e.g. -live)")
        if args.minutes <= 0 or args.jobs < 1 or (args.epochs is not None and args.epochs < 1):
            raise ConfigError(f"--minutes must be > 0, --jobs and --epochs >= 1 (got {args.minutes}, {args.jobs}, "
                              f"{args.epochs})")
        missing = [p for p in args.sources if not Path(p).is_dir()]
        if missing:
            raise ConfigError(f"--sources folder(s) not found: {', '.join(missing)}; give the POP909 / Groove MIDI "
                              "folders named in the README's data section")
        more_renders = []
        for item in args.more_renders:
            try:
                seed_text, minutes_text = item.split(":")
                more = (int(seed_text), float(minutes_text))
            except ValueError:
                raise ConfigError(f"--more-renders {item!r}: give SEED:MINUTES, e.g. 1:360") from None
            if more[1] <= 0 or more[0] == args.seed or more[0] in (m[0] for m in more_renders):
                raise ConfigError(f"--more-renders {item!r}: minutes must be > 0 and each seed other than --seed "
                                  f"({args.seed}) and given once")
            more_renders.append(more)
        settings = BuildSettings(work=args.work, tasks=parse_tasks(args.tasks), sources=tuple(args.sources),
                                 minutes=args.minutes, seed=args.seed, epochs=args.epochs, device=args.device,
                                 jobs=args.jobs, out=args.out, overwrite=args.overwrite,
                                 render_options=tuple(shlex.split(args.render_options)),
                                 train_options=tuple(shlex.split(args.train_options)),
                                 name_suffix=args.name_suffix, more_renders=tuple(more_renders),
                                 more_render_options=(None if args.more_render_options is None
                                                      else tuple(shlex.split(args.more_render_options))))
        if settings.more_render_options is not None and not settings.more_renders:
            raise ConfigError("--more-render-options needs --more-renders (the renders they apply to)")
        _render_option_values(settings.render_options)  # bad options fail here, before any step runs
        if settings.more_render_options is not None:
            _render_option_values(settings.more_render_options, "--more-render-options")
        check_train_options(settings.train_options)
        build_argv = ["scripts/build_models.py", *(sys.argv[1:] if argv is None else argv)]
        for task in settings.tasks:
            onnx_path, card_path = build_task(settings, task, run=run, build_argv=build_argv, ask=ask)
            print(f"{task}: installed {onnx_path} and {card_path}", flush=True)
    except FeatherlightError as exc:
        print(f"build_models: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    sys.exit(main())
