"""`python -m core.synthetic`: the documented alias of `python -m core.cli.synthetic`."""
from core.cli.synthetic import main

if __name__ == "__main__":
    raise SystemExit(main())
