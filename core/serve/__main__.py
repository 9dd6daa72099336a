"""`python -m core.serve`: the inference service on Ray Serve (`core.serve.command`)."""
import sys

from core.serve.command import main

sys.exit(main())
