"""``python -m omeda_async.testing --port 8080``: FakeOmeda in the foreground."""

from omeda_async.testing._main import main

if __name__ == "__main__":
    raise SystemExit(main())
