"""Message schemas and topic names shared by every orderflow service."""
