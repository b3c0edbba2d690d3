# The README's two commands. Each installs first (idempotent: seconds when nothing changed).
.PHONY: demo test install

install:
	bash install.sh

demo: install
	bash examples/tiny/run.sh

test: install
	.venv/bin/python -m pytest tests -q -ra --durations=15 -n 2 --dist loadfile
