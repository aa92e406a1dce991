"""`python -m gateway` (or `orderflow-gateway`): run the gateway until SIGTERM."""

from gateway.app import main

if __name__ == "__main__":
    main()
