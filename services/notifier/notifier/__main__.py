"""`python -m notifier` (or `orderflow-notifier`): run the notifier until SIGTERM."""

from notifier.app import main

if __name__ == "__main__":
    main()
