"""One module per `ascad` sub-command: each has ``add_arguments(parser)`` and ``run(args) -> int``."""
