import sys

from noether.cli import main

sys.exit(main())
