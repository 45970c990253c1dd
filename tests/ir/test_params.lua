-- ir.params: declaration checks, parsing every param type, and the one-line errors.
local ROOT = os.getenv("IRHOST_ROOT") or "."
local T = dofile(ROOT .. "/tests/ir/tap.lua")
local params = require("ir.params")

local specs = assert(params.declare({
  instance = { required = true, pattern = "^i%-%x+$", help = "instance id" },
  mode = { default = "offline", choices = { "offline", "online" } },
  wait_seconds = { type = "integer", default = 600, min = 1 },
  ratio = { type = "number" },
  release = { type = "boolean" },
  regions = { type = "list" },
  finding = { type = "file" },
}))

local function parse(args, files)
  return params.parse(specs, args, function(p)
    if files and files[p] then return files[p] end
    return nil, "not named on the command line"
  end)
end

T.case("conventional params", function()
  T.ok(specs.ticket and specs.ticket.type == "string", "--ticket is added to every runbook")
  T.ok(specs.evidence_bucket ~= nil, "--evidence-bucket is added to every runbook")
end)

T.case("a param named like a host option is a declaration error", function()
  for _, name in ipairs({ "region", "out", "yes", "profile", "json", "dry_run", "endpoint_url", "max_calls", "timeout", "account" }) do
    local ok, err = params.declare({ [name] = { help = "x" } })
    T.eq(ok, nil, name .. ": refused")
    T.has(err or "", "params." .. name .. ": --" .. name:gsub("_", "-") .. " is a host option", name .. ": names the clash")
  end
  T.ok(params.declare({ region_name = { help = "x" }, output = {} }), "names that only start like one are fine")
  local ok, err = require("ir.decl").validate({ name = "t", description = "d", permissions = {},
    steps = { { name = "s", run = function() end } }, params = { region = {} } })
  T.eq(ok, nil, "ir.runbook refuses it too")
  T.has(err or "", "host option", "with the reason")
end)

T.case("values and defaults", function()
  local v = assert(parse({ "--instance", "i-0abc", "--ticket=IR-42" }))
  T.eq(v.instance, "i-0abc", "--name value")
  T.eq(v.ticket, "IR-42", "--name=value")
  T.eq(v.mode, "offline", "default applied")
  T.eq(v.wait_seconds, 600, "integer default")
  T.eq(v.release, false, "absent flag is false")
  T.eq(v.ratio, nil, "absent optional without default is nil")
  v = assert(parse({ "--instance", "i-1", "--release", "--wait-seconds", "30", "--ratio", "0.5",
    "--regions", "eu-west-1,us-east-1", "--regions", "ap-south-1", "--mode", "online" }))
  T.eq(v.release, true, "flag")
  T.eq(math.type(v.wait_seconds), "integer", "integer param is an integer")
  T.eq(v.wait_seconds, 30, "integer value")
  T.eq(v.ratio, 0.5, "number value")
  T.eq(table.concat(v.regions, " "), "eu-west-1 us-east-1 ap-south-1", "list: comma separated and repeatable")
  T.eq(v.mode, "online", "choice")
  v = assert(parse({ "--instance", "i-1", "--release=false" }))
  T.eq(v.release, false, "--flag=false")
  v = assert(parse({ "--instance", "i-1", "--release", "--no-release" }))
  T.eq(v.release, false, "--no-flag")
  v = assert(parse({ "--instance=i-1", "--wait_seconds", "5" }))
  T.eq(v.wait_seconds, 5, "underscores accepted in flags")
end)

T.case("file params are read through the broker", function()
  local v = assert(parse({ "--instance", "i-1", "--finding", "f.json" }, { ["f.json"] = "{}" }))
  T.eq(v.finding.path, "f.json", "file param keeps its path")
  T.eq(v.finding.content, "{}", "file param holds the content")
  local _, err = parse({ "--instance", "i-1", "--finding", "nope.json" })
  T.like(err, "^%-%-finding: cannot read nope%.json", "unreadable file is a usage error")
  T.eq(params.public(v).finding, "f.json", "events show the file by path")
end)

local bad = {
  { { "--instnace", "i-1" }, "unknown option --instnace (did you mean --instance?)" },
  { { "--instance", "i-1", "--bogus-thing" }, "unknown option --bogus-thing" },
  { {}, "missing required option --instance (instance id)" },
  { { "--instance", "vol-1" }, "--instance: 'vol-1' does not match ^i%-%x+$" },
  { { "--instance", "i-1", "--mode", "onlin" }, "--mode: 'onlin' must be one of offline, online" },
  { { "--instance", "i-1", "--wait-seconds", "x" }, "--wait-seconds: 'x' is not a number" },
  { { "--instance", "i-1", "--wait-seconds", "1.5" }, "--wait-seconds: '1.5' is not an integer" },
  { { "--instance", "i-1", "--wait-seconds", "0" }, "--wait-seconds: '0' must be at least 1" },
  { { "--instance" }, "--instance needs a value" },
  { { "--instance", "--mode", "online" }, "--instance needs a value" },
  { { "--instance", "i-1", "--release=maybe" }, "--release: 'maybe' is not true or false" },
  { { "i-1" }, "unexpected argument 'i-1' (parameters are given as --name value)" },
  { { "--instance", "i-1", "--instance", "i-2" }, "--instance given twice with different values" },
  { { "--instance", "i-1", "--no-release=1" }, "--no-release takes no value" },
}
for _, c in ipairs(bad) do
  local v, err = parse(c[1])
  T.ok(v == nil and err == c[2], "error: " .. c[2], "got: " .. tostring(err))
  T.ok(err == nil or not err:find("\n"), "one line: " .. c[2])
end

local bad_decls = {
  { { x = { type = "strng" } }, "params.x.type: unknown type strng" },
  { { x = { requird = true } }, "params.x: unknown field requird (did you mean required?)" },
  { { x = { choices = {} } }, "params.x.choices must be a non-empty list of strings" },
  { { x = { pattern = "[" } }, "params.x.pattern:" },
  { { x = { required = true, default = "a" } }, "params.x: a required param cannot have a default" },
  { { x = { choices = { "a" }, default = "b" } }, "params.x.default: must be one of a" },
  { { ["bad-name"] = {} }, "params: key bad-name must be an identifier" },
  { { x = "string" }, "params.x must be a table" },
}
for _, c in ipairs(bad_decls) do
  local ok, err = params.declare(c[1])
  T.ok(ok == nil and type(err) == "string" and err:find(c[2], 1, true) == 1, "declaration error: " .. c[2], "got: " .. tostring(err))
end

T.case("help lines", function()
  local names = select(2, params.declare({ instance = { required = true, help = "instance id" },
    mode = { default = "offline", choices = { "offline", "online" }, help = "what to do" } }))
  local s2 = params.declare({ instance = { required = true, help = "instance id" },
    mode = { default = "offline", choices = { "offline", "online" }, help = "what to do" } })
  local text = table.concat(params.help_lines(s2, names), "\n")
  T.like(text, "%-%-instance STRING +instance id %(required%)", "required param in help")
  T.like(text, "%-%-mode offline|online +what to do %(default offline%)", "choices and default in help")
  T.ok(text:find("--instance", 1, true) < text:find("--mode", 1, true), "required params first")
end)

return T.done()
