# node_exporter role: its Molecule scenario runs in `make test`.
MOLECULE_SCENARIOS += node_exporter
# Budget in seconds (docs/testing.md): the last measured time + ~25%.
BUDGET_molecule-node_exporter ?= 270
