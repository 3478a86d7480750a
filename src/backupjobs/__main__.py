from backupjobs.cli import main

main()
