# SPDX-License-Identifier: ISC
# portsplit -c over every recorded client in tests/classify/ with a
# configuration that uses every signature of the library: each sample must
# go to the service named after its folder; seeded random bytes must go to
# [fallback] (every signature ruled out, no waiting); an empty file (a client
# that waits for the server to speak first) must go to [timeout]. The same
# samples are checked against each signature alone, and against random
# inputs, by the unit test test_library.
. "$(dirname "$0")/../lib.sh"

[ -x "$PORTSPLIT" ] || bail "portsplit binary exists at $PORTSPLIT"
CLS=$TESTS_DIR/classify

{
	library_conf 28443 2 sni-alpn
	printf '[fallback]\nconnect = 127.0.0.1:9\n[timeout]\nconnect = 127.0.0.1:25\n'
} >"$T/all.ini"

timeout 10 "$PORTSPLIT" -t "$T/all.ini" >"$T/t.out" 2>&1
is "$?" 0 "-t accepts a configuration with every library signature"
[ "$FAILED" = 0 ] || diag <"$T/t.out"

"$PYTHON" - "$T" <<'EOF'
import random, sys
r = random.Random(4)
for i in range(20):
    with open(f"{sys.argv[1]}/random-{i}.bin", "wb") as f:
        f.write(bytes(r.randrange(256) for _ in range(r.randrange(1, 400))))
EOF
: >"$T/empty.bin"

mapfile -t samples < <(cd "$CLS" && find . -name '*.bin' | sed 's|^\./||' | sort)
check "at least 60 recorded samples (${#samples[@]})" test "${#samples[@]}" -ge 60
(cd "$CLS" && timeout 60 "$PORTSPLIT" -c "$T/all.ini" "${samples[@]}") >"$T/out" 2>"$T/err"
is "$?" 0 "-c over the samples exits 0"
is "$(wc -l <"$T/out" | tr -d ' ')" "${#samples[@]}" "one line per sample"

protos=()
while IFS= read -r line; do
	file=${line%%: *}
	rest=${line#*: }
	got=${rest%% *}
	want=${file%%/*}
	protos+=("$want")
	if [ "$got" = "$want" ]; then
		ok "$file -> $want"
	else
		not_ok "$file -> $want"
		echo "#   $line"
	fi
done <"$T/out"
check "samples of at least 20 protocols ($(printf '%s\n' "${protos[@]}" | sort -u | wc -l))" \
	test "$(printf '%s\n' "${protos[@]}" | sort -u | wc -l)" -ge 20

timeout 30 "$PORTSPLIT" -c "$T/all.ini" "$T"/random-*.bin "$T/empty.bin" >"$T/rand.out" 2>>"$T/err"
n=$(grep -c ': fallback (every service ruled out' "$T/rand.out")
is "$n" 20 "20 random byte strings -> fallback, every service ruled out"
[ "$n" = 20 ] && true || grep -v ': fallback (every service ruled out' "$T/rand.out" | head -n 5 | diag
check "an empty client (server speaks first) -> timeout" \
	grep -q "^$T/empty.bin: timeout (timeout" "$T/rand.out"
[ "$FAILED" = 0 ] || { diag <"$T/err"; tail -n 3 "$T/rand.out" | diag; }
finish
