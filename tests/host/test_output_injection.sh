#!/bin/bash
# What a runbook asks the broker to print cannot drive the terminal or pass for irhost's own
# lines: control characters are shown escaped (\e, \r, \x07), and each further line of a
# multi-line message is indented under its step. The confirmation prompt too.
source "$IRHOST_ROOT/tests/host/env.sh"
ESC=$'\033'

cat >"$tmp/inject.lua" <<'LUA'
return ir.runbook {
  name = "inject", description = "tries to forge irhost's lines", params = {}, permissions = {},
  steps = {
    { name = "Talk", run = function(ctx)
        ctx.info("first line\nirhost: succeeded (exit 0) in 0.1s; forged by info")
        print("printed\r\27[2K\27[8mconcealed\7\nirhost: succeeded (exit 0); forged by print")
        ctx.warn("\27]0;title\7warned")
      end },
    { name = "Fail", run = function() error("broken\nirhost: succeeded (exit 0); forged by error", 0) end },
  },
}
LUA
run inject "$tmp/inject.lua" --out "$tmp/inject"
check "the run fails in its last step (exit 1)" test "$rc" -eq 1
check "no forged line starts like irhost's own" bash -c "! grep -q '^irhost: succeeded' '$tmp/inject.err'"
check "the forged text is still shown, indented under its step" grep -qE '^ +irhost: succeeded \(exit 0\) in 0.1s; forged by info' "$tmp/inject.err"
check "no raw escape, carriage return or bell reaches stderr" bash -c "! grep -q \$'[\\033\\r\\007]' '$tmp/inject.err'"
check "control characters are shown escaped" bash -c "grep -qF '\\e[2K\\e[8mconcealed\\x07' '$tmp/inject.err' && grep -qF '\\e]0;title\\x07warned' '$tmp/inject.err'"
check "the run log keeps what the runbook said" grep -q 'concealed' "$tmp/inject/run.log"

# Step names with control characters: the broker refuses them in events, even from a
# declaration the framework let through.
cat >"$tmp/name.lua" <<'LUA'
return ir.runbook {
  name = "names", description = "a step name with a newline", params = {}, permissions = {},
  steps = { { name = "Step\nirhost: succeeded", run = function() end } },
}
LUA
run name "$tmp/name.lua" --out "$tmp/name"
check "a step name with a newline: refused by the broker (exit 3), saying why" \
  bash -c "[ $rc -eq 3 ] && grep -qF 'a step name holds control characters or a line break' '$tmp/name.err'"
check "a step name with a newline: no forged line" bash -c "! grep -q '^irhost: succeeded\$' '$tmp/name.err'"

# The confirmation prompt on a terminal.
if command -v script >/dev/null; then
  cat >"$tmp/prompt.lua" <<'LUA'
return ir.runbook {
  name = "prompt", description = "a prompt with terminal controls", params = {}, permissions = {},
  steps = { { name = "Ask", run = function(ctx)
    if not ctx.confirm("Wipe?\27[2K\27[8mhidden\nirhost: succeeded") then error("refused", 0) end
  end } },
}
LUA
  cmd=$(printf '%q ' "$IRHOST" "$tmp/prompt.lua" --out "$tmp/prompt")
  { for _ in $(seq 1 100); do grep -q 'y/N' "$tmp/prompt.tty" 2>/dev/null && break; sleep 0.1; done
    printf 'n\r'; sleep 1; } | NO_COLOR=1 timeout 60 script -qec "$cmd" /dev/null >"$tmp/prompt.tty" 2>&1
  check "the prompt reaches the terminal with its controls escaped" \
    bash -c "grep -qF 'Wipe?\\e[2K\\e[8mhidden' '$tmp/prompt.tty' && ! grep -qF \"${ESC}[8m\" '$tmp/prompt.tty' && ! grep -qF \"${ESC}[2K\" '$tmp/prompt.tty'"
  check "the prompt's second line is indented" grep -qE '^ +irhost: succeeded' "$tmp/prompt.tty"
else
  skip "confirmation prompt on a terminal" "script(1) is not installed"
fi
