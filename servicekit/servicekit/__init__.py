"""The runtime every orderflow service runs on."""
