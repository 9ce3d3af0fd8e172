# local_lb and postgresql roles (the ALB and RDS stand-ins): their Molecule scenario
# runs in `make test`.
MOLECULE_SCENARIOS += lb_db
# Budget in seconds (how it is set: docs/testing.md).
BUDGET_molecule-lb_db ?= 450
