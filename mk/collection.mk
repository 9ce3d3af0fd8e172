# The collection itself: ansible-test sanity (offline), the tarball for tests and for release.
# Release links come from the command line (galaxy.yml carries none), for example:
#   make collection-release COLLECTION_REPOSITORY=https://github.com/me/devops-django \
#     COLLECTION_HOMEPAGE=... COLLECTION_ISSUES=... COLLECTION_DOCUMENTATION=...
COLLECTION_REPOSITORY ?=
COLLECTION_HOMEPAGE ?=
COLLECTION_ISSUES ?=
COLLECTION_DOCUMENTATION ?=

.PHONY: collection-sanity collection-release test-collection

collection-sanity: setup-venv ## ansible-test sanity --local on the collection, offline after its wheels are cached
	@echo "==> ansible-test sanity"; python scripts/collection_sanity.py

collection-release: setup-venv ## Release tarball into build/: needs COLLECTION_REPOSITORY/_HOMEPAGE/_ISSUES/_DOCUMENTATION
	@python scripts/build_collection.py --release --output-path build \
	  --repository "$(COLLECTION_REPOSITORY)" --homepage "$(COLLECTION_HOMEPAGE)" \
	  --issues "$(COLLECTION_ISSUES)" --documentation "$(COLLECTION_DOCUMENTATION)"

test-collection: setup-venv ## Build the tarball (plain and release) and inspect it, module unit tests
	@pytest -q tests/collection $(COLLECTION)/tests/unit

QUICK_TARGETS += test-collection
# Budget in seconds (how it is set: docs/testing.md): two tarball builds + the unit tests.
BUDGET_test-collection ?= 90
