import sys

from rnnlab.grading.cli import main

sys.exit(main())
