import sys

from pp_gateway.keys.cli import main

sys.exit(main())
