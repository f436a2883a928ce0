"""membrane-mcp benchmarks: ``python -m bench`` (full run, a few minutes) or ``python -m bench --smoke``.

Every figure is measured on the local sandbox over loopback. One module per figure; each exposes
``run(cfg: BenchConfig) -> list[Result]``. ``bench.report`` writes results.md / results.json / listing.png.
"""
