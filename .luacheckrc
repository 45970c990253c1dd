-- luacheck configuration (Debian's lua-check) for irhost runbooks: exactly the globals
-- the runbook sandbox provides (host/luaenv.c), so editors flag what `irhost check` flags.
-- Kept in step with bindings/lua/ir/check/sandbox.lua by tests/check/test_check.lua.
-- Lint runbooks with:  luacheck runbooks/

stds.irhost = {
  read_globals = {
    "assert", "error", "getmetatable", "ipairs", "load", "next", "pairs", "pcall", "print",
    "rawequal", "rawget", "rawlen", "rawset", "require", "select", "setmetatable", "tonumber",
    "tostring", "type", "xpcall", "_G", "_VERSION", "collectgarbage",
    string = { fields = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower",
      "match", "pack", "packsize", "rep", "reverse", "sub", "unpack", "upper" } },
    table = { fields = { "concat", "insert", "move", "pack", "remove", "sort", "unpack" } },
    math = { fields = { "abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max",
      "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin",
      "sqrt", "tan", "tointeger", "type", "ult", "acos", "asin", "atan" } },
    utf8 = { fields = { "char", "charpattern", "codepoint", "codes", "len", "offset" } },
    coroutine = { fields = { "close", "create", "isyieldable", "resume", "running", "status",
      "wrap", "yield" } },
    os = { fields = { "clock", "date", "difftime", "time" } },
    json = { fields = { "decode", "encode", "null", "array_mt", "array", "model" } },
    ir = { fields = { "runbook", "main", "normalized", "permissions", "base64_decode",
      finding = { other_fields = true } } },
    aws = { fields = { "client", "is_error", "parallel", "operations", "shape", "is_mutating",
      "region", "presign", "sign", "assume_role", "services", "waiters",
      secret = { other_fields = true } } },
  },
}

std = "irhost"
max_line_length = 120
-- A step's ctx argument is often unused in small steps.
unused_args = false

files["bindings/lua"] = { std = "lua54" }
files["tests"] = { std = "lua54" }
files["scripts"] = { std = "lua54" }
-- Runbook fixtures of the checker's own tests are runbooks.
files["tests/check/corpus"] = { std = "irhost" }
files["tests/check/clean"] = { std = "irhost" }

-- Runbook tests (`irhost test`, bindings/lua/ir/testing.lua): the sandbox plus the test API.
stds.irhost_test = {
  read_globals = { "test", "stub", "run", "expect", "expect_eq", "expect_match", "expect_calls",
    "expect_call", "expect_no_call", "expect_error", "expect_said" },
}
files["runbooks/tests"] = { std = "irhost+irhost_test" }
files["**/tests/*_test.lua"] = { std = "irhost+irhost_test" }
