#!/usr/bin/env bash
# Model-check csync's wait/wake protocols with spin (issue 5): the models in
# strategies/models/ and primitives/models/ (see strategies/models/README.md).
#
#   scripts/check-models.sh
#
# 1. Resolves every `@model(<tag>)` a model cites ("mirrors: <header>
#    @model(<tag>)") to the "// @model(<tag>)" marker line in that header and
#    prints file:line; a missing or duplicated marker fails the check.
# 2. Runs every clean model exhaustively: a safety run (assertions + invalid
#    end states; -DSAFETY) and a liveness run (non-progress cycles; -DNP,
#    pan -l). Both must report 0 errors with the search completed.
# 3. Runs every mutant (-DMUTANT_<NAME>): it must FAIL (errors >= 1), with the
#    property it is meant to break; the safety run goes first, the liveness
#    run only if the safety run found nothing.
# One line per run: verdict, states stored (safety/liveness), seconds, detail.
#
# Exit status: 0 every expectation held; 1 one did not; 2 spin or gcc missing.
# Environment: CSYNC_MODEL_JOBS (parallel runs, default nproc),
#              CSYNC_MODEL_DEPTH (pan -m, default 100000),
#              CSYNC_MODEL_CFLAGS (pan's gcc flags, default -O0: compiling
#              pan.c dominates the run time -- -O1 costs about twice the
#              total CPU time of -O0 for these models, -O2 more -- while the
#              searches themselves take seconds at most).
# Generated files (pan.*, *.trail) live in a mktemp -d directory, removed on exit.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD

for tool in spin gcc; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "check-models: '$tool' not found; install it (apt-get install spin gcc, or scripts/install-deps.sh)" >&2
    exit 2
  fi
done

depth=${CSYNC_MODEL_DEPTH:-100000}
read -r -a cflags <<<"${CSYNC_MODEL_CFLAGS:--O0}"
jobs=${CSYNC_MODEL_JOBS:-$(nproc 2>/dev/null || echo 2)}
work=$(mktemp -d "${TMPDIR:-/tmp}/csync-models.XXXXXX")
trap 'rm -rf "$work"' EXIT

aw=strategies/models/atomic_waker.pml
sem=primitives/models/semaphore.pml
uf=strategies/models/uring_futex.pml
models=("$aw" "$sem" "$uf")

# kind|name|model|spin defines|expectation
#   kind: model (clean), check (a redundancy check: a mutation that must still
#   verify), mutant. expectation: verify, or fail:<class>[|<class>...] with
#   classes lost-wakeup, permit, stale-queued, frame, lifetime, no-progress.
runs=(
  "model|atomic_waker|$aw||verify"
  "model|semaphore|$sem||verify"
  "model|semaphore [stuck head]|$sem|-DSCENARIO_STUCK_HEAD|verify"
  "model|semaphore [two releasers]|$sem|-DSCENARIO_TWO_RELEASERS|verify"
  "model|semaphore [cancel race]|$sem|-DSCENARIO_CANCEL_RACE|verify"
  "model|semaphore [k waiters]|$sem|-DSCENARIO_K_WAITERS|verify"
  "model|uring_futex|$uf||verify"
  "model|uring_futex [wake-one]|$uf|-DWAKE_ONE|verify"
  "check|uring_futex NO_FORWARD|$uf|-DMUTANT_NO_FORWARD|verify"
  "check|uring_futex NO_FORWARD [wake-one]|$uf|-DMUTANT_NO_FORWARD -DWAKE_ONE|verify"
  "mutant|atomic_waker MODE_OVERWRITE|$aw|-DMUTANT_MODE_OVERWRITE|fail:lost-wakeup"
  "mutant|atomic_waker SLOT_THEFT|$aw|-DMUTANT_SLOT_THEFT|fail:permit|lost-wakeup"
  "mutant|atomic_waker SWALLOW|$aw|-DMUTANT_SWALLOW|fail:permit|lost-wakeup"
  "mutant|semaphore DELIVER_EARLY [k waiters]|$sem|-DSCENARIO_K_WAITERS -DMUTANT_DELIVER_EARLY|fail:lifetime"
  "mutant|semaphore RELOCK_BATCH [k waiters]|$sem|-DSCENARIO_K_WAITERS -DMUTANT_RELOCK_BATCH|fail:lifetime"
  "mutant|semaphore CLEAR_BEFORE_UNLOCK [cancel race]|$sem|-DSCENARIO_CANCEL_RACE -DMUTANT_CLEAR_BEFORE_UNLOCK|fail:lifetime"
  "mutant|semaphore FETCH_ADD_FIRST [two releasers]|$sem|-DSCENARIO_TWO_RELEASERS -DMUTANT_FETCH_ADD_FIRST|fail:lifetime"
  "mutant|semaphore REGISTER_NO_RECHECK [k waiters]|$sem|-DSCENARIO_K_WAITERS -DMUTANT_REGISTER_NO_RECHECK|fail:lost-wakeup"
  "mutant|semaphore IGNORE_RECHECK [two releasers]|$sem|-DSCENARIO_TWO_RELEASERS -DMUTANT_IGNORE_RECHECK|fail:lost-wakeup|stale-queued"
  "mutant|semaphore COMBINE_NO_RECHECK [two releasers]|$sem|-DSCENARIO_TWO_RELEASERS -DMUTANT_COMBINE_NO_RECHECK|fail:lost-wakeup"
  "mutant|semaphore CANCEL_NO_RECHECK [stuck head]|$sem|-DSCENARIO_STUCK_HEAD -DMUTANT_CANCEL_NO_RECHECK|fail:stale-queued|lost-wakeup"
  "mutant|semaphore CHECK_THEN_REGISTER|$sem|-DMUTANT_CHECK_THEN_REGISTER|fail:lost-wakeup"
  "mutant|semaphore DROP_GRANT|$sem|-DMUTANT_DROP_GRANT|fail:permit"
  "mutant|semaphore NO_AFTER_CANCEL [stuck head]|$sem|-DSCENARIO_STUCK_HEAD -DMUTANT_NO_AFTER_CANCEL|fail:stale-queued|lost-wakeup"
  "mutant|semaphore SKIP_SERVE|$sem|-DMUTANT_SKIP_SERVE|fail:lost-wakeup"
  "mutant|semaphore CLEAR_QUEUED_EARLY|$sem|-DMUTANT_CLEAR_QUEUED_EARLY|fail:lost-wakeup|stale-queued"
  "mutant|uring_futex LATE_EPOCH|$uf|-DMUTANT_LATE_EPOCH|fail:lost-wakeup"
  "mutant|uring_futex SWALLOW_WAKE [wake-one]|$uf|-DMUTANT_SWALLOW_WAKE -DWAKE_ONE|fail:lost-wakeup"
  "mutant|uring_futex EAGAIN_NO_RECHECK|$uf|-DMUTANT_EAGAIN_NO_RECHECK|fail:lost-wakeup"
  "mutant|uring_futex EAGAIN_SPIN|$uf|-DMUTANT_EAGAIN_SPIN|fail:no-progress"
  "mutant|uring_futex EARLY_RESUME|$uf|-DMUTANT_EARLY_RESUME|fail:frame"
)

failed=0

# ---- 1. code-line mirroring ------------------------------------------------
echo "== @model markers (tag -> header line; cited by)"
for model in "${models[@]}"; do
  if [[ ! -f $model ]]; then
    echo "FAIL  $model: model file missing"
    failed=1
  fi
done
# "<header> <tag> <model>" for every citation, one line per header+tag.
while read -r header tag citers; do
  if [[ ! -f $header ]]; then
    printf 'FAIL  %-30s header %s not found (cited by %s)\n' "$tag" "$header" "$citers"
    failed=1
    continue
  fi
  # The marker is a line of its own: optional indent, "// @model(<tag>)".
  lines=$(awk -v want="// @model($tag)" '{ s = $0; gsub(/^[ \t]+|[ \t]+$/, "", s); if (s == want) print NR }' "$header")
  count=$(printf '%s' "$lines" | grep -c . || true)
  if ((count == 1)); then
    printf 'ok    %-30s %-58s %s\n' "$tag" "$header:$lines" "$citers"
  elif ((count == 0)); then
    printf 'FAIL  %-30s no "// @model(%s)" line in %s (cited by %s)\n' "$tag" "$tag" "$header" "$citers"
    failed=1
  else
    printf 'FAIL  %-30s %d markers in %s (lines %s): ambiguous\n' "$tag" "$count" "$header" "$(echo $lines)"
    failed=1
  fi
done < <(for model in "${models[@]}"; do
           [[ -f $model ]] || continue
           grep -o 'mirrors: [^ ]* @model([^)]*)' "$model" |
             sed -E "s|^mirrors: ([^ ]*) @model\(([^)]*)\)\$|\1 \2 ${model##*/}|"
         done | sort -u |
         awk '{ k = $1 " " $2; if (k in m) m[k] = m[k] "," $3; else { m[k] = $3; order[++n] = k } }
              END { for (i = 1; i <= n; i++) print order[i], m[order[i]] }')

# ---- 2./3. spin runs ---------------------------------------------------------
now() { date +%s.%N; }

# pan_summary <pan output file>: "<errors> <states> <incomplete 0/1> <first error>"
# Incomplete: the depth limit (-m) was hit, memory ran out, or -- for a run
# that found no error -- the search did not finish (pan also says "Search not
# completed" when it stops at its first error, which is a verdict).
pan_summary() {
  local out=$1 errors states incomplete=0 first
  errors=$(grep -o 'errors: [0-9]*' "$out" | tail -n1 | awk '{print $2}')
  states=$(awk '/states, stored/ {print $1; exit}' "$out")
  if grep -qiE 'max search depth too small|out of memory|bitstate' "$out"; then
    incomplete=1
  elif [[ ${errors:-?} == 0 ]] && grep -qi 'search not completed' "$out"; then
    incomplete=1
  fi
  first=$(grep -m1 '^pan:1:' "$out" | sed -E 's/^pan:1: //; s/ \(at depth [0-9]+\)//')
  echo "${errors:-?} ${states:-?} $incomplete ${first:-}"
}

# error_class <first error message>
error_class() {
  case "$1" in
    *"invalid end state"*) echo lost-wakeup ;;
    *"non-progress cycle"*) echo no-progress ;;
    *"acceptance cycle"*) echo acceptance ;;
    *"assertion violated"*destroy*) echo lifetime ;;
    *"assertion violated"*queued*) echo stale-queued ;;
    *"assertion violated"*item*|*"assertion violated"*in_hash*) echo frame ;;
    *"assertion violated"*owned*|*"assertion violated"*permits*) echo permit ;;
    *"assertion violated"*) echo assertion ;;
    *) echo unknown ;;
  esac
}

describe() {
  case "$1" in
    lost-wakeup) echo "no lost wakeup: a waiter left blocked forever" ;;
    permit) echo "no permit created or destroyed" ;;
    stale-queued) echo "queued left set with nobody queued: later acquirers sleep beside free permits" ;;
    frame) echo "a completion ran after the waiter's frame was gone" ;;
    lifetime) echo "lifetime: the semaphore was touched after its last user destroyed it (or destroyed while still in use)" ;;
    no-progress) echo "progress: a loop that never sleeps (non-progress cycle)" ;;
    *) echo "$1" ;;
  esac
}

# run_one <index> <model> <defines>: writes $work/<index>/result
run_one() {
  local i=$1 model=$2 defines=$3 dir=$work/$1 t0 safety np="" s_sum n_sum
  mkdir -p "$dir"
  cd "$dir" || return
  t0=$(now)
  # shellcheck disable=SC2086  # defines are separate words
  if ! spin -a $defines "$root/$model" >spin.log 2>&1 || [[ ! -f pan.c ]]; then
    echo "error|spin -a failed: $(head -n3 spin.log | tr '\n' ' ')" >result
    return
  fi
  if ! gcc "${cflags[@]}" -DSAFETY -o pan_safety pan.c >gcc.log 2>&1; then
    echo "error|gcc failed (safety): $(grep -m1 error gcc.log)" >result
    return
  fi
  ./pan_safety -m"$depth" >safety.out 2>&1
  s_sum=$(pan_summary safety.out)
  read -r s_err _ _ _ <<<"$s_sum"
  if [[ $s_err == 0 ]]; then
    if ! gcc "${cflags[@]}" -DNP -o pan_np pan.c >>gcc.log 2>&1; then
      echo "error|gcc failed (non-progress): $(grep -m1 error gcc.log)" >result
      return
    fi
    ./pan_np -m"$depth" -l >np.out 2>&1
    n_sum=$(pan_summary np.out)
  fi
  printf 'done|%s|%s|%s\n' "$s_sum" "${n_sum:-}" "$(awk -v a="$t0" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')" >result
}

echo
echo "== spin runs (safety: -DSAFETY, assertions + invalid end states; liveness: -DNP, pan -l; pan -m$depth, exhaustive)"
running=0
for i in "${!runs[@]}"; do
  IFS='|' read -r _ _ model defines _ <<<"${runs[$i]}"
  run_one "$i" "$model" "$defines" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
done
wait

printf '%-7s %-6s %-48s %-21s %7s  %s\n' VERDICT KIND NAME "STATES safety/np" SECONDS DETAIL
for i in "${!runs[@]}"; do
  IFS='|' read -r kind name model defines expect <<<"${runs[$i]}"
  expect=${runs[$i]#*|*|*|*|}
  result=$(cat "$work/$i/result" 2>/dev/null || echo "error|no result")
  if [[ $result == error\|* ]]; then
    printf '%-7s %-6s %-48s %-21s %7s  %s\n' FAIL "$kind" "$name" - - "${result#error|}"
    failed=1
    continue
  fi
  IFS='|' read -r _ s_sum n_sum secs <<<"$result"
  read -r s_err s_states s_inc s_msg <<<"$s_sum"
  n_err="" n_states="-" n_inc=0 n_msg=""
  [[ -n $n_sum ]] && read -r n_err n_states n_inc n_msg <<<"$n_sum"
  states="$s_states/$n_states"
  verdict=FAIL
  if ((s_inc || n_inc)); then
    detail="search incomplete (depth limit -m$depth or out of memory): no verdict"
  elif [[ $expect == verify ]]; then
    if [[ $s_err == 0 && $n_err == 0 ]]; then
      verdict=ok
      detail="verified: 0 errors (assertions, end states, no non-progress cycle)"
      [[ $kind == check ]] && detail="verified as documented: forward() is redundant as the code stands (see $model)"
    else
      msg=${s_msg:-$n_msg}
      detail="expected to verify, got: $msg -> $(describe "$(error_class "$msg")")"
    fi
  else
    wanted=${expect#fail:}
    if [[ $s_err != 0 ]]; then msg=$s_msg; else msg=$n_msg; fi
    if [[ $s_err == 0 && $n_err == 0 ]]; then
      detail="mutant NOT caught: verified with 0 errors"
    else
      class=$(error_class "$msg")
      if [[ "|$wanted|" == *"|$class|"* ]]; then
        verdict=ok
        detail="caught: $msg -> $(describe "$class")"
      else
        detail="failed, but as $class ($msg); expected $wanted"
      fi
    fi
  fi
  [[ $verdict == FAIL ]] && failed=1
  printf '%-7s %-6s %-48s %-21s %7s  %s\n' "$verdict" "$kind" "$name" "$states" "$secs" "$detail"
done

echo
if ((failed)); then
  echo "check-models: FAILED (see the lines marked FAIL)"
  exit 1
fi
echo "check-models: all models verified, all mutants caught"
