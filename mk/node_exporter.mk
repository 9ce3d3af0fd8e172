# node_exporter role: its Molecule scenario runs in `make test`.
MOLECULE_SCENARIOS += node_exporter
