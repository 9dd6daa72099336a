"""`python -m core.dataset`: the documented alias of `python -m core.cli.dataset`."""
from core.cli.dataset import main

if __name__ == "__main__":
    raise SystemExit(main())
