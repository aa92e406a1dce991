"""Dead letters: the CLI's `orderflow dlq` uses servicekit's (the console does too)."""

from servicekit.letters import Letter, list_letters, replay_letter

__all__ = ["Letter", "list_letters", "replay_letter"]
