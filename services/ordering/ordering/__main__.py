"""`python -m ordering`: run the ordering service until SIGTERM."""

from ordering.app import main

if __name__ == "__main__":
    main()
