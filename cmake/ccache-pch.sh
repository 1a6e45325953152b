#!/bin/sh
# The compiler launcher of native builds: ccache, and after a precompiled header's compile (its
# output ends in .gch) the header's checksum in <output>.sum. With CCACHE_PCH_EXTSUM=1 ccache then
# hashes that small file for every file compiled with the header, instead of the ~120 MB header
# itself (0.45 s a file: about a minute of a cold native build, and most of a warm one).
# Usage (CMake's CMAKE_CXX_COMPILER_LAUNCHER): ccache-pch.sh CCACHE COMPILER ARGS...
ccache=$1
shift
out=
prev=
for a in "$@"; do
  [ "$prev" = -o ] && out=$a
  prev=$a
done
"$ccache" "$@" || exit $?
case $out in
  *.gch) sha256sum "$out" | cut -d' ' -f1 >"$out.sum.tmp" && mv "$out.sum.tmp" "$out.sum" ;;
esac
