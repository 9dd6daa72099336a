"""`python -m core.explain`: the documented alias of the explain command line."""
from core.explain.explainer import main

if __name__ == "__main__":
    raise SystemExit(main())
