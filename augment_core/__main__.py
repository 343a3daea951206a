from augment_core.cli.commands import run

run()
