-- What a runbook's environment holds, for `irhost check`: the global names the sandbox
-- (host/luaenv.c) provides and the members of its library tables. Keep in step with
-- host/luaenv.c and .luacheckrc; tests/check asserts .luacheckrc against this list.

local M = {}

-- Global name -> true for plain values, or a set of member names for library tables.
-- nil members means "a table whose members are not checked".
local libs = {
  string = { "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match",
    "pack", "packsize", "rep", "reverse", "sub", "unpack", "upper" },
  table = { "concat", "insert", "move", "pack", "remove", "sort", "unpack" },
  math = { "abs", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge", "log", "max",
    "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "randomseed", "sin",
    "sqrt", "tan", "tointeger", "type", "ult", "acos", "asin", "atan" },
  utf8 = { "char", "charpattern", "codepoint", "codes", "len", "offset" },
  coroutine = { "close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield" },
  os = { "clock", "date", "difftime", "time" },
  json = { "decode", "encode", "null", "array_mt", "array" },
  -- ir and aws are filled from the trusted modules themselves when they load (see
  -- M.members); these lists are what docs/internals.md promises.
  ir = { "runbook", "main" },
  aws = { "client", "is_error", "parallel", "operations", "shape", "is_mutating", "region",
    "presign", "sign", "assume_role", "secret" },
}

M.values = {
  "assert", "error", "getmetatable", "ipairs", "load", "next", "pairs", "pcall", "print",
  "rawequal", "rawget", "rawlen", "rawset", "require", "select", "setmetatable", "tonumber",
  "tostring", "type", "xpcall", "_G", "_VERSION", "_ENV",
  "collectgarbage",  -- only collect, count, step, isrunning (host/luaenv.c)
}

-- Globals a runbook might reach for that the sandbox withholds on purpose: a clearer
-- message than "unknown global".
M.withheld = {
  io = "the sandbox has no file access; save evidence with ctx.evidence:save",
  debug = "the debug library is not available in the sandbox",
  package = "use require for modules next to the runbook or in its lib/",
  dofile = "use require for modules next to the runbook or in its lib/",
  loadfile = "use require for modules next to the runbook or in its lib/",
  loadstring = "Lua 5.4 has no loadstring; use load",
  unpack = "Lua 5.4 has no global unpack; use table.unpack",
  setfenv = "Lua 5.4 has no setfenv",
  getfenv = "Lua 5.4 has no getfenv",
}
M.withheld_members = {
  os = "only os.time, os.clock, os.date and os.difftime exist in the sandbox",
  string = "string.dump is not available in the sandbox",
}

local member_sets = {}
local function set_of(list)
  local s = {}
  for _, k in ipairs(list) do s[k] = true end
  return s
end
for name, list in pairs(libs) do member_sets[name] = set_of(list) end

local globals = set_of(M.values)
for name in pairs(libs) do globals[name] = true end

-- True when the sandbox provides global `name`.
function M.is_global(name) return globals[name] == true end

-- Sorted list of every global name the sandbox provides.
function M.global_names()
  local out = {}
  for k in pairs(globals) do out[#out + 1] = k end
  table.sort(out)
  return out
end

-- The set of member names of library global `name` (nil when not a checked library).
-- For ir, aws and json the live trusted modules are the truth when they load.
local live = {}
function M.members(name)
  local module = ({ ir = "ir", aws = "aws", json = "irhost.json" })[name]
  if module and live[name] == nil then
    live[name] = false
    local ok, mod = pcall(require, module)
    if ok and type(mod) == "table" then
      local s = {}
      for k in pairs(mod) do if type(k) == "string" and not k:match("^_") then s[k] = true end end
      if next(s) then live[name] = s end
    end
  end
  return live[name] or member_sets[name]
end

return M
