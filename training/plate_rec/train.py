"""Train ParkGate's plate recogniser (a small CRNN with CTC) on this machine's CPU and
export it to ONNX for camera_adapters/weights/plate_rec.onnx.

    pip install torch==2.13.0 onnx          # outside the runtime lock; not needed to run
    python -m training.plate_rec.train --minutes 60 [--data DIR ...] --out plate_rec.onnx

Data: rows rendered and degraded on the fly (training/plate_rec/data.py), and, in a
quarter of each batch, real crops of the development photos the reader may be tuned on
(--data; the held-back third is never read). Seeded: the same command gives the same
sample stream; the weights differ only by thread scheduling.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from camera_adapters.plate_rec import CHARSET, INPUT_H, INPUT_W, to_blob

from .data import CJK_FONTS, LATIN_FONTS, encode, fonts, real_row, real_rows, rendered_rows

# Not the rendered hold-out's seed (bench/plates.py SYNTHETIC_SEED) nor the tests'.
SEED = 1108


class CRNN(nn.Module):
    """Convolutions down to one row of 32 frames, a small BiLSTM, a character per frame."""

    def __init__(self, classes: int) -> None:
        super().__init__()

        def block(cin: int, cout: int) -> list[nn.Module]:
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
                    nn.ReLU(inplace=True)]

        self.features = nn.Sequential(
            *block(3, 32), nn.MaxPool2d(2),              # 16 × 64
            *block(32, 64), nn.MaxPool2d(2),             # 8 × 32
            *block(64, 128), *block(128, 128), nn.MaxPool2d((2, 1)),   # 4 × 32
            *block(128, 192), *block(192, 192), nn.MaxPool2d((2, 1)),  # 2 × 32
            nn.Conv2d(192, 192, (2, 1), bias=False), nn.BatchNorm2d(192), nn.ReLU(inplace=True),
            nn.Dropout(0.1))
        self.rnn = nn.LSTM(192, 96, bidirectional=True, batch_first=True)
        self.head = nn.Linear(192, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.features(x).squeeze(2).permute(0, 2, 1)  # N × T × C
        f, _ = self.rnn(f)
        return self.head(f)  # logits, N × T × classes


class Exported(nn.Module):
    """What ships: softmax probabilities, N × T × classes."""

    def __init__(self, model: CRNN) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=-1)


def batches(rng: random.Random, size: int, real: list[tuple[np.ndarray, str]],
            real_share: float):
    cjk, latin = fonts(CJK_FONTS), fonts(LATIN_FONTS)
    while True:
        rows = []
        while len(rows) < size:
            if real and rng.random() < real_share:
                rows.append(real_row(*rng.choice(real), rng))
            else:
                rows += rendered_rows(rng, cjk, latin)
        rows = rows[:size]
        x = torch.from_numpy(to_blob([r.image for r in rows]))
        targets = [encode(r.text) for r in rows]
        yield x, torch.tensor([t for ts in targets for t in ts]), torch.tensor(
            [len(t) for t in targets]), [r.text for r in rows]


class Stream(torch.utils.data.IterableDataset):
    """Batches made in a worker process while the main one trains."""

    def __init__(self, size: int, real: list[tuple[np.ndarray, str]], real_share: float) -> None:
        self.size, self.real, self.real_share = size, real, real_share

    def __iter__(self):
        return batches(random.Random(SEED), self.size, self.real, self.real_share)


def greedy(logits: torch.Tensor) -> list[str]:
    out = []
    for seq in logits.argmax(-1).tolist():
        text, last = [], 0
        for i in seq:
            if i != last and i != 0:
                text.append(CHARSET[i])
            last = i
        out.append("".join(text))
    return out


def export(model: CRNN, out: Path) -> str:
    import onnx

    model.eval()
    wrapped = Exported(model)
    dummy = torch.zeros(1, 3, INPUT_H, INPUT_W)
    torch.onnx.export(wrapped, (dummy,), str(out), input_names=["x"], output_names=["probs"],
                      dynamic_axes={"x": {0: "n"}, "probs": {0: "n"}}, opset_version=17,
                      dynamo=False)
    proto = onnx.load(str(out))
    entry = proto.metadata_props.add()
    entry.key, entry.value = "character", "".join(CHARSET[1:])
    onnx.save(proto, str(out))
    return hashlib.sha256(out.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--batch", type=int, default=96)
    parser.add_argument("--data", type=Path, action="append", default=[])
    parser.add_argument("--real-share", type=float, default=0.25)
    parser.add_argument("--out", type=Path, default=Path("plate_rec.onnx"))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    real = real_rows(args.data) if args.data else []
    print(f"{len(real)} real rows from the tuned part of {', '.join(map(str, args.data))}")
    model = CRNN(len(CHARSET))
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters")
    optimiser = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    deadline = time.monotonic() + args.minutes * 60
    started = time.monotonic()
    step, seen, right = 0, 0, 0
    loader = torch.utils.data.DataLoader(Stream(args.batch, real, args.real_share),
                                         batch_size=None, num_workers=1, prefetch_factor=4)
    for x, targets, lengths, texts in loader:
        # One-cycle by the clock: warm up, then cosine down to a tenth.
        done = (time.monotonic() - started) / (args.minutes * 60)
        lr = 2e-3 * min(1.0, done * 20) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(done, 1))))
        for group in optimiser.param_groups:
            group["lr"] = lr
        model.train()
        logits = model(x)
        loss = ctc(logits.log_softmax(-1).permute(1, 0, 2), targets,
                   torch.full((x.shape[0],), logits.shape[1], dtype=torch.long), lengths)
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimiser.step()
        step += 1
        seen += len(texts)
        right += sum(a == b for a, b in zip(greedy(logits.detach()), texts, strict=True))
        if step % 100 == 0:
            print(f"step {step} {time.monotonic() - started:.0f} s lr {lr:.5f} loss "
                  f"{loss.item():.3f} train-exact {right / seen:.3f}", flush=True)
            seen = right = 0
        if step % 1000 == 0:
            torch.save(model.state_dict(), args.out.with_suffix(".pt"))
        if time.monotonic() > deadline:
            break
    torch.save(model.state_dict(), args.out.with_suffix(".pt"))
    digest = export(model, args.out)
    print(f"{step} steps in {time.monotonic() - started:.0f} s; {args.out} "
          f"{args.out.stat().st_size / 1e6:.2f} MB sha256 {digest}")


if __name__ == "__main__":
    main()
