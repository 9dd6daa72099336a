"""`python -m core.explain`: the documented alias of `python -m core.cli.explain`."""
from core.cli.explain import main

if __name__ == "__main__":
    raise SystemExit(main())
