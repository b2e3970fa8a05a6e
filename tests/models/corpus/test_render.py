"""End-to-end renders of tiny procedural corpora: layout, determinism, resume, splits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.corpus.config import CorpusConfig
from models.corpus.render import LABEL_SUFFIXES, STATE_DIR, render_corpus
from models.errors import ConfigError, CorpusError

pytestmark = pytest.mark.needs_fluidsynth


def _render(tmp_path, font, task="drums", seed=0, minutes=0.6, jobs=1, name="out"):
    cfg = CorpusConfig(task=task, minutes=minutes, seed=seed, soundfonts=(font,))
    out = tmp_path / name
    manifest = render_corpus(cfg, out, jobs=jobs, progress=False)
    return out, manifest


@pytest.mark.parametrize("task", ["pitch", "chords", "drums", "onsets"])
def test_tiny_render_writes_every_file(tmp_path, font, task):
    out, manifest = _render(tmp_path, font, task=task, minutes=0.3)
    assert manifest["complete"] is True
    assert manifest["task"] == task and manifest["seed"] == 0
    assert {p.name for p in out.iterdir()} >= {"train", "valid", "test", "corpus.json", STATE_DIR}
    on_disk = json.loads((out / "corpus.json").read_text())
    assert on_disk["items"] == manifest["items"]
    assert on_disk["config"]["task"] == task
    assert on_disk["package_version"]
    total = 0.0
    for item in manifest["items"]:
        folder = out / item["split"]
        assert (folder / f"{item['stem']}.flac").is_file()
        for suffix in LABEL_SUFFIXES[task]:
            assert (folder / f"{item['stem']}{suffix}").is_file(), suffix
        assert item["source"] == "procedural"
        assert item["augmentation"]["loudness_db"] <= -13.9
        total += item["duration_s"]
    assert total == pytest.approx(18.0, abs=0.01)  # 0.3 minutes
    import soundfile as sf

    item = manifest["items"][0]
    info = sf.info(str(out / item["split"] / f"{item['stem']}.flac"))
    assert (info.samplerate, info.channels, info.format) == (16000, 1, "FLAC")
    assert info.frames == round(item["duration_s"] * 16000)


def test_same_seed_same_bytes_whatever_the_jobs(tmp_path, font, tree_hashes):
    a, _ = _render(tmp_path, font, task="onsets", minutes=1.0, jobs=1, name="a")
    b, _ = _render(tmp_path, font, task="onsets", minutes=1.0, jobs=2, name="b")
    c, _ = _render(tmp_path, font, task="onsets", minutes=1.0, seed=1, name="c")
    ha, hb, hc = tree_hashes(a), tree_hashes(b), tree_hashes(c)
    assert len(ha) >= 4
    assert ha == hb
    assert ha != hc


def test_resume_after_deleted_and_half_written_items(tmp_path, font, tree_hashes):
    out, manifest = _render(tmp_path, font, task="drums", minutes=1.0)
    before = tree_hashes(out)
    items = manifest["items"]
    assert len(items) >= 2
    first, second = items[0], items[1]
    # one item lost its audio; another was "killed" after its labels were written (no state file yet)
    (out / first["split"] / f"{first['stem']}.flac").unlink()
    (out / STATE_DIR / f"{second['stem']}.json").unlink()
    (out / second["split"] / f".{second['stem']}.flac.abc123.tmp.flac").write_bytes(b"half")
    again = render_corpus(CorpusConfig(task="drums", minutes=1.0, seed=0, soundfonts=(font,)), out, progress=False)
    assert again["complete"] is True
    assert tree_hashes(out) == before
    assert not list((out / second["split"]).glob(".*tmp*"))


def test_resume_refuses_other_settings(tmp_path, font):
    out, _ = _render(tmp_path, font, task="drums", minutes=0.3)
    with pytest.raises(CorpusError, match="other settings"):
        render_corpus(CorpusConfig(task="drums", minutes=0.3, seed=5, soundfonts=(font,)), out, progress=False)


def test_resume_accepts_a_manifest_written_before_newer_settings_existed(tmp_path, font, tree_hashes):
    out, _ = _render(tmp_path, font, task="drums", minutes=0.3)
    manifest = json.loads((out / "corpus.json").read_text())
    for key in ("music_bed_probability", "music_bed_level_db", "music_bed_on_procedural"):
        del manifest["config"][key]  # as the first corpora were written
    (out / "corpus.json").write_text(json.dumps(manifest))
    before = tree_hashes(out)
    render_corpus(CorpusConfig(task="drums", minutes=0.3, soundfonts=(font,)), out, progress=False)
    after = tree_hashes(out)
    assert {k: v for k, v in after.items() if k != "corpus.json"} == \
        {k: v for k, v in before.items() if k != "corpus.json"}
    with pytest.raises(CorpusError, match="other settings"):
        render_corpus(CorpusConfig(task="drums", minutes=0.3, soundfonts=(font,), music_bed_probability=0.9), out,
                      progress=False)


def test_refuses_a_non_empty_folder_without_corpus(tmp_path, font):
    (tmp_path / "mine.txt").write_text("user data")
    with pytest.raises(CorpusError, match="not empty"):
        render_corpus(CorpusConfig(task="drums", minutes=0.3, soundfonts=(font,)), tmp_path, progress=False)


def test_split_by_piece(tmp_path, font):
    out, manifest = _render(tmp_path, font, task="pitch", minutes=2.0)
    split_of_piece: dict[str, set] = {}
    for item in manifest["items"]:
        split_of_piece.setdefault(item["piece"], set()).add(item["split"])
        assert (out / item["split"] / f"{item['stem']}.flac").is_file()
    assert all(len(s) == 1 for s in split_of_piece.values())
    summary = manifest["summary"]
    assert sum(s["items"] for s in summary.values()) == len(manifest["items"])


def test_splits_renders_only_those_items_of_the_full_plan(tmp_path, font):
    from models.corpus.plan import plan_items

    def test_stems(seed):
        items = plan_items(CorpusConfig(task="pitch", minutes=2.0, seed=seed), [], [font])
        return [i["stem"] for i in items if i["split"] == "test"], len(items)

    seed = next(s for s in range(50) if test_stems(s)[0] and test_stems(s)[1] > len(test_stems(s)[0]))
    _, full = _render(tmp_path, font, task="pitch", minutes=2.0, seed=seed, name="full")
    cfg = CorpusConfig(task="pitch", minutes=2.0, seed=seed, soundfonts=(font,), splits=("test",))
    out = tmp_path / "test-only"
    part = render_corpus(cfg, out, progress=False)
    keys = ("stem", "piece", "font", "duration_s", "split", "augmentation")
    expected = [{k: i[k] for k in keys} for i in full["items"] if i["split"] == "test"]
    assert [{k: i[k] for k in keys} for i in part["items"]] == expected
    assert [i["stem"] for i in part["items"]] == test_stems(seed)[0]
    assert part["planned_items"] == len(expected) and list(part["summary"]) == ["test"]
    assert {p.name for p in out.iterdir()} == {"test", "corpus.json", STATE_DIR}
    assert part["config"]["splits"] == ["test"]
    for item in part["items"]:
        assert (out / "test" / f"{item['stem']}.flac").is_file()
    with pytest.raises(CorpusError, match="other settings"):  # a full render is other settings
        render_corpus(CorpusConfig(task="pitch", minutes=2.0, seed=seed, soundfonts=(font,)), out, progress=False)
    with pytest.raises(ConfigError, match="--splits"):
        CorpusConfig(task="pitch", minutes=1.0, splits=("tests",))
    with pytest.raises(ConfigError, match="--splits"):
        CorpusConfig(task="pitch", minutes=1.0, splits=())
    assert CorpusConfig(task="pitch", minutes=1.0, splits=("test", "train")).splits == ("train", "test")


def test_cli_render_and_info(tmp_path, font):
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "desktop_app.cli", "corpus", "render", "--task", "chords", "--out", str(out),
           "--minutes", "0.3", "--seed", "3", "--jobs", "1", "--soundfonts", font, "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "train" in done.stdout and "rendered into" in done.stdout
    info = subprocess.run([sys.executable, "-m", "desktop_app.cli", "corpus", "info", str(out)],
                          capture_output=True, text=True)
    assert info.returncode == 0
    assert "task: chords" in info.stdout and "seed: 3" in info.stdout
    bad = subprocess.run(cmd[:-1] + ["--sources", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2
    assert "neither a POP909 folder" in bad.stderr and str(tmp_path) in bad.stderr


# --- one-kit soundfonts ---------------------------------------------------------------------------------------

def _kit_font() -> str:
    from models.corpus.soundfonts import AVL_KIT_FONTS

    kit = next((p for p in AVL_KIT_FONTS if Path(p).is_file()), None)
    if kit is None:
        pytest.skip("no one-kit soundfont installed (apt install avldrums.lv2-soundfont)")
    return kit


def test_kit_font_key_keeps_the_class():
    from models.annotations.types import GM_DRUM_KEY_TO_CLASS
    from models.corpus.soundfonts import KIT_FONT_KEYS, kit_font_key

    for key, drum in GM_DRUM_KEY_TO_CLASS.items():
        played = kit_font_key(key)
        assert played in KIT_FONT_KEYS or played in (49, 51)  # crash and ride keep their GM key
        assert GM_DRUM_KEY_TO_CLASS[played] == drum
    assert kit_font_key(35) == 36 and kit_font_key(46) == 46 and kit_font_key(57) == 49
    assert kit_font_key(56) is None  # cowbell: no drum class, not played on a kit font


def test_drum_items_play_on_a_one_kit_font(tmp_path, font):
    """Every drum item with kit_font_probability=1 renders its drums on the kit (bank 0, program 0 on a
    melodic channel) and its labels still sit on audible hits of the kit."""
    import soundfile as sf

    from models.annotations.csv_io import load_drums_csv

    kit = _kit_font()
    out = tmp_path / "kit"
    manifest = render_corpus(CorpusConfig(task="drums", minutes=0.4, seed=2, soundfonts=(font,), kit_fonts=(kit,),
                                          kit_font_probability=1.0), out, progress=False)
    assert manifest["config"]["kit_fonts"] == [kit]
    items = manifest["items"]
    assert items and all(r["kit_name"] == Path(kit).name and r["font"] == Path(font).name for r in items)
    for r in items:
        audio, sr = sf.read(out / r["split"] / f"{r['stem']}.flac", dtype="float32")
        hits = load_drums_csv(out / r["split"] / f"{r['stem']}.drums.csv")
        assert len(hits) > 10
        rises = []
        for h in hits:  # energy right after a labelled hit against just before it
            i = int(round(h.time_s * sr))
            post = np.sqrt(np.mean(audio[i:i + 640] ** 2) + 1e-12)
            pre = np.sqrt(np.mean(audio[max(0, i - 640):i] ** 2) + 1e-12)
            rises.append(20 * np.log10(post / pre))
        assert np.median(rises) > 3.0, r["stem"]
    # the draw has its own random stream: without kit fonts the plan (and audio) is what it always was
    plain = render_corpus(CorpusConfig(task="drums", minutes=0.4, seed=2, soundfonts=(font,)), tmp_path / "plain",
                          progress=False)
    assert [r["stem"] for r in plain["items"]] == [r["stem"] for r in items]
    assert all("kit_name" not in r or r["kit_name"] != Path(kit).name for r in plain["items"])


def test_kit_fonts_are_checked(tmp_path, font):
    with pytest.raises(CorpusError, match="--kit-fonts"):
        render_corpus(CorpusConfig(task="drums", minutes=0.2, soundfonts=(font,),
                                   kit_fonts=(str(tmp_path / "missing.sf2"),)), tmp_path / "x", progress=False)
    with pytest.raises(ConfigError, match="kit-font-probability"):
        CorpusConfig(task="drums", minutes=0.2, kit_font_probability=1.5)
