from possync.cli.main import main

main()
