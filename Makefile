# advx: the two commands of the README, and a few more.
#   make play   set up, build the web playground and serve it on http://127.0.0.1:8080
#   make test   set up, build and run every test (unit, paper reproductions, ASan/UBSan, PyTorch
#               cross-check, browser tests)
.PHONY: play test native demo web bench clean format

play:
	bash scripts/play

test:
	bash scripts/test

native:
	bash scripts/bootstrap --native-only
	cmake --preset native >/dev/null
	cmake --build --preset native

demo: native
	./build/native/advx demo

# Emscripten needs a writable cache (Debian's is read-only) and Debian's node modules.
WEB_ENV = EM_CACHE=$${EM_CACHE:-$${ADVX_CACHE:-$$HOME/.cache/advx}/em-cache} NODE_PATH=$${NODE_PATH:-/usr/share/nodejs}

web:
	bash scripts/bootstrap
	$(WEB_ENV) cmake --preset web >/dev/null
	$(WEB_ENV) cmake --build --preset web

bench: native
	bash benchmarks/run.sh

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf build
