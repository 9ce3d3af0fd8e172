# Host image chain (scripts/images.sh, images/): base -> packages, per Debian release.
.PHONY: images test-images test-images-built

images: ## Build the host image chain for DEBIAN_RELEASE (12 unless set; 13 works too), cached by recipe
	@scripts/images.sh

test-images: setup-venv ## Image chain without Docker: recipe hashes, every consumer names a chain image
	@pytest -q -p no:cacheprovider tests/images -m "not docker"

test-images-built: setup ## The built image chain: cache hit, layers, packages installed, services off
	@pytest -q -p no:cacheprovider tests/images -m docker

QUICK_TARGETS += test-images
TEST_TARGETS += test-images-built
# Budgets in seconds (docs/testing.md); provisional until a full run's table replaces them.
BUDGET_test-images ?= 60
BUDGET_test-images-built ?= 180
