try:
    from dvta_live.cli import entry
except KeyboardInterrupt:  # Ctrl-C while the CLI imports: the shell's code, no traceback
    raise SystemExit(130) from None

entry()
