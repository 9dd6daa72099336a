"""`python -m core.synthetic`: the documented alias of `python -m core.data.synthetic`."""
from core.data.synthetic import main

if __name__ == "__main__":
    raise SystemExit(main())
