# node_exporter role: its Molecule scenario runs in `make test`.
MOLECULE_SCENARIOS += node_exporter
# Budget in seconds (how it is set: docs/testing.md).
BUDGET_molecule-node_exporter ?= 420
