from postback_bench.cli import main

main()
