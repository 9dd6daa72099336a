"""`python -m core.dataset`: the documented alias of `python -m core.data.index`."""
from core.data.index import main

if __name__ == "__main__":
    raise SystemExit(main())
