"""``featherlight export``: turn a training run folder into an ONNX model with its model card.

torch is imported only when the command runs, so ``featherlight --help`` stays light.
"""

from __future__ import annotations

import argparse
from pathlib import Path

_DESCRIPTION = """\
Export a training run to the files the analyser loads: <NAME>.onnx (a streaming graph: input
'features' (1, T, n_bins) plus state_in_*, output 'probs' (1, T, n_outputs) plus state_out_*) and
<NAME>.json, its model card (task, labels, front-end, lookahead and latency, parameters, MACs, file
size, training data, validation metrics, decoder settings, pruning history).

RUN_DIR must hold config.json (the training configuration with "task" and "net") and
best.safetensors (the best epoch's weights); metrics.json, decoder.json and pruning_history.json are
read when present. The exported graph is checked against torch before the card is written.
"""

_EPILOG = """\
exit status: 0 on success, 2 on an error (missing or inconsistent run files, existing outputs).

examples:
  featherlight export runs/pitch-2026-11-24
  featherlight export runs/drums-small --out ~/.local/share/featherlight/models --name drums-small
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a training run folder to ONNX with its model card",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                        help="training run folder holding config.json and best.safetensors")
    parser.add_argument("--out", type=Path, metavar="DIR", default=None,
                        help="folder to write the model to (default: RUN_DIR)")
    parser.add_argument("--name", default="model", metavar="NAME",
                        help="file stem of the exported model: NAME.onnx and NAME.json (default: model)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace NAME.onnx / NAME.json if they already exist")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from models.runtime.card import load_card
    from models.training.export import export_run

    onnx_path, card_path = export_run(args.run_dir, args.out, name=args.name, overwrite=args.overwrite)
    card = load_card(card_path)
    print(f"wrote {onnx_path}")
    print(f"wrote {card_path}")
    print(f"task {card.task}: {card.n_outputs} outputs, {card.n_parameters:,} parameters, "
          f"{card.macs_per_second / 1e6:.1f} M MACs/s, {card.file_bytes / 1024:.1f} KiB, "
          f"latency {card.latency_ms:.0f} ms, max |onnx - torch| {card.training.get('export_max_abs_diff', 0):.2g}")
    return 0
