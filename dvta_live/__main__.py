from dvta_live.cli import main

main()
