#!/bin/sh
# Side by side: `relive check-ignore --stdin` against `git check-ignore --stdin` (the floor
# and the reference) deciding the same 120,000 paths under the same .gitignore.
#   bench/bench_ignore_vs_git.sh [build/relive]
set -eu
RELIVE=${1:-build/relive}
RELIVE=$(cd "$(dirname "$RELIVE")" && pwd)/$(basename "$RELIVE")
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
git init -q --template= .
printf '*.o\n*.so\n/build/\nnode_modules/\n*.log\n!important.log\ncoverage/\n*.gen.*\ndocs/**/*.tmp\n' > .gitignore
awk 'BEGIN { for (d = 0; d < 12000; d++) { split("main.cpp main.hpp util.cpp util.o README.md data.json x.log notes.txt a.gen.h b.c", f, " ");
             for (i = 1; i <= 10; i++) printf "src/d%d/%s\n", d, f[i] } }' > paths
export HOME="$dir" XDG_CONFIG_HOME="$dir/xdg" GIT_CONFIG_NOSYSTEM=1
# CPU seconds (user+sys): wall time is meaningless on a shared, loaded machine.
t() { /usr/bin/time -f "%U %S" -o cpu.txt "$@" < paths > out.txt || true; awk '{ printf "%.3f", $1 + $2 }' cpu.txt; }
for i in 1 2 3; do
  g=$(t git check-ignore --stdin)
  ng=$(wc -l < out.txt)
  r=$(t "$RELIVE" check-ignore --stdin --no-default-ignore)
  nr=$(wc -l < out.txt)
  echo "run $i: git ${g} CPU-s ($ng ignored)  relive ${r} CPU-s ($nr ignored)"
done
