"""``python -m geomon.cli``: the same as the ``geomon`` console script."""

from geomon.cli import main

if __name__ == "__main__":
    main()
