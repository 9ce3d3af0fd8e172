# local_lb and postgresql roles (the ALB and RDS stand-ins): their Molecule scenario
# runs in `make test`.
MOLECULE_SCENARIOS += lb_db
# Budget in seconds (docs/testing.md): the last measured time + ~25%.
BUDGET_molecule-lb_db ?= 320
