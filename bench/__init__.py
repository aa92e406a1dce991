"""orderflow's benchmarks: figures printed (and written to docs/benchmarks.md), not tests.

bench/
├── run.py            `make bench`: every section, its flags, the report
├── rig.py            a run's names, its service processes, Kafka helpers, clean-up
├── report.py         rows, tables, the machine, docs/benchmarks.md
├── baseline.py       a bare aiokafka consume → produce loop (its own process)
├── ordering_bench.py ordering's throughput and latency
├── growth.py         ordering with 10k .. 1M orders preloaded in its store
├── system_bench.py   all five services: the notifier's emails/s, peak memory
└── timers_bench.py   the timer service's benchmark (also runs on its own)
"""
