"""`python -m api.cli`: the same as the `wangge` command."""

from api.cli import main

main()
