#!/usr/bin/env python3
"""Stores an executed notebook in notebooks/ with its outputs (used by scripts/run-notebooks --store).

    store-notebook.py EXECUTED.ipynb TARGET.ipynb SECONDS

Records, in metadata.kiln, the SHA-256 of the code cells that produced the outputs (each code cell's source
as UTF-8 followed by a NUL byte, in order; NotebooksTest computes the same), the run time and the commit.
Per-cell execution timestamps are dropped so a re-run changes only what the run printed. Standard library only.
"""
import datetime
import hashlib
import json
import os
import subprocess
import sys


def source(cell):
    s = cell.get("source", "")
    return s if isinstance(s, str) else "".join(s)


def code_hash(nb):
    h = hashlib.sha256()
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            h.update(source(c).encode("utf-8"))
            h.update(b"\0")
    return h.hexdigest()


def main():
    executed, target, seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(executed, encoding="utf-8") as f:
        nb = json.load(f)
    with open(target, encoding="utf-8") as f:
        current = json.load(f)
    if code_hash(current) != code_hash(nb):
        sys.exit(f"store-notebook: {target} changed while it ran; not stored")
    for c in nb["cells"]:
        c.get("metadata", {}).pop("execution", None)
        for o in c.get("outputs", []):
            if o.get("output_type") == "error":
                sys.exit(f"store-notebook: {executed} has an error output; not stored")
    root = os.path.dirname(os.path.dirname(os.path.abspath(target)))
    try:
        commit = subprocess.run(["git", "-C", root, "describe", "--always", "--dirty"], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = None
    nb["metadata"]["kiln"] = {
        "source_sha256": code_hash(nb),
        "executed": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "run_seconds": seconds,
        "commit": commit,
    }
    tmp = target + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(nb, f, indent=1, ensure_ascii=False, sort_keys=True)
        f.write("\n")
    os.replace(tmp, target)


if __name__ == "__main__":
    main()
