from flowkick.cli import main

main()
