"""`python -m payments`: run the payments service until SIGTERM."""

from payments.app import main

if __name__ == "__main__":
    main()
