"""Batch, Parquet to Parquet: 10^7 rows through the apple-orange program.

Goal (issue 21): single-process ``cgcalc batch --input DIR -o out.parquet`` at most 1.3x
the time of a hand-written pyarrow + NumPy script doing the same values and gradients
(``ParquetFile.iter_batches`` in, a ``ParquetWriter`` out); ``--cluster local:2`` beside them, with its
fixed overhead (the same run on one row) and the peak memory of every process. All run
as whole processes, in turns, on the same dataset; their outputs are compared.

    python benchmarks/batch_parquet.py [--rows 10000000] [--files 8] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil  # comes with Dask's distributed
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

PROGRAM = "(apple*apple_num + orange*orange_num)*tax"

REFERENCE = '''
import sys
import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

names = ["apple", "apple_num", "orange", "orange_num", "tax"]
schema = pa.schema([("row", pa.int64()), ("value", pa.float64()),
                    *((f"d_{name}", pa.float64()) for name in names)])
files = sorted(ds.dataset(sys.argv[1], format="parquet").files)  # part.000, part.001, ...
first = 1
with pq.ParquetWriter(sys.argv[2], schema) as writer:
    for batch in (batch for path in files
                  for batch in pq.ParquetFile(path).iter_batches(65536, columns=names)):
        apple, apple_num, orange, orange_num, tax = (batch.column(n).to_numpy() for n in names)
        all_price = apple * apple_num + orange * orange_num
        rows = np.arange(first, first + len(tax), dtype=np.int64)
        writer.write_batch(pa.record_batch(
            [rows, all_price * tax, tax * apple_num, tax * apple, tax * orange_num,
             tax * orange, all_price], schema=schema))
        first += len(tax)
'''


def make_dataset(directory: Path, rows: int, files: int, seed: int = 5) -> None:
    """Prices as in benchmarks/batch.py, in ``files`` files of row groups of 250,000."""
    directory.mkdir()
    rng = np.random.default_rng(seed)
    for part in range(files):
        count = rows // files + (part < rows % files)
        table = pa.table({
            "apple": rng.integers(50, 201, count).astype(float),
            "apple_num": rng.integers(1, 10, count).astype(float),
            "orange": rng.integers(50, 301, count).astype(float),
            "orange_num": rng.integers(1, 10, count).astype(float),
            "tax": rng.choice([1.05, 1.08, 1.1], count)})
        pq.write_table(table, directory / f"part.{part:03d}.parquet", row_group_size=250_000)


def run(command: list[str], output: Path) -> dict:
    """Wall and CPU seconds of a whole process, and the peak memory of each process of its
    tree (sampled every 50 ms), by role."""
    if output.is_dir():
        shutil.rmtree(output)
    elif output.exists():
        output.unlink()
    before = os.times()
    start = time.perf_counter()
    process = psutil.Popen(command, stdout=subprocess.DEVNULL)
    peaks: dict[int, tuple[str, int]] = {}
    while process.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in tree:
            try:
                rss = member.memory_info().rss
                role = _role(member)
            except psutil.Error:
                continue
            peaks[member.pid] = (role, max(rss, peaks.get(member.pid, ("", 0))[1]))
        time.sleep(0.05)
    wall = time.perf_counter() - start
    after = os.times()
    if process.returncode:
        raise SystemExit(f"{command} failed")
    return {"wall": wall, "cpu": after.children_user + after.children_system
            - before.children_user - before.children_system, "peaks": peaks}


def _role(process: psutil.Process) -> str:
    line = " ".join(process.cmdline())
    if "spawn_main" in line or "multiprocessing" in line:
        return "worker"
    if "reference" in line:
        return "script"
    return "cgcalc"


def table(output: Path) -> pa.Table:
    return ds.dataset(output, format="parquet").to_table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cgcalc = str(Path(sys.executable).with_name("cgcalc"))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data, one, script = tmp / "data", tmp / "one", tmp / "reference.py"
        make_dataset(data, args.rows, args.files)
        make_dataset(one, 1, 1)
        script.write_text(REFERENCE)
        commands = {
            "cgcalc batch": ([cgcalc, "batch", PROGRAM, "--input", str(data), "-o",
                              str(tmp / "single.parquet")], tmp / "single.parquet"),
            "pyarrow + NumPy script": ([sys.executable, str(script), str(data),
                                        str(tmp / "script.parquet")], tmp / "script.parquet"),
            "cgcalc batch --cluster local:2": (
                [cgcalc, "batch", PROGRAM, "--input", str(data), "--cluster", "local:2", "-o",
                 str(tmp / "cluster")], tmp / "cluster"),
            "--cluster local:2 on one row": (
                [cgcalc, "batch", PROGRAM, "--input", str(one), "--cluster", "local:2", "-o",
                 str(tmp / "cluster_one")], tmp / "cluster_one"),
        }
        runs: dict[str, list[dict]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, (command, output) in commands.items():
                runs[name].append(run(command, output))
        single = table(tmp / "single.parquet")
        same_script = single.equals(table(tmp / "script.parquet"))
        same_cluster = single.equals(table(tmp / "cluster"))
        partitions = sum(pq.read_metadata(path).num_row_groups for path in sorted(data.iterdir()))
        load = os.getloadavg()
        print(f"{args.rows:,} rows of Parquet ({args.files} files, {partitions} row groups), "
              f"apple-orange program, Parquet out (median of {args.repeat} runs; load average "
              f"{load[0]:.1f} on {os.cpu_count()} cores):")
        wall = {name: statistics.median(r["wall"] for r in found) for name, found in runs.items()}
        cpu = {name: statistics.median(r["cpu"] for r in found) for name, found in runs.items()}
        for name in commands:
            print(f"  {name + ':':34} {wall[name]:6.2f} s wall ({args.rows / wall[name]:,.0f} "
                  f"rows/s), {cpu[name]:6.2f} s CPU" if "one row" not in name else
                  f"  {name + ':':34} {wall[name]:6.2f} s wall, {cpu[name]:6.2f} s CPU")
        print(f"  cgcalc / script: {wall['cgcalc batch'] / wall['pyarrow + NumPy script']:.2f}x "
              f"wall, {cpu['cgcalc batch'] / cpu['pyarrow + NumPy script']:.2f}x CPU "
              f"(goal <= 1.3); tables equal: {same_script}")
        fixed = wall["--cluster local:2 on one row"]
        print(f"  cluster: fixed overhead {fixed:.2f} s (the one-row run), then "
              f"{(wall['cgcalc batch --cluster local:2'] - fixed) / partitions * 1000:.0f} ms "
              f"per partition; equal to single-process: {same_cluster}")
        for name, found in runs.items():
            peaks: dict[str, list[int]] = {}
            for role, rss in found[-1]["peaks"].values():
                peaks.setdefault(role, []).append(rss)
            print(f"  peak memory, {name}: " + "; ".join(
                f"{role} {', '.join(f'{rss / 2**20:.0f}' for rss in sorted(sizes))} MiB"
                for role, sizes in sorted(peaks.items())))


if __name__ == "__main__":
    main()
