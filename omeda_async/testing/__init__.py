"""PLACEHOLDER: FakeOmeda testing kit (issue 3). Replaced by its owner."""
