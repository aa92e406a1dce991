"""gateway: the HTTP front door of orderflow, over its own read model of every event topic."""
