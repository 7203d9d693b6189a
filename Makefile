# coreos.multicluster - the two commands a newcomer needs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
# the caller's own PATH and collections path, for make install (the rest of this file puts .venv and build/ first)
USER_PATH := $(PATH)
USER_COLLECTIONS_PATH := $(or $(firstword $(subst :, ,$(ANSIBLE_COLLECTIONS_PATH))),$(HOME)/.ansible/collections)
COLLECTIONS_PATH ?= $(USER_COLLECTIONS_PATH)
VENV := $(CURDIR)/.venv
BIN := $(VENV)/bin
BUILD := $(CURDIR)/build
TREE := $(BUILD)/ansible_collections/coreos/multicluster
LAB_DIR ?= $(CURDIR)/.lab
export MC_LAB_DIR := $(LAB_DIR)
export ANSIBLE_COLLECTIONS_PATH := $(BUILD)
export PATH := $(BIN):$(PATH)

.PHONY: help deps fresh-check install venv lab-bin lab-up lab-down lab-status tree lint sanity unit integration molecule test demo bench docs docs-check image ee clean

help:
	@echo "make demo       bring up the lab fleet and run the main job on it"
	@echo "make test       ansible-lint, ansible-test sanity, unit and integration tests"
	@echo "make lab-up     start the three-cluster lab fleet (prints its folder)"
	@echo "make lab-up NODES=1   the same, with a real node on each replica and the agent's image on it"
	@echo "make lab-down   stop it; nothing is left running"
	@echo "make bench      benchmarks on the lab (figures, not pass/fail); BENCH=onboard runs one"
	@echo "make deps       the Debian 12 packages all of these need (the ones missing; root or sudo)"
	@echo "make fresh-check   make deps proved in a fresh Debian 12 container (minutes; clones HEAD)"
	@echo "make ee         the AWX execution environment (ansible-builder, podman); EE_BASE=debian: a base made here"
	@echo "make install    build the collection and install it into COLLECTIONS_PATH (~/.ansible/collections),"
	@echo "                and its Python libraries (requirements.txt) with the pip of the python3 on PATH"

# --- set-up -------------------------------------------------------------------
# The system packages (tests/deps/debian-packages.txt) and the deb-src entry the lab's build needs: installs
# what is missing, else does nothing in a second. demo, test, lab-up, image and bench take it first.
deps:
	@tests/deps/install.sh

# make deps proved on a fresh Debian 12 container: everything installed by the first run, nothing by the
# second (minutes, and root for podman; not part of make test). It clones HEAD: commit first.
fresh-check: deps
	@tests/deps/fresh-machine.sh

$(VENV)/.installed: requirements.txt requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q -U pip
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

venv: $(VENV)/.installed

lab-bin:
	@tests/lab/build-kubernetes.sh $(if $(NODES),--node) >/dev/null

# The collection as Ansible finds it: build/ansible_collections/coreos/multicluster,
# a copy of the files git knows (tracked, or new and not ignored).
tree:
	@rm -rf $(TREE) && mkdir -p $(TREE)
	@git ls-files -z --cached --others --exclude-standard | \
	  while IFS= read -r -d '' f; do [ -e "$$f" ] && printf '%s\0' "$$f"; done | \
	  rsync -a --from0 --files-from=- ./ $(TREE)/
	@cd $(TREE) && git init -q && git add -A   # ansible-test lists targets through git

# --- the lab ---------------------------------------------------------------------
# NODES=1: a node on each replica (tests/lab/node.py; root, containerd, runc, containernetworking-plugins),
# with the agent's image (make image) loaded into it.
lab-up: deps venv lab-bin
	@$(if $(NODES),containers/directory-sync/build-image.sh >/dev/null && )$(BIN)/python -m tests.lab up \
	  --dir $(LAB_DIR) $(if $(NODES),--nodes)

lab-down: venv
	@$(BIN)/python -m tests.lab down --dir $(LAB_DIR)

lab-status: venv
	@$(BIN)/python -m tests.lab status --dir $(LAB_DIR)

# --- gates -------------------------------------------------------------------------
lint: venv tree
	$(BIN)/ansible-lint --profile production --offline
	$(BIN)/antsibull-changelog lint

sanity: venv tree
	@pipv=$$($(BIN)/python -c 'from ansible_test._internal.python_requirements import get_venv_packages; print("x")' >/dev/null 2>&1; \
	  grep -o "pip='[0-9.]*'" $(VENV)/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py | grep -o '[0-9.]*[0-9]'); \
	  mkdir -p ~/.ansible/test/cache && cp tests/tools/get_pip.py ~/.ansible/test/cache/get_pip_$${pipv//./_}.py
	cd $(TREE) && $(BIN)/ansible-test sanity --python 3.11 --requirements --color no

unit: venv tree
	$(BIN)/pytest tests/unit -q

integration: venv lab-bin tree
	$(BIN)/pytest tests/integration -q

docs-check: venv tree
	$(BIN)/python tests/tools/gen_docs.py --check

# one molecule scenario per role, each against a lab fleet of its own (tests/molecule.sh)
molecule: venv lab-bin tree
	@tests/molecule.sh

test: deps lint sanity unit docs-check integration molecule

# --- the main job ------------------------------------------------------------------
# the lab with a node on each replica: the node's binaries, and the agent's image to load into it
demo: deps venv tree
	@tests/lab/build-kubernetes.sh --node >/dev/null
	@containers/directory-sync/build-image.sh >/dev/null
	@tests/demo.sh

# benchmarks (not tests): print figures, assert nothing about time (tests/bench/)
#   make bench BENCH=onboard        only the named ones (space- or comma-separated: BENCH=onboard,sync)
comma := ,
bench: deps venv lab-bin tree
	@$(BIN)/python -m tests.bench $(subst $(comma), ,$(BENCH))

# The directory-sync agent's image, built with podman (docs/agent-image.md); prints its reference.
#   make image IMAGE_BASE=docker.io/library/python:3.11-slim    on a public base instead of a Debian one made here
#   make image IMAGE_ARCHIVE=build/directory-sync.oci.tar       also write it as an OCI archive
image: deps
	@containers/directory-sync/build-image.sh $(if $(IMAGE_BASE),--base $(IMAGE_BASE)) \
	  $(if $(IMAGE_ARCHIVE),--oci-archive $(IMAGE_ARCHIVE))

# The execution environment AWX runs the playbooks in (execution-environment.yml, docs/awx.md), built with
# ansible-builder 3 and podman from this checkout; prints its reference.
#   make ee                  on the public base of execution-environment.yml when it can be pulled here, else on
#                            a Debian 12 base made here (the machine's Debian mirror)
#   make ee EE_BASE=public   that public base, or fail;  make ee EE_BASE=debian   the Debian base
EE_BASE ?= auto
ee: deps venv
	@containers/ee/build-ee.sh --base $(EE_BASE)

# --- installing the collection ------------------------------------------------------
# The collection as a user installs it from this checkout: its tarball (ansible-galaxy collection build, into
# build/dist; galaxy.yml's build_ignore leaves the lab and the tests out) installed into COLLECTIONS_PATH, and
# the modules' Python libraries installed with `python3 -m pip`. Both with the caller's PATH, not .venv's.
#   make install COLLECTIONS_PATH=/path/to/collections
install:
	@export PATH='$(USER_PATH)' ANSIBLE_COLLECTIONS_PATH='$(COLLECTIONS_PATH)'; \
	  command -v ansible-galaxy >/dev/null || { echo "make install: no ansible-galaxy on PATH:" \
	    "install ansible-core first (pip install 'ansible-core>=2.17,<2.20')" >&2; exit 1; }; \
	  set -e; rm -rf $(BUILD)/dist; \
	  ansible-galaxy collection build --force --output-path $(BUILD)/dist . && \
	  ansible-galaxy collection install --force -p '$(COLLECTIONS_PATH)' $(BUILD)/dist/coreos-multicluster-*.tar.gz && \
	  $(PYTHON) -m pip install -r requirements.txt

docs: venv tree
	$(BIN)/python tests/tools/gen_docs.py

clean:
	rm -rf $(BUILD) .pytest_cache
