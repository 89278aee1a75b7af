import sys

from gradcheck._cli import main

sys.exit(main())
