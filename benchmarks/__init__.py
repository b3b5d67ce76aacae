"""omeda_async benchmarks (issue 7): ``python -m benchmarks [--quick] [--only NAME]``.

Each module measures one question side by side with the physical limit and
the alternatives users would pick; see benchmarks/README.md.
"""
