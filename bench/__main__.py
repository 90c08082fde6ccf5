"""Run every benchmark with its default size: `python -m bench`."""

from bench import bench_core, bench_merkle

for module in (bench_merkle, bench_core):
    module.main()
