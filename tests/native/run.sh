#!/usr/bin/env bash
# The native playground under Xvfb: builds advx-play (in build/native, the native preset with
# -DADVX_FRONTEND=ON, where make test's native build already made it; ADVX_PLAY_BUILD=<dir> for
# another build folder), checks that
# it renders N frames and exits cleanly (--frames), then screenshots the running app
# (ImageMagick `import -window root`) into build/screenshots/native.png and checks it is not blank.
# Prints SKIP and exits 0 only if Xvfb cannot be installed or started.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
JOBS=${JOBS:-2}
BUILD=${ADVX_PLAY_BUILD:-build/native}
SHOT=build/screenshots/native.png
pass=0; fail=0
ok() { pass=$((pass + 1)); printf 'PASS native %s\n' "$*"; }
bad() { fail=$((fail + 1)); printf 'FAIL native %s\n' "$*"; }
skip() { printf 'SKIP native UI test: %s\n' "$*"; exit 0; }
summary() { printf '\nnative UI tests: %d passed, %d failed\n' "$pass" "$fail"; [ "$fail" -eq 0 ]; exit $?; }

# Xvfb and ImageMagick (scripts/bootstrap installs them; try apt-get if we are root).
if ! command -v Xvfb >/dev/null || ! command -v import >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends xvfb imagemagick x11-utils >/dev/null 2>&1 || true
  fi
  command -v Xvfb >/dev/null || skip "Xvfb is not installed and could not be installed (apt-get install xvfb)"
  command -v import >/dev/null || skip "ImageMagick's import is not installed (apt-get install imagemagick)"
fi

printf '[native] building advx-play in %s\n' "$BUILD"
if [ "$BUILD" = build/native ]; then
  cmake --preset native -DADVX_FRONTEND=ON >/dev/null || { bad "configure"; summary; }
elif [ ! -f "$BUILD/build.ninja" ]; then
  cmake -B "$BUILD" -G Ninja -DADVX_FRONTEND=ON -DCMAKE_BUILD_TYPE=Release >/dev/null || { bad "configure"; summary; }
fi
if ! cmake --build "$BUILD" -j "$JOBS" --target advx-play >/tmp/advx-native-build.$$ 2>&1; then
  tail -30 /tmp/advx-native-build.$$; rm -f /tmp/advx-native-build.$$; bad "build of advx-play"; summary
fi
rm -f /tmp/advx-native-build.$$
APP="$BUILD/advx-play"

# A display Xvfb picks itself (-displayfd: the first number whose lock file and sockets it can
# take), so an X server elsewhere on the machine, even one whose files this /tmp does not show (a
# container sharing the network namespace: abstract sockets), cannot capture our clients.
rm -f /tmp/advx-xvfb-display.$$
# -noreset: by default an X server resets when its last client disconnects (the --frames run below,
# every xwininfo or import in the polls), and a client that connects during the reset fails (CI saw
# "SDL_Init failed: x11 not available" right after the --frames run).
Xvfb -displayfd 3 -noreset -screen 0 1280x860x24 -nolisten tcp 3>/tmp/advx-xvfb-display.$$ >/tmp/advx-xvfb.$$ 2>&1 &
XVFB=$!
APP_PID=""
cleanup() {
  [ -n "$APP_PID" ] && kill "$APP_PID" 2>/dev/null
  kill "$XVFB" 2>/dev/null; wait "$XVFB" 2>/dev/null
  rm -f /tmp/advx-xvfb.$$ /tmp/advx-play.$$ /tmp/advx-xvfb-display.$$
}
trap cleanup EXIT
DISP=""
for _ in $(seq 1 100); do
  n=$(tr -dc '0-9' </tmp/advx-xvfb-display.$$ 2>/dev/null)
  [ -n "$n" ] && [ -e "/tmp/.X11-unix/X$n" ] && { DISP=":$n"; break; }
  kill -0 "$XVFB" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$DISP" ] || ! kill -0 "$XVFB" 2>/dev/null; then
  cat /tmp/advx-xvfb.$$ >&2
  skip "Xvfb could not start"
fi
printf '[native] Xvfb on %s\n' "$DISP"
# The X11 driver whatever the environment says (an SDL_VIDEODRIVER of dummy or offscreen, or a
# Wayland session, would draw where no screenshot of this display can see it).
export SDL_VIDEODRIVER=x11
unset WAYLAND_DISPLAY
export DISPLAY=$DISP

# 1. --frames N: renders N frames and exits 0.
t0=$(date +%s%N)
if ADVX_PLAY_TRACE=1 timeout 120 "$APP" --frames 30 --state "test=3&eps=0.3" >/tmp/advx-play.$$ 2>&1; then
  ok "advx-play --frames 30 rendered and exited cleanly ($(( ($(date +%s%N) - t0) / 1000000 )) ms; $(grep -m1 -o 'video driver.*' /tmp/advx-play.$$))"
else
  bad "advx-play --frames 30 failed (exit $?): $(tail -5 /tmp/advx-play.$$)"
fi

# 2. The running app on screen: screenshot, not blank. ADVX_PLAY_TRACE=1 makes the app print its
# startup milestones, so a blank screen can be told apart: never drew (stuck before the first
# frame: the thread stacks are printed) or drew but nothing reached the screen (GL presentation).
# On a loaded machine (software GL under Xvfb) the window may stay blank for seconds, so the shot
# is polled for up to 30 s. A blank first start is reported with its diagnostics and the app is
# started once more; the check fails if that one is blank too.
blank_diagnostics() {
  printf '     app output: %s\n' "$(tr '\n' '|' </tmp/advx-play.$$ | tail -c 600)"
  local wid
  wid=$(xwininfo -root -tree 2>/dev/null | awk '/"advx playground"/ {print $1; exit}')
  if [ -n "$wid" ]; then
    printf '     window %s: %s\n' "$wid" "$(xwininfo -id "$wid" 2>/dev/null | grep -E 'Map State|Width|Height' | tr -s ' ' | tr '\n' ' ')"
    if import -window "$wid" /tmp/advx-window.$$.png 2>/dev/null; then
      printf '     the window alone: %s colours\n' "$(identify -format '%k' /tmp/advx-window.$$.png 2>/dev/null)"
    fi
    rm -f /tmp/advx-window.$$.png
  else
    printf '     no "advx playground" window on %s\n' "$DISP"
  fi
  local t
  for t in /proc/"$APP_PID"/task/*; do
    [ -r "$t/stat" ] && printf '     thread %s: %s wchan=%s\n' "${t##*/}" "$(awk '{print $2, $3}' "$t/stat")" "$(cat "$t/wchan" 2>/dev/null)"
  done
  if command -v gdb >/dev/null; then
    printf '     main thread:\n'
    timeout 60 gdb -p "$APP_PID" -batch -ex 'thread 1' -ex 'bt 15' 2>/dev/null | grep -E '^#' | cut -c1-200 | sed 's/^/       /'
  fi
}
mkdir -p "$(dirname "$SHOT")"
shot_result=""
for attempt in 1 2; do
  ADVX_PLAY_TRACE=1 "$APP" --state "test=3&eps=0.3&attack=fgsm" >/tmp/advx-play.$$ 2>&1 &
  APP_PID=$!
  for _ in $(seq 1 100); do
    xwininfo -root -tree 2>/dev/null | grep -q '"advx playground"' && break
    sleep 0.1
  done
  colours=0; sd=0; shot_ok=0; waited=0
  for waited in $(seq 1 30); do
    sleep 1
    kill -0 "$APP_PID" 2>/dev/null || break
    import -window root "$SHOT" 2>/dev/null || continue
    shot_ok=1
    colours=$(identify -format '%k' "$SHOT" 2>/dev/null || echo 0)
    sd=$(identify -format '%[fx:standard_deviation]' "$SHOT" 2>/dev/null || echo 0)
    [ "${colours:-0}" -ge 64 ] && awk "BEGIN{exit !(${sd:-0} > 0.05)}" && break
  done
  if ! kill -0 "$APP_PID" 2>/dev/null; then
    wait "$APP_PID"; st=$?
    shot_result="advx-play exited early (status $st): $(tr '\n' '|' </tmp/advx-play.$$ | tail -c 600)"
    printf '     start %d: %s\n' "$attempt" "$shot_result"
  elif [ "$shot_ok" -eq 0 ]; then
    shot_result="import -window root failed on $DISP"
    printf '     start %d: %s\n' "$attempt" "$shot_result"
  elif [ "${colours:-0}" -ge 64 ] && awk "BEGIN{exit !(${sd:-0} > 0.05)}"; then
    shot_result=""
    [ "$attempt" -gt 1 ] && printf '     WARN the first start stayed blank (above); the second drew\n'
    ok "screenshot $SHOT after ${waited} s (start $attempt): $colours colours, grey standard deviation $sd (not blank)"
    kill "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; APP_PID=""
    break
  else
    shot_result="screenshot $SHOT still blank after ${waited} s: $colours colours, grey standard deviation $sd"
    printf '     start %d: %s\n' "$attempt" "$shot_result"
    blank_diagnostics
  fi
  kill "$APP_PID" 2>/dev/null; wait "$APP_PID" 2>/dev/null; APP_PID=""
done
[ -n "$shot_result" ] && bad "$shot_result"
summary
