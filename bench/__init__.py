"""Engine benchmarks on ../shared/bench-workloads (run: ``make bench`` or ``python -m bench``)."""
