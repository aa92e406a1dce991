"""`python -m invoicing`: run the invoicing service until SIGTERM."""

from invoicing.app import main

if __name__ == "__main__":
    main()
