"""Run every benchmark with its default size: `python -m bench`."""

from bench import bench_core, bench_merkle

bench_merkle.main([])
bench_core.main()
