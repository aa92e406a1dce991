"""Helpers the integration and end-to-end tests share: a plain upstream producer, topic
readers and service processes."""
