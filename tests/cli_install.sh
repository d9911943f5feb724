#!/usr/bin/env bash
# `cmake --install` gives a usable library: a program built against the
# installed glimpse.h and glimpse.pc (shared and static) runs, and so does the
# installed command with its default model.
set -u
build="$2"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
if grep -q "^GLIMPSE_SANITIZE:BOOL=ON" "$build/CMakeCache.txt"; then
  echo "SKIP: sanitizer build (a plain program cannot link the instrumented library)"; exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null || { echo "FAIL: install"; exit 1; }
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig"
check "pkg-config finds glimpse" 'pkg-config --exists glimpse'
cc demos/describe.c $(pkg-config --cflags --libs glimpse) -Wl,-rpath,"$tmp/prefix/lib" -o "$tmp/shared" 2> "$tmp/err"
check "builds against the shared library" '[ -x "$tmp/shared" ]'
cc demos/describe.c $(pkg-config --cflags glimpse) "$tmp/prefix/lib/libglimpse.a" $(pkg-config --libs-only-l --static glimpse | sed "s/-lglimpse//") -o "$tmp/static" 2>> "$tmp/err"
check "builds against the static library" '[ -x "$tmp/static" ]'
share="$tmp/prefix/share/glimpse"
for exe in shared static; do
  out=$("$tmp/$exe" "$share/demo-text.gguf" "$share/demo-mmproj.gguf" "$share/scene.jpg" "hi" 2>&1)
  check "$exe program runs" '[[ "$out" == *"image tokens"* ]]'
done
out=$("$tmp/prefix/bin/glimpse" describe "$share/scene.jpg" --max-tokens 2 2>&1); rc=$?
check "installed command" '[ $rc -eq 0 ]'
[ $fail -eq 0 ] || cat "$tmp/err"
exit $fail
