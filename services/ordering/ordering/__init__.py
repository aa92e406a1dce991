"""The ordering service."""
