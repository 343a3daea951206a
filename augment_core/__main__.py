from augment_core.cli import run

run()
