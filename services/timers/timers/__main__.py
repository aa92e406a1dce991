"""`python -m timers`: run the timer service until SIGTERM."""

from timers.app import main

if __name__ == "__main__":
    main()
