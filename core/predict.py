"""`python -m core.predict`: the documented alias of `python -m core.cli.predict`."""
from core.cli.predict import main

if __name__ == "__main__":
    raise SystemExit(main())
