"""``python -m daidai`` runs the same command line as ``daidai``."""

import sys

from daidai.cli import main

sys.exit(main())
