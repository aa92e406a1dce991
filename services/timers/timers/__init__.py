"""The timers service."""
