"""PLACEHOLDER: pytest plugin giving the ``omeda_fake`` fixture (issue 3)."""
