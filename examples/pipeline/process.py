#!/usr/bin/env python3
"""Processes one piece of the data set: each record's hash, iterated ROUNDS times (CPU work).

Run by spotdag as a command step, it checkpoints and resumes:
- every CHECKPOINT_EVERY records it adds a chunk file to $SPOTDAG_CHECKPOINT_DIR, written to a
  temporary name and renamed (files there are never changed in place, so an archive of the folder
  taken at any moment is consistent);
- on start it resumes after the last chunk it finds there;
- on SIGTERM (a spot notice) it writes what it has done as a chunk and exits 143;
- it writes its progress to $SPOTDAG_PROGRESS_FILE.
The piece is $SPOTDAG_ITEM (or the first argument); without spotdag it works in the current folder.
"""
import hashlib
import os
import signal
import sys


def write_atomically(path: str, data: bytes) -> None:
    with open(path + ".tmp", "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(path + ".tmp", path)


def main() -> None:
    item = int(os.environ.get("SPOTDAG_ITEM", sys.argv[1] if len(sys.argv) > 1 else "0"))
    input_dir = os.environ.get("SPOTDAG_INPUT_DIR", ".")
    output_dir = os.environ.get("SPOTDAG_OUTPUT_DIR", ".")
    checkpoints = os.environ.get("SPOTDAG_CHECKPOINT_DIR") or os.path.join(output_dir, f"checkpoint-{item:02d}")
    progress_file = os.environ.get("SPOTDAG_PROGRESS_FILE")
    rounds = int(os.environ.get("ROUNDS", "600"))
    every = int(os.environ.get("CHECKPOINT_EVERY", "500"))
    os.makedirs(checkpoints, exist_ok=True)

    with open(os.path.join(input_dir, "pieces", f"piece-{item:02d}"), "rb") as f:
        records = f.read().splitlines()

    # Chunks are named by the first record they hold: chunk-<start>-<end>.
    chunks = sorted(
        (int(n.split("-")[1]), int(n.split("-")[2]), n)
        for n in os.listdir(checkpoints)
        if n.startswith("chunk-") and not n.endswith(".tmp")
    )
    start = 0
    for first, end, _ in chunks:
        if first != start:
            sys.exit(f"process.py: checkpoint chunks are not contiguous at record {start}")
        start = end
    if start:
        print(f"piece {item}: resuming at record {start} of {len(records)} from the checkpoint", file=sys.stderr)

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    pending: list[bytes] = []
    chunk_start = start

    def save() -> None:
        nonlocal chunk_start, pending
        if pending:
            end = chunk_start + len(pending)
            write_atomically(os.path.join(checkpoints, f"chunk-{chunk_start:09d}-{end:09d}"), b"".join(pending))
            chunk_start, pending = end, []
        if progress_file:
            write_atomically(progress_file, f"{chunk_start / max(1, len(records)):.4f}".encode())

    for i in range(start, len(records)):
        digest = records[i]
        for _ in range(rounds):
            digest = hashlib.sha256(digest).digest()
        pending.append(records[i].split(b",")[0] + b"," + digest.hex().encode() + b"\n")
        if stopping:
            save()
            print(f"piece {item}: stopped by SIGTERM after record {chunk_start}; checkpoint saved", file=sys.stderr)
            sys.exit(143)
        if len(pending) >= every:
            save()
    save()

    names = sorted(n for n in os.listdir(checkpoints) if n.startswith("chunk-") and not n.endswith(".tmp"))
    with open(os.path.join(output_dir, f"processed-{item:02d}.txt"), "wb") as out:
        for name in names:
            with open(os.path.join(checkpoints, name), "rb") as f:
                out.write(f.read())


if __name__ == "__main__":
    main()
