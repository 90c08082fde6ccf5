"""Run every benchmark with its default size: `python -m bench`."""

from bench import (
    bench_agency,
    bench_catchup,
    bench_core,
    bench_lookups,
    bench_merkle,
    bench_propagation,
    bench_representatives,
    bench_retention,
)

bench_merkle.main([])
bench_core.main()
bench_catchup.main([])
bench_propagation.main([])
bench_lookups.main([])
bench_agency.main([])
bench_representatives.main([])
bench_retention.main([])
