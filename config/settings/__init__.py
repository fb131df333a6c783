"""Settings: base.py (everything, from the environment) and test.py (speed-only overrides)."""
