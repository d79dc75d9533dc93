"""`python -m rl_web_agent.train ...`: the same as `python -m rl_web_agent train ...` (cli.py)."""

import sys

from rl_web_agent.train.cli import main

sys.exit(main())
