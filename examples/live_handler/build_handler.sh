#!/bin/sh
# build_handler.sh SOURCE.cpp OUTPUT.so — builds a live_handler module with a plain g++,
# with the flags relive_add_module uses (see cmake/relive_module.cmake): only the entry
# point exported, -Bsymbolic, -z now, no GNU unique symbols. Writes OUTPUT.so atomically
# (a new file renamed over the old one), so a reader never sees half of it.
set -eu
src=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
include=${RELIVE_INCLUDE_DIR:-$here/../../include}
map=$(mktemp)
trap 'rm -f "$map" "$out.tmp.$$"' EXIT
printf '{\n  global: relive_module_entry_v1;\n  local: *;\n};\n' > "$map"
${CXX:-g++} -std=c++20 -O1 -shared -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -fno-gnu-unique \
  -Wl,--version-script="$map" -Wl,-Bsymbolic -Wl,-z,now \
  -I"$include" -I"$here" -I"$(dirname "$src")" "$src" -o "$out.tmp.$$"
mv -f "$out.tmp.$$" "$out"
