import sys

from augment_core.cli import main

sys.exit(main())
