"""``python -m omeda_async.cli``: the same as the ``omeda-async`` command."""

from omeda_async.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
